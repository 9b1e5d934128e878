"""Exercise 3: ``lstm_state_grad_norms(lstm, x, loss_of_last)``: ||dL/dh_t|| of an ``nn.LSTM`` for t = 1..T.

The LSTM is stepped one time step at a time, carrying (h, c), and the list of h_t goes to
:func:`course_lib.measure.state_grad_norms`; the loss is a squared error on the last state,
``L = mean((h_T v - y)^2)``.  The reference restarts ``nn.LSTM`` from a leaf copy of each h_t, so it does
not share the learner's way of stepping through time.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    close,
    generator,
    randn,
    tensor,
    visible_first,
)
from course_lib.measure import state_grad_norms


def _grad_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    settings = [(3, 6, 2, 4, 1.0)] if not hidden else [(2, 12, 3, 5, 3.0), (4, 1, 2, 3, 1.0), (1, 9, 1, 2, 0.0)]
    cases = {}
    for N, T, D, H, forget_bias in settings:
        cases[f"N={N}, T={T}, D={D}, H={H}, forget bias {forget_bias}"] = _grad_case(g, N, T, D, H, forget_bias)
    N, T, D, H = (2, 5, 3, 4) if not hidden else (3, 4, 2, 3)  # the norms are float64 whatever the LSTM's dtype
    cases[f"float32 LSTM and x, N={N}, T={T}, D={D}, H={H}"] = {
        "kind": "dtype",
        **_grad_case(g, N, T, D, H, 1.0, torch.float32),
    }
    return cases


def _grad_case(g, N, T, D, H, forget_bias, dtype=torch.float64) -> dict[str, Any]:
    bias_ih = randn(g, 4 * H, scale=0.3)
    bias_ih[H : 2 * H] += forget_bias
    return {
        "N": N,
        "T": T,
        "D": D,
        "H": H,
        "x": randn(g, N, T, D, dtype=dtype),
        "weight_ih": randn(g, 4 * H, D, scale=0.7, dtype=dtype),
        "weight_hh": randn(g, 4 * H, H, scale=0.7, dtype=dtype),
        "bias_ih": torch.from_numpy(bias_ih).to(dtype).numpy(),
        "bias_hh": randn(g, 4 * H, scale=0.3, dtype=dtype),
        "v": randn(g, H, dtype=dtype),
        "y": randn(g, N, dtype=dtype),
    }


def _dtype(case) -> torch.dtype:
    """The case's dtype: its LSTM's and x's (the norms returned are float64 either way)."""
    return tensor(case["x"]).dtype


def _lstm_module(case) -> nn.LSTM:
    lstm = nn.LSTM(case["D"], case["H"], batch_first=True, dtype=_dtype(case))
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(tensor(case[name]))
    return lstm


def _loss_of_last(case) -> Callable[[torch.Tensor], torch.Tensor]:
    v, y, H = tensor(case["v"]), tensor(case["y"]), case["H"]

    def loss_of_last(h_T: torch.Tensor) -> torch.Tensor:
        """A squared error on the last state, like the adding problem's: mean((h_T v - y)^2)."""
        return ((h_T.reshape(-1, H) @ v - y) ** 2).mean()

    return loss_of_last


def _grad_run(fn, case):
    return fn(_lstm_module(case), tensor(case["x"]), _loss_of_last(case))


def _restart_norms(case) -> torch.Tensor:
    """||dL/dh_t|| by restarting nn.LSTM from a leaf copy of h_t: the reference.

    Independent of stepping through time with a list of states: for each t, run nn.LSTM on x[:, :t], make
    h_t a leaf, run on from (leaf, c_t) over x[:, t:] and differentiate the loss with respect to the leaf
    (h_t reaches the loss only through the steps after t, or directly when t = T).
    """
    lstm, loss_of_last, x = _lstm_module(case), _loss_of_last(case), tensor(case["x"])
    T = case["T"]
    norms = []
    for t in range(1, T + 1):
        with torch.no_grad():
            _, (h, c) = lstm(x[:, :t])
        leaf = h.clone().requires_grad_(True)
        h_T = lstm(x[:, t:], (leaf, c))[1][0] if t < T else leaf
        norms.append(float(torch.autograd.grad(loss_of_last(h_T[0]), leaf)[0].norm()))
    return torch.tensor(norms, dtype=torch.float64)


def _stepped_norms(case, wrt: str = "h", reset_c: bool = False) -> torch.Tensor:
    """The norms of a typical wrong measurement: of dL/dc_t, or with the cell state reset at every step."""
    lstm, loss_of_last, x = _lstm_module(case), _loss_of_last(case), tensor(case["x"])
    zeros = torch.zeros(1, case["N"], case["H"], dtype=_dtype(case))
    h, c, states = zeros, zeros, []
    for t in range(case["T"]):
        _, (h, c) = lstm(x[:, t : t + 1], (h, zeros if reset_c else c))
        states.append(h if wrt == "h" else c)
    return state_grad_norms(loss_of_last(h[0]), states)


def _grad_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        T = case["T"]
        value = result_of(results, name, "lstm_state_grad_norms")
        what = f"lstm_state_grad_norms on case '{name}'"
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] in (T + 1, T - 1) and T > 1:
            hint = (
                "it includes h_0 (the initial state, which no step computed)"
                if value.shape[0] == T + 1
                else "h_T (the last state, on which the loss is computed) is missing"
            )
            raise CheckFailure(
                f"{what} returned {value.shape[0]} norms for T={T} steps: {hint}. "
                f"Return ||dL/dh_t|| for t = 1..T, one per step."
            )
        got = as_tensor(value, what, (T,), "(T,)")
        if got.dtype != torch.float64:  # the docstring's promise, whatever the LSTM's dtype
            raise CheckFailure(
                f"{what}: the norms are {got.dtype} on a {_dtype(case)} LSTM; the docstring promises (T,) float64 "
                f"whatever the LSTM's dtype (norms are measured, not trained)."
            )
        expected, dtype = _restart_norms(case), _dtype(case)
        if close(got, expected, dtype):
            continue
        if T > 1 and close(got, expected.flip(0), dtype):
            raise CheckFailure(f"{what}: the norms are in reverse order; entry t-1 is ||dL/dh_t||, h_1 first.")
        if T > 1 and float(got[:-1].abs().max()) == 0.0 and float(got[-1]) > 0:
            raise CheckFailure(
                f"{what}: every norm but the last is 0. You probably ran nn.LSTM once over the whole sequence "
                f"and took gradients with respect to slices of its output: the recurrence happens inside that one "
                f"call, so out[:, t] reaches the loss only through itself. Step through time, one call per step "
                f"(carrying (h, c)), and keep each h_t."
            )
        if float(got.abs().max()) == 0.0:
            raise CheckFailure(
                f"{what}: every norm is 0: the states you passed to state_grad_norms are not the ones "
                f"the loss was computed from (detached, or copies made after the forward pass)."
            )
        if close(got, _stepped_norms(case, wrt="c"), dtype):
            raise CheckFailure(
                f"{what}: these are ||dL/dc_t|| (the cell states); the exercise asks for the hidden "
                f"states h_t, the ones the next step's gates read."
            )
        if T > 1 and close(got, _stepped_norms(case, reset_c=True), dtype):
            raise CheckFailure(
                f"{what}: the cell state is reset to zero at every step; carry (h, c) from one step to the next."
            )
        assert_close(
            got,
            expected,
            what,
            dtype=dtype,
            hint="Reference: autograd through nn.LSTM, restarted from a leaf copy of h_t for every t. Each h_t "
            "you measure must be a state the next step reads and the loss is computed from.",
            letters="T" if got.dim() == 1 else None,
        )


LSTM_STATE_GRAD_NORMS = Exercise(
    "lstm_state_grad_norms", "lstm_state_grad_norms", visible_first(_grad_cases), _grad_run, _grad_judge
)
check_lstm_state_grad_norms = LSTM_STATE_GRAD_NORMS.check
