"""Checks for notebook 03 (vanishing and exploding gradients): per-step gradient norms by hand, rescaling a
matrix to a spectral radius, and gradient-norm clipping.

The references are torch's own: autograd through ``nn.RNNCell`` (via :func:`course_lib.measure.state_grad_norms`)
for ``||dL/dh_t||``, ``torch.linalg.eigvals`` for the spectral radius, ``torch.nn.utils.clip_grad_norm_`` for
clipping.  A wrong answer is compared with what each typical wrong formula gives on the same inputs, so the
message can name the mistake (the Coursera sequence-models tests do the same, one term at a time).

Row convention, as in the notebook: ``h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h)`` and, for a loss on the
last step with ``dL/dh_T = g_T``, ``dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.core import CheckFailure, Exercise, LearnerError, as_tensor, assert_close, describe, result_of
from course_lib.measure import state_grad_norms

__all__ = ["EXERCISES", "check_state_grad_norms_by_hand", "check_rescale_spectral_radius", "check_clip_grad_norm"]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _close(got: torch.Tensor, expected: torch.Tensor, rtol: float) -> bool:
    """Equal up to ``rtol`` relative to each entry (atol scaled to the largest entry, for exact zeros)."""
    if tuple(got.shape) != tuple(expected.shape) or not torch.isfinite(got).all():
        return False
    g, e = got.double(), expected.double()
    atol = 1e-12 * max(1.0, float(e.abs().max())) if e.numel() else 0.0
    return bool(torch.allclose(g, e, rtol=rtol, atol=atol))


# ------------------------------------------------------------------------------- ||dL/dh_t|| by hand


def _rnn_case(g: torch.Generator, N: int, T: int, D: int, H: int, gain: float, x_scale: float) -> dict[str, Any]:
    """A tanh RNN's inputs, weights, states h_1..h_T and the gradient g_T = dL/dh_T of a last-step loss."""
    f64 = torch.float64
    x = torch.randn(N, T, D, generator=g, dtype=f64) * x_scale
    h0 = 0.5 * torch.randn(N, H, generator=g, dtype=f64)
    W_xh = torch.randn(H, D, generator=g, dtype=f64) / math.sqrt(D)
    W_hh = gain * torch.randn(H, H, generator=g, dtype=f64) / math.sqrt(H)  # not symmetric: W_hh.T is a mistake
    b_h = 0.1 * torch.randn(H, generator=g, dtype=f64)
    g_T = torch.randn(N, H, generator=g, dtype=f64)
    h, states = h0, []
    for t in range(T):
        h = torch.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)  # (N, H)
        states.append(h)
    case = {"x": x, "h0": h0, "W_xh": W_xh, "W_hh": W_hh, "b_h": b_h, "g_T": g_T, "h": torch.stack(states, 1)}
    return {k: v.numpy() for k, v in case.items()}


def _norms_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    if not hidden:
        return {"small RNN": _rnn_case(g, 2, 6, 3, 4, 1.0, 1.0)}
    return {
        "larger RNN": _rnn_case(g, 3, 12, 3, 7, 1.2, 1.0),
        "T=1 (only g_T)": _rnn_case(g, 2, 1, 2, 5, 1.0, 1.0),
        "one sequence, exploding (large W_hh)": _rnn_case(g, 1, 20, 2, 6, 2.5, 0.2),
        "saturated states (large inputs)": _rnn_case(g, 4, 8, 3, 5, 1.0, 3.0),
        "H=1": _rnn_case(g, 3, 7, 2, 1, 1.0, 1.0),
    }


def _norms_run(fn, case):
    return fn(torch.from_numpy(case["h"]), torch.from_numpy(case["W_hh"]), torch.from_numpy(case["g_T"]))


def _autograd_norms(case: dict[str, Any]) -> torch.Tensor:
    """||dL/dh_t||, t = 1..T, by autograd through nn.RNNCell with the case's weights; L = sum(h_T ⊙ g_T)."""
    x, h0, g_T = (torch.from_numpy(case[k]) for k in ("x", "h0", "g_T"))
    T, D, H = x.shape[1], x.shape[2], h0.shape[1]
    cell = nn.RNNCell(D, H, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(case["W_xh"]))
        cell.weight_hh.copy_(torch.from_numpy(case["W_hh"]))
        cell.bias_ih.copy_(torch.from_numpy(case["b_h"]))
        cell.bias_hh.zero_()
    h, states = h0, []
    for t in range(T):
        h = cell(x[:, t], h)
        states.append(h)
    return state_grad_norms((states[-1] * g_T).sum(), states)


def _backward(h: torch.Tensor, W: torch.Tensor, g_T: torch.Tensor, deriv: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """dL/dh_t for t = 1..T as (N, T, H), from g_{t-1} = (g_t ⊙ deriv(t)) W; index i holds step i + 1."""
    grads = [g_T]
    for i in range(h.shape[1] - 1, 0, -1):
        grads.append((grads[-1] * deriv(i)) @ W)
    return torch.stack(grads[::-1], 1)


def _norms_mistakes(h: torch.Tensor, W: torch.Tensor, g_T: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """What each typical wrong formula returns, with the message that names it (most specific first)."""
    d = 1 - h**2  # tanh'(a_t) = 1 - h_t², (N, T, H)
    grads = _backward(h, W, g_T, lambda i: d[:, i])  # (N, T, H)
    step_norms = lambda G: G.transpose(0, 1).reshape(G.shape[1], -1).norm(dim=1)  # (N, T, H) -> (T,)  # noqa: E731
    norms = step_norms(grads)
    return [
        (norms.flip(0), "reversed time order: norms[0] must be ||dL/dh_1|| (the first step) and norms[-1] = "
                        "||dL/dh_T|| = ||g_T||. Reverse your list, or fill norms[t - 1] as you go back."),
        (norms**2, "these are the squared norms ||dL/dh_t||² (forgot the square root): take "
                   "torch.linalg.vector_norm(g_t), or the sqrt of the sum of squares."),
        (step_norms(h), "norm of the wrong tensor: you returned ||h_t||, the size of the hidden state itself. "
                        "Return ||dL/dh_t||, the size of the gradient that reaches step t."),
        (step_norms(grads * d), "norm of the wrong tensor: you returned ||dL/dh_t ⊙ (1 - h_t²)||, the gradient of the "
                                "pre-activation a_t (after going back through the tanh). Record ||dL/dh_t|| before "
                                "multiplying by 1 - h_t²."),
        (step_norms(_backward(h, W, g_T, lambda i: 1.0)), "missing (1 - h_t²): the gradient goes back through the tanh "
                                                          "at every step, dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh."),
        (step_norms(_backward(h, W.T, g_T, lambda i: d[:, i])), "multiplied by W_hh.T: with rows, a_t = ... + h_{t-1} "
                                                                "W_hh^T, so dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh, "
                                                                "with no transpose."),
        (step_norms(_backward(h, W, g_T, lambda i: d[:, i - 1])), "used 1 - h_{t-1}² instead of 1 - h_t²: the tanh "
                                                                  "between h_{t-1} and h_t is the one that makes h_t."),
        (grads.norm(dim=2).mean(0), "averaged the norms of the N examples: take one norm of the whole (N, H) "
                                    "gradient dL/dh_t at each step (the loss sums over the batch)."),
        (grads.abs().sum((0, 2)), "this is the L1 norm (sum of absolute values); the exercise asks for the "
                                  "Euclidean norm sqrt(sum of squares)."),
    ]


def _norms_judge(cases, results):
    for name, case in cases.items():
        value = result_of(results, name, "state_grad_norms_by_hand")
        h, W, g_T = (torch.from_numpy(case[k]) for k in ("h", "W_hh", "g_T"))
        N, T, H = h.shape
        if isinstance(value, (list, tuple)):
            raise CheckFailure(f"state_grad_norms_by_hand should return one tensor of shape (T,) = ({T},), but it "
                               f"returned a {type(value).__name__} of length {len(value)}: torch.stack it.")
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] in (T - 1, T + 1):
            extra = ("one too many: did you include dL/dh_0? Return t = 1..T only." if value.shape[0] == T + 1
                     else "one too few: include ||dL/dh_T|| = ||g_T|| itself, the last entry.")
            raise CheckFailure(f"case '{name}': {value.shape[0]} norms for T = {T} steps, {extra}")
        if isinstance(value, np.ndarray) and value.shape in ((N, T), (T, N)) and N > 1:
            raise CheckFailure(f"case '{name}': shape {value.shape} holds one norm per example; return one number per "
                               f"step, the norm of the whole (N, H) gradient dL/dh_t: shape ({T},).")
        got = as_tensor(value, f"state_grad_norms_by_hand on case '{name}'", (T,), "(T,)")
        expected = _autograd_norms(case)
        if _close(got, expected, rtol=1e-6):
            continue
        for wrong, message in _norms_mistakes(h, W, g_T):
            if _close(got, wrong, rtol=1e-6) and not _close(wrong, expected, rtol=1e-6):
                raise CheckFailure(f"case '{name}' (N={N}, T={T}, H={H}): {message}\n"
                                   f"  expected {describe(expected)}\n  got      {describe(got)}")
        assert_close(got, expected, f"||dL/dh_t|| on case '{name}' (N={N}, T={T}, H={H})", rtol=1e-6,
                     atol=1e-12 * float(expected.abs().max()),
                     hint="Hint: start from g = g_T, record its norm, then go back one step at a time with "
                          "g = (g * (1 - h_t**2)) @ W_hh; the autograd reference is course_lib.measure.state_grad_norms.")


STATE_GRAD_NORMS = Exercise("state_grad_norms_by_hand", "state_grad_norms_by_hand", _norms_cases, _norms_run,
                            _norms_judge)


# ------------------------------------------------------------------------------- spectral radius


def _radius_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    cases = {
        "random 4x4, rho=0.9": {"W": randn(4, 4).numpy(), "rho": 0.9},
        "random 6x6, rho=1.5": {"W": (randn(6, 6) / 3).numpy(), "rho": 1.5},
    }
    if hidden:
        S = randn(5, 5)
        upper = torch.triu(randn(5, 5), 1) * 4 + torch.diag(torch.linspace(-0.9, 0.6, 5, dtype=torch.float64))
        bound = 1 / math.sqrt(32)  # nn.RNN's default init: U(-1/sqrt(H), 1/sqrt(H))
        cases.update({
            "random 10x10, rho=1.0": {"W": randn(10, 10).numpy(), "rho": 1.0},
            "float32 8x8, rho=0.5": {"W": randn(8, 8).float().numpy(), "rho": 0.5},
            "symmetric 5x5, rho=2.0": {"W": (S + S.T).numpy(), "rho": 2.0},
            "non-normal (triangular) 5x5, rho=1.0": {"W": upper.numpy(), "rho": 1.0},
            "rotation-like 2x2 (eigenvalues ±2i), rho=0.5": {"W": np.array([[0.1, -2.0], [2.0, 0.1]]), "rho": 0.5},
            "1x1 [[-3]], rho=0.7": {"W": np.array([[-3.0]]), "rho": 0.7},
            "nn.RNN default init 32x32, rho=1.0": {
                "W": ((torch.rand(32, 32, generator=g, dtype=torch.float64) * 2 - 1) * bound).numpy(), "rho": 1.0},
        })
    return cases


def _radius_run(fn, case):
    W = torch.from_numpy(case["W"])
    out = fn(W, case["rho"])
    is_complex = isinstance(out, torch.Tensor) and out.is_complex()
    return {"out": out.real if is_complex else out, "complex": is_complex, "W_after": W,
            "same_object": out is W}


def _radius_mistakes(W: torch.Tensor, rho: float) -> list[tuple[torch.Tensor, str]]:
    eig = torch.linalg.eigvals(W)
    sym = torch.linalg.eigvalsh(W)  # reads the lower triangle only, as if W were symmetric
    candidates = [
        (torch.linalg.matrix_norm(W, ord=2), "used the largest singular value (the spectral norm, matrix_norm(W, 2) or "
                                             "svdvals) instead of the largest |eigenvalue|; they differ unless W is "
                                             "symmetric (normal)."),
        (sym.abs().max(), "torch.linalg.eigvalsh assumes a symmetric matrix, so it is wrong for non-symmetric W; use "
                          "torch.linalg.eigvals, which returns complex eigenvalues, and their modulus."),
        (eig.real.abs().max(), "took the real part of the eigenvalues, not the largest |eigenvalue|: the spectral "
                               "radius is the largest modulus |λ| = eigvals(W).abs().max(), and the eigenvalues of a "
                               "non-symmetric W can be complex."),
        (eig.real.max(), "took the largest (real part of the) eigenvalue, not the largest |eigenvalue|: negative and "
                         "complex eigenvalues count by their modulus."),
        (torch.linalg.matrix_norm(W), "divided by the Frobenius norm; the spectral radius is the largest |eigenvalue|."),
    ]
    out = [(W * (rho / float(r)), msg) for r, msg in candidates if float(r) != 0]
    radius = float(eig.abs().max())
    out.append((W * (radius / rho), "the ratio is upside down: multiply W by rho / (its spectral radius)."))
    return out


def _radius_judge(cases, results):
    for name, case in cases.items():
        res = result_of(results, name, "rescale_spectral_radius")
        W, rho = torch.from_numpy(case["W"]), case["rho"]
        if not isinstance(res["W_after"], np.ndarray) or not np.array_equal(res["W_after"], case["W"]) \
                or res["same_object"]:
            raise CheckFailure(f"case '{name}': rescale_spectral_radius modified its input W in place (e.g. W *= ... "
                               f"or W.mul_(...)); return a new matrix, W * factor, and leave W as it was.")
        if res["complex"]:
            raise CheckFailure(f"case '{name}': the result is a complex tensor. torch.linalg.eigvals returns complex "
                               f"numbers: take their modulus with .abs() before .max(), so the factor is real.")
        got = as_tensor(res["out"], f"rescale_spectral_radius on case '{name}'", tuple(W.shape), "like W")
        if got.dtype != W.dtype:
            raise CheckFailure(f"case '{name}': W is {W.dtype} but the result is {got.dtype}; keep W's dtype "
                               f"(convert the factor with float(...)).")
        radius = float(torch.linalg.eigvals(W.double()).abs().max())
        expected = W.double() * (rho / radius)
        rtol = 1e-9 if W.dtype == torch.float64 else 1e-5
        if _close(got, expected, rtol):
            continue
        for wrong, message in _radius_mistakes(W.double(), rho):
            if _close(got, wrong, rtol) and not _close(wrong, expected, rtol):
                raise CheckFailure(f"case '{name}': {message}\n  expected {describe(expected)}\n  got      {describe(got)}")
        got_radius = float(torch.linalg.eigvals(got.double()).abs().max()) if torch.isfinite(got).all() else float("nan")
        factor = float((got.double() * W.double()).sum() / (W.double() ** 2).sum())
        if not _close(got.double(), factor * W.double(), 1e-6) or factor <= 0:
            raise CheckFailure(f"case '{name}': the result is not W times a positive number; keep the direction of W "
                               f"and change only its scale (spectral radius of your result {got_radius:.6g}, wanted {rho}).")
        raise CheckFailure(f"case '{name}': the spectral radius of your result is {got_radius:.6g}, expected {rho} "
                           f"(W's own is {radius:.6g}, so the factor is rho / {radius:.6g} = {rho / radius:.6g}; "
                           f"yours is {factor:.6g}).")


RESCALE_SPECTRAL_RADIUS = Exercise("rescale_spectral_radius", "rescale_spectral_radius", _radius_cases, _radius_run,
                                   _radius_judge)


# ------------------------------------------------------------------------------- gradient-norm clipping


def _params_case(g: torch.Generator, shapes, grad_scale: float, max_norm: float, none_at=(), zero_at=(),
                 generator: bool = False, dtype=torch.float64) -> dict[str, Any]:
    values = [torch.randn(*s, generator=g, dtype=dtype).numpy() for s in shapes]
    grads = []
    for i, s in enumerate(shapes):
        grad = grad_scale * torch.randn(*s, generator=g, dtype=dtype)
        grads.append(None if i in none_at else (grad * 0 if i in zero_at or grad_scale == 0 else grad).numpy())
    return {"values": values, "grads": grads, "max_norm": max_norm, "generator": generator}


def _clip_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    cases = {
        "total norm above max_norm (clip), parameters as a generator": _params_case(
            g, [(4, 3), (4,), (2, 4)], 2.0, 1.0, generator=True),
        "total norm below max_norm (leave alone)": _params_case(g, [(3, 3), (3,)], 0.1, 5.0),
        "a parameter without gradient (grad None)": _params_case(g, [(2, 3), (5,), (3,)], 1.0, 0.5, none_at=(1,)),
    }
    if hidden:
        cases.update({
            "many parameters, max_norm=0.25": _params_case(g, [(6, 5), (6,), (6, 6), (6,), (1, 6), (1,)], 1.5, 0.25,
                                                           generator=True),
            "all gradients zero": _params_case(g, [(3, 2), (2,)], 0.0, 1.0),
            "one zero gradient among others": _params_case(g, [(4,), (2, 2)], 3.0, 1.0, zero_at=(0,)),
            "float32, huge gradients": _params_case(g, [(8, 8), (8,)], 1e4, 5.0, dtype=torch.float32),
            "below max_norm with a None gradient": _params_case(g, [(3,), (3, 3)], 0.05, 10.0, none_at=(0,)),
        })
    return cases


def _build_params(case: dict[str, Any]) -> list[nn.Parameter]:
    params = []
    for value, grad in zip(case["values"], case["grads"]):
        p = nn.Parameter(torch.from_numpy(np.array(value)))  # np.array copies: the case itself never changes
        if grad is not None:
            p.grad = torch.from_numpy(np.array(grad))
        params.append(p)
    return params


def _clip_run(fn, case):
    params = _build_params(case)
    total = fn((p for p in params) if case["generator"] else list(params), case["max_norm"])
    return {"total": total.detach() if isinstance(total, torch.Tensor) else total,
            "grads": [None if p.grad is None else p.grad.detach() for p in params],
            "values": [p.detach() for p in params]}


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        return float(value.reshape(()))
    return None


def _clip_judge(cases, results):
    for name, case in cases.items():
        value = results.get(name)
        if isinstance(value, LearnerError) and "NoneType" in value.message:
            raise CheckFailure(f"case '{name}': clip_grad_norm raised {value.type}: {value.message}. A parameter "
                               f"without gradient (p.grad is None, e.g. unused or frozen) must be skipped, as "
                               f"clip_grad_norm_ does.")
        if isinstance(value, LearnerError) and value.type == "ZeroDivisionError":
            raise CheckFailure(f"case '{name}': division by zero. When the total norm is 0 (or below max_norm) there "
                               f"is nothing to clip: scale only if total_norm > max_norm.")
        res = result_of(results, name, "clip_grad_norm")
        max_norm = case["max_norm"]
        params = _build_params(case)
        originals = [None if p.grad is None else p.grad.clone() for p in params]
        total_ref = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        clipped = total_ref > max_norm
        where = f"case '{name}' (total norm {total_ref:.4g}, max_norm {max_norm})"
        tol = 1e-9 if params[0].dtype == torch.float64 else 1e-5  # for the total norm
        gtol = 1e-5 if params[0].dtype == torch.float64 else 1e-4  # clip_grad_norm_ divides by total + 1e-6

        for i, (got, value0) in enumerate(zip(res["values"], case["values"])):
            if not np.array_equal(got, value0):
                raise CheckFailure(f"{where}: parameter {i} itself changed. Only the gradients p.grad are scaled in "
                                   f"place; the parameters (p.data) must stay as they are.")
        for i, (got, ref) in enumerate(zip(res["grads"], originals)):
            if ref is None and got is not None:
                raise CheckFailure(f"{where}: parameter {i} had no gradient (grad None) and now has one; leave it None.")
            if ref is not None and got is None:
                raise CheckFailure(f"{where}: the gradient of parameter {i} became None; scale it in place instead.")

        total = _as_number(res["total"])
        if total is None:
            raise CheckFailure(f"{where}: clip_grad_norm should return the total norm (a float or a 0-d tensor) as "
                               f"clip_grad_norm_ does, but it returned {describe(res['total'])}.")
        squares = sum(float((g.double() ** 2).sum()) for g in originals if g is not None)
        if not math.isclose(total, total_ref, rel_tol=tol, abs_tol=1e-12):
            if total_ref > 0 and math.isclose(total, squares, rel_tol=tol) and not math.isclose(squares, total_ref):
                raise CheckFailure(f"{where}: returned {total:.6g}, the sum of squares: forgot the square root "
                                   f"(total norm = sqrt(sum over parameters of ||g||²)).")
            if clipped and math.isclose(total, max_norm, rel_tol=1e-5):
                raise CheckFailure(f"{where}: returned the norm after clipping ({total:.6g}); return the total norm "
                                   f"before clipping, {total_ref:.6g}, as clip_grad_norm_ does (it tells you how "
                                   f"large the gradient really was).")
            per_param = sum(float(g.double().norm()) for g in originals if g is not None)
            if math.isclose(total, per_param, rel_tol=tol):
                raise CheckFailure(f"{where}: returned {total:.6g}, the sum of the parameters' norms; the total norm "
                                   f"is the norm of all gradients together: sqrt(sum of ||g||²) = {total_ref:.6g}.")
            raise CheckFailure(f"{where}: returned total norm {total:.6g}, expected {total_ref:.6g}.")

        got_grads = [None if g is None else torch.from_numpy(g) for g in res["grads"]]
        expected = [g for g in (p.grad for p in params) if g is not None]
        got_list = [g for g in got_grads if g is not None]
        if all(_close(g, e, gtol) for g, e in zip(got_list, expected)):
            continue
        if any(not torch.isfinite(g).all() for g in got_list):
            raise CheckFailure(f"{where}: the gradients contain NaN or inf. Division by zero? When the total norm is 0 "
                               f"nothing is clipped: scale only if total_norm > max_norm.")
        orig = [g for g in originals if g is not None]
        same = lambda cands: all(_close(g, c, gtol) for g, c in zip(got_list, cands))  # noqa: E731
        per_param = [g * min(1.0, max_norm / float(g.norm())) if float(g.norm()) > 0 else g for g in orig]
        if same(per_param):
            raise CheckFailure(f"{where}: clipped each parameter separately to max_norm; clip globally: one total norm "
                               f"over all gradients together, and one factor max_norm / total_norm for all of them.")
        if squares > 0 and same([g * (max_norm / squares) for g in orig]):
            raise CheckFailure(f"{where}: the gradients were scaled by max_norm / (sum of squares): forgot the square "
                               f"root when computing the total norm.")
        if not clipped and total_ref > 0 and same([g * (max_norm / total_ref) for g in orig]):
            raise CheckFailure(f"{where}: clipping when under the norm: the total norm was already below max_norm, so "
                               f"the gradients must stay as they are (you scaled them up to max_norm).")
        if clipped and same(orig):
            hint = (" parameters may be a generator (model.parameters()), which is empty the second time you loop "
                    "over it: make a list first, params = list(parameters)." if case["generator"] else "")
            raise CheckFailure(f"{where}: the gradients were not scaled although the total norm is above max_norm.{hint}")
        for i, (g, e) in enumerate(zip(got_list, expected)):
            assert_close(g, e, f"the gradient of parameter {i} on {where}", rtol=gtol, atol=1e-12,
                         hint="Hint: every gradient is multiplied by the same factor max_norm / total_norm "
                              "(only when total_norm > max_norm).")


CLIP_GRAD_NORM = Exercise("clip_grad_norm", "clip_grad_norm", _clip_cases, _clip_run, _clip_judge)


EXERCISES = (STATE_GRAD_NORMS, RESCALE_SPECTRAL_RADIUS, CLIP_GRAD_NORM)

check_state_grad_norms_by_hand = STATE_GRAD_NORMS.check
check_rescale_spectral_radius = RESCALE_SPECTRAL_RADIUS.check
check_clip_grad_norm = CLIP_GRAD_NORM.check
