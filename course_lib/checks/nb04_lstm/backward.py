"""Shared by the two backward-by-hand checks: the step cache, the autograd reference, and the wrong graphs.

One LSTM step (PyTorch's layout, gates stacked i, f, g, o; one bias; rows are examples)::

    z = x_t W_ih^T + h_{t-1} W_hh^T + b             (N, 4H) = [z_i, z_f, z_g, z_o]
    i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)

The reference gradient of L = <dh_t, h_t> + <dc_t, c_t> (and, through time, L = sum_t <dhs[:, t], h_t>) is
autograd through ``nn.LSTMCell`` holding the weights (``torch.func.functional_call``), in float64.

A named mistake is autograd through the *same forward values* with one derivative switched off: the
straight-through trick ``a + (act(a) - a).detach()`` keeps act(a) forward but differentiates as the identity
(a forgotten tanh'(c_t), sigmoid' or tanh'(z_g)); ``f ⊙ c_{t-1}.detach() + (c_{t-1} - c_{t-1}.detach())``
passes dc back without the factor f.  Through time, a state detached where it enters step t > 1 is the
gradient from step t+1 never added (dh) or never carried (dc).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from course_lib.checks.nb04_lstm.gates import GATE_ORDER
from course_lib.checks.toolkit import tensor

GRAD_RTOL, GRAD_ATOL = 1e-8, 1e-12  # float64, against autograd (CS231n's rel_error scale)


def _straight(act, a: torch.Tensor) -> torch.Tensor:
    """act(a) forward, the identity backward: its derivative forgotten."""
    return a + (act(a) - a).detach()


# variant -> the message naming the mistake (the variant's gradient is what that mistake computes)
STEP_MISTAKES = {
    "no_tanh_c": "the derivative of tanh(c_t) is missing: h_t = o ⊙ tanh(c_t), so the gradient reaching c_t from "
    "h_t passes through that tanh as well as through o",
    "no_f": "the gradient passed back to c_{t-1} is missing the forget gate: c_t = f ⊙ c_{t-1} + ..., so c_{t-1} "
    "reaches the loss only through f",
    "no_sigmoid": "the sigmoid's derivative is missing from the gates i, f, o: each gate is σ of its block of z, and "
    "the chain rule passes through σ (its derivative is written with the gate's own value)",
    "no_tanh_g": "the derivative of the candidate's tanh is missing: the candidate is tanh of its block of z",
}


def step_graph(x, h, c, weight_ih, weight_hh, bias, variant: str = "correct"):
    """(h_t, c_t) of one step, differentiable; ``variant`` switches one derivative off (forward unchanged)."""
    if variant == "correct":
        D, H = weight_ih.shape[1], weight_hh.shape[1]
        cell = nn.LSTMCell(D, H, dtype=torch.float64)
        params = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias, "bias_hh": torch.zeros_like(bias)}
        return functional_call(cell, params, (x, (h, c)))
    z_i, z_f, z_g, z_o = (x @ weight_ih.T + h @ weight_hh.T + bias).chunk(4, dim=1)
    gate = (lambda a: _straight(torch.sigmoid, a)) if variant == "no_sigmoid" else torch.sigmoid
    i, f, o = gate(z_i), gate(z_f), gate(z_o)
    g = _straight(torch.tanh, z_g) if variant == "no_tanh_g" else torch.tanh(z_g)
    kept = f * c.detach() + (c - c.detach()) if variant == "no_f" else f * c
    c_t = kept + i * g
    h_t = o * (_straight(torch.tanh, c_t) if variant == "no_tanh_c" else torch.tanh(c_t))
    return h_t, c_t


def leaf_tensors(case: dict, names) -> list[torch.Tensor]:
    return [tensor(case[k]).double().clone().requires_grad_() for k in names]


def permuted_blocks(t: torch.Tensor, order: tuple[str, ...]) -> torch.Tensor:
    """``t`` (4H, ...) with its gate blocks rearranged so that block j holds gate ``order[j]``."""
    blocks = dict(zip(GATE_ORDER, t.chunk(4, dim=0)))
    return torch.cat([blocks[k] for k in order], dim=0)


def wrong_orders():
    """Every stacking order of the four gates' blocks but PyTorch's i, f, g, o."""
    return [p for p in itertools.permutations(GATE_ORDER) if p != GATE_ORDER]


def order_message(order: tuple[str, ...]) -> str:
    seed = " (the order in which the article lists the equations)" if order == ("i", "f", "o", "g") else ""
    return (
        f"the gate blocks of dz are stacked as {', '.join(order)}{seed}; PyTorch stacks the weights as "
        f"i, f, g, o, and dz's blocks must follow the weights' rows"
    )


def same(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return tuple(got.shape) == tuple(expected.shape) and bool(
        torch.allclose(got.double(), expected.double(), rtol=GRAD_RTOL, atol=GRAD_ATOL)
    )


def gates_of(x, h, weight_ih, weight_hh, bias) -> dict[str, np.ndarray]:
    """The four gates after their activations, for a step cache."""
    z_i, z_f, z_g, z_o = (x @ weight_ih.T + h @ weight_hh.T + bias).chunk(4, dim=1)
    return {
        "i": torch.sigmoid(z_i).numpy(),
        "f": torch.sigmoid(z_f).numpy(),
        "g": torch.tanh(z_g).numpy(),
        "o": torch.sigmoid(z_o).numpy(),
    }
