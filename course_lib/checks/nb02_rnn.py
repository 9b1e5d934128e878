"""Checks for notebook 02 (RNN and backpropagation through time).

Exercises: an RNN cell, the forward pass over a sequence, BPTT by hand, truncated BPTT, sampling from a
character model, and a small RNN language model that must overfit a tiny set.

The recurrence, in the notebook's (PyTorch's) row notation, for a batch of rows x_t: (N, D):

    a_t = x_t W_xh^T + h_{t-1} W_hh^T + b_h,      h_t = tanh(a_t),      t = 1..T

(the seed article writes the same for one column vector: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)).

References are torch's own: ``nn.RNNCell`` and ``nn.RNN`` with copied weights (their two biases
b_ih + b_hh hold b_h and 0), autograd for every gradient, ``torch.multinomial`` with the same
generator state for sampling.  The typical mistakes are named by probing the learner's function with
one term switched on at a time, and by computing what each mistake would return (autograd on a
modified graph: a detached state, a tanh without its derivative) and comparing.  BPTT is checked in
float64 with relative error <= 1e-8 (CS231n's ``rel_error``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from course_lib.checks.core import (
    CheckFailure,
    Exercise,
    LearnerError,
    as_tensor,
    assert_close,
    describe,
    rel_error,
    result_of,
)

__all__ = [
    "EXERCISES",
    "BPTT_RTOL",
    "check_rnn_cell",
    "check_rnn_forward",
    "check_rnn_backward",
    "check_tbptt",
    "check_sample",
    "check_rnn_lm",
]

BPTT_RTOL = 1e-8  # the stated tolerance of the BPTT check (relative error, float64)
_GRAD_NAMES = ("dx", "dh0", "dW_xh", "dW_hh", "db_h")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _t(value: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(value))


def _same(got: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """True if two tensors have one shape and agree (a named mistake is recognised with this)."""
    return tuple(got.shape) == tuple(expected.shape) and torch.allclose(
        got.double(), expected.double(), rtol=rtol, atol=atol)


def _rnn_case(g: torch.Generator, N: int, D: int, H: int, T: int | None = None, dtype=torch.float64,
              scale: float = 0.6) -> dict[str, np.ndarray]:
    """Random inputs and weights: x (N, D) or (N, T, D), h0 (N, H), W_xh (H, D), W_hh (H, H), b_h (H,)."""
    shape = (N, D) if T is None else (N, T, D)
    case = {
        "x": torch.randn(*shape, generator=g, dtype=torch.float64),
        "h0": torch.randn(N, H, generator=g, dtype=torch.float64).tanh(),
        "W_xh": scale * torch.randn(H, D, generator=g, dtype=torch.float64),
        "W_hh": scale * torch.randn(H, H, generator=g, dtype=torch.float64),
        "b_h": scale * torch.randn(H, generator=g, dtype=torch.float64),
    }
    return {k: v.to(dtype).numpy() for k, v in case.items()}


def _cell_module(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNNCell:
    """nn.RNNCell holding W_xh, W_hh and b_h (its second bias b_hh set to zero)."""
    H, D = W_xh.shape
    cell = nn.RNNCell(D, H, dtype=W_xh.dtype)
    with torch.no_grad():
        cell.weight_ih.copy_(W_xh)
        cell.weight_hh.copy_(W_hh)
        cell.bias_ih.copy_(b_h)
        cell.bias_hh.zero_()
    return cell


def _rnn_module(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNN:
    H, D = W_xh.shape
    rnn = nn.RNN(D, H, batch_first=True, dtype=W_xh.dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(W_xh)
        rnn.weight_hh_l0.copy_(W_hh)
        rnn.bias_ih_l0.copy_(b_h)
        rnn.bias_hh_l0.zero_()
    return rnn


def _tolerance(dtype: torch.dtype) -> dict[str, float]:
    return {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}


def _check_dtype(got: torch.Tensor, expected: torch.dtype, what: str) -> None:
    if got.dtype != expected:
        raise CheckFailure(
            f"{what} has dtype {got.dtype}, but the inputs are {expected}. Keep the inputs' dtype: create new "
            f"tensors with torch.zeros_like(...) or dtype=x.dtype, not with torch.zeros(...) alone.")


# ============================================================================================ rnn_cell
# Probes switch one term on at a time; they are square (D = H) so that a missing transpose does not
# raise a shape error but is named.

_CELL_PROBES = ("only b_h (x_t = 0, h_prev = 0)", "only x_t (h_prev = 0, b_h = 0)", "only h_prev (x_t = 0, b_h = 0)")


def _cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    base = _rnn_case(g, N=3, D=4, H=4, scale=0.8)
    zero_x, zero_h, zero_b = np.zeros_like(base["x"]), np.zeros_like(base["h0"]), np.zeros_like(base["b_h"])
    cases = {
        _CELL_PROBES[0]: {**base, "x": zero_x, "h0": zero_h},
        _CELL_PROBES[1]: {**base, "h0": zero_h, "b_h": zero_b},
        _CELL_PROBES[2]: {**base, "x": zero_x, "b_h": zero_b},
        "N=3, D=4, H=5": _rnn_case(g, N=3, D=4, H=5),
    }
    if hidden:
        cases["N=1, D=1, H=1"] = _rnn_case(g, N=1, D=1, H=1)
        cases["N=6, D=7, H=3"] = _rnn_case(g, N=6, D=7, H=3)
        cases["float32, N=4, D=3, H=5"] = _rnn_case(g, N=4, D=3, H=5, dtype=torch.float32)
        cases["saturated: large weights"] = _rnn_case(g, N=2, D=3, H=4, scale=3.0)
    return cases


def _cell_run(fn, case):
    return fn(_t(case["x"]), _t(case["h0"]), _t(case["W_xh"]), _t(case["W_hh"]), _t(case["b_h"]))


def _cell_probe_message(name: str, case: dict, got: torch.Tensor) -> str | None:
    """Name the wrong term from a probe where a single term is switched on."""
    x, h, W_xh, W_hh, b = (_t(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    N = x.shape[0]
    if name == _CELL_PROBES[0]:
        b = b.expand(N, -1)
        named = [(b, "tanh missing: with x_t = 0 and h_prev = 0, h_t must be tanh(b_h), but you returned b_h "
                     "itself. Apply one tanh around the whole sum x_t W_xh^T + h_prev W_hh^T + b_h."),
                 (torch.zeros_like(b), "b_h is not added: with x_t = 0 and h_prev = 0, h_t must be tanh(b_h), "
                                       "you returned zeros."),
                 (torch.tanh(2 * b), "b_h is added twice (nn.RNNCell has two biases b_ih + b_hh; here there is "
                                     "one, b_h)."),
                 (torch.sigmoid(b), "wrong nonlinearity: you applied a sigmoid; the RNN uses tanh."),
                 (torch.relu(b), "wrong nonlinearity: you applied a ReLU; the RNN uses tanh.")]
        expected = torch.tanh(b)
    elif name == _CELL_PROBES[1]:
        named = [(torch.tanh(x @ W_xh), "W_xh used without transpose: x_t (N, D) times W_xh.T (D, H), i.e. "
                                        "x_t @ W_xh.T. W_xh has shape (H, D), (out, in) as in PyTorch."),
                 (torch.tanh(x @ W_hh.T), "x_t is multiplied by W_hh; x_t goes with W_xh (input to hidden)."),
                 (torch.zeros_like(x @ W_xh.T), "the x_t term is missing: with h_prev = 0 and b_h = 0, h_t must be "
                                                "tanh(x_t @ W_xh.T), you returned zeros.")]
        expected = torch.tanh(x @ W_xh.T)
    else:
        named = [(torch.tanh(h), "h_prev is not multiplied by W_hh: the recurrent term is h_prev @ W_hh.T."),
                 (torch.tanh(h @ W_hh), "W_hh used without transpose: the recurrent term is h_prev @ W_hh.T."),
                 (torch.tanh(h @ W_xh.T), "h_prev is multiplied by W_xh; h_prev goes with W_hh (hidden to hidden)."),
                 (torch.zeros_like(h), "h_prev is not used: with x_t = 0 and b_h = 0, h_t must be "
                                       "tanh(h_prev @ W_hh.T), you returned zeros.")]
        expected = torch.tanh(h @ W_hh.T)
    if _same(got, expected, rtol=1e-9, atol=1e-12):
        return None
    for wrong, message in named:
        if _same(got, wrong, rtol=1e-9, atol=1e-12) and not _same(wrong, expected, rtol=1e-9, atol=1e-12):
            return message
    return None


def _cell_judge(cases, results):
    for name, case in cases.items():
        x, h, W_xh, W_hh, b = (_t(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
        expected = _cell_module(W_xh, W_hh, b)(x, h).detach()
        got = as_tensor(result_of(results, name, "rnn_cell"), f"h_t on case '{name}'", tuple(expected.shape), "(N, H)")
        message = _cell_probe_message(name, case, got) if name in _CELL_PROBES else None
        if message:
            raise CheckFailure(f"case '{name}': {message}\n  expected {describe(expected)}\n  got      {describe(got)}")
        _check_dtype(got, expected.dtype, f"h_t on case '{name}'")
        assert_close(got, expected, f"h_t on case '{name}' (compared with nn.RNNCell on the same weights)",
                     **_tolerance(expected.dtype),
                     hint="h_t = tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h).")


RNN_CELL = Exercise("rnn_cell", "rnn_cell", _cell_cases, _cell_run, _cell_judge)


# ============================================================================================ rnn_forward


def _forward_cases(seed, hidden):
    g = _generator(seed)
    cases = {"N=2, T=5, D=3, H=4": _rnn_case(g, N=2, D=3, H=4, T=5)}
    if hidden:
        cases["N=1, T=1, D=2, H=3"] = _rnn_case(g, N=1, D=2, H=3, T=1)
        cases["N=3, T=20, D=4, H=6"] = _rnn_case(g, N=3, D=4, H=6, T=20)
        cases["N=4, T=3, D=5, H=5"] = _rnn_case(g, N=4, D=5, H=5, T=3)
        cases["float32, N=2, T=7, D=3, H=2"] = _rnn_case(g, N=2, D=3, H=2, T=7, dtype=torch.float32)
    return cases


def _forward_run(fn, case):
    out = fn(_t(case["x"]), _t(case["h0"]), _t(case["W_xh"]), _t(case["W_hh"]), _t(case["b_h"]))
    return tuple(out) if isinstance(out, (list, tuple)) else out


def _pair(value: Any, what: str, names: str) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        kind = type(value).__name__ if not isinstance(value, (list, tuple)) else f"{len(value)} values"
        raise CheckFailure(f"{what} should return a pair {names}, got {kind}")
    return tuple(value)


def _forward_judge(cases, results):
    for name, case in cases.items():
        x, h0, W_xh, W_hh, b = (_t(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
        (N, T, _), H = x.shape, h0.shape[1]
        hs_ref, last_ref = _rnn_module(W_xh, W_hh, b)(x, h0[None])
        hs_ref, last_ref = hs_ref.detach(), last_ref[0].detach()
        hs, last = _pair(result_of(results, name, "rnn_forward"), "rnn_forward", "(hs, h_last)")
        if isinstance(hs, np.ndarray) and hs.shape == (N, T + 1, H):
            raise CheckFailure(
                f"case '{name}': hs has shape {hs.shape}, expected (N, T, H) = {(N, T, H)}: you returned h_0 among "
                f"the states (off by one in time). hs[:, t] is the state after reading x[:, t]: h_1 .. h_T.")
        if isinstance(hs, np.ndarray) and hs.shape == (T, N, H) and T != N:
            raise CheckFailure(f"case '{name}': hs has shape {hs.shape} = (T, N, H), time first; return it batch "
                               f"first, (N, T, H) = {(N, T, H)} (torch.stack(states, dim=1)).")
        hs = as_tensor(hs, f"hs on case '{name}'", (N, T, H), "(N, T, H)")
        last = as_tensor(last, f"h_last on case '{name}'", (N, H), "(N, H)")
        _check_dtype(hs, hs_ref.dtype, f"hs on case '{name}'")
        tol = _tolerance(hs_ref.dtype)
        if not _same(hs, hs_ref, **tol):
            shifted = torch.cat([h0[:, None], hs_ref[:, :-1]], dim=1)
            from_h0 = torch.tanh(F.linear(x, W_xh, b) + F.linear(h0, W_hh)[:, None])  # every step from h0
            from_zero = _rnn_module(W_xh, W_hh, b)(x, torch.zeros_like(h0)[None])[0].detach()
            for wrong, message in (
                (shifted, "you returned h_0 among the states (off by one in time): hs[:, 0] is h_0 and the final "
                          "state is missing. hs[:, t] must be the state after reading x[:, t]."),
                (from_h0, "the state is not carried from step to step: every step starts from h0. Step t must "
                          "use the state of step t-1 (h = rnn_cell(x[:, t], h, ...))."),
                (from_zero, "h0 is ignored: the first step must start from the given h0, not from zeros."),
            ):
                if _same(hs, wrong, **tol) and not _same(wrong, hs_ref, **tol):
                    raise CheckFailure(f"case '{name}': {message}")
            assert_close(hs, hs_ref, f"hs on case '{name}' (compared with nn.RNN(batch_first=True))", **tol,
                         hint="hs[:, t] = tanh(x[:, t] @ W_xh.T + hs[:, t-1] @ W_hh.T + b_h), with hs[:, -1] "
                              "replaced by h0 at t = 0.")
        if not _same(last, last_ref, **tol):
            if _same(last, h0, **tol):
                hint = "it is h_0, the initial state"
            elif T > 1 and _same(last, hs_ref[:, 0], **tol):
                hint = "it is h_1, the first state"
            elif T > 1 and _same(last, hs_ref[:, -2], **tol):
                hint = "it is h_{T-1}, one step too early"
            else:
                hint = f"expected {describe(last_ref)}, got {describe(last)}"
            raise CheckFailure(f"case '{name}': last is not the final state h_T = hs[:, -1] ({hint}). The N-1 "
                               f"output of an RNN is the state after the last step.")


RNN_FORWARD = Exercise("rnn_forward", "rnn_forward", _forward_cases, _forward_run, _forward_judge)


# ============================================================================================ rnn_backward
# The loss is L = sum_t <dhs[:, t], h_t>: dhs[:, t] is the gradient of L with respect to h_t that arrives
# from above (from y_t), not the gradient that flows back through h_{t+1}.

_BPTT_PROBES = {
    "probe: every upstream gradient zero": "zero",
    "probe: upstream gradient only on the first state": "first",
    "probe: upstream gradient only on the last state": "last",
}


def _bptt_case(g: torch.Generator, N: int, T: int, D: int, H: int, upstream: str = "random") -> dict:
    case = _rnn_case(g, N=N, D=D, H=H, T=T)
    x, h0, W_xh, W_hh, b = (_t(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    hs = _rnn_module(W_xh, W_hh, b)(x, h0[None])[0].detach()
    dhs = torch.randn(N, T, H, generator=g, dtype=torch.float64)
    if upstream == "zero":
        dhs.zero_()
    elif upstream == "first":
        dhs[:, 1:] = 0
    elif upstream == "last":
        dhs[:, :-1] = 0
    return {**case, "hs": hs.numpy(), "dhs": dhs.numpy()}


def _backward_cases(seed, hidden):
    g = _generator(seed)
    cases = {"N=2, T=4, D=3, H=5": _bptt_case(g, 2, 4, 3, 5)}
    for probe, kind in _BPTT_PROBES.items():
        cases[probe] = _bptt_case(g, 2, 4, 3, 5, kind)
    if hidden:
        cases["N=1, T=1, D=2, H=3"] = _bptt_case(g, 1, 1, 2, 3)
        cases["N=3, T=9, D=4, H=4"] = _bptt_case(g, 3, 9, 4, 4)
        cases["N=4, T=15, D=5, H=3"] = _bptt_case(g, 4, 15, 5, 3)
        for probe, kind in _BPTT_PROBES.items():
            cases[probe + ", T=7, D=H=3"] = _bptt_case(g, 3, 7, 3, 3, kind)
    return cases


def _backward_run(fn, case):
    inputs = {k: _t(case[k]).clone() for k in ("x", "h0", "W_xh", "W_hh", "b_h", "hs", "dhs")}
    before = {k: v.clone() for k, v in inputs.items()}
    out = fn(*inputs.values())
    changed = [k for k in inputs if not torch.equal(inputs[k], before[k])]
    if isinstance(out, dict):
        out = {str(k): v for k, v in out.items()}
    elif isinstance(out, (list, tuple)):
        out = tuple(out)
    return {"grads": out, "modified": changed}


def _bptt_reference(case: dict, variant: str = "correct") -> dict[str, torch.Tensor]:
    """Gradients of L = sum(hs * dhs) by autograd, for the right graph or a mistaken one.

    variant "correct":  the RNN itself (nn.RNNCell, step by step).
    variant "local":    the state entering steps 2..T detached: what BPTT computes when it forgets to add
                        the gradient flowing back from step t+1.
    variant "no_tanh":  tanh's derivative replaced by 1 (forward values unchanged).
    Also returns "dh1": dL/dh_1 (the total gradient on the first state) and "da": dL/da_t, (N, T, H).
    """
    x, h0, W_xh, W_hh, b = (_t(case[k]).clone().requires_grad_() for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    dhs = _t(case["dhs"])
    cell = _cell_module(W_xh.detach(), W_hh.detach(), b.detach())
    weights = {"weight_ih": W_xh, "weight_hh": W_hh, "bias_ih": b, "bias_hh": torch.zeros_like(b)}
    h, states, pre = h0, [], []
    for t in range(x.shape[1]):
        h_in = h.detach() if variant == "local" and t > 0 else h
        a = F.linear(x[:, t], W_xh, b) + F.linear(h_in, W_hh)
        if variant == "no_tanh":
            h = a + (torch.tanh(a) - a).detach()
        else:
            h = functional_call(cell, weights, (x[:, t], h_in))
        states.append(h)
        pre.append(a)
    loss = (torch.stack(states, dim=1) * dhs).sum()
    grads = torch.autograd.grad(loss, [x, h0, W_xh, W_hh, b], retain_graph=True)
    out = dict(zip(_GRAD_NAMES, (g.detach() for g in grads)))
    dh = torch.autograd.grad(loss, states, retain_graph=True)
    out["dh1"] = dh[0].detach()
    out["da"] = torch.stack([d * (1 - s.detach() ** 2) for d, s in zip(dh, states)], dim=1)  # (N, T, H)
    return out


def _bptt_grads(value: Any, name: str, shapes: dict[str, tuple]) -> dict[str, torch.Tensor]:
    if isinstance(value, tuple) and len(value) == len(_GRAD_NAMES):
        raise CheckFailure(f"rnn_backward should return a dict with keys {list(_GRAD_NAMES)}, not a tuple: "
                           f"return {{'dx': dx, 'dh0': dh0, 'dW_xh': dW_xh, 'dW_hh': dW_hh, 'db_h': db_h}}")
    if not isinstance(value, dict):
        raise CheckFailure(f"rnn_backward should return a dict with keys {list(_GRAD_NAMES)}, got "
                           f"{type(value).__name__}")
    if value.get("dh0") is None:
        raise CheckFailure("rnn_backward returned no dh0 (the gradient flowing into the initial state). After "
                           "the loop over time, the gradient that step 1 sends back is dh0: return it as 'dh0'.")
    missing = [k for k in _GRAD_NAMES if k not in value or value[k] is None]
    if missing:
        raise CheckFailure(f"rnn_backward returned no {missing[0]!r}; return a dict with keys {list(_GRAD_NAMES)}")
    grads = {}
    for key in _GRAD_NAMES:
        hint = " (sum over the batch and over time)" if key.startswith(("dW", "db")) else ""
        got = value[key]
        if isinstance(got, np.ndarray) and key == "db_h" and got.ndim == 2 and got.shape[1:] == shapes[key]:
            raise CheckFailure(f"db_h has shape {got.shape}, expected {shapes[key]}: sum it over the batch too.")
        grads[key] = as_tensor(got, f"{key} on case '{name}'{hint}", shapes[key])
        _check_dtype(grads[key], torch.float64, f"{key} on case '{name}'")
    return grads


def _all_zero(tensors) -> bool:
    return all(float(t.abs().max()) == 0.0 if t.numel() else True for t in tensors)


def _backward_judge(cases, results):
    # 1. What came back, and whether the inputs were left alone.
    grads, refs = {}, {}
    for name, case in cases.items():
        value = result_of(results, name, "rnn_backward")
        if isinstance(value, dict) and value.get("modified"):
            which = value["modified"][0]
            raise CheckFailure(
                f"rnn_backward modified its input {which!r} in place (case '{name}'): e.g. dh = dhs[:, t] "
                f"followed by dh += ... writes into dhs. Use dh = dhs[:, t] + dh_next, which makes a new tensor.")
        x = case["x"]
        (N, T, D), H = x.shape, case["h0"].shape[1]
        shapes = {"dx": (N, T, D), "dh0": (N, H), "dW_xh": (H, D), "dW_hh": (H, H), "db_h": (H,)}
        grads[name] = _bptt_grads(value["grads"] if isinstance(value, dict) else value, name, shapes)
        refs[name] = _bptt_reference(case)

    # 2. Probes: each isolates one classic mistake.
    for name, case in cases.items():
        kind = next((k for p, k in _BPTT_PROBES.items() if name.startswith(p)), None)
        got, ref = grads[name], refs[name]
        T = case["x"].shape[1]
        if kind == "zero" and not _all_zero(got.values()):
            raise CheckFailure(
                f"case '{name}': every upstream gradient dhs is zero, so every gradient must be zero, but "
                f"{next(k for k in _GRAD_NAMES if not _all_zero([got[k]]))} is not. The running gradient "
                f"dh_next is not started at zero: before the loop, dh_next = torch.zeros_like(h0).")
        if kind == "first" and T > 1 and float(got["dx"][:, 1:].abs().max()) > 1e-12:
            raise CheckFailure(
                f"case '{name}': only h_1 receives an upstream gradient, so dx[:, t] must be zero for t >= 2 "
                f"(later inputs cannot change h_1), but it is not: the time loop runs forward. BPTT runs from "
                f"t = T down to 1 (for t in reversed(range(T))), passing the gradient back to earlier steps.")
        if kind == "last" and T > 1:
            reached = float(ref["dx"][:, :-1].abs().max()) > 1e-10
            if reached and float(got["dx"][:, :-1].abs().max()) <= 1e-12:
                raise CheckFailure(
                    f"case '{name}': only h_T receives an upstream gradient, yet dx is zero before the last step: "
                    f"the gradient flowing back from step t+1 is not added. At every step dh_t = dhs[:, t] + "
                    f"dh_next, where dh_next = da_{{t+1}} @ W_hh came back from step t+1.")
        if kind == "last" and _same(got["db_h"], 2 * ref["db_h"], rtol=1e-8, atol=1e-12):
            raise CheckFailure(
                f"case '{name}': every gradient is twice the right value: the last step's upstream gradient is "
                f"counted twice. The running gradient dh_next is not started at zero (it started at "
                f"dhs[:, -1]); start it at zero and add dhs[:, t] inside the loop.")

    # 3. Every case against autograd, naming the mistakes whose results we can compute.
    for name, case in cases.items():
        got, ref = grads[name], refs[name]
        ok = {k: _same(got[k], ref[k], rtol=BPTT_RTOL, atol=1e-12) for k in _GRAD_NAMES}
        if all(ok.values()):
            continue
        if not ok["dh0"]:
            if _all_zero([got["dh0"]]) and not _all_zero([ref["dh0"]]):
                raise CheckFailure(
                    f"case '{name}': dh0 is zero. Return the gradient that flows out of step 1 into h_0: "
                    f"dh0 = da_1 @ W_hh, where da_1 = dh_1 * (1 - h_1 ** 2).")
            if _same(got["dh0"], ref["dh1"], rtol=1e-8, atol=1e-12):
                raise CheckFailure(
                    f"case '{name}': dh0 is the gradient with respect to h_1 (returned dh at t = 1), not h_0. "
                    f"Pass it back through step 1 once more: dh0 = (dh_1 * (1 - h_1 ** 2)) @ W_hh.")
        local = _bptt_reference(case, "local")
        no_tanh = _bptt_reference(case, "no_tanh")
        hs = _t(case["hs"])
        wrong_dW_hh = torch.einsum("nth,ntk->hk", ref["da"], hs)  # pairs da_t with h_t instead of h_{t-1}
        da1, T = ref["da"][:, 0], hs.shape[1]
        step1 = {"dW_xh": da1.T @ _t(case["x"])[:, 0], "dW_hh": da1.T @ _t(case["h0"]), "db_h": da1.sum(0)}
        for key in _GRAD_NAMES:
            if ok[key]:
                continue
            if _same(got[key], local[key], rtol=1e-8, atol=1e-12) and not _same(local[key], ref[key]):
                raise CheckFailure(
                    f"case '{name}': {key} is what BPTT gives when the gradient flowing back from step t+1 is not "
                    f"added: dh_t must be dhs[:, t] + dh_next (dh_next = da_{{t+1}} @ W_hh), not dhs[:, t] alone.")
            if _same(got[key], no_tanh[key], rtol=1e-8, atol=1e-12) and not _same(no_tanh[key], ref[key]):
                raise CheckFailure(
                    f"case '{name}': {key} misses tanh's derivative: da_t = dh_t * (1 - h_t ** 2) before "
                    f"multiplying by the weights.")
            if key == "dW_hh" and _same(got[key], wrong_dW_hh, rtol=1e-8, atol=1e-12):
                raise CheckFailure(
                    f"case '{name}': dW_hh pairs da_t with h_t; it must pair it with h_{{t-1}}, the state that "
                    f"entered step t (h0 at t = 1): dW_hh += da_t.T @ h_prev.")
            if key in step1 and T > 1 and _same(got[key], step1[key], rtol=1e-8, atol=1e-12):
                raise CheckFailure(
                    f"case '{name}': {key} holds only the contribution of step 1, the last step the backward loop "
                    f"visits: the weights are shared by all steps, so accumulate their gradients (+=, not =).")
            assert_close(got[key], ref[key], f"{key} on case '{name}' (compared with autograd)", rtol=BPTT_RTOL,
                         atol=1e-12, hint=f"relative error {rel_error(got[key], ref[key]):.2e} > {BPTT_RTOL:g}. "
                         f"Per step, from t = T down to 1: dh = dhs[:, t] + dh_next; da = dh * (1 - h_t**2); "
                         f"dW_xh += da.T @ x_t; dW_hh += da.T @ h_prev; db_h += da.sum(0); dx_t = da @ W_xh; "
                         f"dh_next = da @ W_hh.")


RNN_BACKWARD = Exercise("rnn_backward", "rnn_backward", _backward_cases, _backward_run, _backward_judge)


# ============================================================================================ truncated BPTT
# The model step the check hands to tbptt: h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h), y_hat = h_t W_hy^T,
# loss_t = 0.5 * mean over the batch of ||y_hat - y_t||^2.

_TBPTT_PARAMS = ("W_xh", "W_hh", "b_h", "W_hy")


def _tbptt_step(P: dict[str, torch.Tensor], x_t, y_t, h):
    h = torch.tanh(F.linear(x_t, P["W_xh"], P["b_h"]) + F.linear(h, P["W_hh"]))
    loss = 0.5 * ((F.linear(h, P["W_hy"]) - y_t) ** 2).sum(dim=1).mean()
    return h, loss


def _tbptt_case(g, N, T, D, H, k, lr=0.0):
    case = _rnn_case(g, N=N, D=D, H=H, T=T, scale=0.9)
    case["W_hy"] = (0.7 * torch.randn(2, H, generator=g, dtype=torch.float64)).numpy()
    case["y"] = torch.randn(N, T, 2, generator=g, dtype=torch.float64).numpy()
    return {**case, "k": k, "lr": lr}


def _tbptt_cases(seed, hidden):
    g = _generator(seed)
    cases = {
        "T=12, k=4": _tbptt_case(g, 2, 12, 3, 4, 4),
        "T=10, k=4 (a shorter last chunk)": _tbptt_case(g, 2, 10, 3, 4, 4),
        "T=9, k=3, with an SGD optimizer": _tbptt_case(g, 2, 9, 3, 4, 3, lr=0.1),
    }
    if hidden:
        cases["T=7, k=7 (one chunk)"] = _tbptt_case(g, 3, 7, 2, 3, 7)
        cases["T=5, k=1"] = _tbptt_case(g, 1, 5, 2, 3, 1)
        cases["T=6, k=10 (k > T)"] = _tbptt_case(g, 2, 6, 3, 2, 10)
        cases["T=20, k=6"] = _tbptt_case(g, 3, 20, 4, 5, 6)
        cases["T=11, k=4, with an SGD optimizer"] = _tbptt_case(g, 3, 11, 2, 4, 4, lr=0.05)
    return cases


def _tbptt_run(fn, case):
    P = {k: _t(case[k]).clone().requires_grad_() for k in _TBPTT_PARAMS}
    calls = [0]

    def step(x_t, y_t, h):
        """One time step of the model: returns (h_t, loss_t)."""
        calls[0] += 1
        return _tbptt_step(P, x_t, y_t, h)

    optimizer = torch.optim.SGD(list(P.values()), lr=case["lr"]) if case["lr"] else None
    out = fn(step, _t(case["x"]), _t(case["y"]), _t(case["h0"]), case["k"], optimizer=optimizer)
    if not isinstance(out, (list, tuple)) or len(out) != 2:
        return {"returned": type(out).__name__ if not isinstance(out, (list, tuple)) else f"{len(out)} values"}
    h_T, loss = out
    if isinstance(loss, torch.Tensor) and loss.numel() == 1:
        loss = float(loss.detach())
    grads = {k: (None if p.grad is None else p.grad.detach()) for k, p in P.items()}
    return {"h_T": h_T, "loss": loss, "calls": calls[0], "grads": grads,
            "params": {k: p.detach() for k, p in P.items()}}


def _tbptt_reference(case, k, *, detach=True, backward_each=True, drop_tail=False, sgd=False,
                     zero_grad=True, step_each=True):
    """Truncated BPTT done right (the defaults) or with one mistake; returns grads or params, h_T, loss."""
    P = {name: _t(case[name]).clone().requires_grad_() for name in _TBPTT_PARAMS}
    x, y, h = _t(case["x"]), _t(case["y"]), _t(case["h0"])
    T = x.shape[1]
    acc = {name: torch.zeros_like(p) for name, p in P.items()}
    total, chunk_losses = 0.0, []
    for start in range(0, T, k):
        stop = min(start + k, T)
        if drop_tail and stop - start < k:
            break
        if detach:
            h = h.detach()
        loss = 0.0
        for t in range(start, stop):
            h, loss_t = _tbptt_step(P, x[:, t], y[:, t], h)
            loss = loss + loss_t
        chunk_losses.append(loss)
        total += float(loss.detach())
        if backward_each:
            grads = torch.autograd.grad(loss, list(P.values()), retain_graph=not detach)
            for name, g in zip(P, grads):
                acc[name] = acc[name] + g if (not sgd or not zero_grad or not step_each) else g
            if sgd and step_each:
                with torch.no_grad():
                    for name, p in P.items():
                        p -= case["lr"] * acc[name]
    if not backward_each:  # backward on the last chunk's loss only
        acc = dict(zip(P, torch.autograd.grad(chunk_losses[-1], list(P.values()))))
    if sgd and not step_each:
        with torch.no_grad():
            for name, p in P.items():
                p -= case["lr"] * acc[name]
    return {"grads": acc, "params": {n: p.detach() for n, p in P.items()}, "h_T": h.detach(), "loss": total}


def _tbptt_judge(cases, results):
    for name, case in cases.items():
        value = results.get(name)
        if isinstance(value, LearnerError) and "backward through the graph a second time" in value.message:
            raise CheckFailure(
                f"case '{name}': the state was never detached, so the second chunk's backward went back into the "
                f"first chunk's graph, which the first backward had already freed (RuntimeError: Trying to "
                f"backward through the graph a second time). Detach the carried state at the start of every "
                f"chunk: h = h.detach().")
        if isinstance(value, LearnerError) and "does not require grad" in value.message:
            raise CheckFailure(
                f"case '{name}': a chunk's loss does not depend on the parameters (RuntimeError: element 0 of "
                f"tensors does not require grad): detach the carried state h, not the loss, and do not run "
                f"the steps under torch.no_grad().")
        value = result_of(results, name, "tbptt")
        if "returned" in value:
            raise CheckFailure(f"tbptt should return a pair (h_T, total_loss), got {value['returned']}")
        x = case["x"]
        (N, T, _), H, k = x.shape, case["h0"].shape[1], case["k"]
        sgd = bool(case["lr"])
        ref = _tbptt_reference(case, k, sgd=sgd)
        if value["calls"] == T - T % k and T % k:
            raise CheckFailure(f"case '{name}': step was called {value['calls']} times for T = {T}: the last, shorter "
                               f"chunk ({T % k} steps) is dropped; it must be trained too.")
        if value["calls"] != T:
            raise CheckFailure(
                f"case '{name}': step was called {value['calls']} times for T = {T} time steps with k = {k}; call it "
                f"once per time step, chunk after chunk (the last chunk may be shorter than k).")
        key = "params" if sgd else "grads"
        missing = [n for n in _TBPTT_PARAMS if value["grads"][n] is None and not sgd]
        if missing:
            raise CheckFailure(f"case '{name}': no gradient reached {missing[0]}: call loss.backward() on each "
                               f"chunk's loss.")
        got = {n: as_tensor(value[key][n], f"{key}[{n}] on case '{name}'", tuple(ref[key][n].shape))
               for n in _TBPTT_PARAMS}

        def matches(other):
            return all(_same(got[n], other[key][n], rtol=1e-8, atol=1e-12) for n in _TBPTT_PARAMS)

        if not matches(ref):
            _tbptt_diagnose(case, name, got, key, ref, matches)
        h_T = as_tensor(value["h_T"], f"h_T on case '{name}'", (N, H), "(N, H)")
        if not _same(h_T, ref["h_T"], rtol=1e-9, atol=1e-12):
            raise CheckFailure(f"case '{name}': the returned state is not h_T, the state after the last step. "
                               f"Expected {describe(ref['h_T'])}, got {describe(h_T)}.")
        loss = value["loss"]
        if not isinstance(loss, (int, float)) or abs(float(loss) - ref["loss"]) > 1e-8 * max(1.0, abs(ref["loss"])):
            raise CheckFailure(f"case '{name}': the returned loss should be the sum of every step's loss over all "
                               f"chunks, as a float: expected {ref['loss']:.6g}, got {describe(loss)}.")


def _tbptt_diagnose(case, name, got, key, ref, matches):
    """Raise a CheckFailure naming the mistake whose gradients (or updated parameters) the learner's match."""
    T, k, sgd = case["x"].shape[1], case["k"], bool(case["lr"])
    variants = [(dict(k=T), "the state is never detached: the gradient flows back through every chunk (full "
                            "BPTT). Detach the carried state at the start of every chunk: h = h.detach()."),
                (dict(k=1), "the state is detached every step, so no gradient flows from one step to the "
                            "previous one. Detach only at chunk boundaries, every k steps."),
                (dict(k=k + 1), f"the chunks have k + 1 = {k + 1} steps; they should have k = {k}."),
                (dict(k=max(k - 1, 1)), f"the chunks have k - 1 = {k - 1} steps; they should have k = {k}."),
                (dict(k=k, drop_tail=True), f"the last, shorter chunk ({T % k} steps) is dropped; it must be "
                                            f"trained too.")]
    if not sgd:
        variants.append((dict(k=k, backward_each=False), "only the last chunk's loss was backpropagated: call "
                                                         "loss.backward() inside the loop, once per chunk."))
    else:
        variants += [(dict(k=k, zero_grad=False), "the gradients of earlier chunks are not cleared: after "
                                                  "optimizer.step(), call optimizer.zero_grad()."),
                     (dict(k=k, step_each=False), "the parameters are updated once at the end; call "
                                                  "optimizer.step() after every chunk's backward.")]
    for kwargs, message in variants:
        if kwargs.get("k") == k and len(kwargs) == 1:
            continue
        try:
            other = _tbptt_reference(case, sgd=sgd, **kwargs)
        except RuntimeError:
            continue
        if matches(other) and not all(_same(other[key][n], ref[key][n], rtol=1e-8, atol=1e-12)
                                      for n in _TBPTT_PARAMS):
            raise CheckFailure(f"case '{name}': {message}")
    if sgd and all(_same(got[n], _t(case[n])) for n in _TBPTT_PARAMS):
        raise CheckFailure(f"case '{name}': the parameters did not change: call optimizer.step() after "
                           f"each chunk's backward (when an optimizer is given).")
    for n in _TBPTT_PARAMS:
        assert_close(got[n], ref[key][n], f"{key}[{n}] on case '{name}' (compared with autograd, the state "
                     f"detached every k = {k} steps)", rtol=1e-8, atol=1e-12)


TBPTT = Exercise("tbptt", "tbptt", _tbptt_cases, _tbptt_run, _tbptt_judge)


# ============================================================================================ sampling
# logits_fn(ids) -> (V,) logits of the next token; the check's model is a table of logits indexed by the
# last id (a bigram model), returned as a view so that writing into it is noticed.

_STATS = "statistics"


def _sample_case(g, V, start, steps, temperature, table="random", seed=0):
    if table == "random":
        logits = 1.5 * torch.randn(V, V, generator=g, dtype=torch.float64)
    elif table == "separated":  # gaps >= 0.5 between sorted logits: temperature -> 0 is exactly greedy
        logits = torch.stack([torch.randperm(V, generator=g).double() * 0.7 for _ in range(V)])
    else:  # the same logits in every row: the draws are i.i.d. and their frequencies can be tested
        logits = (1.2 * torch.randn(V, generator=g, dtype=torch.float64)).expand(V, V).clone()
    return {"table": logits.numpy(), "start": np.asarray(start, dtype=np.int64), "steps": steps,
            "temperature": temperature, "seed": seed}


def _sample_cases(seed, hidden):
    g = _generator(seed)
    seeds = torch.randint(0, 2**31 - 1, (12,), generator=g).tolist()
    cases = {
        "greedy (temperature 0)": _sample_case(g, 6, [2, 0], 8, 0.0, seed=seeds[0]),
        "temperature 1": _sample_case(g, 6, [1], 12, 1.0, seed=seeds[1]),
        "temperature 0.5": _sample_case(g, 8, [3, 4, 5], 10, 0.5, seed=seeds[2]),
        f"{_STATS}, temperature 2, 3000 draws": _sample_case(g, 5, [0], 3000, 2.0, "constant", seeds[3]),
    }
    if hidden:
        cases["greedy, one start id, V=30"] = _sample_case(g, 30, [7], 15, 0.0, seed=seeds[4])
        cases["temperature 0.001 (the greedy limit)"] = _sample_case(g, 9, [4], 12, 1e-3, "separated", seeds[5])
        cases["temperature 5"] = _sample_case(g, 7, [1, 2], 20, 5.0, seed=seeds[6])
        cases["steps = 0"] = _sample_case(g, 5, [3, 1], 0, 1.0, seed=seeds[7])
        cases[f"{_STATS}, temperature 0.5, 3000 draws"] = _sample_case(g, 6, [2], 3000, 0.5, "constant", seeds[8])
    return cases


def _sample_run(fn, case):
    table = _t(case["table"]).clone()
    original = table.clone()
    lengths = []

    def logits_fn(ids):
        """Logits (V,) of the token after ``ids`` (a bigram model: only the last id matters)."""
        ids = torch.as_tensor(ids)
        lengths.append(int(ids.numel()))
        return table[int(ids.reshape(-1)[-1])]

    start = _t(case["start"]).clone()
    out = fn(logits_fn, start, case["steps"], case["temperature"], _generator(case["seed"]))
    result = {"ids": out, "lengths": list(lengths), "start_modified": not torch.equal(start, _t(case["start"])),
              "logits_modified": not torch.equal(table, original)}
    # Again with the same generator seed but another global seed: the draws must not change.
    table.copy_(original)
    state = torch.get_rng_state()
    try:
        torch.manual_seed(case["seed"] + 1)
        result["ids_again"] = fn(logits_fn, _t(case["start"]).clone(), case["steps"], case["temperature"],
                                 _generator(case["seed"]))
    finally:
        torch.set_rng_state(state)
    return result


def _sample_reference(case, temperature_map=lambda logits, tau: logits / tau, feed=True, greedy=None):
    """The ids sample should return, drawing with torch.multinomial and a generator seeded like the learner's."""
    table, ids = _t(case["table"]), _t(case["start"]).tolist()
    tau, g = case["temperature"], _generator(case["seed"])
    greedy = tau == 0 if greedy is None else greedy
    for _ in range(case["steps"]):
        logits = table[ids[-1] if feed else int(case["start"][-1])]
        if greedy:
            ids.append(int(logits.argmax()))
        else:
            ids.append(int(torch.multinomial(torch.softmax(temperature_map(logits, tau), dim=-1), 1, generator=g)))
    return torch.tensor(ids, dtype=torch.long)


def _frequency_verdict(case, new_ids: torch.Tensor) -> str | None:
    """None if the draws follow softmax(logits / T); else what they follow instead."""
    logits, tau = _t(case["table"])[0], case["temperature"]
    V, n = logits.numel(), new_ids.numel()
    counts = torch.bincount(new_ids.clamp(0, V - 1), minlength=V).double()

    def z_max(p):
        return float(((counts - n * p).abs() / (n * p * (1 - p)).clamp_min(1e-12).sqrt()).max())

    if z_max(torch.softmax(logits / tau, 0)) < 6.0:  # six standard deviations: never fails by chance
        return None
    for p, what in ((torch.softmax(logits, 0), "the temperature is ignored: softmax(logits), not "
                                               "softmax(logits / temperature)"),
                    (torch.softmax(logits * tau, 0), "the logits are multiplied by the temperature; divide them: "
                                                     "softmax(logits / temperature)"),
                    (torch.full((V,), 1.0 / V), "the draws are uniform: sample from softmax(logits / temperature)")):
        if z_max(p) < 6.0:
            return what
    return "the frequencies of the sampled ids do not follow softmax(logits / temperature)"


def _sample_judge(cases, results):
    for name, case in cases.items():
        tau, T0, steps = case["temperature"], len(case["start"]), case["steps"]
        value = results.get(name)
        if isinstance(value, LearnerError) and value.type != "NotImplementedError":
            text = value.message.lower()
            if tau == 0 and any(w in text for w in ("nan", "inf", "zero", "division")):
                raise CheckFailure(f"case '{name}': sample raised {value.type} ({value.message}). Temperature 0 "
                                   f"means greedy: take the argmax of the logits; do not divide by 0.")
            if 0 < tau < 0.01 and any(w in text for w in ("nan", "inf")):
                raise CheckFailure(f"case '{name}': at temperature {tau:g} sample raised {value.type} ({value.message}"
                                   f"): exp(logits / temperature) overflows. Use torch.softmax, which subtracts the "
                                   f"maximum first.")
        value = result_of(results, name, "sample")
        expected = _sample_reference(case)
        if value["start_modified"]:
            raise CheckFailure(f"case '{name}': sample modified start_ids in place; leave its inputs unchanged "
                               f"(build a new tensor, e.g. with torch.cat).")
        if value["logits_modified"]:
            raise CheckFailure(f"case '{name}': sample modified the logits returned by logits_fn in place (e.g. "
                               f"logits /= temperature changes the model's own tensor); write "
                               f"logits / temperature, which makes a new tensor.")
        ids = value["ids"]
        if isinstance(ids, np.ndarray) and ids.shape == (steps,) and steps and \
                torch.equal(torch.from_numpy(ids).long(), expected[T0:]):
            raise CheckFailure(f"case '{name}': you returned only the {steps} new ids; return start_ids followed by "
                               f"them ({T0 + steps} ids).")
        ids = as_tensor(ids, f"the ids on case '{name}'", (T0 + steps,), "(len(start_ids) + steps,)")
        if ids.dtype != torch.long:
            raise CheckFailure(f"case '{name}': the ids should be a LongTensor (torch.long), got {ids.dtype}.")
        if not torch.equal(ids[:T0], expected[:T0]):
            raise CheckFailure(f"case '{name}': the returned ids must start with start_ids {expected[:T0].tolist()}, "
                               f"got {ids[:T0].tolist()}.")
        lengths = value["lengths"]
        if steps > 1 and lengths and all(n == T0 for n in lengths):
            raise CheckFailure(f"case '{name}': logits_fn always received start_ids: pass it the ids so far "
                               f"(start_ids followed by the ids sampled until now), so each new id is fed back.")
        if steps > 1 and lengths and all(n == 1 for n in lengths) and T0 + steps > 2:
            raise CheckFailure(f"case '{name}': logits_fn received one id at a time; pass it all the ids so far "
                               f"(the model may need the whole context).")
        if torch.equal(ids, expected):
            continue
        if tau == 0:
            table, argmin = _t(case["table"]), _t(case["start"]).tolist()
            for _ in range(steps):
                argmin.append(int(table[argmin[-1]].argmin()))
            if ids.tolist() == argmin:
                raise CheckFailure(f"case '{name}': greedy picks the least likely id (argmin); take the argmax.")
            raise CheckFailure(f"case '{name}': with temperature 0 sample is greedy: each new id is the argmax of "
                               f"logits_fn(ids so far). Expected {expected.tolist()}, got {ids.tolist()}.")
        again = value["ids_again"]
        if not (isinstance(again, np.ndarray) and torch.equal(torch.from_numpy(again), ids)):
            raise CheckFailure(f"case '{name}': the draws are not reproducible: with a generator seeded the same "
                               f"way, sample returned different ids. Pass generator=generator to torch.multinomial "
                               f"(the global random state must not matter).")
        for kwargs, message in (
            (dict(greedy=True), "the new ids are the argmax: with a temperature > 0 sample must draw from "
                                "softmax(logits / temperature) with torch.multinomial."),
            (dict(temperature_map=lambda lg, tau: lg), "the temperature is ignored: draw from "
                                                       "softmax(logits / temperature)."),
            (dict(temperature_map=lambda lg, tau: lg * tau), "the logits are multiplied by the temperature; "
                                                             "divide them: softmax(logits / temperature)."),
        ):
            other = _sample_reference(case, **kwargs)
            if torch.equal(ids, other) and not torch.equal(other, expected):
                raise CheckFailure(f"case '{name}': {message}")
        if name.startswith(_STATS):
            verdict = _frequency_verdict(case, ids[T0:])
            if verdict:
                raise CheckFailure(f"case '{name}': {verdict}.")
        raise CheckFailure(
            f"case '{name}': the draws differ from torch.multinomial(torch.softmax(logits / temperature, dim=-1), "
            f"num_samples=1, generator=generator) at each step. Use exactly that call, once per new id, so that "
            f"the draws are reproducible. Expected {expected[:12].tolist()}..., got {ids[:12].tolist()}...")


SAMPLE = Exercise("sample", "sample", _sample_cases, _sample_run, _sample_judge)


# ============================================================================================ RNN language model
# The learner's model, built on their rnn_forward, is trained here on a tiny set; the judge recomputes the
# loss of the trained parameters with nn.RNN, so the verdict does not rest on numbers the model reports.

_LM_PARAMS = {"W_xh": ("H", "V"), "W_hh": ("H", "H"), "b_h": ("H",), "W_hy": ("V", "H"), "b_y": ("V",)}
LM_LOSS_TARGET = 0.05  # "near zero": the cross-entropy the trained model must reach on the tiny set


def _lm_case(ids: torch.Tensor, V: int, H: int, steps: int, seed: int) -> dict:
    return {"ids": ids.numpy(), "V": V, "H": H, "steps": steps, "lr": 0.05, "seed": seed}


def _lm_cases(seed, hidden):
    g = _generator(seed)
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    chars = sorted(set(poem))
    ids = torch.tensor([[chars.index(c) for c in line] for line in (poem[:12], poem[12:])])
    cases = {"静夜思, two lines of 12 characters": _lm_case(ids, len(chars), 16, 100, seed)}
    if hidden:
        V = 11
        rows = [torch.cat([torch.tensor([first]), torch.randint(0, V, (9,), generator=g)])
                for first in torch.randperm(V, generator=g)[:3].tolist()]  # distinct first ids: learnable
        cases["3 random sequences, V=11"] = _lm_case(torch.stack(rows), V, 16, 100, seed + 1)
    return cases


def _lm_run(fn, case):
    ids = _t(case["ids"])
    X, Y, V, H = ids[:, :-1], ids[:, 1:], case["V"], case["H"]
    state = torch.get_rng_state()
    try:
        torch.manual_seed(case["seed"])
        model = fn(V, H)
    finally:
        torch.set_rng_state(state)
    if not isinstance(model, nn.Module):
        return {"error": f"RNNLM(V, H) should build an nn.Module, got {type(model).__name__}"}
    params = dict(model.named_parameters())
    init = {k: p.detach().clone() for k, p in params.items() if k in _LM_PARAMS}
    optimizer = torch.optim.Adam(model.parameters(), lr=case["lr"])
    losses, no_grad = [], []
    for step in range(case["steps"]):
        logits, _ = model(X)
        loss = F.cross_entropy(logits.reshape(-1, V), Y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            no_grad = [k for k in _LM_PARAMS if k in params and params[k].grad is None]
        optimizer.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        logits, h_T = model(X)
    return {"init": init, "final": {k: p.detach() for k, p in params.items() if k in _LM_PARAMS},
            "names": sorted(params), "losses": losses, "logits": logits, "h_T": h_T, "no_grad": no_grad}


def _lm_reference(params: dict[str, torch.Tensor], X: torch.Tensor, V: int):
    """Logits (N, T, V) and h_T (N, H) of the same parameters, computed with nn.RNN and F.linear."""
    W_xh = params["W_xh"]
    rnn = _rnn_module(W_xh, params["W_hh"], params["b_h"])
    hs, h_T = rnn(F.one_hot(X, V).to(W_xh.dtype))
    return F.linear(hs, params["W_hy"], params["b_y"]).detach(), h_T[0].detach()


def _lm_judge(cases, results):
    for name, case in cases.items():
        value = result_of(results, name, "RNNLM")
        if "error" in value:
            raise CheckFailure(value["error"])
        V, H = case["V"], case["H"]
        sizes = {"V": V, "H": H}
        for key, letters in _LM_PARAMS.items():
            if key not in value["final"]:
                raise CheckFailure(f"RNNLM has no parameter named {key!r} (it has {value['names']}). Register it "
                                   f"with self.{key} = nn.Parameter(...), shape {letters}.")
            shape = tuple(sizes[s] for s in letters)
            as_tensor(value["final"][key], f"RNNLM.{key}", shape, "(" + ", ".join(letters) + ")")
        if value["no_grad"]:
            raise CheckFailure(f"RNNLM.{value['no_grad'][0]} gets no gradient: the loss does not depend on it. Use "
                               f"the parameters themselves in forward (no .detach(), .data or torch.no_grad()).")
        init = {k: _t(v) for k, v in value["init"].items()}
        if all(float(v.abs().max()) == 0 for k, v in init.items() if k.startswith("W")):
            raise CheckFailure("RNNLM's weights start at zero: every hidden unit then gets the same (zero) "
                               "gradient. Initialise them with small random values, uniform in ±1/sqrt(H) as "
                               "nn.RNN does.")
        ids = _t(case["ids"])
        X, Y = ids[:, :-1], ids[:, 1:]
        final = {k: _t(v) for k, v in value["final"].items()}
        ref_logits, ref_h = _lm_reference(final, X, V)
        logits = as_tensor(value["logits"], f"the logits of RNNLM on case '{name}'", tuple(ref_logits.shape),
                           "(N, T, V)")
        h_T = as_tensor(value["h_T"], f"the h_T of RNNLM on case '{name}'", tuple(ref_h.shape), "(N, H)")
        tol = {"rtol": 1e-4, "atol": 1e-5}
        hs_ref = _rnn_module(final["W_xh"], final["W_hh"], final["b_h"])(F.one_hot(X, V).to(final["W_xh"].dtype))[0]
        late = F.linear(torch.cat([torch.zeros_like(hs_ref[:, :1]), hs_ref[:, :-1]], dim=1), final["W_hy"], final["b_y"])
        if _same(logits, late.detach(), **tol):
            raise CheckFailure(f"case '{name}': the logits at step t are computed from h_{{t-1}}; use h_t, the state "
                               f"after reading ids[:, t] (logits = hs @ W_hy.T + b_y).")
        assert_close(logits, ref_logits, f"RNNLM's logits on case '{name}' (compared with nn.RNN + a linear "
                     f"read-out on RNNLM's own parameters)", **tol,
                     hint="logits[:, t] = h_t @ W_hy.T + b_y with hs from rnn_forward(one_hot(ids), zeros, ...).")
        assert_close(h_T, ref_h, f"RNNLM's h_T on case '{name}'", **tol, hint="Return rnn_forward's last state.")
        loss = float(F.cross_entropy(ref_logits.reshape(-1, V).double(), Y.reshape(-1)))
        first = value["losses"][0] if value["losses"] else float("nan")
        if not loss < LM_LOSS_TARGET:
            raise CheckFailure(
                f"case '{name}': after {case['steps']} Adam steps (lr {case['lr']}) the loss went from {first:.3f} "
                f"to {loss:.3f}; a correct model drives it below {LM_LOSS_TARGET} on this tiny set. Check that "
                f"gradients reach every parameter (nn.Parameter, no .detach()) and that the weights start small "
                f"(uniform in ±1/sqrt(H)); large random weights saturate tanh.")


RNN_LM = Exercise("rnn_lm", "RNNLM", _lm_cases, _lm_run, _lm_judge)


EXERCISES = (RNN_CELL, RNN_FORWARD, RNN_BACKWARD, TBPTT, SAMPLE, RNN_LM)

check_rnn_cell = RNN_CELL.check
check_rnn_forward = RNN_FORWARD.check
check_rnn_backward = RNN_BACKWARD.check
check_tbptt = TBPTT.check
check_sample = SAMPLE.check
check_rnn_lm = RNN_LM.check
