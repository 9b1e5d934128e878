"""Does ``check_decoder_step`` accept a correct decoder step, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb06_seq2seq import check_decoder_step
from tests.checks.nb06_seq2seq import SEEDS
from tests.conftest import fails_with, stub


def decoder_step(embedding, cell, out, y_prev, h, context):
    h_new = cell(torch.cat([embedding(y_prev), context], dim=1), h)
    return out(h_new), h_new


@pytest.mark.parametrize("hidden, seed", SEEDS)
def test_decoder_step_accepts_correct(hidden, seed):
    check_decoder_step(decoder_step, hidden=hidden, seed=seed)


def logits_from_old_state(embedding, cell, out, y_prev, h, context):
    return out(h), cell(torch.cat([embedding(y_prev), context], 1), h)


def softmax_applied(*args):
    logits, h = decoder_step(*args)
    return logits.softmax(-1), h


def swapped_concatenation(embedding, cell, out, y_prev, h, context):
    h_new = cell(torch.cat([context, embedding(y_prev)], 1), h)
    return out(h_new), h_new


def state_instead_of_context(embedding, cell, out, y_prev, h, context):
    h_new = cell(torch.cat([embedding(y_prev), h], 1), h)
    return out(h_new), h_new


def old_state_returned(embedding, cell, out, y_prev, h, context):
    return decoder_step(embedding, cell, out, y_prev, h, context)[0], h


@pytest.mark.parametrize(
    "wrong, message, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched_stub"),
        pytest.param(logits_from_old_state, "old state", False, id="logits_from_old_state"),
        pytest.param(softmax_applied, "raw logits", False, id="softmax_applied"),
        pytest.param(swapped_concatenation, "swapped", False, id="swapped_concatenation"),
        pytest.param(state_instead_of_context, "state h where the context goes", False, id="state_instead_of_context"),
        pytest.param(old_state_returned, "old state h", False, id="old_state_returned"),
    ],
)
def test_decoder_step_names_mistake(wrong, message, hidden):
    fails_with(check_decoder_step, wrong, message, hidden=hidden)
