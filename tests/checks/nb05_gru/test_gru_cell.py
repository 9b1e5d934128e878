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
    pytest.param(
        {"candidate": "cho"},
        r"Cho et al\. variant.*multiplies h_\{t-1\} before the product with W_hn.*\?",
        id="cho_variant",
    ),
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


def _written(kind):
    """gru_cell as a learner writes it, with one mistake no formula of the variants table holds."""

    def step(x, h, Wi, Wh, bi, bh):
        (a_r, a_z, a_n), (b_r, b_z, b_n) = (x @ Wi.T + bi).chunk(3, -1), (h @ Wh.T + bh).chunk(3, -1)
        if kind == "no_bias_hh":
            b_r, b_z, b_n = (h @ Wh.T).chunk(3, -1)
        r = torch.relu(a_r + b_r) if kind == "relu_reset" else torch.sigmoid(a_r + b_r)
        z = torch.tanh(a_z + b_z) if kind == "tanh_update" else torch.sigmoid(a_z + b_z)
        if kind == "sigmoid_candidate":
            n = torch.sigmoid(a_n + r * b_n)
        elif kind == "reset_on_everything":
            n = torch.tanh(r * (a_n + b_n))
        else:
            n = torch.tanh(a_n + r * b_n)
        return (1 - z) * n + z * h

    return step


# mistakes outside the variants table: the probe cases (gates saturated through their biases) locate them
LOCATED = [
    pytest.param(
        "sigmoid_candidate", r"z = 0 and the reset off.*through a sigmoid: the candidate n uses tanh", id="n_sig"
    ),
    pytest.param("reset_on_everything", r"Yours is 0 everywhere there: the reset switched off more", id="r_whole"),
    pytest.param("tanh_update", r"update gate z must be 0.*Your z is -1 there.*must be a sigmoid", id="z_tanh"),
    pytest.param("relu_reset", r"reset gate r must be 1; your candidate n is saturated", id="r_relu"),
    pytest.param("no_bias_hh", r"right when the reset is off \(r = 0\) and wrong when it is fully on", id="no_b_hh"),
]


@pytest.mark.parametrize("kind, pattern", LOCATED)
@pytest.mark.parametrize("hidden", [False, True])
def test_gru_cell_locates_a_mistake_no_table_lists(kind, pattern, hidden):
    fails_with(check_gru_cell, _written(kind), pattern, hidden=hidden)


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
