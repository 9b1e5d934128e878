"""Does check_fused_lstm_cell accept a correct fused cell and name each typical mistake?

The correct cell here is written for the tests (not imported from the solution notebook); test_fused_lstm
builds its layer from it.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb04_lstm import check_fused_lstm_cell
from tests.conftest import fails_with, stub


def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh, order="ifgo", g_act=torch.tanh):
    z = torch.addmm(xp_t, h_prev, weight_hh.T)
    gates = dict(zip(order, z.chunk(4, dim=1)))
    i, f, o = torch.sigmoid(gates["i"]), torch.sigmoid(gates["f"]), torch.sigmoid(gates["o"])
    c_t = f * c_prev + i * g_act(gates["g"])
    return o * torch.tanh(c_t), c_t


@pytest.mark.parametrize("hidden", [False, True])
def test_fused_lstm_cell_accepts_correct(hidden):
    check_fused_lstm_cell(fused_lstm_cell, hidden=hidden)


@pytest.mark.parametrize("wrong, pattern", [
    pytest.param(stub, "not implemented yet", id="untouched_stub"),
    # chunking as i, f, o, g (the order the article lists its equations) instead of PyTorch's i, f, g, o
    pytest.param(lambda *a: fused_lstm_cell(*a, order="ifog"),
                 r"read in the wrong order: you used the blocks as i, f, o, g \(the order in which the article",
                 id="the_articles_order"),
    pytest.param(lambda *a: fused_lstm_cell(*a, order="figo"), r"blocks as f, i, g, o",
                 id="swapped_input_and_forget"),
    pytest.param(lambda *a: fused_lstm_cell(*a, g_act=torch.sigmoid), "goes through a sigmoid",
                 id="sigmoid_on_candidate"),
    pytest.param(lambda xp, h, c, W: fused_lstm_cell(xp, h, c, W.T), r"RuntimeError.*h_prev @ weight_hh.T",
                 id="untransposed_weight"),
])
def test_fused_lstm_cell_names_the_mistake(wrong, pattern):
    fails_with(check_fused_lstm_cell, wrong, pattern)
