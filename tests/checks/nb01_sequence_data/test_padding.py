"""Does check_pad_batch accept a correct padded batch and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import check_pad_batch
from tests.conftest import fails_with, stub


def pad_batch(seqs, pad_id=0):
    lengths = torch.tensor([len(s) for s in seqs])
    padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad_id)
    return padded, lengths, torch.arange(padded.shape[1])[None] < lengths[:, None]


@pytest.mark.parametrize("hidden", [False, True])
def test_pad_batch_accepts_correct(hidden):
    check_pad_batch(pad_batch, hidden=hidden)


def left_padding(seqs, pad_id=0):
    padded, lengths, mask = pad_batch([s.flip(0) for s in seqs], pad_id)
    return padded.flip(1), lengths, mask.flip(1)


def inverted_mask(seqs, pad_id=0):
    padded, lengths, mask = pad_batch(seqs, pad_id)
    return padded, lengths, ~mask


def mask_from_equality(seqs, pad_id=0):
    padded, lengths, _ = pad_batch(seqs, pad_id)
    return padded, lengths, padded != pad_id


def lengths_from_equality(seqs, pad_id=0):
    padded, _, mask = pad_batch(seqs, pad_id)
    return padded, (padded != pad_id).sum(1), mask


def pad_batch_by_hand(seqs, pad_id=0):
    """A correct alternative: a filled tensor written row by row, the mask by comparison with a range."""
    T = max(len(s) for s in seqs)
    padded = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
    lengths = torch.tensor([len(s) for s in seqs])
    return padded, lengths, torch.arange(T).expand(len(seqs), T) < lengths.unsqueeze(1)


def test_pad_batch_accepts_a_hand_written_alternative():
    check_pad_batch(pad_batch_by_hand)
    check_pad_batch(pad_batch_by_hand, hidden=True)


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        pytest.param(mask_from_equality, "mask is built from token equality", False, id="mask from token equality"),
        pytest.param(
            lengths_from_equality,
            "lengths counts the tokens that differ from pad_id",
            False,
            id="lengths from token equality",
        ),
        pytest.param(stub, "not implemented yet", False, id="untouched stub"),
        pytest.param(left_padding, "padding is on the left", False, id="left padding"),
        pytest.param(inverted_mask, "mask is inverted", False, id="inverted mask"),
        pytest.param(lambda seqs, pad_id=0: pad_batch(seqs, 0), "padding_value=2", False, id="ignored pad_id"),
    ],
)
def test_pad_batch_names_the_mistake(wrong, pattern, hidden):
    fails_with(check_pad_batch, wrong, pattern, hidden=hidden)


def test_the_mask_message_gives_the_idea_not_the_line():
    """Issue 24: the message ended with the line to type, "mask[n, t] = t < lengths[n]"."""
    message = fails_with(check_pad_batch, mask_from_equality, "mask is built from token equality")
    assert "length" in message and "mask[n, t] =" not in message and "< lengths" not in message, message
