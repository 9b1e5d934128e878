"""The GRU step by PyTorch's formula and by the typical wrong ones, to name a learner's mistake.

Shared by the checks of the GRU cell (:mod:`.gru_cell`) and of the fused layer (:mod:`.fused_gru`), with
the random weights their cases are drawn from (:func:`gru_weights`, :func:`param_tensors`).

Gate order of the stacked weights (:data:`GATE_ORDER`, PyTorch's, documented in ``torch.nn.GRU``): rows
``0:H`` reset ``r``, ``H:2H`` update ``z``, ``2H:3H`` candidate ``n``::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

When a result is wrong, the judges try the typical wrong formulas one at a time (:func:`gru_variant`):
the reset applied before the matmul (Cho et al. 2014), ``b_hn`` outside the reset, no reset at all,
``(1 - z)`` on the wrong term, ``r`` and ``z`` swapped, and every combination of them, fewest mistakes
first.  The first formula that reproduces every case is named (:func:`name_mistakes`).  Two of them are
published GRUs and are named as such: Cho et al.'s (reset before the matmul, ``z`` on ``h_{t-1}``) and the
one of the article "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch"
(reset before the matmul *and* ``h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t``: Cho's with ``z`` <-> ``1 - z``).

References: Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
Machine Translation" (2014); the PyTorch documentation of ``nn.GRU`` / ``nn.GRUCell``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from course_lib.checks.toolkit import randn

__all__ = ["GATE_ORDER", "PARAM_NAMES", "gru_variant", "gru_weights", "name_mistakes", "param_tensors"]

GATE_ORDER = ("r", "z", "n")  # rows 0:H, H:2H, 2H:3H of weight_ih, weight_hh, bias_ih, bias_hh
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def gru_weights(g: torch.Generator, D: int, H: int, scale: float = 0.5, dtype=torch.float64) -> dict[str, np.ndarray]:
    return {
        "weight_ih": randn(g, 3 * H, D, scale=scale, dtype=dtype),
        "weight_hh": randn(g, 3 * H, H, scale=scale, dtype=dtype),
        "bias_ih": randn(g, 3 * H, scale=scale, dtype=dtype),
        "bias_hh": randn(g, 3 * H, scale=scale, dtype=dtype),
    }


def param_tensors(case: dict[str, Any], names=PARAM_NAMES) -> list[torch.Tensor]:
    return [torch.from_numpy(case[name]) for name in names]


# ------------------------------------------------------------------------------------- typical mistakes

# candidate-gate variants, then the two switches that can come on top of any of them
_CANDIDATES = ("torch", "cho", "bhn_outside", "no_reset")
_MISTAKES = {  # what the output matches and where, then a question: the learner reads the equations in nn.GRUCell's
    # documentation; a message never writes the right formula out (issue 23)
    "cho": (
        "this is the Cho et al. variant of the GRU (Cho et al. 2014): your reset gate multiplies h_{t-1} before the "
        "product with W_hn (rows 2H:3H of weight_hh). It is a valid GRU, but not the one PyTorch's weights are for: "
        "where does torch.nn.GRUCell's documentation put r_t in the candidate n_t, and what does that placement let "
        "one matmul h_{t-1} @ weight_hh.T do for all three gates?"
    ),
    "bhn_outside": (
        "b_hn is outside the reset product: your candidate adds b_hn (rows 2H:3H of bias_hh) after r_t has "
        "multiplied, so the reset never reaches it. Which terms of n_t does r_t multiply in torch.nn.GRUCell's "
        "equation?"
    ),
    "no_reset": (
        "the reset gate is never applied: your candidate n_t matches one in which r_t multiplies nothing. Which term "
        "of n_t does r_t multiply in torch.nn.GRUCell's equation?"
    ),
    "swap_update": (
        "(1 - z) is on the wrong term: your h_t matches z_t ⊙ n_t + (1 - z_t) ⊙ h_{t-1}. In nn.GRUCell, does z_t close "
        'to 1 keep the old state or take the candidate? (The article "From RNNs to LSTMs and GRUs" uses your '
        "convention: the same model with z replaced by 1 - z, but not with torch's weights.)"
    ),
    "article": (
        'this is the GRU as the article "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in '
        'PyTorch" writes it. It is a valid GRU, but it differs from nn.GRUCell twice: (1) your z_t weighs the '
        "candidate; (2) your reset multiplies h_{t-1} before the product with W_hn. In torch.nn.GRUCell's "
        "equations, which term does z_t weigh, and where does r_t enter n_t?"
    ),
    "swap_rz": (
        "r/z swapped: your reset gate is read from the update gate's rows and the update gate from the reset "
        "gate's. In which order are the three gates' rows stacked in weight_ih, weight_hh, bias_ih and bias_hh "
        "(torch.nn.GRU's documentation, under Variables)?"
    ),
}


# combinations of mistakes that make up a published GRU, named as that GRU rather than as a list of mistakes
_PUBLISHED = {("cho", "swap_update"): "article"}


def gru_variant(x, h, weight_ih, weight_hh, bias_ih, bias_hh, *, candidate, swap_update=False, swap_rz=False):
    """One GRU step by a formula that differs from PyTorch's: a published variant or a typical mistake.

    x: (N, D), h: (N, H), weight_ih: (3H, D), weight_hh: (3H, H), biases (3H,), gate order r, z, n.
    candidate: "cho"         n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)     (Cho et al. 2014)
               "bhn_outside" n = tanh(W_in x + b_in + r ⊙ (W_hn h) + b_hn)
               "no_reset"    n = tanh(W_in x + b_in + W_hn h + b_hn)
               "torch"       n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), only with a switch below on
    swap_update: h' = z ⊙ n + (1 - z) ⊙ h instead of (1 - z) ⊙ n + z ⊙ h.
    swap_rz:     r read from the z rows and z from the r rows.
    It exists to compare variants and to *name* mistakes; PyTorch's own cell (``candidate="torch"`` with no
    switch on) is notebook 05's exercise 1 and is refused here.  The checks' reference is always nn.GRUCell.
    """
    if candidate == "torch" and not (swap_update or swap_rz):
        raise ValueError(
            "gru_variant computes the GRU variants that differ from PyTorch's cell; PyTorch's own cell is "
            "exercise 1 (gru_cell), or nn.GRUCell"
        )
    return _gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, candidate, swap_update, swap_rz)


def _gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, candidate, swap_update, swap_rz):
    """The switchboard behind :func:`gru_variant`, PyTorch's formula included (the tests compare it with
    nn.GRUCell, so that every variant is a change of the right formula)."""
    H = h.shape[-1]
    gi = x @ weight_ih.T + bias_ih  # (N, 3H)
    W_hr, W_hz, W_hn = weight_hh[:H], weight_hh[H : 2 * H], weight_hh[2 * H :]
    b_hr, b_hz, b_hn = bias_hh[:H], bias_hh[H : 2 * H], bias_hh[2 * H :]
    r = torch.sigmoid(gi[:, :H] + h @ W_hr.T + b_hr)
    z = torch.sigmoid(gi[:, H : 2 * H] + h @ W_hz.T + b_hz)
    if swap_rz:
        r, z = z, r
    if candidate == "torch":
        hidden = r * (h @ W_hn.T + b_hn)
    elif candidate == "cho":
        hidden = (r * h) @ W_hn.T + b_hn
    elif candidate == "bhn_outside":
        hidden = r * (h @ W_hn.T) + b_hn
    elif candidate == "no_reset":
        hidden = h @ W_hn.T + b_hn
    else:
        raise ValueError(f"unknown candidate {candidate!r}")
    n = torch.tanh(gi[:, 2 * H :] + hidden)
    return z * n + (1 - z) * h if swap_update else (1 - z) * n + z * h


def _variants():
    """Every combination of the named mistakes, fewest mistakes first (the right formula excluded)."""
    combos = []
    for candidate, swap_update, swap_rz in itertools.product(_CANDIDATES, (False, True), (False, True)):
        names = (
            ([candidate] if candidate != "torch" else [])
            + (["swap_update"] if swap_update else [])
            + (["swap_rz"] if swap_rz else [])
        )
        if names:
            combos.append((names, {"candidate": candidate, "swap_update": swap_update, "swap_rz": swap_rz}))
    return sorted(combos, key=lambda item: len(item[0]))


def name_mistakes(got: list[torch.Tensor], variant_of, messages: dict[str, str] | None = None) -> str | None:
    """The message for the first combination of mistakes whose formula reproduces every case.

    got:        what the learner returned, one tensor per case.
    variant_of: ``variant_of(kwargs)`` -> the outputs of :func:`gru_variant` with ``kwargs``, same cases, same order.
    messages:   the messages of some mistakes in another exercise's words (keys of ``_MISTAKES``), used instead.
    """
    said = {**_MISTAKES, **(messages or {})}
    for names, kwargs in _variants():
        predicted = variant_of(kwargs)
        if all(
            p.shape == g.shape and torch.allclose(g.double(), p.double(), rtol=1e-4, atol=1e-6)
            for g, p in zip(got, predicted)
        ):
            if tuple(names) in _PUBLISHED:
                return said[_PUBLISHED[tuple(names)]]
            if len(names) == 1:
                return said[names[0]]
            return "several mistakes together:\n" + "\n".join(f"  - {said[n]}" for n in names)
    return None
