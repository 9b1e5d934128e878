"""Does ``check_decode_train`` accept a correct teacher-forcing loop, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb06_seq2seq import check_decode_train
from tests.checks.nb06_seq2seq import BOS, SEEDS
from tests.conftest import fails_with, stub


def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _teacher_forcing(decoder, context, tgt, teacher_forcing, generator, h0=context, coins=row_coins)


def row_coins(N, ratio, generator):
    """One coin per row: True where the row is fed the ground truth."""
    return torch.rand(N, generator=generator) < ratio


def _teacher_forcing(decoder, context, tgt, ratio, generator, h0, coins):
    """The teacher-forcing loop from the state ``h0`` with ``coins`` (right: the context, one coin per row)."""
    N, T = tgt.shape
    y_prev, h, steps = torch.full((N,), BOS), h0, []
    for t in range(T):
        logits, h = decoder(y_prev, h, context)
        steps.append(logits)
        if t + 1 < T:
            y_prev = torch.where(coins(N, ratio, generator), tgt[:, t], logits.argmax(-1))
    return torch.stack(steps, dim=1)


@pytest.mark.parametrize("hidden, seed", SEEDS)
def test_decode_train_accepts_correct(hidden, seed):
    check_decode_train(decode_train, hidden=hidden, seed=seed)


def ground_truth_at_inference(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return decode_train(decoder, context, tgt, 1.0, generator)


def inverted_coin(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return decode_train(decoder, context, tgt, 1.0 - teacher_forcing, generator)


def one_coin_per_step(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    def batch_coin(N, ratio, generator):
        return (torch.rand(1, generator=generator) < ratio).expand(N)  # the whole batch at once

    return _teacher_forcing(decoder, context, tgt, teacher_forcing, generator, h0=context, coins=batch_coin)


def leaked_answer(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    h, steps = context, []
    for t in range(tgt.shape[1]):
        logits, h = decoder(tgt[:, t], h, context)
        steps.append(logits)
    return torch.stack(steps, 1)


def fed_current_target(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    """Where the coin says truth, step t is fed tgt[:, t] (the answer) instead of tgt[:, t - 1]."""
    N, T = tgt.shape
    y_prev, h, steps = torch.full((N,), BOS), context, []
    for t in range(T):
        if t > 0:
            use_truth = torch.rand(N, generator=generator) < teacher_forcing
            y_prev = torch.where(use_truth, tgt[:, t], steps[-1].argmax(-1))
        logits, h = decoder(y_prev, h, context)
        steps.append(logits)
    return torch.stack(steps, 1)


def state_detached_before_each_step(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    """Right logits, but no gradient flows from one step to the previous one."""
    return decode_train(lambda y, h, c: decoder(y, h.detach(), c), context, tgt, teacher_forcing, generator)


def state_detached_after_each_step(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    def step(y, h, c):
        logits, h_new = decoder(y, h, c)
        return logits, h_new.detach()

    return decode_train(step, context, tgt, teacher_forcing, generator)


def global_random_state(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return decode_train(decoder, context, tgt, teacher_forcing, None)


def zero_initial_state(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _teacher_forcing(
        decoder, context, tgt, teacher_forcing, generator, h0=torch.zeros_like(context), coins=row_coins
    )


def state_given_as_context(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return decode_train(lambda y, h, c: decoder(y, h, h), context, tgt, teacher_forcing, generator)


@pytest.mark.parametrize(
    "wrong, message",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(
            ground_truth_at_inference, "decoder fed the ground truth at inference", id="ground_truth_at_inference"
        ),
        pytest.param(inverted_coin, "teacher forcing ratio not exact.*inverted", id="inverted_coin"),
        pytest.param(one_coin_per_step, "teacher forcing ratio not exact.*coins", id="one_coin_per_step"),
        pytest.param(leaked_answer, "answer leaks", id="leaked_answer"),
        pytest.param(state_detached_before_each_step, "detached inside the time loop", id="state_detached_before_step"),
        pytest.param(state_detached_after_each_step, "detached inside the time loop", id="state_detached_after_step"),
        pytest.param(fed_current_target, r"fed tgt\[:, t\].*answer leaks.*tgt\[:, t - 1\]", id="fed_current_target"),
        pytest.param(global_random_state, "cannot be repeated", id="global_random_state"),
        pytest.param(zero_initial_state, "zero state", id="zero_initial_state"),
        pytest.param(state_given_as_context, "state h where it takes the context", id="state_given_as_context"),
    ],
)
def test_decode_train_names_mistake(wrong, message):
    fails_with(check_decode_train, wrong, message)
