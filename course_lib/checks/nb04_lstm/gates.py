"""The four gates' layout: PyTorch's stacking order, the article's parameter names, and the probes.

``nn.LSTM`` and ``nn.LSTMCell`` stack the gates' weights row-wise as i, f, g, o (:data:`GATE_ORDER`), so
block ``j`` of a stacked (4H, ...) tensor is rows ``jH:(j+1)H``.  The article names each gate's
parameters after its letter (:data:`SEED_PARAMS`; its candidate c~_t is PyTorch's "g").

A probe case saturates every gate but one through its bias: sigmoid(-40) = 0, sigmoid(+40) = tanh(+40) = 1
in float64, so c_t (and h_t) depend on the one gate left free.
"""

from __future__ import annotations

import torch

GATE_ORDER = ("i", "f", "g", "o")
"""PyTorch's row-block order of the stacked gate weights (``nn.LSTM``, ``nn.LSTMCell``)."""

SEED_PARAMS = {
    "i": ("W_xi", "W_hi", "b_i"),
    "f": ("W_xf", "W_hf", "b_f"),
    "g": ("W_xc", "W_hc", "b_c"),
    "o": ("W_xo", "W_ho", "b_o"),
}
"""the article's parameter names of each gate (the candidate c~_t is PyTorch's "g")."""

ROLE = {"i": "the input gate i_t", "f": "the forget gate f_t", "g": "the candidate c~_t", "o": "the output gate o_t"}
_SAT = 40.0  # a bias this large switches a gate off (sigmoid -> 0) or fully on (sigmoid, tanh -> 1) in float64


def stack_seed_params(params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """the article's per-gate parameters stacked in PyTorch's order: weight_ih (4H, D), weight_hh (4H, H), bias (4H,)."""
    weight_ih = torch.cat([params[SEED_PARAMS[k][0]] for k in GATE_ORDER])
    weight_hh = torch.cat([params[SEED_PARAMS[k][1]] for k in GATE_ORDER])
    bias = torch.cat([params[SEED_PARAMS[k][2]] for k in GATE_ORDER])
    return weight_ih, weight_hh, bias


# Which gates a probe switches off or fully on, so that only one gate is left free
PROBES = {
    "i": ({"f": -_SAT, "g": _SAT, "o": _SAT}, "f_t = 0, c~_t = 1, o_t = 1, so c_t = i_t"),
    "f": ({"i": -_SAT, "o": _SAT}, "i_t = 0, o_t = 1, so c_t = f_t * c_{t-1}"),
    "g": ({"i": _SAT, "f": -_SAT, "o": _SAT}, "i_t = 1, f_t = 0, o_t = 1, so c_t = c~_t"),
    "o": ({"i": _SAT, "f": -_SAT, "g": _SAT}, "i_t = 1, f_t = 0, c~_t = 1, so c_t = 1 and h_t = o_t * tanh(1)"),
}


def probe_name(k: str) -> str:
    return f"probe: only {ROLE[k][4:]} on"
