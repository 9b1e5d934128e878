"""Is the Tang corpus what notebook 02's held-out evaluation needs: thousands of regular five-character poems in
simplified characters, a fixed split by poem with no poem in two splits, the course's 72 poems on the training
side, and a vocabulary built from the training poems only?"""

from __future__ import annotations

import importlib.resources
import re

import pytest

from course_lib.data import PAD, UNK
from course_lib.data.poems import poems
from course_lib.data.tang import SPLITS, tang_poems, tang_vocab

_REGULAR = re.compile(r"^(?:[\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。){2,4}$")


def test_corpus_has_thousands_of_poems_in_a_fixed_split():
    sizes = {split: len(tang_poems(split)) for split in SPLITS}
    assert sizes == {"train": 13983, "valid": 1787, "test": 1758}  # stored in the file, never re-drawn
    assert len(tang_poems()) == sum(sizes.values())


def test_every_poem_is_a_regular_five_character_poem():
    for poem in tang_poems():
        assert _REGULAR.match(poem.text) and len(poem.lines) in (4, 8), poem
        assert all(len(line) == 5 for line in poem.lines)


def test_no_poem_is_in_two_splits():
    texts = [p.text for p in tang_poems()]
    assert len(set(texts)) == len(texts)


def test_text_is_in_simplified_characters():
    """Characters that only occur in traditional text (門, 風, 雲, 鳥, 為, 亂, 無) were converted."""
    corpus = "".join(p.text for p in tang_poems())
    assert not set("門風雲鳥為亂無東書長") & set(corpus)
    assert corpus.count("风") > 1000 and corpus.count("无") > 1000


def test_course_poems_opening_lines_are_never_held_out():
    openings = {p.text[:5] for p in poems()}
    held_out = [p for p in tang_poems() if p.split != "train" and p.text[:5] in openings]
    assert held_out == []
    assert any(p.text.startswith("春眠不觉晓") for p in tang_poems("train"))


def test_vocabulary_comes_from_training_poems_only():
    vocab = tang_vocab()
    assert vocab.itos[:2] == [PAD, UNK] and len(vocab) == 4016
    train_chars = set("".join(p.text for p in tang_poems("train")))
    assert set(vocab.itos[4:]) <= train_chars
    held_out = "".join(p.text for p in tang_poems("valid"))
    unknown = sum(ch not in vocab.stoi for ch in held_out) / len(held_out)
    assert 0 < unknown < 0.01


def test_unknown_split_is_named():
    with pytest.raises(ValueError, match="split must be one of"):
        tang_poems("dev")


def test_shipped_file_is_small():
    data = importlib.resources.files("course_lib.data").joinpath("files", "tang5.tsv.xz").read_bytes()
    assert len(data) <= 2_000_000
