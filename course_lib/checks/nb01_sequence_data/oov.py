"""Check of ``oov_rate``: the share of token occurrences in held-out sentences that a vocabulary does not hold,

    OOV rate = #{(s, t): sentences[s][t] not in itos} / #{(s, t)}        (0.0 when there are no tokens)

counted over occurrences, pooled over all sentences.  The other rates a learner may compute are named by computing
them: over distinct tokens (types), the mean of per-sentence rates, the count instead of the share, the share of
known tokens, a percentage.
"""

from __future__ import annotations

from typing import Any

import torch

from course_lib.checks.coerce import number
from course_lib.checks.compare import close
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.mistakes import first_named_mistake
from course_lib.checks.nb01_sequence_data.vocabulary import _WORDS, _random_sentences
from course_lib.checks.toolkit import generator, visible_first
from course_lib.data.vocab import SPECIALS

__all__ = ["OOV_RATE", "check_oov_rate"]


def _cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    itos = [*SPECIALS, "good", "film", "not", "bad"]
    cases = {
        # 'plot' twice (one type, two occurrences); the sentences differ in length (pooled != mean per sentence)
        "two sentences of different lengths": {
            "sentences": [["good", "plot", "not", "bad", "plot", "film"], ["dull", "film"]],
            "itos": itos,
        },
        "every token known": {"sentences": [["good", "film"], ["not", "bad", "film"]], "itos": itos},
        "no sentences": {"kind": "edge", "sentences": [], "itos": itos},
        "only empty sentences": {"kind": "edge", "sentences": [[], []], "itos": itos},
        # a token of the text spelled like a special is held by itos: it is not out of the vocabulary
        "specials spelled in the text": {
            "kind": "edge",
            "sentences": [["<unk>", "good", "plot"], ["<bos>", "film", "<unk>"]],
            "itos": itos,
        },
    }
    if hidden:
        g = generator(seed)
        known = torch.randperm(len(_WORDS), generator=g)[:7].tolist()
        random_itos = [*SPECIALS, *(_WORDS[i] for i in known)]
        cases["random sentences, 7 of 12 words known"] = {"sentences": _random_sentences(g, 9), "itos": random_itos}
        cases["random sentences and an empty one"] = {"sentences": [[], *_random_sentences(g, 5)], "itos": random_itos}
        cases["every token unknown"] = {"kind": "edge", "sentences": [["plot", "dull"], ["plot"]], "itos": itos}
    return cases


def _run(fn, case):
    return fn(case["sentences"], case["itos"])


def _rates(sentences: list[list[str]], itos: list[str]) -> dict[str, float]:
    """The right rate and the wrong ones, by name."""
    vocabulary = frozenset(itos)
    unknown = [[t not in vocabulary for t in s] for s in sentences]
    misses = sum(sum(s) for s in unknown)
    types = {t for s in sentences for t in s}
    per_sentence = [sum(s) / len(s) for s in unknown if s]
    rate = _share(unknown)
    return {
        "rate": rate,
        "types": len(types - vocabulary) / len(types) if types else 0.0,
        "mean per sentence": sum(per_sentence) / len(per_sentence) if per_sentence else 0.0,
        "count": float(misses),
        "known share": 1.0 - rate,
        "percent": 100.0 * rate,
        "specials unknown": _share([[t not in vocabulary or t in SPECIALS for t in s] for s in sentences]),
    }


def _share(flags: list[list[bool]]) -> float:
    occurrences = sum(len(s) for s in flags)
    return sum(sum(s) for s in flags) / occurrences if occurrences else 0.0


def _judge(cases, results):
    for name, case in cases.items():
        got = number(result_of(results, name, "oov_rate"), f"oov_rate on case '{name}'")
        rates = _rates(case["sentences"], case["itos"])
        expected = rates["rate"]

        def same(a, b):
            return close(torch.tensor(float(a)), torch.tensor(float(b)), rtol=1e-9, atol=1e-12)

        if same(got, expected):
            continue
        named = first_named_mistake(
            got,
            expected,
            [
                (
                    "this is the share of distinct tokens (types) that are unknown; the OOV rate counts occurrences: "
                    "an unknown token that occurs k times counts k times, as it does in the encoded text",
                    rates["types"],
                ),
                (
                    "this is the mean of the sentences' own rates, which gives a short sentence the weight of a long "
                    "one; pool the occurrences of all sentences into one share",
                    rates["mean per sentence"],
                ),
                ("this is the number of unknown occurrences; return their share of all occurrences", rates["count"]),
                (
                    "this is the share of known tokens (the coverage); the OOV rate is the unknown share",
                    rates["known share"],
                ),
                ("this is a percentage; return the share, a float in [0, 1]", rates["percent"]),
                (
                    "the text's tokens spelled like a special (such as '<unk>') were counted as unknown; itos holds "
                    "them (they are its first entries), so they are in the vocabulary",
                    rates["specials unknown"],
                ),
            ],
            same,
        )
        tokens = sum(len(s) for s in case["sentences"])
        raise CheckFailure(
            f"oov_rate on case '{name}' ({tokens} token occurrences) returned {got:.6g}, expected {expected:.6g}"
            + (f": {named}." if named else ". A token is out of vocabulary when itos does not hold it.")
        )


OOV_RATE = Exercise("oov_rate", "oov_rate", visible_first(_cases), _run, _judge)

check_oov_rate = OOV_RATE.check
