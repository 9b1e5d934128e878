"""Does ``check_gru_cell`` accept nn.GRUCell itself, and name, on any seed, the typical wrong formulas (the
Cho et al. variant, ``b_hn`` outside the reset, no reset, (1 - z) on the wrong term, swapped gates)?"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.checks.nb05_gru import check_gru_cell, gru_variant
from tests.checks.nb05_gru.answers import gru_cell
from tests.conftest import fails_with


def _cell_with(**mistake):
    return lambda x, h, Wi, Wh, bi, bh: gru_variant(x, h, Wi, Wh, bi, bh, **{"candidate": "torch", **mistake})


def test_gru_cell_accepts_grucell_itself():
    def via_torch(x, h, Wi, Wh, bi, bh):
        cell = nn.GRUCell(x.shape[1], h.shape[1], dtype=x.dtype)
        with torch.no_grad():
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (Wi, Wh, bi, bh)):
                getattr(cell, name).copy_(value)
        return cell(x, h)

    check_gru_cell(via_torch, hidden=True)


# each typical wrong formula, switched on alone (two at once last), and what the check must call it
NAMED_MISTAKES = [
    pytest.param({"candidate": "cho"}, r"Cho et al\. variant.*before\* the matmul", id="cho_variant"),
    pytest.param({"swap_update": True}, r"\(1 - z\) is on the wrong term", id="one_minus_z_on_wrong_term"),
    pytest.param({"swap_rz": True}, "r/z swapped", id="swapped_gates"),
    pytest.param({"candidate": "bhn_outside"}, "b_hn is outside the reset", id="bias_outside_reset"),
    pytest.param({"candidate": "no_reset"}, "reset gate is never applied", id="missing_reset"),
    pytest.param(
        {"candidate": "cho", "swap_update": True},
        r"the GRU as the article \"From RNNs to LSTMs and GRUs.*\(1\).*\(2\)",
        id="the_articles_gru",
    ),
    pytest.param(
        {"candidate": "bhn_outside", "swap_update": True},
        r"several mistakes.*b_hn is outside.*\(1 - z\) is on the wrong term",
        id="two_mistakes_together",
    ),
]


@pytest.mark.parametrize("mistake, pattern", NAMED_MISTAKES)
def test_gru_cell_names_the_mistake(mistake, pattern):
    fails_with(check_gru_cell, _cell_with(**mistake), pattern)


def test_gru_cell_names_a_result_in_another_dtype():
    """Computed in float64 whatever the inputs: right values, but float32 inputs must give a float32 h_t."""

    def in_float64(x, h, *weights):
        return gru_cell(x.double(), h.double(), *(w.double() for w in weights))

    fails_with(check_gru_cell, in_float64, r"has dtype torch\.float64, but the inputs are torch\.float32")


def test_gru_cell_recognises_cho_variant_written_by_hand():
    def cho(x, h, Wi, Wh, bi, bh):  # Cho et al.'s formula with separate names, as a learner writes it
        W_ir, W_iz, W_in = Wi.chunk(3)
        W_hr, W_hz, W_hn = Wh.chunk(3)
        b_ir, b_iz, b_in = bi.chunk(3)
        b_hr, b_hz, b_hn = bh.chunk(3)
        r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        return (1 - z) * n + z * h

    fails_with(check_gru_cell, cho, "Cho et al. variant")
    fails_with(check_gru_cell, cho, "Cho et al. variant", hidden=True)


def test_gru_cell_unnamed_mistake_gets_numbers_and_hint():
    def sigmoid_candidate(x, h, Wi, Wh, bi, bh):
        H = h.shape[1]
        gi, gh = x @ Wi.T + bi, h @ Wh.T + bh
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.sigmoid(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        return (1 - z) * n + z * h

    fails_with(check_gru_cell, sigmoid_candidate, r"max relative error.*n\s+uses tanh")


def test_gru_cell_names_wrong_shape():
    fails_with(check_gru_cell, lambda x, h, *w: gru_cell(x, h, *w).T, r"shape \(5, 3\).*transposed")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gru_cell_names_mistakes_on_any_seed(seed):
    """Grading draws its own secret seeds: mistakes are still named on any of them."""
    for fn, pattern in (
        (_cell_with(candidate="cho"), "Cho et al. variant"),
        (_cell_with(swap_update=True), r"\(1 - z\) is on the wrong term"),
        (_cell_with(swap_rz=True), "r/z swapped"),
    ):
        with pytest.raises(AssertionError, match=pattern):
            check_gru_cell(fn, hidden=True, seed=seed)
