"""Does notebook 02's live run measure and report what it says: the held-out perplexity of charlm's definition, a
report at step 0, every ``every`` steps and at the end with samples beside it, a model that improves on learnable
data, a run that repeats for the same seed, and a table in the order given?"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_lib.charlm import CharGRU, cross_entropy
from course_lib.live_lm import batch_stream, held_out_perplexity, perplexity_table, train_live


def _cyclic(n: int, V: int = 7, seed: int = 0) -> list[torch.Tensor]:
    """<bos>=2, then a walk 4, 5, 6, 4, 5, 6, ... from a random start, <eos>=3: learnable from the last id alone."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        start, length = int(torch.randint(3, (1,), generator=g)), int(torch.randint(3, 9, (1,), generator=g))
        out.append(torch.tensor([2] + [4 + (start + t) % (V - 4) for t in range(length)] + [3]))
    return out


class Bigram(nn.Module):
    """A tiny model with RNNLM's forward contract: ids (N, T) -> (logits (N, T, V), h)."""

    def __init__(self, V: int):
        super().__init__()
        self.table = nn.Embedding(V, V, dtype=torch.float64)

    def forward(self, ids):
        return self.table(ids), None


def test_held_out_perplexity_is_exp_of_charlm_cross_entropy():
    torch.manual_seed(0)
    model = CharGRU(7, E=4, H=5).double()
    seqs = _cyclic(11)
    assert math.isclose(
        held_out_perplexity(model, seqs, batch_size=4), math.exp(cross_entropy(model, seqs)), rel_tol=1e-12
    )


def test_held_out_perplexity_of_uniform_logits_is_V_and_mode_is_restored():
    model = Bigram(7)
    nn.init.zeros_(model.table.weight)
    model.train()
    assert math.isclose(held_out_perplexity(model, _cyclic(5)), 7.0, rel_tol=1e-12)
    assert model.training


def test_batch_stream_covers_every_sequence_once_per_epoch_and_reshuffles():
    seqs = [torch.tensor([2, 4 + i, 3]) for i in range(5)]
    stream = batch_stream(seqs, batch_size=2, seed=1)
    epochs = [[next(stream) for _ in range(3)] for _ in range(2)]  # 5 sequences in batches of 2: 3 per epoch
    orders = [[int(x) for inputs, _ in epoch for x in inputs[:, 1]] for epoch in epochs]
    assert sorted(orders[0]) == sorted(orders[1]) == [4, 5, 6, 7, 8]
    assert orders[0] != orders[1]


def test_train_live_reports_at_zero_every_n_and_last_and_improves():
    torch.manual_seed(0)
    model = Bigram(7)
    lines, calls = [], []

    def samples():
        calls.append(model.training)
        return ["a sampled line"]

    history = train_live(
        model,
        _cyclic(40),
        _cyclic(10, seed=1),
        steps=25,
        every=10,
        samples=samples,
        batch_size=8,
        lr=0.1,
        progress=False,
        log=lines.append,
    )
    assert history["step"] == [0, 10, 20, 25]
    assert len(history["valid"]) == len(history["seconds"]) == 4
    assert sum("held-out perplexity" in line for line in lines) == 4
    assert sum("a sampled line" in line for line in lines) == 4
    assert calls == [False] * 4, "samples are drawn with the model in eval mode"
    assert history["valid"][-1] < 0.5 * history["valid"][0], history["valid"]
    assert not model.training


def test_train_live_repeats_for_the_same_seed():
    def run(seed):
        torch.manual_seed(0)
        model = Bigram(7)
        return train_live(
            model,
            _cyclic(40),
            _cyclic(10, seed=1),
            steps=12,
            every=6,
            batch_size=8,
            seed=seed,
            progress=False,
            log=lambda _: None,
        )["valid"]

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_perplexity_table_keeps_the_order_and_one_decimal():
    printed = []
    text = perplexity_table({"unigram": 812.345, "bigram": 301.0, "your RNNLM": 455.25}, log=printed.append)
    assert printed == [text]
    rows = text.splitlines()
    assert [r.split()[0] for r in rows[1:]] == ["unigram", "bigram", "your"]
    assert rows[1].endswith("812.3") and rows[3].endswith("455.2")
