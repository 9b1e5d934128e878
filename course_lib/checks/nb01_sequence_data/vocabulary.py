"""Check of ``build_vocab``: the vocabulary is judged by what it must contain and in which order (the
special tokens first, then every token with count >= min_freq, most frequent first, ties in order of first
appearance, as ``collections.Counter.most_common`` gives them; with ``max_size``, the first ``max_size`` of that
order besides the specials), not against a stored answer.  The other tie-breakers a learner may reach for (the
alphabet, a sort ascending then reversed, which reverses the ties too), a cut that counts the specials, and a cut
made before the data's own '<unk>' is dropped are named by building the vocabulary they give."""

from __future__ import annotations

import collections
import operator
from typing import Any

import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import (
    first_named_mistake,
    generator,
    plain,
    sequence_differences,
    token_list,
    visible_first,
)
from course_lib.data.vocab import SPECIALS

__all__ = ["BUILD_VOCAB", "check_build_vocab"]

_WORDS = ["good", "bad", "not", "film", "plot", "but", "great", "dull", "的", "好", "但", "演技"]


def _random_sentences(g: torch.Generator, n: int) -> list[list[str]]:
    sentences = []
    for _ in range(n):
        length = int(torch.randint(0, 7, (1,), generator=g))
        ids = torch.randint(0, len(_WORDS), (length,), generator=g).tolist()
        sentences.append([_WORDS[i] for i in ids])
    return sentences


def _vocab_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    if not hidden:
        sentences = [["good", "not", "bad"], ["bad", "not", "good"], ["good", "film"], ["dull", "film"]]
        return {
            "min_freq=1": {"sentences": sentences, "min_freq": 1},
            "min_freq=2": {"sentences": sentences, "min_freq": 2},
            "text containing '<unk>'": {
                "kind": "edge",
                "sentences": [["<unk>", "ok", "ok"], ["<pad>", "ok"]],
                "min_freq": 1,
            },
            # a count is of occurrences, not of sentences: 'so' occurs twice, both times in one sentence
            "a token repeated within a sentence, min_freq=2": {
                "sentences": [["so", "so", "good"], ["good", "film"], ["film", "bad"]],
                "min_freq": 2,
            },
            # 'plot' and 'film' both occur twice and only one fits: 'plot' appears first
            "max_size=2, a tie at the cut": {
                "sentences": [["plot", "good", "film"], ["good", "bad", "plot"], ["good", "film", "dull"]],
                "min_freq": 1,
                "max_size": 2,
            },
            # the text's own '<unk>' is its most frequent token: it keeps id 1 and takes none of the 2 places
            "max_size=2, min_freq=2, '<unk>' in the text": {
                "kind": "edge",
                "sentences": [["<unk>", "<unk>", "so", "ok"], ["ok", "<unk>", "meh", "so"], ["meh", "yes", "ok"]],
                "min_freq": 2,
                "max_size": 2,
            },
            "max_size=5, min_freq=1": {"sentences": sentences, "min_freq": 1, "max_size": 5},
            # 0 is a size, not "no limit": only the specials (`if max_size:` reads it as None)
            "max_size=0": {"kind": "edge", "sentences": sentences, "min_freq": 1, "max_size": 0},
        }
    g = generator(seed)
    return {
        "random, min_freq=1": {"sentences": _random_sentences(g, 12), "min_freq": 1},
        "random, min_freq=3": {"sentences": _random_sentences(g, 20), "min_freq": 3},
        "random, max_size=4": {"sentences": _random_sentences(g, 16), "min_freq": 1, "max_size": 4},
        "random, min_freq=2, max_size=6": {"sentences": _random_sentences(g, 16), "min_freq": 2, "max_size": 6},
        "random, max_size larger than the vocabulary": {
            "sentences": _random_sentences(g, 3),
            "min_freq": 1,
            "max_size": 40,
        },
        "max_size=0": {"kind": "edge", "sentences": _random_sentences(g, 4), "min_freq": 1, "max_size": 0},
        "no sentences": {"kind": "edge", "sentences": [], "min_freq": 1},
        "text containing '<unk>'": {
            "kind": "edge",
            "sentences": [["<unk>", "好", "好"], ["<pad>", "好"]],
            "min_freq": 1,
        },
        "'<eos>' most frequent, max_size=3": {
            "kind": "edge",
            "sentences": [["<eos>", "但", "好", "<eos>"], ["的", "<eos>", "好"], ["演技", "但", "<eos>", "的"]],
            "min_freq": 1,
            "max_size": 3,
        },
    }


def _vocab_run(fn, case):
    if "max_size" in case:
        return plain(fn(case["sentences"], min_freq=case["min_freq"], max_size=case["max_size"]))
    return plain(fn(case["sentences"], min_freq=case["min_freq"]))  # the default max_size=None: no limit


def _cut(order: list[str], max_size: int | None) -> list[str]:
    return order if max_size is None else order[: max(max_size, 0)]


def _alternatives(case: dict, counts: collections.Counter, specials: list[str]) -> list[tuple[str, list[str]]]:
    """(message, the tokens after the specials) of each named way to get the order or the cut wrong."""
    min_freq, max_size = case["min_freq"], case.get("max_size")
    first: dict[str, int] = {}  # token -> position of its first occurrence, in order of first appearance
    for i, t in enumerate(t for s in case["sentences"] for t in s):
        first.setdefault(t, i)
    kept = [t for t in first if counts[t] >= min_freq and t not in specials]  # in order of first appearance
    by_count = sorted(kept, key=lambda t: -counts[t])  # stable: ties stay in order of first appearance
    with_specials = sorted((t for t in first if counts[t] >= min_freq), key=lambda t: -counts[t])
    found = [
        (
            "ties are broken by the alphabet, not by first appearance: among tokens with equal counts, the one "
            "that appears first in the text comes first",
            _cut(sorted(kept, key=lambda t: (-counts[t], t)), max_size),
        ),
        (
            "ties come in reverse order of first appearance (last seen first): sorting by ascending count and then "
            "reversing the list reverses the ties too",
            _cut(sorted(kept, key=lambda t: (-counts[t], -first[t])), max_size),
        ),
    ]
    if max_size is not None:
        found += [
            (
                f"max_size={max_size} counts the special tokens: it limits the tokens besides the specials, so the "
                f"vocabulary has up to {len(specials)} + max_size entries",
                _cut(by_count, max_size - len(specials)),
            ),
            (
                "a token of the text spelled like a special took one of the max_size places: it already has its "
                "id among the specials, so drop it before you cut at max_size, not after",
                [t for t in _cut(with_specials, max_size) if t not in specials],
            ),
        ]
    return found


def _vocab_judge(cases, results):
    for name, case in cases.items():
        itos = token_list(result_of(results, name, "build_vocab"), f"build_vocab(...) on case '{name}'")
        specials = list(SPECIALS)
        if itos[: len(specials)] != specials:
            raise CheckFailure(
                f"case '{name}': the vocabulary must start with the special tokens {specials} in that order "
                f"(padding is index 0), got {itos[: len(specials)]}"
            )
        seen = collections.Counter(itos)
        twice = [t for t, c in seen.items() if c > 1]
        if twice:
            token = twice[0]
            in_text = any(token in sentence for sentence in case["sentences"])
            if token in specials and in_text:
                raise CheckFailure(
                    f"case '{name}': the special {token!r} appears {seen[token]} times: the text contains it too, and "
                    f"it was added again after the specials. A token of the text spelled like a special already "
                    f"has its id (index {specials.index(token)}): it takes no second place in the vocabulary"
                )
            if token in specials:
                raise CheckFailure(
                    f"case '{name}': the special {token!r} appears {seen[token]} times, although the text does not "
                    f"contain it: the specials come once, at the start, whatever the text holds"
                )
            raise CheckFailure(f"case '{name}': token {token!r} appears {seen[token]} times; each token once")
        counts = collections.Counter(t for s in case["sentences"] for t in s)
        min_freq, max_size = case["min_freq"], case.get("max_size")
        wanted = _cut([t for t, c in counts.most_common() if c >= min_freq and t not in specials], max_size)
        words = itos[len(specials) :]
        named = first_named_mistake(words, wanted, _alternatives(case, counts, specials), same=operator.eq)
        if named:
            raise CheckFailure(
                f"case '{name}': {named}. After the specials, the tokens {sequence_differences(words, wanted)}."
            )
        cut = "" if max_size is None else f" and max_size={max_size}"
        missing = [t for t in wanted if t not in words]
        if missing:
            t = missing[0]
            in_sentences = sum(t in s for s in case["sentences"])
            if in_sentences < counts[t] and in_sentences < min_freq:
                hint = (
                    f" (it is in {in_sentences} sentence{'s' * (in_sentences != 1)} only: count every occurrence, "
                    f"repeats within a sentence too, not the sentences a token is in)"
                )
            elif counts[t] == min_freq:
                hint = " (keep tokens whose count is >= min_freq, not > min_freq)"
            else:
                hint = ""
            where = "" if max_size is None else f", and it is among the {max_size} most frequent tokens"
            raise CheckFailure(
                f"case '{name}': token {t!r} occurs {counts[t]} times with min_freq={min_freq}{cut}, so it belongs in "
                f"the vocabulary{where}{hint}"
            )
        extra = [t for t in words if t not in wanted]
        if extra:
            t = extra[0]
            if counts[t] >= min_freq and t not in specials:
                raise CheckFailure(
                    f"case '{name}': token {t!r} should not be in the vocabulary: it occurs {counts[t]} times, but "
                    f"max_size={max_size} keeps only the {max_size} most frequent tokens besides the specials "
                    f"(ties at the cut go to the token that appears first)"
                )
            raise CheckFailure(
                f"case '{name}': token {t!r} should not be in the vocabulary: it occurs {counts[t]} times, "
                f"below min_freq={min_freq}" + (" (and specials are listed once, first)" if t in specials else "")
            )
        if words != wanted:
            i = next(i for i, (a, b) in enumerate(zip(words, wanted)) if a != b)  # same tokens, other order
            in_sentences = collections.Counter(t for s in case["sentences"] for t in dict.fromkeys(s))
            if words == [t for t, _ in in_sentences.most_common() if t in wanted]:
                raise CheckFailure(
                    f"case '{name}': the tokens are ordered by the number of sentences they are in, not by how often "
                    f"they occur: count every occurrence, repeats within a sentence too. After the specials, the "
                    f"tokens {sequence_differences(words, wanted)}."
                )
            raise CheckFailure(
                f"case '{name}': order the tokens by count, most frequent first, ties in order of first appearance. After the specials, the tokens "
                f"{sequence_differences(words, wanted)}: at {i}, {words[i]!r} occurs {counts[words[i]]} times and "
                f"{wanted[i]!r} {counts[wanted[i]]} times."
            )


BUILD_VOCAB = Exercise("build_vocab", "build_vocab", visible_first(_vocab_cases), _vocab_run, _vocab_judge)

check_build_vocab = BUILD_VOCAB.check
