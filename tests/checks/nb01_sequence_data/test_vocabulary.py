"""Does check_build_vocab accept a correct vocabulary and name each typical mistake?"""

from __future__ import annotations

import collections

import pytest

from course_lib.checks import check_build_vocab
from course_lib.data import SPECIALS
from tests.conftest import fails_with, stub


def build_vocab(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    return list(SPECIALS) + (kept if max_size is None else kept[:max_size])


def by_first_position(sentences, min_freq=1, max_size=None):
    """Right without Counter: a key (-count, first position), then the cut."""
    counts, first = {}, {}
    for position, token in enumerate(t for s in sentences for t in s):
        counts[token] = counts.get(token, 0) + 1
        first.setdefault(token, position)
    kept = sorted(
        (t for t in counts if counts[t] >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], first[t])
    )
    return list(SPECIALS) + kept[: len(kept) if max_size is None else max_size]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("right", [build_vocab, by_first_position], ids=["most_common", "sort key"])
def test_build_vocab_accepts_correct(right, hidden):
    check_build_vocab(right, hidden=hidden)


def strict_min_freq(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counts.most_common() if c > min_freq][:max_size]


def alphabetical_order(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + sorted(t for t, c in counts.items() if c >= min_freq)[:max_size]


def duplicated_special_in_text(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counts.most_common() if c >= min_freq][:max_size]


def specials_listed_twice(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS][:max_size]
    return list(SPECIALS) + list(SPECIALS) + kept


def ties_alphabetical(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = sorted((t for t in counts if counts[t] >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t))
    return list(SPECIALS) + kept[:max_size]


def ascending_then_reversed(sentences, min_freq=1, max_size=None):
    """An unstable cut: sorted ascending, then reversed, so that tied tokens come last seen first."""
    counts = collections.Counter(t for s in sentences for t in s)
    kept = sorted((t for t in counts if counts[t] >= min_freq and t not in SPECIALS), key=counts.get)[::-1]
    return list(SPECIALS) + kept[:max_size]


def max_size_counts_specials(sentences, min_freq=1, max_size=None):
    itos = build_vocab(sentences, min_freq)
    return itos if max_size is None else itos[: max(max_size, len(SPECIALS))]


def cut_before_dropping_specials(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    top = [t for t, c in counts.most_common() if c >= min_freq][:max_size]
    return list(SPECIALS) + [t for t in top if t not in SPECIALS]


def max_size_ignored(sentences, min_freq=1, max_size=None):
    return build_vocab(sentences, min_freq)


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched stub"),
        pytest.param(strict_min_freq, r">= min_freq, not > min_freq", False, id="strict min_freq"),
        pytest.param(
            lambda s, min_freq=1, max_size=None: build_vocab(s, min_freq, max_size)[4:],
            "must start with the special tokens",
            False,
            id="missing specials",
        ),
        pytest.param(alphabetical_order, "most frequent first", False, id="alphabetical order"),
        pytest.param(duplicated_special_in_text, "it takes no second place", False, id="duplicated special in text"),
        pytest.param(specials_listed_twice, "the specials come once, at the start", False, id="specials twice"),
        pytest.param(ties_alphabetical, "ties are broken by the alphabet", False, id="ties by alphabet"),
        pytest.param(ascending_then_reversed, "reverse order of first appearance", False, id="unstable cut"),
        pytest.param(max_size_counts_specials, "max_size=2 counts the special tokens", False, id="cut counts specials"),
        pytest.param(
            cut_before_dropping_specials, "spelled like a special took one of", False, id="cut before specials"
        ),
        pytest.param(max_size_ignored, "max_size=2 keeps only the 2 most frequent", False, id="max_size ignored"),
    ],
)
def test_build_vocab_names_the_mistake(wrong, pattern, hidden):
    fails_with(check_build_vocab, wrong, pattern, hidden=hidden)
