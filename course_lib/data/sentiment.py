"""Sentiment sentences: the article's six, its vocabulary's contrast sentences, and an order-sensitive set.

The article is "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" (AI
Cyberspace).  Its data, carried over as facts: six short segmented Chinese reviews with labels
(:func:`article_sentiment`) and an 18-word vocabulary in a fixed order (:data:`ARTICLE_VOCAB`, the
one-hot index of its ``text2onehot``).  Eight of the 18 words (但, 剧情, 一般, 演技, 好, 心情, 分量, 少)
appear in none of the six sentences; the article only says that "longer or contradictory sentences
expose the RNN's limitation".  :func:`article_contrast` builds those sentences for the course from the
article's words alone ("A 但 B": the clause after 但 decides) and :func:`article_pairs` the longer ones
(two clauses of one polarity).  The English glosses are written for the course.

The order-sensitive set is built so that a bag of words cannot solve it: every sentence has a twin made
of exactly the same words with the opposite label ("the plot was dull but the acting was great" is
positive, "the acting was great but the plot was dull" is negative).  Labels: 1 positive, 0 negative.

Provenance: the six sentences, their labels and the vocabulary are the article's; everything else
(:func:`seed_sentiment`'s six sentences in the article's style, the contrast and pair sentences, the
order-sensitive templates, the English glosses) is written for this course and released under CC0.
"""

from __future__ import annotations

import dataclasses
import itertools

__all__ = [
    "ARTICLE_ENGLISH",
    "ARTICLE_ROLES",
    "ARTICLE_VOCAB",
    "Example",
    "article_clauses",
    "article_contrast",
    "article_pairs",
    "article_sentiment",
    "order_sentiment",
    "seed_sentiment",
]


@dataclasses.dataclass(frozen=True)
class Example:
    """One labelled sentence: ``tokens`` (already segmented), ``label`` (1 positive, 0 negative), ``english``."""

    tokens: tuple[str, ...]
    label: int
    english: str


# The article's vocabulary in its order: word -> index of the one-hot vector.
ARTICLE_VOCAB = (
    "电影",
    "好看",
    "饭菜",
    "难吃",
    "天气",
    "糟糕",
    "音乐",
    "好听",
    "剧情",
    "一般",
    "但",
    "演技",
    "好",
    "难看",
    "好吃",
    "心情",
    "分量",
    "少",
)
ARTICLE_ENGLISH = {
    "电影": "film",
    "好看": "good-looking",
    "饭菜": "food",
    "难吃": "bad-tasting",
    "天气": "weather",
    "糟糕": "awful",
    "音乐": "music",
    "好听": "lovely",
    "剧情": "plot",
    "一般": "mediocre",
    "但": "but",
    "演技": "acting",
    "好": "good",
    "难看": "ugly",
    "好吃": "tasty",
    "心情": "mood",
    "分量": "portion",
    "少": "small",
}

# The role of each word in the sentences built from the article's vocabulary (for tagging, notebook 06).
ARTICLE_ROLES = {
    **dict.fromkeys(("电影", "饭菜", "天气", "音乐", "剧情", "演技", "心情", "分量"), "aspect"),
    **dict.fromkeys(("好看", "好听", "好", "好吃"), "positive"),
    **dict.fromkeys(("难吃", "糟糕", "一般", "难看", "少"), "negative"),
    "但": "but",
}

# The article's six training sentences and labels (1 positive, 0 negative), in its order.
_ARTICLE = (("电影 好看", 1), ("饭菜 难吃", 0), ("天气 糟糕", 0), ("音乐 好听", 1), ("电影 难看", 0), ("饭菜 好吃", 1))

# Clauses made of the article's words only (written for the course): (aspect, opinion, label).
_CLAUSES = (
    ("电影", "好看", 1),
    ("饭菜", "好吃", 1),
    ("音乐", "好听", 1),
    ("演技", "好", 1),
    ("剧情", "好", 1),
    ("心情", "好", 1),
    ("天气", "好", 1),
    ("电影", "难看", 0),
    ("饭菜", "难吃", 0),
    ("天气", "糟糕", 0),
    ("剧情", "一般", 0),
    ("演技", "一般", 0),
    ("分量", "少", 0),
    ("心情", "糟糕", 0),
    ("音乐", "一般", 0),
)


def _gloss(tokens) -> str:
    return " ".join(ARTICLE_ENGLISH[t] for t in tokens)


def article_sentiment() -> list[Example]:
    """The article's six training sentences with its labels (Chinese tokens; ``english`` is a gloss)."""
    return [Example(tuple(text.split()), label, _gloss(text.split())) for text, label in _ARTICLE]


def article_clauses() -> list[Example]:
    """Fifteen two-word clauses (aspect, opinion) made of the article's words: 7 positive, 8 negative."""
    return [Example((aspect, opinion), label, _gloss((aspect, opinion))) for aspect, opinion, label in _CLAUSES]


def article_contrast() -> list[Example]:
    """Contradictory sentences "A 但 B" (5 tokens): B's polarity decides, A has the other one.

    Every ordered pair of a positive and a negative clause about different aspects, both ways round:
    2 * (7 * 8 - 7) = 98 sentences, half positive, in a fixed order.  Each bag of words occurs twice,
    once per label, so a model that ignores order gets at most half of them right.
    """
    clauses = article_clauses()
    out = []
    for first, second in itertools.permutations(clauses, 2):
        if first.label != second.label and first.tokens[0] != second.tokens[0]:
            tokens = first.tokens + ("但",) + second.tokens
            out.append(Example(tokens, second.label, _gloss(tokens)))
    return out


def article_pairs() -> list[Example]:
    """Longer sentences: two clauses of the same polarity about different aspects (4 tokens), that label."""
    clauses = article_clauses()
    out = []
    for first, second in itertools.permutations(clauses, 2):
        if first.label == second.label and first.tokens[0] != second.tokens[0]:
            tokens = first.tokens + second.tokens
            out.append(Example(tokens, first.label, _gloss(tokens)))
    return out


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
    """Six short sentences written for the course in the article's style (``"zh"``), or their English twin.

    Not the article's own six (those are :func:`article_sentiment`): these are longer (3-6 tokens) and
    come with an English twin set; notebook 01 shows them.
    """
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
