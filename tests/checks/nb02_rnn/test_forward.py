"""Does check_rnn_forward accept hs = (h_1, .., h_T), h_last = h_T and name each off-by-one or lost state?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb02_rnn import check_rnn_forward
from tests.checks.nb02_rnn._common import rnn_cell, rnn_forward
from tests.conftest import fails_with


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_forward_accepts_correct(hidden):
    check_rnn_forward(rnn_forward, hidden=hidden)


def _with_h0(x, h0, *w):
    hs, last = rnn_forward(x, h0, *w)
    return torch.cat([h0[:, None], hs], dim=1), last


def _shifted(x, h0, *w):
    hs, last = rnn_forward(x, h0, *w)
    return torch.cat([h0[:, None], hs[:, :-1]], dim=1), last


def _from_h0(x, h0, W_xh, W_hh, b):
    hs = torch.stack([rnn_cell(x[:, t], h0, W_xh, W_hh, b) for t in range(x.shape[1])], dim=1)
    return hs, hs[:, -1]


@pytest.mark.parametrize("wrong, pattern", [
    pytest.param(_with_h0, "returned h_0 among the states", id="h_0 prepended (T + 1 states)"),
    pytest.param(_shifted, "returned h_0 among the states .off by one in time", id="states shifted by one step"),
    pytest.param(lambda x, h0, *w: (rnn_forward(x, h0, *w)[0], h0), "last is not the final state .* h_0",
                 id="h_last is h_0"),
    pytest.param(lambda x, h0, *w: (rnn_forward(x, h0, *w)[0], rnn_forward(x, h0, *w)[0][:, 0]),
                 "last is not the final state", id="h_last is h_1"),
    pytest.param(lambda x, h0, *w: (rnn_forward(x, h0, *w)[0].transpose(0, 1), rnn_forward(x, h0, *w)[1]),
                 "time first", id="hs time first"),
    pytest.param(_from_h0, "not carried from step to step", id="every step from h0"),
    pytest.param(lambda x, h0, *w: rnn_forward(x, torch.zeros_like(h0), *w), "h0 is ignored", id="h0 ignored"),
    pytest.param(lambda x, h0, *w: rnn_forward(x, h0, *w)[0], "should return a pair", id="hs only, no pair"),
])
def test_rnn_forward_names_mistakes(wrong, pattern):
    fails_with(check_rnn_forward, wrong, pattern)
