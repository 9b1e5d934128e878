"""Exercise 2a: ``fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh) -> (h_t, c_t)``, one product for four gates.

``xp_t = x_t weight_ih^T + bias`` (N, 4H) is the input's share, projected before the call; ``weight_hh`` is
(4H, H), stacked i, f, g, o::

    z = xp_t + h_{t-1} weight_hh^T                                  # (N, 4H)
    z_i, z_f, z_g, z_o = z[:, 0:H], z[:, H:2H], z[:, 2H:3H], z[:, 3H:4H]
    c_t = sigmoid(z_f) * c_{t-1} + sigmoid(z_i) * tanh(z_g),   h_t = sigmoid(z_o) * tanh(c_t)

The reference is ``nn.LSTMCell`` on x_t with the same stacked weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, LearnerError
from course_lib.checks.nb04_lstm.cell_judge import judge_cell
from course_lib.checks.nb04_lstm.gates import GATE_ORDER, PROBES, probe_name
from course_lib.checks.nb04_lstm.mistakes import swap_message_stacked
from course_lib.checks.nb04_lstm.references import torch_cell
from course_lib.checks.toolkit import call_keeping_inputs, generator, randn, tensor, visible_first


def _fused_cell_case(g, N, D, H, dtype, saturate=None) -> dict[str, Any]:
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    weight_ih = 0.6 * torch.randn(4 * H, D, generator=g, dtype=torch.float64)
    bias = 0.5 * torch.randn(4 * H, generator=g, dtype=torch.float64)
    for k, shift in (saturate or {}).items():
        j = GATE_ORDER.index(k)
        bias[j * H : (j + 1) * H] += shift
    return {
        "x_t": x.to(dtype).numpy(),  # kept for the reference; the learner gets xp_t
        "xp_t": (x @ weight_ih.T + bias).to(dtype).numpy(),
        "h_prev": np.tanh(randn(g, N, H, dtype=dtype)),
        "c_prev": randn(g, N, H, scale=1.5, dtype=dtype),
        "weight_hh": randn(g, 4 * H, H, scale=0.6, dtype=dtype),
        "weight_ih": weight_ih.numpy(),
        "bias": bias.numpy(),
    }


def _fused_cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    shapes = [(3, 2, 4)] if not hidden else [(6, 5, 3), (1, 2, 1)]
    cases = {f"random, N={N}, D={D}, H={H}": _fused_cell_case(g, N, D, H, torch.float64) for N, D, H in shapes}
    N, D, H = (3, 2, 4) if not hidden else (2, 3, 5)
    for k, (saturate, _) in PROBES.items():
        cases[probe_name(k)] = _fused_cell_case(g, N, D, H, torch.float64, saturate)
    if hidden:
        cases["float32, N=4, D=3, H=3"] = _fused_cell_case(g, 4, 3, 3, torch.float32)
    return cases


def _fused_cell_run(fn, case):
    names = ("xp_t", "h_prev", "c_prev", "weight_hh")
    return call_keeping_inputs(fn, names, [tensor(case[k]) for k in names])


def _stacked_blocks(case, swap=None) -> dict[str, torch.Tensor]:
    z = tensor(case["xp_t"]).double() + tensor(case["h_prev"]).double() @ tensor(case["weight_hh"]).double().T
    return dict(zip(GATE_ORDER, z.chunk(4, dim=1)))


def _interleaved_blocks(case) -> dict[str, torch.Tensor]:
    """The gates read from z.view(N, H, 4): gate k is every fourth column, z[:, k::4]."""
    z = torch.cat(list(_stacked_blocks(case).values()), dim=1)  # (N, 4H)
    return dict(zip(GATE_ORDER, z.view(z.shape[0], -1, 4).unbind(-1)))


def _row_mixed_blocks(case) -> dict[str, torch.Tensor]:
    """The gates read from z.view(4, N, H): each 'gate' mixes the rows of the batch."""
    z = torch.cat(list(_stacked_blocks(case).values()), dim=1)  # (N, 4H)
    return dict(zip(GATE_ORDER, z.reshape(4, z.shape[0], -1).unbind(0)))


_LAYOUTS = {
    "the gates are split as z.view(N, H, 4), which takes every fourth column (z[:, k::4]) as gate k. In "
    "weight_hh (and so in z) each gate is a contiguous block of H columns, in the order i, f, g, o: split with "
    "z.chunk(4, dim=1), or z.view(N, 4, H).unbind(1).": _interleaved_blocks,
    "the gates are split as z.view(4, N, H), which mixes the rows of the batch: z is (N, 4H) with each gate a "
    "block of H columns; split with z.chunk(4, dim=1), or z.view(N, 4, H).unbind(1).": _row_mixed_blocks,
}


def _fused_reference(case):
    return torch_cell(
        tensor(case["x_t"]),
        tensor(case["h_prev"]),
        tensor(case["c_prev"]),
        tensor(case["weight_ih"]),
        tensor(case["weight_hh"]).double(),
        tensor(case["bias"]),
    )


def _fused_cell_judge(cases, results):
    __tracebackhide__ = True
    for name in cases:
        value = results.get(name)
        if isinstance(value, LearnerError) and "shape" in value.message and value.type == "RuntimeError":
            raise CheckFailure(
                f"fused_lstm_cell raised RuntimeError: {value.message} (case '{name}'). Hint: weight_hh is "
                f"(4H, H), so the gates' product is h_prev @ weight_hh.T: (N, H) @ (H, 4H) -> (N, 4H), the "
                f"shape of xp_t."
            )
    judge_cell(
        cases,
        results,
        "fused_lstm_cell",
        _stacked_blocks,
        _fused_reference,
        swap_message_stacked,
        term_swaps=False,
        layouts=_LAYOUTS,
    )


FUSED_LSTM_CELL = Exercise(
    "fused_lstm_cell", "fused_lstm_cell", visible_first(_fused_cell_cases), _fused_cell_run, _fused_cell_judge
)
check_fused_lstm_cell = FUSED_LSTM_CELL.check
