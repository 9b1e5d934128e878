"""Is the poem corpus what notebook 02's character RNN needs: well-formed five-character poems, the four
prefix poems with their glosses, and a text that round-trips through the course vocabulary?"""

from __future__ import annotations

import collections

import pytest

from course_lib.data import Vocab
from course_lib.data.poems import PREFIXES, Poem, poem_by_prefix, poem_corpus, poems


def test_corpus_has_enough_poems_for_a_character_model():
    assert len(poems()) >= 40
    assert len(poem_corpus()) > 1500


@pytest.mark.parametrize("poem", poems(), ids=lambda p: p.title)
def test_every_line_has_five_characters_and_poems_have_four_or_eight_lines(poem: Poem):
    assert len(poem.lines) in (4, 8), poem.title
    assert all(len(line) == 5 for line in poem.lines), poem.lines
    assert not any(ch in "，。、？！ \n" for line in poem.lines for ch in line)


def test_text_alternates_comma_and_full_stop():
    text = poem_by_prefix("床前").text
    assert text == "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    for poem in poems():
        assert poem.text[5::6] == "，。" * (len(poem.lines) // 2)


@pytest.mark.parametrize(
    "prefix, title, second_line",
    [
        ("床前", "静夜思", "疑是地上霜"),
        ("白日", "登鹳雀楼", "黄河入海流"),
        ("春眠", "春晓", "处处闻啼鸟"),
        ("千山", "江雪", "万径人踪灭"),
    ],
)
def test_prefix_poems_are_present_with_an_english_gloss(prefix, title, second_line):
    poem = poem_by_prefix(prefix)
    assert poem.title == title and poem.lines[1] == second_line
    assert poem.title_en and len(poem.english) == len(poem.lines)
    assert prefix in PREFIXES


def test_each_prefix_opens_exactly_one_poem():
    """Greedy continuation of a prefix is well defined only if one poem starts with it."""
    for prefix in PREFIXES:
        assert sum(p.text.startswith(prefix) for p in poems()) == 1


def test_no_duplicate_poems_and_fixed_order():
    texts = [p.text for p in poems()]
    assert len(set(texts)) == len(texts)
    assert [p.text[:2] for p in poems()[:4]] == list(PREFIXES)
    assert poems() == poems()


def test_corpus_round_trips_through_the_vocabulary():
    corpus = poem_corpus()
    vocab = Vocab([list(corpus)])
    assert "".join(vocab.decode(vocab.encode(list(corpus)))) == corpus
    assert collections.Counter(corpus)["，"] == sum(len(p.lines) // 2 for p in poems())


def test_unknown_prefix_raises():
    with pytest.raises(KeyError):
        poem_by_prefix("没有")
