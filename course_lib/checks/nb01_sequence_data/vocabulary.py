"""Check of ``build_vocab``: the vocabulary is judged by what it must contain and in which order (the
special tokens first, then every token with count >= min_freq, most frequent first, ties in order of first
appearance, as ``collections.Counter.most_common`` gives them), not against a stored answer."""

from __future__ import annotations

import collections
from typing import Any

import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import generator, plain, sequence_differences, token_list, visible_first
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
        }
    g = generator(seed)
    return {
        "random, min_freq=1": {"sentences": _random_sentences(g, 12), "min_freq": 1},
        "random, min_freq=3": {"sentences": _random_sentences(g, 20), "min_freq": 3},
        "no sentences": {"kind": "edge", "sentences": [], "min_freq": 1},
        "text containing '<unk>'": {
            "kind": "edge",
            "sentences": [["<unk>", "好", "好"], ["<pad>", "好"]],
            "min_freq": 1,
        },
    }


def _vocab_run(fn, case):
    return plain(fn(case["sentences"], min_freq=case["min_freq"]))


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
            raise CheckFailure(f"case '{name}': token {twice[0]!r} appears {seen[twice[0]]} times; each token once")
        counts = collections.Counter(t for s in case["sentences"] for t in s)
        min_freq = case["min_freq"]
        wanted = [t for t, c in counts.most_common() if c >= min_freq and t not in specials]
        words = itos[len(specials) :]
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
            raise CheckFailure(
                f"case '{name}': token {t!r} occurs {counts[t]} times with min_freq={min_freq}, so it belongs in "
                f"the vocabulary{hint}"
            )
        extra = [t for t in words if t not in wanted]
        if extra:
            t = extra[0]
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
