"""Does ``check_count_params`` accept counting torch's own modules and a whole-number float, and name the
typical wrong formulas (one bias, input_size in every layer, a wrong gate multiplier, biases with bias=False,
one layer only, a count that is not a whole number)?"""

from __future__ import annotations

import pytest
from torch import nn

from course_lib.checks.nb05_gru import check_count_params
from tests.checks.nb05_gru.answers import GATES, count_params
from tests.conftest import fails_with


def one_bias(kind, input_size, hidden_size, num_layers=1, bias=True):
    g, H = GATES[kind], hidden_size
    return sum(g * H * ((input_size if l == 0 else H) + H) + (g * H if bias else 0) for l in range(num_layers))


def input_size_in_every_layer(kind, input_size, hidden_size, num_layers=1, bias=True):
    g, H = GATES[kind], hidden_size
    return num_layers * (g * H * (input_size + H) + (2 * g * H if bias else 0))


def four_gates_for_a_gru(kind, input_size, hidden_size, num_layers=1, bias=True):
    return count_params("LSTM" if kind == "GRU" else kind, input_size, hidden_size, num_layers, bias)


def test_count_params_accepts_counting_torch_modules():
    def by_torch(kind, input_size, hidden_size, num_layers=1, bias=True):
        module = getattr(nn, kind)(input_size, hidden_size, num_layers=num_layers, bias=bias)
        return sum(p.numel() for p in module.parameters())

    check_count_params(by_torch)


def test_count_params_accepts_integral_float():
    check_count_params(lambda *a, **k: float(count_params(*a, **k)))


# each typical wrong count and what the check must call it
NAMED_MISTAKES = [
    pytest.param(one_bias, r"one bias instead of\s+two", id="one_bias"),
    pytest.param(input_size_in_every_layer, r"wrong layer\s+input size", id="input_size_in_every_layer"),
    pytest.param(four_gates_for_a_gru, r"wrong gate multiplier.*fits 4 blocks for a GRU", id="wrong_gate_multiplier"),
    pytest.param(
        lambda k, i, h, num_layers=1, bias=True: count_params(k, i, h, num_layers, True),
        "with bias=False there are no bias vectors",
        id="bias_counted_when_disabled",
    ),
    pytest.param(
        lambda k, i, h, num_layers=1, bias=True: count_params(k, i, h, 1, bias),
        "your count is that of one layer",
        id="one_layer",
    ),
    pytest.param(lambda *a, **k: count_params(*a, **k) + 0.5, "should return an int", id="float_that_is_not_a_count"),
]


@pytest.mark.parametrize("wrong_count, pattern", NAMED_MISTAKES)
def test_count_params_names_the_mistake(wrong_count, pattern):
    fails_with(check_count_params, wrong_count, pattern)


@pytest.mark.parametrize("wrong_count", [one_bias, lambda *a, **k: count_params(*a, **k) + 7])
def test_the_message_lists_neither_torch_shapes_nor_the_expected_count(wrong_count):
    """Issue 24: the message ended with torch's own parameter shapes and the expected count: the answer."""
    message = fails_with(check_count_params, wrong_count, "count_params for nn")
    assert "weight_ih_l0 (" not in message and "expected" not in message, message
