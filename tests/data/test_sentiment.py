"""Is the order-sensitive set really out of reach of a bag of words, and are the seed sentences intact?"""

from __future__ import annotations

import collections

import pytest

from course_lib.data import order_sentiment, seed_sentiment


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_sentence_has_a_same_bag_twin_with_the_other_label(lang):
    examples = order_sentiment(lang)
    bags = collections.defaultdict(set)
    for e in examples:
        bags[tuple(sorted(e.tokens))].add(e.label)
    assert all(labels == {0, 1} for labels in bags.values())


@pytest.mark.parametrize("lang, size", [("en", 672), ("zh", 640)])
def test_sizes_balance_and_determinism(lang, size):
    examples = order_sentiment(lang)
    assert len(examples) == size and sum(e.label for e in examples) == size // 2
    assert examples == order_sentiment(lang)


def test_the_contradictory_example_from_the_design_is_positive():
    assert any(e.tokens == ("剧情", "一般", "但", "演技", "好") and e.label == 1 for e in order_sentiment("zh"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_seed_sentences_are_six_balanced_with_translations(lang):
    examples = seed_sentiment(lang)
    assert len(examples) == 6 and sum(e.label for e in examples) == 3 and all(e.english for e in examples)


def test_unknown_language_is_named():
    with pytest.raises(ValueError, match="lang must be 'zh' or 'en'"):
        order_sentiment("fr")
