"""The five-character Tang poems of the *Complete Tang Poems* (全唐诗): a corpus a character model can generalise on.

17,528 regular five-character poems -- quatrains (五言绝句, 4 lines) and regulated verse (五言律诗, 8 lines),
every line five Han characters -- in simplified characters, with a fixed split by poem:

    train 13,983    valid 1,787    test 1,758

The split is stored with each poem in ``files/tang5.tsv.xz`` (80/10/10 % by a hash of the text), and every
poem that opens like one of the 72 poems of :mod:`course_lib.data.poems` is in ``train``: the held-out poems
are ones no model of the course has seen.  Notebook 02 trains on ``train``, chooses with ``valid`` and
reports ``test`` once.

Provenance: the ``chinese-poetry/chinese-poetry`` repository on GitHub (MIT licence, (c) 2016 JackeyGao),
``全唐诗/poet.tang.*.json``, converted to simplified characters with OpenCC's ``t2s`` table and filtered by
``tools/build_tang_corpus.py`` (the rules are in its docstring).  The poems themselves are in the public
domain.  A poem's ``text`` has the editions' punctuation, '，' after odd lines and '。' after even ones, as in
:mod:`course_lib.data.poems`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import importlib.resources
import lzma

from course_lib.data.vocab import SPECIALS, Vocab

__all__ = ["SPLITS", "TangPoem", "tang_poems", "tang_vocab"]

SPLITS = ("train", "valid", "test")
_FILE = "tang5.tsv.xz"


@dataclasses.dataclass(frozen=True)
class TangPoem:
    """One poem: its ``split``, ``title`` and ``author`` (simplified characters) and ``text`` with punctuation."""

    split: str
    title: str
    author: str
    text: str

    @property
    def lines(self) -> tuple[str, ...]:
        """The 4 or 8 lines of five characters, without punctuation."""
        return tuple(self.text[i : i + 5] for i in range(0, len(self.text), 6))


@functools.lru_cache(maxsize=1)
def _load() -> tuple[TangPoem, ...]:
    raw = importlib.resources.files("course_lib.data").joinpath("files", _FILE).read_bytes()
    rows = lzma.decompress(raw).decode("utf-8").splitlines()
    return tuple(TangPoem(*row.split("\t")) for row in rows)


def tang_poems(split: str | None = None) -> list[TangPoem]:
    """The poems of one split ('train', 'valid' or 'test'), or all of them, in the file's fixed order."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    return [p for p in _load() if split is None or p.split == split]


@functools.lru_cache(maxsize=4)
def _vocab(min_freq: int) -> Vocab:
    # The layout the shipped checkpoint was trained with: by descending count, ties in order of first
    # appearance (notebook 01's build_vocab, kept private here: no public helper answers that exercise).
    counts = collections.Counter(ch for p in tang_poems("train") for ch in p.text)
    kept = [ch for ch, n in counts.most_common() if n >= min_freq and ch not in SPECIALS]
    return Vocab.from_itos([*SPECIALS, *kept])


def tang_vocab(min_freq: int = 3) -> Vocab:
    """The character vocabulary of the training poems: characters seen >= ``min_freq`` times, specials first.

    With the default 3 it has 4,016 entries; about 0.5 % of the validation characters are then ``<unk>``
    (rare characters a model cannot learn from one or two occurrences anyway).
    """
    return _vocab(min_freq)
