"""Sentiment sentences: the seed's six short Chinese sentences, and an order-sensitive set in two languages.

The order-sensitive set is built so that a bag of words cannot solve it: every sentence has a twin made
of exactly the same words with the opposite label ("the plot was dull but the acting was great" is
positive, "the acting was great but the plot was dull" is negative).  Labels: 1 positive, 0 negative.

Provenance: written for this course (templates below), released under CC0.  The six seed sentences
follow the seed article's example (short segmented Chinese reviews); the article's exact sentences were
not available to us, so these are written in its style, each with an English translation.
"""

from __future__ import annotations

import dataclasses
import itertools

__all__ = ["Example", "seed_sentiment", "order_sentiment"]


@dataclasses.dataclass(frozen=True)
class Example:
    """One labelled sentence: ``tokens`` (already segmented), ``label`` (1 positive, 0 negative), ``english``."""

    tokens: tuple[str, ...]
    label: int
    english: str


_SEED_ZH = (
    ("我 喜欢 这 部 电影", 1, "I like this film"),
    ("这 部 电影 很 好看", 1, "this film is very good"),
    ("演员 的 演技 很 好", 1, "the actors' acting is very good"),
    ("我 不 喜欢 这 部 电影", 0, "I don't like this film"),
    ("剧情 很 无聊", 0, "the plot is very boring"),
    ("这 部 电影 太 差 了", 0, "this film is too bad"),
)

_SEED_EN = (
    ("i like this film", 1, "i like this film"),
    ("this film is very good", 1, "this film is very good"),
    ("the acting is very good", 1, "the acting is very good"),
    ("i do not like this film", 0, "i do not like this film"),
    ("the plot is very boring", 0, "the plot is very boring"),
    ("this film is too bad", 0, "this film is too bad"),
)


def seed_sentiment(lang: str = "zh") -> list[Example]:
    """The six short sentences of the seed article (``lang="zh"``) or their English twin (``"en"``)."""
    rows = {"zh": _SEED_ZH, "en": _SEED_EN}[_check_lang(lang)]
    return [Example(tuple(text.split()), label, english) for text, label, english in rows]


# aspect, positive and negative words: (Chinese, English)
_ASPECTS = (("剧情", "plot"), ("演技", "acting"), ("音乐", "music"), ("画面", "visuals"), ("结局", "ending"))
_POSITIVE = (("好", "good"), ("精彩", "great"), ("感人", "moving"), ("出色", "excellent"))
_NEGATIVE = (("一般", "mediocre"), ("无聊", "boring"), ("差", "bad"), ("糟糕", "awful"))


def order_sentiment(lang: str = "en") -> list[Example]:
    """Sentences whose label depends on word order; each has a same-bag twin with the other label.

    Template "A but B": the clause after "but" (但) decides, e.g. 剧情 一般 但 演技 好 -> positive.
    English only, template "X, not Y": the first word decides ("good, not bad" -> positive).
    Deterministic order; 2 * 5 * 4 * 4 * 4 = 640 "but" sentences (+ 32 "not" sentences in English).
    """
    lang = _check_lang(lang)
    out: list[Example] = []
    for (a1, a2), (pos, neg) in itertools.product(
        itertools.permutations(_ASPECTS, 2), itertools.product(_POSITIVE, _NEGATIVE)
    ):
        for first, second, label in ((neg, pos, 1), (pos, neg, 0)):
            english = f"the {a1[1]} was {first[1]} but the {a2[1]} was {second[1]}"
            if lang == "zh":
                tokens = (a1[0], first[0], "但", a2[0], second[0])
            else:
                tokens = tuple(english.split())
            out.append(Example(tokens, label, english))
    if lang == "en":
        for pos, neg in itertools.product(_POSITIVE, _NEGATIVE):
            for first, second, label in ((pos, neg, 1), (neg, pos, 0)):
                english = f"{first[1]} , not {second[1]}"
                out.append(Example(tuple(english.split()), label, english))
    return out


def _check_lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    return lang
