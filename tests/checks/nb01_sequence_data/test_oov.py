"""Does check_oov_rate accept the share of unknown token occurrences and name each other rate a learner computes?"""

from __future__ import annotations

import pytest

from course_lib.checks import check_oov_rate
from tests.conftest import fails_with, stub


def oov_rate(sentences, itos):
    known = set(itos)
    tokens = [t for s in sentences for t in s]
    return sum(t not in known for t in tokens) / len(tokens) if tokens else 0.0


@pytest.mark.parametrize("hidden", [False, True])
def test_oov_rate_accepts_correct(hidden):
    check_oov_rate(oov_rate, hidden=hidden)


def over_types(sentences, itos):
    types = {t for s in sentences for t in s}
    return len(types - set(itos)) / len(types) if types else 0.0


def mean_per_sentence(sentences, itos):
    rates = [oov_rate([s], itos) for s in sentences if s]
    return sum(rates) / len(rates) if rates else 0.0


def no_empty_guard(sentences, itos):
    tokens = [t for s in sentences for t in s]
    return sum(t not in itos for t in tokens) / len(tokens)


def specials_unknown(sentences, itos):
    """Checks the words after the specials only: the text's '<unk>' counts as unknown."""
    words = set(itos[4:])
    tokens = [t for s in sentences for t in s]
    return sum(t not in words for t in tokens) / len(tokens) if tokens else 0.0


def guards_the_list_not_the_tokens(sentences, itos):
    """0.0 for [], but [[], []] divides by zero."""
    if not sentences:
        return 0.0
    return sum(t not in itos for s in sentences for t in s) / sum(len(s) for s in sentences)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(over_types, r"distinct tokens \(types\)", id="over types"),
        pytest.param(mean_per_sentence, "mean of the sentences' own rates", id="mean per sentence"),
        pytest.param(lambda s, itos: 1 - oov_rate(s, itos), "share of known tokens", id="coverage"),
        pytest.param(lambda s, itos: 100 * oov_rate(s, itos), "percentage", id="percent"),
        pytest.param(no_empty_guard, "ZeroDivisionError", id="no sentences"),
        pytest.param(guards_the_list_not_the_tokens, "only empty sentences", id="only empty sentences"),
        pytest.param(specials_unknown, "spelled like a special", id="specials unknown"),
    ],
)
def test_oov_rate_names_the_mistake(wrong, pattern):
    fails_with(check_oov_rate, wrong, pattern)
