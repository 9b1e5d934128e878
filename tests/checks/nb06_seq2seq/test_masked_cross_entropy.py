"""Does ``check_masked_cross_entropy`` accept two correct masked losses, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from course_lib.checks.nb06_seq2seq import check_masked_cross_entropy
from tests.checks.nb06_seq2seq import SEEDS
from tests.conftest import fails_with, stub


def masked_cross_entropy(logits, tgt, pad_id=0):
    return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=pad_id)


def masked_cross_entropy_by_hand(logits, tgt, pad_id=0):
    mask = tgt != pad_id
    safe = tgt.masked_fill(~mask, 0)  # a pad id such as -100 is no class to gather
    nll = -logits.log_softmax(-1).gather(-1, safe[..., None])[..., 0]
    return (nll * mask).sum() / mask.sum()


@pytest.mark.parametrize("hidden, seed", SEEDS)
@pytest.mark.parametrize("fn", [masked_cross_entropy, masked_cross_entropy_by_hand])
def test_masked_cross_entropy_accepts_correct(fn, hidden, seed):
    check_masked_cross_entropy(fn, hidden=hidden, seed=seed)


def padding_in_the_mean(logits, tgt, pad_id=0):
    nll = F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="none")
    return (nll * (tgt.flatten() != pad_id)).sum() / tgt.numel()


def log_of_softmax(logits, tgt, pad_id=0):
    """The log taken after the softmax: -inf where a float32 probability underflows (a confident model)."""
    mask = tgt != pad_id
    nll = -logits.softmax(-1).log().gather(-1, tgt.masked_fill(~mask, 0)[..., None])[..., 0]
    return (nll * mask).sum() / mask.sum()


def per_row_mean(logits, tgt, pad_id=0):
    mask = (tgt != pad_id).float()
    nll = F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")
    return ((nll * mask).sum(1) / mask.sum(1)).mean()


@pytest.mark.parametrize(
    "wrong, message, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched_stub"),
        pytest.param(padding_in_the_mean, "padding counted in the loss mean", False, id="padding_in_the_mean"),
        pytest.param(
            lambda lg, t, pad_id=0: F.cross_entropy(lg.flatten(0, 1), t.flatten()),
            "padding counted in the loss mean",
            False,
            id="padding_in_the_loss",
        ),
        pytest.param(per_row_mean, "each row was averaged first", False, id="per_row_mean"),
        pytest.param(lambda *a, **k: masked_cross_entropy(*a, **k).item(), r"\.item\(\)", False, id="item_called"),
        pytest.param(log_of_softmax, "underflowed to 0 before its log", False, id="log_of_softmax"),
    ],
)
def test_masked_cross_entropy_names_mistake(wrong, message, hidden):
    fails_with(check_masked_cross_entropy, wrong, message, hidden=hidden)
