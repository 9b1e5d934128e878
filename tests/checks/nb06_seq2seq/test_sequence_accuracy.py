"""Does ``check_sequence_accuracy`` accept a correct accuracy, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from course_lib.checks.nb06_seq2seq import check_sequence_accuracy
from tests.checks.nb06_seq2seq import SEEDS
from tests.conftest import fails_with, stub


def sequence_accuracy(pred, tgt, pad_id=0):
    T = max(pred.shape[1], tgt.shape[1])
    pred = F.pad(pred, (0, T - pred.shape[1]), value=pad_id)
    tgt = F.pad(tgt, (0, T - tgt.shape[1]), value=pad_id)
    real = tgt != pad_id
    return (pred == tgt).all(1).float().mean(), ((pred == tgt) & real).sum() / real.sum()


@pytest.mark.parametrize("hidden, seed", SEEDS)
def test_sequence_accuracy_accepts_correct(hidden, seed):
    check_sequence_accuracy(sequence_accuracy, hidden=hidden, seed=seed)


def padding_counted(pred, tgt, pad_id=0):
    exact, _ = sequence_accuracy(pred, tgt, pad_id)
    T = max(pred.shape[1], tgt.shape[1])
    same = F.pad(pred, (0, T - pred.shape[1])) == F.pad(tgt, (0, T - tgt.shape[1]))
    return exact, same.float().mean()


def cut_to_the_narrower(pred, tgt, pad_id=0):
    """Both cut to the narrower width: a target's tokens beyond pred's width are never counted."""
    T = min(pred.shape[1], tgt.shape[1])
    return sequence_accuracy(pred[:, :T], tgt[:, :T], pad_id)


@pytest.mark.parametrize(
    "wrong, message",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(padding_counted, "padding counted in accuracy", id="padding_counted"),
        pytest.param(cut_to_the_narrower, "beyond it were dropped", id="cut_to_the_narrower"),
        pytest.param(
            lambda p, t, pad_id=0: (sequence_accuracy(p, t)[1],) * 2,
            "exact is the token accuracy",
            id="token_accuracy_as_exact",
        ),
        pytest.param(
            lambda p, t, pad_id=0: ((p == t).all(1).float().mean(), 0.0), "raised RuntimeError", id="unaligned_widths"
        ),
    ],
)
def test_sequence_accuracy_names_mistake(wrong, message):
    fails_with(check_sequence_accuracy, wrong, message)
