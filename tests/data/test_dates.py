"""Are the date and reversal tasks what their docstrings say: correct, disjoint, deterministic?"""

from __future__ import annotations

import datetime
import re

import pytest
import torch

from course_lib.data.dates import (
    DATE_FORMATS,
    FIRST_DAY,
    LAST_DAY,
    SOURCE_ALPHABET,
    char_vocab,
    date_pairs,
    date_split,
    date_vocabs,
    digit_vocab,
    format_date,
    reversal_pairs,
    to_batch,
)
from course_lib.data.vocab import BOS, EOS, PAD, SPECIALS, UNK

DAY = datetime.date(2026, 11, 24)  # a Tuesday

EXPECTED = {
    "D Mon YYYY": "24 Nov 2026",
    "D Month YYYY": "24 November 2026",
    "Month D, YYYY": "November 24, 2026",
    "Mon D, YYYY": "Nov 24, 2026",
    "DD/MM/YYYY": "24/11/2026",
    "D/M/YYYY": "24/11/2026",
    "DD.MM.YYYY": "24.11.2026",
    "YYYY/MM/DD": "2026/11/24",
    "DD-Mon-YYYY": "24-Nov-2026",
    "Weekday, D Month YYYY": "Tuesday, 24 November 2026",
    "Wkd D Mon YYYY": "Tue 24 Nov 2026",
    "Dth of Month YYYY": "24th of November 2026",
    "month D YYYY": "november 24 2026",
    "MON D, YYYY": "NOV 24, 2026",
    "YYYY-MM-DD": "2026-11-24",
}


def test_every_format_writes_the_seed_example():
    assert set(EXPECTED) == set(DATE_FORMATS)
    for fmt, text in EXPECTED.items():
        assert format_date(DAY, fmt) == text, fmt


@pytest.mark.parametrize(
    "day, fmt, text",
    [
        (datetime.date(2001, 1, 4), "D/M/YYYY", "4/1/2001"),
        (datetime.date(2001, 1, 4), "DD/MM/YYYY", "04/01/2001"),
        (datetime.date(2013, 3, 1), "Dth of Month YYYY", "1st of March 2013"),
        (datetime.date(2013, 3, 2), "Dth of Month YYYY", "2nd of March 2013"),
        (datetime.date(2013, 3, 3), "Dth of Month YYYY", "3rd of March 2013"),
        (datetime.date(2013, 3, 11), "Dth of Month YYYY", "11th of March 2013"),
        (datetime.date(2013, 3, 12), "Dth of Month YYYY", "12th of March 2013"),
        (datetime.date(2013, 3, 22), "Dth of Month YYYY", "22nd of March 2013"),
        (datetime.date(1950, 1, 1), "Weekday, D Month YYYY", "Sunday, 1 January 1950"),
    ],
)
def test_format_details(day, fmt, text):
    assert format_date(day, fmt) == text


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown date format"):
        format_date(DAY, "MM/DD/YYYY")


def test_pairs_map_to_iso_and_the_weekday_is_right():
    days = [FIRST_DAY + datetime.timedelta(days=i) for i in range(0, (LAST_DAY - FIRST_DAY).days, 997)]
    for (source, target), day in zip(date_pairs(days, seed=3), days):
        assert target == day.isoformat()
        assert str(day.year) in source
        weekday = (
            day.strftime("%A")
            if False
            else ("Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()[day.weekday()])
        )
        if source.startswith(weekday[:3]):
            assert source.startswith(weekday) or source.startswith(weekday[:3] + " ")


def test_split_sizes_range_and_held_out_dates_unseen():
    train, test = date_split(n_train=5_000, n_test=500, seed=0)
    assert len(train) == 5_000 and len(test) == 500
    train_days, test_days = {t for _, t in train}, {t for _, t in test}
    assert len(test_days) == 500, "one pair per held-out day"
    assert not train_days & test_days, "a held-out date occurs in training"
    for _, target in train + test:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target)
        assert FIRST_DAY.isoformat() <= target <= LAST_DAY.isoformat()


def test_split_is_deterministic_and_seeded():
    assert date_split(200, 50, seed=1) == date_split(200, 50, seed=1)
    assert date_split(200, 50, seed=1) != date_split(200, 50, seed=2)


def test_split_uses_many_formats():
    train, _ = date_split(n_train=3_000, n_test=10, seed=0)
    shapes = {re.sub(r"\d", "9", s) for s, _ in train}
    assert len(shapes) > 100  # 15 formats x month names x digit counts


def test_vocabularies_cover_the_text_and_start_with_the_specials():
    src_vocab, tgt_vocab = date_vocabs()
    assert src_vocab.itos[:4] == list(SPECIALS) == tgt_vocab.itos[:4]
    assert tgt_vocab.itos[4:] == list("0123456789-")
    train, test = date_split(n_train=2_000, n_test=200, seed=0)
    unk = src_vocab.stoi[UNK]
    for source, target in train + test:
        assert unk not in src_vocab.encode(list(source)).tolist(), source
        assert tgt_vocab.stoi[UNK] not in tgt_vocab.encode(list(target)).tolist()
    assert set("".join(s for s, _ in train)) <= set(SOURCE_ALPHABET)


def test_reversal_pairs():
    pairs = reversal_pairs(300, (5, 30), seed=4)
    assert all(target == source[::-1] and source.isdigit() for source, target in pairs)
    lengths = {len(source) for source, _ in pairs}
    assert min(lengths) >= 5 and max(lengths) <= 30 and len(lengths) > 15
    assert {len(s) for s, _ in reversal_pairs(20, 12, seed=0)} == {12}
    assert reversal_pairs(10, 8, seed=5) == reversal_pairs(10, 8, seed=5)
    with pytest.raises(ValueError):
        reversal_pairs(3, (6, 4))


def test_to_batch_pads_at_the_end_and_appends_eos():
    vocab = digit_vocab()
    ids, lengths = to_batch(["12", "3456", ""], vocab, eos=True)
    assert ids.dtype == torch.long and lengths.tolist() == [3, 5, 1]
    eos, pad = vocab.stoi[EOS], vocab.stoi[PAD]
    assert ids.tolist() == [
        [vocab.stoi["1"], vocab.stoi["2"], eos, pad, pad],
        [vocab.stoi["3"], vocab.stoi["4"], vocab.stoi["5"], vocab.stoi["6"], eos],
        [eos, pad, pad, pad, pad],
    ]
    ids, lengths = to_batch(["12", "3"], vocab)
    assert lengths.tolist() == [2, 1] and ids[1, 1] == pad
    assert "".join(vocab.decode(ids[0])) == "12"


def test_char_vocab_keeps_alphabet_order():
    vocab = char_vocab("cab")
    assert vocab.itos == [PAD, UNK, BOS, EOS, "c", "a", "b"]
