"""Does check_lstm_step_backward accept a correct LSTM step backward and name each classic mistake?"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.checks.nb04_lstm import check_lstm_step_backward
from course_lib.checks.nb04_lstm.lstm_step_backward import _step_cases
from tests.checks.nb04_lstm.backward_answers import step_backward
from tests.conftest import fails_with, stub


def test_the_cache_is_the_forward_of_nn_lstm_cell():
    """The gates and c_t handed to the learner are those nn.LSTMCell computes from the same weights."""
    for case in _step_cases(7, hidden=True).values():
        D, H = case["x"].shape[1], case["h_prev"].shape[1]
        cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
        with torch.no_grad():
            cell.weight_ih.copy_(torch.from_numpy(case["weight_ih"]))
            cell.weight_hh.copy_(torch.from_numpy(case["weight_hh"]))
            cell.bias_ih.copy_(torch.from_numpy(case["bias"]))
            cell.bias_hh.zero_()
            h, c = cell(
                torch.from_numpy(case["x"]), (torch.from_numpy(case["h_prev"]), torch.from_numpy(case["c_prev"]))
            )
        np.testing.assert_allclose(case["c"], c.numpy(), rtol=1e-12)
        np.testing.assert_allclose(case["o"] * np.tanh(case["c"]), h.numpy(), rtol=1e-12)


@pytest.mark.parametrize("hidden", [False, True])
def test_right_answer_passes(hidden):
    check_lstm_step_backward(step_backward, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_right_answer_passes_on_other_seeds(seed):
    check_lstm_step_backward(step_backward, hidden=True, seed=seed)


def wrong(**mistake):
    return lambda dh, dc, cache: step_backward(dh, dc, cache, **mistake)


@pytest.mark.parametrize(
    "fn, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(wrong(tanh_c=False), r"derivative of tanh\(c_t\) is missing", id="forgot_tanh_prime_c"),
        pytest.param(wrong(use_dc=False), "dc_t .* is ignored", id="ignores_dc_t"),
        pytest.param(wrong(through_f=False), "missing the forget gate", id="dc_prev_without_f"),
        pytest.param(wrong(sigmoid=False), "sigmoid's derivative is missing", id="forgot_sigmoid_prime"),
        pytest.param(wrong(tanh_g=False), "candidate's tanh is missing", id="forgot_tanh_prime_g"),
        pytest.param(
            wrong(order="ifog"), r"stacked as i, f, o, g \(the order in which the article", id="gate_order_ifog"
        ),
        pytest.param(wrong(order="figo"), "stacked as f, i, g, o", id="gate_order_figo"),
        pytest.param(
            lambda dh, dc, cache: {
                **step_backward(dh, dc, cache),
                "dweight_ih": step_backward(dh, dc, cache)["dweight_ih"].T,
            },
            "looks transposed",
            id="transposed_weight_gradient",
        ),
        pytest.param(
            lambda dh, dc, cache: {k: v for k, v in step_backward(dh, dc, cache).items() if k != "dc_prev"},
            "returned no 'dc_prev'",
            id="missing_key",
        ),
        pytest.param(
            lambda dh, dc, cache: {**step_backward(dh, dc, cache), "dc_prev": dc * cache["f"]},
            r"misses the gradient that reaches c_t through h_t",
            id="dc_prev_from_dc_t_only",
        ),
        pytest.param(
            lambda dh, dc, cache: {
                **step_backward(dh, dc, cache),
                "dbias": step_backward(dh, dc, cache)["dbias"][None].repeat(dh.shape[0], 1),
            },
            "sum dz over the batch",
            id="bias_not_summed",
        ),
    ],
)
def test_names_the_mistake(fn, pattern):
    fails_with(check_lstm_step_backward, fn, pattern)


def test_float32_gradients_are_named():
    fails_with(
        check_lstm_step_backward,
        lambda dh, dc, cache: {k: v.float() for k, v in step_backward(dh, dc, cache).items()},
        "dtype torch.float32",
    )


def test_a_cache_changed_in_place_is_named():
    """lstm_backward hands each step's cache on: a step that zeroes a cached tensor in place breaks the caller."""

    def clobbers(dh_t, dc_t, cache):
        grads = step_backward(dh_t, dc_t, cache)
        cache["c_prev"].zero_()
        return grads

    fails_with(check_lstm_step_backward, clobbers, r"changed its input cache\['c_prev'\] in place")
