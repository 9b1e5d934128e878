"""Does ``check_context_gates`` accept the context's part of the input gates, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks.nb06_seq2seq import CONTEXT_GATES
from tests.checks.nb06_seq2seq import SEEDS
from tests.conftest import fails_with, stub

check_context_gates = CONTEXT_GATES.check  # context_gates alone: the notebook grades it with decoder_step


def context_gates(cell, context):
    E = cell.input_size - cell.hidden_size
    return F.linear(context, cell.weight_ih[:, E:], cell.bias_ih)


@pytest.mark.parametrize("hidden, seed", SEEDS)
def test_context_gates_accepts_correct(hidden, seed):
    check_context_gates(context_gates, hidden=hidden, seed=seed)


def first_columns(cell, context):
    return context @ cell.weight_ih[:, : cell.hidden_size].T + cell.bias_ih


def no_bias(cell, context):
    return context @ cell.weight_ih[:, -cell.hidden_size :].T


def both_biases(cell, context):
    return context_gates(cell, context) + cell.bias_hh


def hidden_bias(cell, context):
    return no_bias(cell, context) + cell.bias_hh


def folds_b_hr_b_hz(cell, context):
    """Question 3's fold: bias_hh's r and z rows added once per sentence (valid maths, not this contract)."""
    H = cell.hidden_size
    return context_gates(cell, context) + torch.cat([cell.bias_hh[: 2 * H], cell.bias_hh.new_zeros(H)])


def detached(cell, context):
    return context_gates(cell, context).detach()


def calls_the_cell(cell, context):
    zeros = context.new_zeros(context.shape[0], cell.input_size - cell.hidden_size)
    return cell(F.pad(context, (zeros.shape[1], 0)), context)


def state_matrix(cell, context):
    """Reads the context with weight_hh, the matrix of the state."""
    return context @ cell.weight_hh.T + cell.bias_ih


def activated(cell, context):
    """The sigmoid of the right pre-activation."""
    return torch.sigmoid(context_gates(cell, context))


@pytest.mark.parametrize(
    "wrong, message, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched_stub"),
        pytest.param(first_columns, "first H columns of weight_ih", False, id="first_columns"),
        pytest.param(no_bias, "bias_ih is missing", False, id="no_bias"),
        pytest.param(both_biases, "bias_hh is added as well", False, id="both_biases"),
        pytest.param(
            folds_b_hr_b_hz,
            r"r and z rows \(b_hr, b_hz\) were folded.*keeps all of bias_hh for decoder_step",
            False,
            id="fold_b_hr_b_hz",
        ),
        pytest.param(hidden_bias, "bias_hh is used where bias_ih goes", False, id="hidden_bias"),
        pytest.param(detached, "gradient", False, id="detached"),
        pytest.param(state_matrix, "multiplied by weight_hh", False, id="state_matrix"),
        pytest.param(activated, "the sigmoid was applied: gates_c is a pre-activation", False, id="activated"),
        pytest.param(calls_the_cell, r"not by calling cell\(\.\.\.\)", False, id="calls_the_cell"),
    ],
)
def test_context_gates_names_mistake(wrong, message, hidden):
    fails_with(check_context_gates, wrong, message, hidden=hidden)
