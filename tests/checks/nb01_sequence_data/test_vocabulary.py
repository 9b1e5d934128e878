"""Does check_build_vocab accept a correct vocabulary and name each typical mistake?"""

from __future__ import annotations

import collections

import pytest

from course_lib.checks import check_build_vocab
from course_lib.data import SPECIALS
from tests.conftest import fails_with, stub


def build_vocab(sentences, min_freq=1):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]


@pytest.mark.parametrize("hidden", [False, True])
def test_build_vocab_accepts_correct(hidden):
    check_build_vocab(build_vocab, hidden=hidden)


def strict_min_freq(sentences, min_freq=1):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counts.most_common() if c > min_freq]


def alphabetical_order(sentences, min_freq=1):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + sorted(t for t, c in counts.items() if c >= min_freq)


def duplicated_special_in_text(sentences, min_freq=1):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counts.most_common() if c >= min_freq]


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched stub"),
        pytest.param(strict_min_freq, r">= min_freq, not > min_freq", False, id="strict min_freq"),
        pytest.param(
            lambda s, min_freq=1: build_vocab(s, min_freq)[4:],
            "must start with the special tokens",
            False,
            id="missing specials",
        ),
        pytest.param(alphabetical_order, "most frequent first", False, id="alphabetical order"),
        pytest.param(duplicated_special_in_text, "appears 2 times", False, id="duplicated special in text"),
    ],
)
def test_build_vocab_names_the_mistake(wrong, pattern, hidden):
    fails_with(check_build_vocab, wrong, pattern, hidden=hidden)
