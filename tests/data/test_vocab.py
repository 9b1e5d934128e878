"""Does the course vocabulary keep the fixed special ids, round-trip text, and stop short of notebook 01's
``build_vocab`` (no counting, no ``min_freq``: that is the exercise)?"""

import pytest

from course_lib.data import BOS, EOS, PAD, SPECIALS, UNK, Vocab
from course_lib.data.tang import tang_vocab


def test_specials_have_fixed_ids_and_tokens_follow_in_order_of_first_appearance():
    vocab = Vocab([["c", "a", "b"], ["b", "a", "b"]])
    assert vocab.itos[:4] == [PAD, UNK, BOS, EOS] and vocab.itos[4:] == ["c", "a", "b"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 2, 3)


def test_encode_decode_round_trip_with_unknown_bos_and_eos():
    vocab = Vocab([list("床前明月光")])
    ids = vocab.encode(list("床前雪"), bos=True, eos=True)
    assert ids.tolist()[0] == vocab.bos_id and ids.tolist()[-1] == vocab.eos_id and ids.tolist()[3] == vocab.stoi[UNK]
    assert vocab.decode(ids) == ["床", "前", UNK]


def test_no_min_freq_and_no_count_order_the_exercise_does_that():
    with pytest.raises(TypeError):
        Vocab([["a", "a", "c"]], min_freq=2)
    assert Vocab([["c"], ["a", "a"]]).itos[4:] == ["c", "a"]


def test_from_itos_keeps_a_layout_and_refuses_one_without_the_specials():
    assert Vocab.from_itos([*SPECIALS, "z", "a"]).itos == [*SPECIALS, "z", "a"]
    with pytest.raises(ValueError):
        Vocab.from_itos(["z", *SPECIALS])


def test_the_tang_vocabulary_keeps_the_checkpoints_count_order():
    vocab = tang_vocab()
    assert len(vocab) == 4016 and vocab.itos[:4] == list(SPECIALS) and vocab.itos[4] == "，"
