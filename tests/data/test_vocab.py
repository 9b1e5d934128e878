"""Does the course vocabulary keep the fixed special ids and round-trip text?"""

from course_lib.data import BOS, EOS, PAD, UNK, Vocab


def test_specials_have_fixed_ids_and_tokens_follow_by_count():
    vocab = Vocab([["b", "a", "b"], ["c", "a", "b"]])
    assert vocab.itos[:4] == [PAD, UNK, BOS, EOS] and vocab.itos[4:] == ["b", "a", "c"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 2, 3)


def test_encode_decode_round_trip_with_unknown_bos_and_eos():
    vocab = Vocab([list("床前明月光")], min_freq=1)
    ids = vocab.encode(list("床前雪"), bos=True, eos=True)
    assert ids.tolist()[0] == vocab.bos_id and ids.tolist()[-1] == vocab.eos_id and ids.tolist()[3] == vocab.stoi[UNK]
    assert vocab.decode(ids) == ["床", "前", UNK]


def test_min_freq_drops_rare_tokens():
    assert "c" not in Vocab([["a", "a", "c"]], min_freq=2).stoi
