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


def viewed_as_n_h_4(xp_t, h_prev, c_prev, weight_hh):
    """Splits z with view(N, H, 4): every fourth column taken as one gate."""
    z = xp_t + h_prev @ weight_hh.T
    i, f, g, o = z.view(z.shape[0], -1, 4).unbind(-1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def explicit_matrices(xp_t, h_prev, c_prev, weight_hh):
    """A correct alternative: one matrix per gate, sliced from weight_hh, and in-place updates of new tensors."""
    H = h_prev.shape[1]
    z = [xp_t[:, k * H : (k + 1) * H] + h_prev @ weight_hh[k * H : (k + 1) * H].T for k in range(4)]
    c_t = torch.sigmoid(z[1]) * c_prev
    c_t.add_(torch.sigmoid(z[0]) * torch.tanh(z[2]))
    h_t = torch.tanh(c_t).mul_(torch.sigmoid(z[3]))
    return h_t, c_t


def test_fused_lstm_cell_accepts_explicit_matrices():
    check_fused_lstm_cell(explicit_matrices)
    check_fused_lstm_cell(explicit_matrices, hidden=True)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(viewed_as_n_h_4, r"split as z.view\(N, H, 4\).*z.chunk\(4, dim=1\)", id="view_n_h_4"),
        # chunking as i, f, o, g (the order the article lists its equations) instead of PyTorch's i, f, g, o
        pytest.param(
            lambda *a: fused_lstm_cell(*a, order="ifog"),
            r"read in the wrong order: you used the blocks as i, f, o, g \(the order in which the article",
            id="the_articles_order",
        ),
        pytest.param(
            lambda *a: fused_lstm_cell(*a, order="figo"), r"blocks as f, i, g, o", id="swapped_input_and_forget"
        ),
        pytest.param(
            lambda *a: fused_lstm_cell(*a, g_act=torch.sigmoid), "goes through a sigmoid", id="sigmoid_on_candidate"
        ),
        pytest.param(
            lambda xp, h, c, W: fused_lstm_cell(xp, h, c, W.T),
            r"RuntimeError.*h_prev @ weight_hh.T",
            id="untransposed_weight",
        ),
    ],
)
def test_fused_lstm_cell_names_the_mistake(wrong, pattern):
    fails_with(check_fused_lstm_cell, wrong, pattern)
