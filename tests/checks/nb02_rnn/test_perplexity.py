"""Does check_perplexity accept exp(mean cross-entropy over the real targets) and name each typical mistake?"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks.nb02_rnn import check_perplexity
from tests.conftest import fails_with


def perplexity(logits, targets, pad_id):
    """Written for the test: a mask and log_softmax, not the solution's cross_entropy(ignore_index=...)."""
    real = targets != pad_id
    safe = targets.masked_fill(~real, 0)  # a pad id such as -100 is no class to gather
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (N, T)
    return torch.exp(-(log_p * real).sum() / real.sum())


def _nll(logits, targets):
    return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (N, T)


def padding_included(logits, targets, pad_id):
    return torch.exp(_nll(logits, targets).mean())


def exp_of_sum(logits, targets, pad_id):
    return torch.exp(_nll(logits, targets)[targets != pad_id].sum())


def bits_then_exp(logits, targets, pad_id):
    return torch.exp(_nll(logits, targets)[targets != pad_id].mean() / math.log(2))


def two_to_nats(logits, targets, pad_id):
    return 2 ** _nll(logits, targets)[targets != pad_id].mean()


def no_exp(logits, targets, pad_id):
    return _nll(logits, targets)[targets != pad_id].mean()


def mean_of_sequence_means(logits, targets, pad_id):
    real = targets != pad_id
    return torch.exp(((_nll(logits, targets) * real).sum(1) / real.sum(1)).mean())


def mean_of_sequence_perplexities(logits, targets, pad_id):
    real = targets != pad_id
    return torch.exp((_nll(logits, targets) * real).sum(1) / real.sum(1)).mean()


def pad_zero_hard_coded(logits, targets, pad_id):
    return torch.exp(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=0))


def log_of_softmax(logits, targets, pad_id):
    real = targets != pad_id
    p = torch.softmax(logits, dim=-1).gather(-1, targets.masked_fill(~real, 0).unsqueeze(-1)).squeeze(-1)
    return torch.exp(-(p.log() * real).sum() / real.sum())


@pytest.mark.parametrize("hidden", [False, True])
def test_perplexity_accepts_correct(hidden):
    check_perplexity(perplexity, hidden=hidden)


def test_perplexity_accepts_torch_loss_and_a_python_float():
    def with_loss(logits, targets, pad_id):
        V = logits.shape[-1]
        return math.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id).item())

    check_perplexity(with_loss, hidden=True)


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        pytest.param(padding_included, "padding is included", False, id="padding included"),
        pytest.param(exp_of_sum, r"exp of the \*sum\*", False, id="exp of the sum"),
        pytest.param(bits_then_exp, "in bits", False, id="log base 2, then exp"),
        pytest.param(two_to_nats, r"2 \*\* \(cross-entropy in nats\)", False, id="2 ** nats"),
        pytest.param(no_exp, "the cross-entropy itself", False, id="no exp"),
        pytest.param(mean_of_sequence_means, "mean of per-sequence means", False, id="mean of sequence means"),
        pytest.param(
            mean_of_sequence_perplexities,
            "mean of per-sequence perplexities",
            False,
            id="mean of sequence perplexities",
        ),
        pytest.param(pad_zero_hard_coded, r"pad_id is -?\d+ here", False, id="pad id hard-coded as 0"),
        pytest.param(log_of_softmax, "underflowed", True, id="log of softmax underflows in float32"),
    ],
)
def test_perplexity_names_mistakes(wrong, pattern, hidden):
    fails_with(check_perplexity, wrong, pattern, hidden=hidden)


def test_all_padding_row_is_named_for_per_sequence_means():
    """The hidden case with an empty row: a per-sequence mean divides 0 by 0."""

    def per_sequence_means_without_the_guard(logits, targets, pad_id):
        if (targets != pad_id).sum(1).min() == 0:
            return mean_of_sequence_means(logits, targets, pad_id)
        return perplexity(logits, targets, pad_id)

    fails_with(check_perplexity, per_sequence_means_without_the_guard, "all padding", hidden=True)


def test_batch_shaped_result_is_refused():
    fails_with(check_perplexity, lambda z, y, pad: perplexity(z, y, pad).reshape(1), "one number, a 0-dim tensor")


def test_the_underflow_message_does_not_name_a_ready_made_loss():
    """Issue 24: the message said "Use F.log_softmax or F.cross_entropy", a ready-made loss the exercise forbids."""
    message = fails_with(check_perplexity, log_of_softmax, "underflowed", hidden=True)
    assert "cross_entropy" not in message and "log_softmax" not in message, message
