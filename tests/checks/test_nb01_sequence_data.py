"""Does each notebook-01 check accept a correct implementation and name at least two typical mistakes?

The correct implementations here are written for the tests (not imported from the solution notebook), so a
check is tested against an independent answer as well as against the solution run in tests/test_notebooks.py.
"""

from __future__ import annotations

import collections

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import (
    check_build_vocab,
    check_decode,
    check_encode,
    check_io_structures,
    check_make_char_windows,
    check_make_windows,
    check_one_hot,
    check_pad_batch,
)
from course_lib.data import SPECIALS
from tests.conftest import fails_with, stub

ALL_CHECKS = [check_build_vocab, check_encode, check_decode, check_one_hot, check_make_windows,
              check_make_char_windows, check_pad_batch]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


# ------------------------------------------------------------------------------------------- vocabulary


def build_vocab(sentences, min_freq=1):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]


@pytest.mark.parametrize("hidden", [False, True])
def test_build_vocab_accepts_correct(hidden):
    check_build_vocab(build_vocab, hidden=hidden)


def test_build_vocab_names_strict_min_freq():
    def wrong(sentences, min_freq=1):
        counts = collections.Counter(t for s in sentences for t in s)
        return list(SPECIALS) + [t for t, c in counts.most_common() if c > min_freq]

    fails_with(check_build_vocab, wrong, r">= min_freq, not > min_freq")


def test_build_vocab_names_missing_specials():
    fails_with(check_build_vocab, lambda s, min_freq=1: build_vocab(s, min_freq)[4:], "must start with the special tokens")


def test_build_vocab_names_alphabetical_order():
    def wrong(sentences, min_freq=1):
        counts = collections.Counter(t for s in sentences for t in s)
        return list(SPECIALS) + sorted(t for t, c in counts.items() if c >= min_freq)

    fails_with(check_build_vocab, wrong, "most frequent first")


def test_build_vocab_names_duplicated_special_in_text():
    def wrong(sentences, min_freq=1):
        counts = collections.Counter(t for s in sentences for t in s)
        return list(SPECIALS) + [t for t, c in counts.most_common() if c >= min_freq]

    fails_with(check_build_vocab, wrong, "appears 2 times", hidden=True)


# ------------------------------------------------------------------------------------------- encode / decode


def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, stoi["<unk>"]) for t in tokens], dtype=torch.long)


def decode(ids, itos):
    return [itos[i] for i in ids.tolist() if itos[i] != "<pad>"]


@pytest.mark.parametrize("hidden", [False, True])
def test_encode_decode_accept_correct(hidden):
    check_encode(encode, hidden=hidden)
    check_decode(decode, hidden=hidden)


def test_encode_names_unknown_mapped_to_pad():
    def wrong(tokens, itos):
        stoi = {t: i for i, t in enumerate(itos)}
        return torch.tensor([stoi.get(t, 0) for t in tokens])

    fails_with(check_encode, wrong, "not to '<pad>'")


def test_encode_names_key_error_on_unknown():
    def wrong(tokens, itos):
        stoi = {t: i for i, t in enumerate(itos)}
        return torch.tensor([stoi[t] for t in tokens])

    fails_with(check_encode, wrong, "raised KeyError")


def test_encode_names_list_instead_of_tensor():
    fails_with(check_encode, lambda tokens, itos: encode(tokens, itos).tolist(), "should be a tensor, but it is a list")


def test_decode_names_padding_kept():
    fails_with(check_decode, lambda ids, itos: [itos[i] for i in ids.tolist()], "Drop the '<pad>' tokens")


def test_decode_names_off_by_one():
    fails_with(check_decode, lambda ids, itos: [itos[i - 1] for i in ids.tolist() if i], "expected")


# ------------------------------------------------------------------------------------------- one-hot


@pytest.mark.parametrize("hidden", [False, True])
def test_one_hot_accepts_correct(hidden):
    check_one_hot(lambda ids, V: (ids[..., None] == torch.arange(V)).float(), hidden=hidden)


def test_one_hot_names_integer_dtype():
    fails_with(check_one_hot, lambda ids, V: F.one_hot(ids, V), "should return floats")


def test_one_hot_names_transposed():
    fails_with(check_one_hot, lambda ids, V: F.one_hot(ids, V).float().T, "transposed")


def test_one_hot_names_v_minus_one_columns():
    fails_with(check_one_hot, lambda ids, V: F.one_hot(ids.clamp(max=V - 2), V - 1).float(), r"shape \(5, 3\)")


# ------------------------------------------------------------------------------------------- windows


def make_windows(series, window):
    return series.unfold(0, window, 1)[:-1], series[window:]


@pytest.mark.parametrize("hidden", [False, True])
def test_make_windows_accepts_correct(hidden):
    check_make_windows(make_windows, hidden=hidden)


def test_make_windows_names_off_by_one():
    fails_with(check_make_windows, lambda s, w: (s.unfold(0, w, 1), s[w - 1 :]), "off by one")


def test_make_windows_names_unshifted_targets():
    fails_with(check_make_windows, lambda s, w: (s.unfold(0, w, 1)[:-1], s[w - 1 : -1]), "targets not shifted")


def make_char_windows(ids, L):
    windows = ids.unfold(0, L + 1, 1)
    return windows[:, :-1], windows[:, 1:]


@pytest.mark.parametrize("hidden", [False, True])
def test_make_char_windows_accepts_correct(hidden):
    check_make_char_windows(make_char_windows, hidden=hidden)


def test_make_char_windows_names_unshifted_targets():
    fails_with(check_make_char_windows, lambda ids, L: (make_char_windows(ids, L)[0],) * 2, "targets not shifted")


def test_make_char_windows_names_shift_by_two():
    def wrong(ids, L):
        X = ids.unfold(0, L, 1)[: len(ids) - L]
        Y = torch.stack([ids[i + 2 : i + 2 + L] if i + 2 + L <= len(ids) else X[i] for i in range(len(X))])
        return X, Y

    fails_with(check_make_char_windows, wrong, r"Y\[i\] should be ids\[i \+ 1")


def test_make_char_windows_names_float_ids():
    fails_with(check_make_char_windows, lambda ids, L: tuple(t.float() for t in make_char_windows(ids, L)), "torch.long")


# ------------------------------------------------------------------------------------------- padding


def pad_batch(seqs, pad_id=0):
    lengths = torch.tensor([len(s) for s in seqs])
    padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad_id)
    return padded, lengths, torch.arange(padded.shape[1])[None] < lengths[:, None]


@pytest.mark.parametrize("hidden", [False, True])
def test_pad_batch_accepts_correct(hidden):
    check_pad_batch(pad_batch, hidden=hidden)


def test_pad_batch_names_left_padding():
    def wrong(seqs, pad_id=0):
        padded, lengths, mask = pad_batch([s.flip(0) for s in seqs], pad_id)
        return padded.flip(1), lengths, mask.flip(1)

    fails_with(check_pad_batch, wrong, "padding is on the left")


def test_pad_batch_names_inverted_mask():
    def wrong(seqs, pad_id=0):
        padded, lengths, mask = pad_batch(seqs, pad_id)
        return padded, lengths, ~mask

    fails_with(check_pad_batch, wrong, "mask is inverted")


def test_pad_batch_names_ignored_pad_id():
    fails_with(check_pad_batch, lambda seqs, pad_id=0: pad_batch(seqs, 0), "padding_value=1", hidden=True)


# ------------------------------------------------------------------------------------------- structures quiz

RIGHT = {
    "sentiment of a review": "N-1",
    "next character at every step": "N-N",
    "caption from one image": "1-N",
    "part-of-speech tag of every word": "N-N",
    "tomorrow's temperature from the last 30 days": "N-1",
}


def test_io_structures_accepts_right_answers():
    check_io_structures(RIGHT)


def test_io_structures_names_the_wrong_task():
    fails_with(check_io_structures, {**RIGHT, "caption from one image": "N-1"}, "caption from one image")


def test_io_structures_names_unfilled_answer():
    fails_with(check_io_structures, {k: None for k in RIGHT}, "not implemented yet")


def test_io_structures_names_an_invalid_answer():
    fails_with(check_io_structures, {**RIGHT, "caption from one image": "one to many"}, "should be one of")
