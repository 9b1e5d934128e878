"""Does the Tang character model measure what notebook 02 says: perplexity over real targets only, whatever the
batching; baselines that are proper distributions; dropout only while training; a shipped checkpoint and curves
that load offline and back the notebook's claims?"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.charlm import (
    CharGRU,
    cross_entropy,
    encode_poems,
    load_char_model,
    load_tang_gru,
    ngram_cross_entropy,
    poem_batches,
    save_checkpoint,
    tang_curves,
    train_char_model,
)
from course_lib.data.tang import tang_poems, tang_vocab


def _sequences(n: int = 7, V: int = 9, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [
        torch.cat([torch.tensor([2]), torch.randint(4, V, (int(length),), generator=g), torch.tensor([3])])
        for length in torch.randint(1, 8, (n,), generator=g)
    ]


def test_batches_are_padded_and_shifted_by_one():
    seqs = _sequences()
    (inputs, targets), *_ = poem_batches(seqs, batch_size=3)
    longest = max(len(s) for s in seqs[:3])
    assert inputs.shape == targets.shape == (3, longest - 1)
    for n, s in enumerate(seqs[:3]):
        assert torch.equal(inputs[n, : len(s) - 1], s[:-1]) and torch.equal(targets[n, : len(s) - 1], s[1:])
        assert (targets[n, len(s) - 1 :] == 0).all()


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_cross_entropy_is_the_mean_over_real_targets_whatever_the_batching(batch_size):
    torch.manual_seed(0)
    model = CharGRU(9, E=4, H=5).double()
    seqs = _sequences()
    expected = (
        torch.cat([F.cross_entropy(model(s[None, :-1])[0][0], s[1:], reduction="none") for s in seqs]).mean().detach()
    )
    assert cross_entropy(model, seqs, batch_size=batch_size) == pytest.approx(float(expected), rel=1e-9)


def test_dropout_acts_only_in_training_mode():
    torch.manual_seed(0)
    model = CharGRU(9, E=4, H=5, dropout=0.5)
    ids = _sequences()[0][None]
    model.eval()
    assert torch.equal(model(ids)[0], model(ids)[0])
    model.train()
    assert not torch.equal(model(ids)[0], model(ids)[0])
    assert model.gru.dropout == 0.0  # one layer: nn.GRU's between-layer dropout would do nothing (and warns)
    assert CharGRU(9, E=4, H=5, layers=2, dropout=0.5).gru.dropout == 0.5


@pytest.mark.parametrize("order", [1, 2])
def test_ngram_probabilities_sum_to_one(order):
    """Scoring every possible next token after a context must spend exactly probability 1."""
    V, seqs = 9, _sequences()
    total = 0.0
    for y in range(V):
        probe = [torch.tensor([4, y])]  # context 4, next token y
        total += math.exp(-ngram_cross_entropy(seqs, probe, V, order))
    assert total == pytest.approx(1.0, rel=1e-12)


def test_ngram_fits_its_own_training_text_and_the_bigram_uses_context():
    V, seqs = 9, _sequences(50)
    targets = torch.cat([s[1:] for s in seqs])
    freq = torch.bincount(targets, minlength=V).double() / len(targets)
    entropy = float(-(freq[freq > 0] * freq[freq > 0].log()).sum())
    assert ngram_cross_entropy(seqs, seqs, V, 1, alpha=1e-9) == pytest.approx(entropy, rel=1e-6)
    assert ngram_cross_entropy(seqs, seqs, V, 2, alpha=1e-9) < entropy
    with pytest.raises(ValueError, match="order must be 1"):
        ngram_cross_entropy(seqs, seqs, V, 3)


def test_training_lowers_the_training_perplexity():
    torch.manual_seed(0)
    seqs = _sequences(20)
    history = train_char_model(CharGRU(9, E=8, H=16), seqs, seqs[:5], epochs=5, lr=1e-2, batch_size=8, log=None)
    assert history["epoch"] == [0, 1, 2, 3, 4, 5]
    assert history["train"][-1] < 0.8 * history["train"][0]


def test_checkpoint_round_trip_keeps_the_model_to_float16_precision(tmp_path):
    torch.manual_seed(0)
    model, vocab = CharGRU(len(tang_vocab()), E=4, H=5), tang_vocab()
    save_checkpoint(model, vocab, {"torch": torch.__version__, "epochs": 1}, tmp_path / "model.pt")
    loaded, loaded_vocab, info = load_char_model(tmp_path / "model.pt")
    assert info == {"torch": str(torch.__version__), "epochs": 1} and loaded_vocab.itos == vocab.itos
    ids = encode_poems(["床前明月光，疑是地上霜。"], vocab)[0][None]
    torch.testing.assert_close(loaded(ids)[0], model(ids)[0], rtol=0, atol=2e-3)


@pytest.fixture(scope="module")
def shipped():
    return load_tang_gru()


def test_checkpoint_loads_offline_with_the_corpus_vocabulary(shipped):
    model, vocab, info = shipped
    assert vocab.itos == tang_vocab().itos
    assert not model.training and model.config["V"] == len(vocab)
    assert info["trained_by"].startswith("tools/train_tang_gru.py") and info["epochs"] >= 1


def test_checkpoint_beats_the_bigram_on_held_out_poems(shipped):
    model, vocab, _ = shipped
    train = encode_poems([p.text for p in tang_poems("train")], vocab)
    held_out = encode_poems([p.text for p in tang_poems("valid")[:200]], vocab)
    assert math.exp(cross_entropy(model, held_out)) < math.exp(ngram_cross_entropy(train, held_out, len(vocab), 2))


def test_curves_back_the_notebook_claims():
    curves = tang_curves()
    memorise, corpus = curves["memorise"], curves["corpus"]
    assert memorise["train"][-1] < 2 and memorise["valid"][-1] > len(tang_vocab())  # worse than uniform on new poems
    assert corpus["valid"][-1] < corpus["valid"][0] / 10 and corpus["valid"][-1] < 2 * corpus["train"][-1]
    without, with_dropout = curves["dropout"]["0.0"], curves["dropout"]["0.3"]
    assert without["valid"][-1] > 1.1 * min(without["valid"])  # over-fitting: validation perplexity turns up
    assert with_dropout["valid"][-1] < without["valid"][-1]
    assert with_dropout["train"][-1] > without["train"][-1]
