"""The training runs behind notebook 02's sections on the Tang corpus: memorising, generalising, dropout.

Three runs, all of :class:`course_lib.charlm.CharGRU` (E = 64, H = 128, one layer, 850k parameters) on the
corpus vocabulary (``tang_vocab()``, V = 4,016), Adam, padded batches with the loss ignoring padding, gradient
norm clipped at 1, seed 0, in this order:

``memorise``  the model trained on the 72 poems of :mod:`course_lib.data.poems` only (no dropout): what the
              notebook's small poem model does, now measured on held-out poems;
``dropout``   the model on 2,000 training poems (a fixed random sample), without dropout and with p = 0.3
              on the embedded input and the GRU's output: over-fitting and its cure;
``corpus``    the model trained on all 13,983 training poems (dropout 0.1): the shipped checkpoint.

Perplexity after every epoch, with dropout off, on (the first 2,000 of) the run's training poems and on the
validation poems (all 1,787; the ``memorise`` run: the first 500, to keep its 60 epochs quick).
``tools/train_tang_gru.py`` runs them and writes ``files/tang_gru.pt`` and ``files/tang_curves.json``;
notebook 02 can rerun them (off by default: about half an hour on one CPU thread).
"""

from __future__ import annotations

import datetime
import math
import time

import torch

from course_lib.charlm import CharGRU, cross_entropy, encode_poems, train_char_model
from course_lib.data.poems import poems
from course_lib.data.tang import tang_poems, tang_vocab

__all__ = ["SETTINGS", "tang_runs"]

SETTINGS = {
    "memorise": {"epochs": 60, "lr": 1e-2, "batch_size": 16, "dropout": 0.0},
    "dropout": {"epochs": 25, "lr": 3e-3, "batch_size": 64, "dropouts": (0.0, 0.3), "poems": 2000},
    "corpus": {"epochs": 8, "lr": 3e-3, "batch_size": 64, "dropout": 0.1},
}


def tang_runs(epochs: int | None = None, log=print) -> tuple[dict, CharGRU]:
    """Run the three experiments; returns (curves, the corpus model).  ``epochs`` overrides every run's count."""
    vocab = tang_vocab()
    V = len(vocab)
    train = encode_poems([p.text for p in tang_poems("train")], vocab)
    valid = encode_poems([p.text for p in tang_poems("valid")], vocab)
    test = encode_poems([p.text for p in tang_poems("test")], vocab)
    curves = {"vocabulary": V, "settings": SETTINGS, "torch": torch.__version__,
              "date": datetime.date.today().isoformat()}

    def run(name: str, data, held_out, dropout: float, s: dict) -> tuple[dict, CharGRU]:
        log(f"{name}: {len(data)} poems, dropout {dropout}")
        torch.manual_seed(0)
        model = CharGRU(V, dropout=dropout)
        history = train_char_model(model, data, held_out, epochs or s["epochs"], lr=s["lr"],
                                   batch_size=s["batch_size"], log=log)
        return history, model

    s = SETTINGS["memorise"]
    course = encode_poems([p.text for p in poems()], vocab)
    curves["memorise"] = run("memorise", course, valid[:500], s["dropout"], s)[0]

    s = SETTINGS["dropout"]
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:s["poems"]]
    subset = [train[int(i)] for i in pick]
    curves["dropout"] = {str(p): run("dropout", subset, valid, p, s)[0] for p in s["dropouts"]}

    s = SETTINGS["corpus"]
    start = time.perf_counter()
    curves["corpus"], model = run("corpus", train, valid, s["dropout"], s)
    curves["corpus"]["minutes"] = round((time.perf_counter() - start) / 60, 1)
    curves["corpus"]["test"] = math.exp(cross_entropy(model, test))
    return curves, model
