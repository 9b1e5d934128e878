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


def _detached_in_loop(x, h0, W_xh, W_hh, b):
    """The state detached before each step: right values, no gradient through time."""
    h, hs = h0, []
    for x_t in x.unbind(1):
        h = rnn_cell(x_t, h.detach(), W_xh, W_hh, b)
        hs.append(h)
    return torch.stack(hs, 1), h


def _detached_after_step(x, h0, W_xh, W_hh, b):
    """The same mistake written after the step, as a learner 'saving memory' would."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = rnn_cell(x[:, t], h, W_xh, W_hh, b)
        hs.append(h)
        h = h.detach()
    return torch.stack(hs, 1), hs[-1]


def _preallocated_in_place(x, h0, W_xh, W_hh, b):
    """A correct alternative: hs preallocated and filled in place, explicit matrix products."""
    N, T, _ = x.shape
    hs, h = x.new_zeros(N, T, h0.shape[1]), h0
    for t in range(T):
        h = torch.tanh(torch.mm(x[:, t], W_xh.t()) + torch.mm(h, W_hh.t()) + b)
        hs[:, t] = h
    return hs, h


def _preallocated_on_the_cpu(x, h0, W_xh, W_hh, b):
    """hs preallocated with torch.zeros without device=: on the CPU whatever x's device (fails on a GPU)."""
    N, T, _ = x.shape
    hs, h = torch.zeros(N, T, h0.shape[1], dtype=x.dtype), h0
    for t in range(T):
        h = rnn_cell(x[:, t], h, W_xh, W_hh, b)
        hs[:, t] = h
    return hs, h


def _einsum(x, h0, W_xh, W_hh, b):
    """A correct alternative: the input projection of every step at once, with einsum."""
    xp, h, hs = torch.einsum("ntd,hd->nth", x, W_xh) + b, h0, []
    for xp_t in xp.unbind(1):
        h = torch.tanh(xp_t + torch.einsum("nk,hk->nh", h, W_hh))
        hs.append(h)
    return torch.stack(hs, 1), h


@pytest.mark.parametrize("alternative", [_preallocated_in_place, _einsum])
def test_rnn_forward_accepts_correct_alternatives(alternative):
    check_rnn_forward(alternative)
    check_rnn_forward(alternative, hidden=True)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(_detached_in_loop, "detached inside the time loop", id="state detached before each step"),
        pytest.param(_detached_after_step, "detached inside the time loop", id="state detached after each step"),
        pytest.param(_with_h0, "returned h_0 among the states", id="h_0 prepended (T + 1 states)"),
        pytest.param(_shifted, "returned h_0 among the states .off by one in time", id="states shifted by one step"),
        pytest.param(
            lambda x, h0, *w: (rnn_forward(x, h0, *w)[0], h0), "last is not the final state .* h_0", id="h_last is h_0"
        ),
        pytest.param(
            lambda x, h0, *w: (rnn_forward(x, h0, *w)[0], rnn_forward(x, h0, *w)[0][:, 0]),
            "last is not the final state",
            id="h_last is h_1",
        ),
        pytest.param(
            lambda x, h0, *w: (rnn_forward(x, h0, *w)[0].transpose(0, 1), rnn_forward(x, h0, *w)[1]),
            "time first",
            id="hs time first",
        ),
        pytest.param(_from_h0, "not carried from step to step", id="every step from h0"),
        pytest.param(lambda x, h0, *w: rnn_forward(x, torch.zeros_like(h0), *w), "h0 is ignored", id="h0 ignored"),
        pytest.param(lambda x, h0, *w: rnn_forward(x, h0, *w)[0], "should return a pair", id="hs only, no pair"),
        pytest.param(
            lambda x, h0, *w: rnn_forward(x.double(), h0.double(), *(t.double() for t in w)),
            r"hs on case 'float32.*has dtype torch\.float64, but the inputs are torch\.float32",
            id="computed in float64 whatever the inputs",
        ),
        pytest.param(
            _preallocated_on_the_cpu,
            r"calls torch\.zeros\(\.\.\.\) without device=.*device=x\.device",
            id="hs preallocated on the cpu",
        ),
    ],
)
def test_rnn_forward_names_mistakes(wrong, pattern):
    fails_with(check_rnn_forward, wrong, pattern)


def rnn_cell_stub(x_t, h_prev, W_xh, W_hh, b_h):
    raise NotImplementedError()


rnn_cell_stub.__code__ = rnn_cell_stub.__code__.replace(co_name="rnn_cell")  # the notebook's name for it


def test_an_unwritten_rnn_cell_is_blamed_not_rnn_forward():
    """Issue 23: with rnn_forward written and rnn_cell not, the check said "rnn_forward is not implemented yet"."""

    def written_forward(x, h0, W_xh, W_hh, b_h):
        h = h0
        states = []
        for t in range(x.shape[1]):
            h = rnn_cell_stub(x[:, t], h, W_xh, W_hh, b_h)
            states.append(h)
        return torch.stack(states, dim=1), h

    written_forward.__code__ = written_forward.__code__.replace(co_name="rnn_forward")
    message = fails_with(check_rnn_forward, written_forward, "rnn_forward calls rnn_cell, which is not implemented")
    assert "rnn_forward is not implemented" not in message
