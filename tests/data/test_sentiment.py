"""Is the order-sensitive set really out of reach of a bag of words, and are the article's sentences its own?"""

from __future__ import annotations

import collections

import pytest

from course_lib.data import order_sentiment, seed_sentiment
from course_lib.data.sentiment import (
    ARTICLE_ENGLISH,
    ARTICLE_ROLES,
    ARTICLE_VOCAB,
    article_clauses,
    article_contrast,
    article_pairs,
    article_sentiment,
)


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


def test_the_articles_six_sentences_labels_and_vocabulary_are_its_own():
    """As printed in "From RNNs to LSTMs and GRUs": train_data and the 18-word vocab, in the article's order."""
    assert [(" ".join(e.tokens), e.label) for e in article_sentiment()] == [
        ("电影 好看", 1),
        ("饭菜 难吃", 0),
        ("天气 糟糕", 0),
        ("音乐 好听", 1),
        ("电影 难看", 0),
        ("饭菜 好吃", 1),
    ]
    assert ARTICLE_VOCAB[:4] == ("电影", "好看", "饭菜", "难吃") and ARTICLE_VOCAB[-1] == "少"
    assert len(set(ARTICLE_VOCAB)) == 18 and set(ARTICLE_ENGLISH) == set(ARTICLE_VOCAB)


def test_eight_words_of_the_vocabulary_are_unused_by_the_six_sentences():
    used = {token for e in article_sentiment() for token in e.tokens}
    assert set(ARTICLE_VOCAB) - used == {"但", "剧情", "一般", "演技", "好", "心情", "分量", "少"}


def test_contrast_and_pair_sentences_use_only_the_articles_words():
    for example in article_contrast() + article_pairs() + article_clauses():
        assert set(example.tokens) <= set(ARTICLE_VOCAB) and example.english


def test_contrast_sentences_are_decided_after_but_and_out_of_reach_of_a_bag_of_words():
    examples = article_contrast()
    assert len(examples) == 98 and sum(e.label for e in examples) == 49
    bags = collections.defaultdict(set)
    for e in examples:
        assert e.tokens[2] == "但" and len(e.tokens) == 5
        bags[tuple(sorted(e.tokens))].add(e.label)
    assert all(labels == {0, 1} for labels in bags.values())


def test_every_word_of_the_vocabulary_has_a_role_that_agrees_with_the_clauses():
    assert set(ARTICLE_ROLES) == set(ARTICLE_VOCAB)
    for clause in article_clauses():
        aspect, opinion = clause.tokens
        assert ARTICLE_ROLES[aspect] == "aspect"
        assert ARTICLE_ROLES[opinion] == ("positive" if clause.label == 1 else "negative")
