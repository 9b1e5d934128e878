"""Check of ``rnn_cell``: one step of the recurrence.

    h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b_h)      x_t: (N, D), h_prev = h_{t-1}: (N, H) -> h_t: (N, H)

The reference is ``nn.RNNCell`` on the same weights.  Probes switch one term on at a time (x_t, h_prev
or b_h, the other two zero); they are square (D = H) so that a missing transpose does not raise a shape
error but is named.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb02_rnn.recurrence import cell_module, rnn_case
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    first_named_mistake,
    generator,
    show_difference,
    tensor,
    tolerance,
    visible_first,
)

__all__ = ["RNN_CELL", "check_rnn_cell"]

_CELL_PROBES = ("only b_h (x_t = 0, h_prev = 0)", "only x_t (h_prev = 0, b_h = 0)", "only h_prev (x_t = 0, b_h = 0)")


def _cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    base = rnn_case(g, N=3, D=4, H=4, scale=0.8)
    zero_x, zero_h, zero_b = np.zeros_like(base["x"]), np.zeros_like(base["h0"]), np.zeros_like(base["b_h"])
    cases = {
        _CELL_PROBES[0]: {**base, "x": zero_x, "h0": zero_h},
        _CELL_PROBES[1]: {**base, "h0": zero_h, "b_h": zero_b},
        _CELL_PROBES[2]: {**base, "x": zero_x, "b_h": zero_b},
        "N=3, D=4, H=5": rnn_case(g, N=3, D=4, H=5),
        "float32, N=2, D=3, H=4": {**rnn_case(g, N=2, D=3, H=4, dtype=torch.float32), "kind": "dtype"},
    }
    if hidden:
        cases["N=1, D=1, H=1"] = rnn_case(g, N=1, D=1, H=1)
        cases["N=6, D=7, H=3"] = rnn_case(g, N=6, D=7, H=3)
        cases["float32, N=4, D=3, H=5"] = {**rnn_case(g, N=4, D=3, H=5, dtype=torch.float32), "kind": "dtype"}
        cases["saturated: large weights"] = rnn_case(g, N=2, D=3, H=4, scale=3.0)
    return cases


def _cell_run(fn, case):
    return fn(*(tensor(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h")))


def _cell_probe_message(name: str, case: dict, got: torch.Tensor) -> str | None:
    """Name the wrong term from a probe where a single term is switched on."""
    x, h, W_xh, W_hh, b = (tensor(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    N = x.shape[0]
    if name == _CELL_PROBES[0]:
        b = b.expand(N, -1)
        named = [
            (
                b,
                "tanh missing: with x_t = 0 and h_prev = 0, h_t must be tanh(b_h), but you returned b_h "
                "itself. Apply one tanh around the whole sum x_t W_xh^T + h_prev W_hh^T + b_h.",
            ),
            (
                torch.zeros_like(b),
                "b_h is not added: with x_t = 0 and h_prev = 0, h_t must be tanh(b_h), you returned zeros.",
            ),
            (torch.tanh(2 * b), "b_h is added twice (nn.RNNCell has two biases b_ih + b_hh; here there is one, b_h)."),
            (torch.sigmoid(b), "wrong nonlinearity: you applied a sigmoid; the RNN uses tanh."),
            (torch.relu(b), "wrong nonlinearity: you applied a ReLU; the RNN uses tanh."),
        ]
        expected = torch.tanh(b)
    elif name == _CELL_PROBES[1]:
        named = [
            (
                torch.tanh(x @ W_xh),
                "W_xh used without transpose: x_t (N, D) times W_xh.T (D, H), i.e. "
                "x_t @ W_xh.T. W_xh has shape (H, D), (out, in) as in PyTorch.",
            ),
            (torch.tanh(x @ W_hh.T), "x_t is multiplied by W_hh; x_t goes with W_xh (input to hidden)."),
            (
                torch.zeros_like(x @ W_xh.T),
                "the x_t term is missing: with h_prev = 0 and b_h = 0, h_t must be "
                "tanh(x_t @ W_xh.T), you returned zeros.",
            ),
        ]
        expected = torch.tanh(x @ W_xh.T)
    else:
        named = [
            (torch.tanh(h), "h_prev is not multiplied by W_hh: the recurrent term is h_prev @ W_hh.T."),
            (torch.tanh(h @ W_hh), "W_hh used without transpose: the recurrent term is h_prev @ W_hh.T."),
            (torch.tanh(h @ W_xh.T), "h_prev is multiplied by W_xh; h_prev goes with W_hh (hidden to hidden)."),
            (
                torch.zeros_like(h),
                "h_prev is not used: with x_t = 0 and b_h = 0, h_t must be tanh(h_prev @ W_hh.T), you returned zeros.",
            ),
        ]
        expected = torch.tanh(h @ W_hh.T)
    return first_named_mistake(
        got,
        expected,
        [(message, wrong) for wrong, message in named],
        same=lambda a, b: close(a, b, rtol=1e-9, atol=1e-12),
    )


def _cell_judge(cases, results):
    for name, case in cases.items():
        x, h, W_xh, W_hh, b = (tensor(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
        expected = cell_module(W_xh, W_hh, b)(x, h).detach()
        got = as_tensor(result_of(results, name, "rnn_cell"), f"h_t on case '{name}'", tuple(expected.shape), "(N, H)")
        message = _cell_probe_message(name, case, got) if name in _CELL_PROBES else None
        if message:
            raise CheckFailure(f"case '{name}': {message}\n  {show_difference(got, expected)}")
        assert_dtype(got, expected.dtype, f"h_t on case '{name}'")
        assert_close(
            got,
            expected,
            f"h_t on case '{name}' (compared with nn.RNNCell on the same weights)",
            **tolerance(expected.dtype),
            hint="Check each term of §2's equation against the shapes: which weight meets x_t, which meets h_prev, and is it transposed?",
        )


RNN_CELL = Exercise("rnn_cell", "rnn_cell", visible_first(_cell_cases), _cell_run, _cell_judge)

check_rnn_cell = RNN_CELL.check
