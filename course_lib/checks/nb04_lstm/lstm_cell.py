"""Exercise 1: ``lstm_cell(x_t, h_prev, c_prev, params) -> (h_t, c_t)`` with the article's names.

``params`` maps each gate's names to its tensors: ``W_x?`` (H, D), ``W_h?`` (H, H), ``b_?`` (H,), with
? in i, f, o and c for the candidate; x_t is (N, D), h_prev and c_prev are (N, H)::

    i_t  = sigmoid(x_t W_xi^T + h_{t-1} W_hi^T + b_i)
    f_t  = sigmoid(x_t W_xf^T + h_{t-1} W_hf^T + b_f)
    o_t  = sigmoid(x_t W_xo^T + h_{t-1} W_ho^T + b_o)
    c~tensor = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c)
    c_t  = f_t * c_{t-1} + i_t * c~tensor,   h_t = o_t * tanh(c_t)

The reference is ``nn.LSTMCell`` with the parameters stacked by :func:`stack_seed_params`.  Besides the
shared mistakes, this judge names a term taken from another gate (f_t with W_hi) and a missing bias.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.checks.core import Exercise
from course_lib.checks.nb04_lstm.cell_judge import judge_cell
from course_lib.checks.nb04_lstm.gates import GATE_ORDER, PROBES, SEED_PARAMS, probe_name, stack_seed_params
from course_lib.checks.nb04_lstm.mistakes import swap_message_seed
from course_lib.checks.nb04_lstm.references import torch_cell
from course_lib.checks.toolkit import generator, randn, tensor, visible_first


def _seed_params(g, D, H, dtype, saturate: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    params = {}
    for k in GATE_ORDER:
        wx, wh, b = SEED_PARAMS[k]
        params[wx] = randn(g, H, D, scale=0.6, dtype=dtype)
        params[wh] = randn(g, H, H, scale=0.6, dtype=dtype)
        bias = randn(g, H, scale=0.5, dtype=torch.float64)
        if saturate and k in saturate:
            bias = bias + saturate[k]
        params[b] = bias.astype(params[wx].dtype)
    return params


def _lstm_cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    shapes = [(2, 3, 4)] if not hidden else [(5, 1, 6), (1, 7, 2)]
    cases = {}
    for N, D, H in shapes:
        cases[f"random, N={N}, D={D}, H={H}"] = _cell_case(g, N, D, H, torch.float64)
    N, D, H = (2, 3, 4) if not hidden else (3, 2, 5)
    for k, (saturate, _) in PROBES.items():
        cases[probe_name(k)] = _cell_case(g, N, D, H, torch.float64, saturate)
    if hidden:
        cases["float32, N=4, D=3, H=3"] = _cell_case(g, 4, 3, 3, torch.float32)
        zero = _cell_case(g, 2, 3, 4, torch.float64)
        zero["h_prev"] = np.zeros_like(zero["h_prev"])
        zero["c_prev"] = np.zeros_like(zero["c_prev"])
        cases["zero state (the first step)"] = zero
    return cases


def _cell_case(g, N, D, H, dtype, saturate=None) -> dict[str, Any]:
    return {
        "x_t": randn(g, N, D, dtype=dtype),
        "h_prev": np.tanh(randn(g, N, H, dtype=dtype)),
        "c_prev": randn(g, N, H, scale=1.5, dtype=dtype),
        "params": _seed_params(g, D, H, dtype, saturate),
    }


def _lstm_cell_run(fn, case):
    params = {k: tensor(v) for k, v in case["params"].items()}
    return fn(tensor(case["x_t"]), tensor(case["h_prev"]), tensor(case["c_prev"]), params)


def _seed_blocks(case, swap: tuple[str, int, str] | None = None) -> dict[str, torch.Tensor]:
    """Pre-activations of each gate from the article's parameters; ``swap`` takes one term from another gate."""
    p = {k: tensor(v).double() for k, v in case["params"].items()}
    x, h = tensor(case["x_t"]).double(), tensor(case["h_prev"]).double()
    blocks = {}
    for k in GATE_ORDER:
        names = list(SEED_PARAMS[k])
        if swap and swap[0] == k:
            names[swap[1]] = SEED_PARAMS[swap[2]][swap[1]]
        wx, wh, b = (p[n] for n in names)
        blocks[k] = x @ wx.T + h @ wh.T + b
    return blocks


def _seed_blocks_for_judge(case, swap=None):
    if swap is not None and swap[1] == -1:  # drop the bias of one gate
        blocks = _seed_blocks(case)
        blocks[swap[0]] = blocks[swap[0]] - tensor(case["params"][SEED_PARAMS[swap[0]][2]]).double()
        return blocks
    return _seed_blocks(case, swap)


def _seed_reference(case):
    p = {k: tensor(v).double() for k, v in case["params"].items()}
    return torch_cell(tensor(case["x_t"]), tensor(case["h_prev"]), tensor(case["c_prev"]), *stack_seed_params(p))


def _lstm_cell_judge(cases, results):
    __tracebackhide__ = True
    judge_cell(cases, results, "lstm_cell", _seed_blocks_for_judge, _seed_reference, swap_message_seed, term_swaps=True)


LSTM_CELL = Exercise("lstm_cell", "lstm_cell", visible_first(_lstm_cell_cases), _lstm_cell_run, _lstm_cell_judge)
check_lstm_cell = LSTM_CELL.check
