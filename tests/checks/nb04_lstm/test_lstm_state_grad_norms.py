"""Does check_lstm_state_grad_norms accept a correct measurement and name each typical mistake?"""

from __future__ import annotations

import pytest

from course_lib.checks.nb04_lstm import check_lstm_state_grad_norms
from course_lib.measure import state_grad_norms
from tests.conftest import fails_with, stub


def lstm_state_grad_norms(lstm, x, loss_of_last, wrt="h", reset_c=False):
    N, T, _ = x.shape
    H = lstm.hidden_size
    h = c = x.new_zeros(1, N, H)
    hs, cs = [], []
    for t in range(T):
        _, (h, c) = lstm(x[:, t : t + 1], (h, x.new_zeros(1, N, H) if reset_c else c))
        hs.append(h)
        cs.append(c)
    return state_grad_norms(loss_of_last(h[0]), hs if wrt == "h" else cs)


def one_call_over_the_whole_sequence(lstm, x, loss_of_last):
    out, _ = lstm(x)
    states = list(out.unbind(1))
    return state_grad_norms(loss_of_last(states[-1]), states)


def initial_state_included(lstm, x, loss_of_last):
    N, T, _ = x.shape
    h = c = x.new_zeros(1, N, lstm.hidden_size).requires_grad_()
    hs = [h]
    for t in range(T):
        _, (h, c) = lstm(x[:, t : t + 1], (h, c))
        hs.append(h)
    return state_grad_norms(loss_of_last(h[0]), hs)


@pytest.mark.parametrize("hidden", [False, True])
def test_lstm_state_grad_norms_accepts_correct(hidden):
    check_lstm_state_grad_norms(lstm_state_grad_norms, hidden=hidden)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(
            one_call_over_the_whole_sequence,
            "ran nn.LSTM once over the whole sequence",
            id="one_call_over_the_whole_sequence",
        ),
        pytest.param(lambda *a: lstm_state_grad_norms(*a, wrt="c"), r"\|\|dL/dc_t\|\|", id="cell_state_norms"),
        pytest.param(lambda *a: lstm_state_grad_norms(*a, reset_c=True), "reset to zero", id="reset_cell_state"),
        pytest.param(initial_state_included, "includes h_0", id="initial_state_included"),
        pytest.param(lambda *a: lstm_state_grad_norms(*a).flip(0), "reverse order", id="reversed"),
        pytest.param(
            lambda lstm, x, loss: lstm_state_grad_norms(lstm, x, loss).to(x.dtype),
            r"torch\.float32 on a torch\.float32 LSTM; the docstring promises \(T,\) float64",
            id="norms_in_the_lstms_dtype",
        ),
    ],
)
def test_lstm_state_grad_norms_names_the_mistake(wrong, pattern):
    fails_with(check_lstm_state_grad_norms, wrong, pattern)
