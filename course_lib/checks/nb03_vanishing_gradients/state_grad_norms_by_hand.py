"""Check of ``state_grad_norms_by_hand`` (notebook 03): the gradient norms ``||dL/dh_t||``, t = 1..T, of a tanh
RNN, computed by hand.

The reference is autograd through ``nn.RNNCell`` with the case's weights (via
:func:`course_lib.measure.state_grad_norms`).  A wrong answer is compared with what each typical wrong formula
gives on the same inputs (:func:`_norms_mistakes`), so the message can name the mistake.

Row convention, as in the notebook: ``h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h)`` and, for a loss on the
last step with ``dL/dh_T = g_T``, ``dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.references import holding
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close_to_scale,
    first_named_mistake,
    generator,
    show_difference,
    visible_first,
)
from course_lib.measure import state_grad_norms


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
    g = generator(seed)
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
    cell = holding(
        nn.RNNCell(D, H, nonlinearity="tanh", dtype=torch.float64),
        *(torch.from_numpy(case[k]) for k in ("W_xh", "W_hh", "b_h")),
    )
    h, states = h0, []
    for t in range(T):
        h = cell(x[:, t], h)
        states.append(h)
    return state_grad_norms((states[-1] * g_T).sum(), states)


def _backward(
    h: torch.Tensor, W: torch.Tensor, g_T: torch.Tensor, deriv: Callable[[int], torch.Tensor]
) -> torch.Tensor:
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
        (
            norms.flip(0),
            "reversed time order: norms[0] must be ||dL/dh_1|| (the first step) and norms[-1] = "
            "||dL/dh_T|| = ||g_T||. Reverse your list, or fill norms[t - 1] as you go back.",
        ),
        (
            norms**2,
            "these are the squared norms ||dL/dh_t||² (forgot the square root): take "
            "torch.linalg.vector_norm(g_t), or the sqrt of the sum of squares.",
        ),
        (
            step_norms(h),
            "norm of the wrong tensor: you returned ||h_t||, the size of the hidden state itself. "
            "Return ||dL/dh_t||, the size of the gradient that reaches step t.",
        ),
        (
            step_norms(grads * d),
            "norm of the wrong tensor: you returned ||dL/dh_t ⊙ (1 - h_t²)||, the gradient of the "
            "pre-activation a_t (after going back through the tanh). Record ||dL/dh_t|| before "
            "multiplying by 1 - h_t².",
        ),
        (
            step_norms(_backward(h, W, g_T, lambda i: 1.0)),
            "missing (1 - h_t²): the gradient goes back through the tanh "
            "at every step, dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh.",
        ),
        (
            step_norms(_backward(h, W.T, g_T, lambda i: d[:, i])),
            "multiplied by W_hh.T: with rows, a_t = ... + h_{t-1} "
            "W_hh^T, so dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh, "
            "with no transpose.",
        ),
        (
            step_norms(_backward(h, W, g_T, lambda i: d[:, i - 1])),
            "used 1 - h_{t-1}² instead of 1 - h_t²: the tanh between h_{t-1} and h_t is the one that makes h_t.",
        ),
        (
            grads.norm(dim=2).mean(0),
            "averaged the norms of the N examples: take one norm of the whole (N, H) "
            "gradient dL/dh_t at each step (the loss sums over the batch).",
        ),
        (
            grads.abs().sum((0, 2)),
            "this is the L1 norm (sum of absolute values); the exercise asks for the "
            "Euclidean norm sqrt(sum of squares).",
        ),
    ]


def _norms_judge(cases, results):
    for name, case in cases.items():
        value = result_of(results, name, "state_grad_norms_by_hand")
        h, W, g_T = (torch.from_numpy(case[k]) for k in ("h", "W_hh", "g_T"))
        N, T, H = h.shape
        if isinstance(value, (list, tuple)):
            raise CheckFailure(
                f"state_grad_norms_by_hand should return one tensor of shape (T,) = ({T},), but it "
                f"returned a {type(value).__name__} of length {len(value)}: torch.stack it."
            )
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] in (T - 1, T + 1):
            extra = (
                "one too many: did you include dL/dh_0? Return t = 1..T only."
                if value.shape[0] == T + 1
                else "one too few: include ||dL/dh_T|| = ||g_T|| itself, the last entry."
            )
            raise CheckFailure(f"case '{name}': {value.shape[0]} norms for T = {T} steps, {extra}")
        if isinstance(value, np.ndarray) and value.shape in ((N, T), (T, N)) and N > 1:
            raise CheckFailure(
                f"case '{name}': shape {value.shape} holds one norm per example; return one number per "
                f"step, the norm of the whole (N, H) gradient dL/dh_t: shape ({T},)."
            )
        got = as_tensor(value, f"state_grad_norms_by_hand on case '{name}'", (T,), "(T,)")
        assert_dtype(got, torch.float64, f"state_grad_norms_by_hand on case '{name}'")  # the case is float64
        expected = _autograd_norms(case)
        if close_to_scale(got, expected, rtol=1e-6):
            continue
        message = first_named_mistake(
            got,
            expected,
            [(m, w) for w, m in _norms_mistakes(h, W, g_T)],
            same=lambda a, b: close_to_scale(a, b, rtol=1e-6),
        )
        if message:
            raise CheckFailure(f"case '{name}' (N={N}, T={T}, H={H}): {message}\n  {show_difference(got, expected)}")
        assert_close(
            got,
            expected,
            f"||dL/dh_t|| on case '{name}' (N={N}, T={T}, H={H})",
            rtol=1e-6,
            atol=1e-12 * float(expected.abs().max()),
            hint="The autograd reference is course_lib.measure.state_grad_norms: compare the step where yours first "
            "differs with your loop's first iteration.",
            letters="T",
        )


STATE_GRAD_NORMS = Exercise(
    "state_grad_norms_by_hand", "state_grad_norms_by_hand", visible_first(_norms_cases), _norms_run, _norms_judge
)
