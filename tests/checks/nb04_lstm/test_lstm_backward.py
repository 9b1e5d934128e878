"""Does check_lstm_backward accept BPTT through an LSTM layer by hand and name each classic mistake?"""

from __future__ import annotations

import pytest

from course_lib.checks.nb04_lstm import check_lstm_backward
from tests.checks.nb04_lstm.backward_answers import lstm_backward
from tests.conftest import fails_with, stub


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answer_passes(hidden):
    check_lstm_backward(lstm_backward, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_right_answer_passes_on_other_seeds(seed):
    check_lstm_backward(lstm_backward, hidden=True, seed=seed)


def wrong(**mistake):
    return lambda *args: lstm_backward(*args, **mistake)


def writes_into_dhs(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    grads = lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs)
    dhs[:, 0] += 1.0
    return grads


@pytest.mark.parametrize(
    "fn, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(wrong(carry_h=False), "through h is not added", id="dh_next_not_added"),
        pytest.param(
            wrong(carry_h=False, carry_c=False), "yet dx is zero before the last step", id="nothing_passed_back"
        ),
        pytest.param(
            lambda *a: {**lstm_backward(*a), "dh0": 0 * lstm_backward(*a)["dh0"]}, "dh0 is zero", id="dh0_zero"
        ),
        pytest.param(wrong(carry_c=False), "cell gradient is not carried back through time", id="dc_not_carried"),
        pytest.param(wrong(reverse=False), "the backward loop runs forwards", id="loop_runs_forwards"),
        pytest.param(wrong(accumulate=False), r"only step 1's share.*\+=, not =", id="weights_not_accumulated"),
        pytest.param(
            wrong(tanh_c=False), r"derivative of tanh\(c_t\) is missing.*at every step", id="step_forgot_tanh_prime_c"
        ),
        pytest.param(wrong(through_f=False), "missing the forget gate", id="step_dc_prev_without_f"),
        pytest.param(wrong(order="ifog"), "If check_lstm_step_backward passes", id="a_step_mistake_not_named_here"),
        pytest.param(
            lambda *a: {**lstm_backward(*a), "dc0": 0 * lstm_backward(*a)["dc0"]}, "dc0 is zero", id="dc0_zero"
        ),
        pytest.param(writes_into_dhs, "modified its input 'dhs' in place", id="writes_into_dhs"),
    ],
)
def test_names_the_mistake(fn, pattern):
    fails_with(check_lstm_backward, fn, pattern)
