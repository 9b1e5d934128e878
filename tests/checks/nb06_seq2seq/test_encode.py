"""Does ``check_encode`` accept a packed and a gathered encoder, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.checks.nb06_seq2seq import check_encode
from tests.checks.nb06_seq2seq import SEEDS
from tests.conftest import fails_with, stub


def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[-1]


def encode_by_gather(embedding, rnn, src, lengths):
    """Another right answer: run over the padding (the GRU is causal), zero the padded steps, then read each row's
    state at its last real step."""
    outputs, _ = rnn(embedding(src))
    real = torch.arange(src.shape[1], device=src.device)[None, :] < lengths[:, None]  # (N, S)
    return outputs * real[..., None], outputs[torch.arange(len(src), device=src.device), lengths - 1]


def gather_keeping_the_padding(embedding, rnn, src, lengths):
    """The context right, but outputs are the GRU's states after reading the padding."""
    outputs, _ = rnn(embedding(src))
    return outputs, outputs[torch.arange(len(src)), lengths - 1]


def enforce_sorted_left_true(embedding, rnn, src, lengths):
    out, h_n = rnn(pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True))
    return pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])[0], h_n[-1]


def lengths_where_they_arrive(embedding, rnn, src, lengths):
    """Right on the CPU; pack_padded_sequence refuses lengths on a GPU."""
    out, h_n = rnn(pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])[0], h_n[-1]


@pytest.mark.parametrize("hidden, seed", SEEDS)
@pytest.mark.parametrize("fn", [encode, encode_by_gather])
def test_encode_accepts_correct(fn, hidden, seed):
    check_encode(fn, hidden=hidden, seed=seed)


def context_read_after_the_padding(embedding, rnn, src, lengths):
    outputs, h_n = rnn(embedding(src))
    return outputs, h_n[-1]


def last_column_as_context(embedding, rnn, src, lengths):
    outputs, _ = rnn(embedding(src))
    return outputs, outputs[:, -1]


def missing_total_length(embedding, rnn, src, lengths):
    out, h_n = rnn(pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True)[0], h_n[-1]


def packed_sequence_returned(embedding, rnn, src, lengths):
    out, h_n = rnn(pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False))
    return out, h_n[-1]


def lengths_from_equality(embedding, rnn, src, lengths):
    """Ignores the lengths given and counts the tokens that are not <pad>: wrong when <pad> is a real token."""
    return encode(embedding, rnn, src, (src != 0).sum(1).clamp_min(1))


@pytest.mark.parametrize(
    "wrong, message, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched_stub"),
        pytest.param(
            context_read_after_the_padding, "context read after the padding", False, id="context_read_after_the_padding"
        ),
        pytest.param(last_column_as_context, "after the padding", False, id="last_column_as_context"),
        pytest.param(
            missing_total_length, "stops at the longest row unless it is told", False, id="missing_total_length"
        ),
        pytest.param(
            lengths_from_equality,
            "lengths were taken from the tokens that are not <pad>",
            False,
            id="lengths_from_token_equality",
        ),
        pytest.param(lambda *a: (encode(*a)[0], encode(*a)[1][None]), r"h_n\[-1\]", False, id="layer_dimension"),
        pytest.param(lambda *a: encode(*a)[::-1], r"order \(outputs, context\)", False, id="swapped_outputs"),
        pytest.param(packed_sequence_returned, "PackedSequence", False, id="packed_sequence_returned"),
        pytest.param(
            gather_keeping_the_padding,
            r"not at the padded ones \(they are the GRU's states after reading the <pad> tokens",
            False,
            id="outputs_keep_the_padding_states",
        ),
        pytest.param(enforce_sorted_left_true, r"enforce_sorted=True\) it wants the rows sorted", False, id="sorted"),
        pytest.param(lengths_where_they_arrive, r"refused the lengths: it reads them on the CPU", False, id="device"),
        pytest.param(
            lambda *a: (encode(*a)[0] + 1e-3 * (encode(*a)[0] == 0), encode(*a)[1]),
            r"outputs\[\d, \d\] is not 0",
            False,
            id="padding_not_zero_located",
        ),
    ],
)
def test_encode_names_mistake(wrong, message, hidden):
    fails_with(check_encode, wrong, message, hidden=hidden)


def packed_then_last_column(embedding, rnn, src, lengths):
    """Packs right, then reads the context from the padded output's last column: zeros for a short row."""
    out, _ = rnn(pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False))
    outputs = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])[0]
    return outputs, outputs[:, -1]


def one_step_past_the_end(embedding, rnn, src, lengths):
    """Reads the state at step lengths[n] instead of lengths[n] - 1 (over the padding, so it is there)."""
    outputs, _ = rnn(embedding(src))
    rows = torch.arange(src.shape[0])
    return outputs, outputs[rows, lengths.clamp_max(src.shape[1] - 1)]


@pytest.mark.parametrize("wrong", [packed_then_last_column, one_step_past_the_end])
def test_a_context_read_from_a_padded_step_is_named(wrong):
    """Issue 23: the notebook promises "the context was read from a padded step"; it was a generic difference."""
    fails_with(check_encode, wrong, r"the context was read from a padded step")
