"""The training runs behind notebook 02's sections on the Tang corpus: memorising, generalising, dropout.

Three runs, all of :class:`course_lib.charlm.CharGRU` (E = 64, H = 128, one layer, 850k parameters) on the
corpus vocabulary (``tang_vocab()``, V = 4,016), Adam, padded batches with the loss ignoring padding, gradient
norm clipped at 1, seed 0, in this order:

``memorise``  the model trained on the 72 poems of :mod:`course_lib.data.poems` only (no dropout): what the
              notebook's small poem model does, now measured on held-out poems;
``dropout``   the model on 1,000 training poems (a fixed random sample), without dropout and with p = 0.3
              on the embedded input and the GRU's output: over-fitting and its cure;
``corpus``    the model trained on all 13,983 training poems (dropout 0.1): the shipped checkpoint.

Perplexity after every epoch, with dropout off, on (the first 2,000 of) the run's training poems and on the
validation poems (the corpus run: all 1,787; the others: the first 500, to keep their many epochs quick).
``tools/train_tang_gru.py`` runs them and writes ``files/tang_gru.pt`` and ``files/tang_curves.json``;
notebook 02 can rerun them (off by default: with ``jobs=4`` the slowest run, the corpus model, took 51 minutes
on the course's shared 2-core build machine under heavy load).
"""

from __future__ import annotations

import datetime
import math
import multiprocessing
import time

import torch

from course_lib.charlm import CharGRU, cross_entropy, encode_poems, train_char_model
from course_lib.data.poems import poems
from course_lib.data.tang import tang_poems, tang_vocab

__all__ = ["RUNS", "SETTINGS", "run_one", "tang_runs"]

SETTINGS = {
    "memorise": {"epochs": 30, "lr": 1e-2, "batch_size": 16, "dropout": 0.0},
    "dropout": {"epochs": 20, "lr": 5e-3, "batch_size": 32, "dropouts": (0.0, 0.3), "poems": 1000},
    "corpus": {"epochs": 3, "lr": 3e-3, "batch_size": 64, "dropout": 0.1},
}
RUNS = ("memorise", "dropout 0.0", "dropout 0.3", "corpus")


def run_one(name: str, epochs: int | None = None, log=print) -> tuple[dict, CharGRU]:
    """One of ``RUNS``; returns its curves and the trained model.  Each run seeds itself (seed 0), so the
    result does not depend on which runs came before it or ran beside it."""
    vocab = tang_vocab()

    def encode(split: str) -> list[torch.Tensor]:
        return encode_poems([p.text for p in tang_poems(split)], vocab)

    train, valid = encode("train"), encode("valid")
    if name == "memorise":
        s, dropout = SETTINGS["memorise"], SETTINGS["memorise"]["dropout"]
        data, held_out = encode_poems([p.text for p in poems()], vocab), valid[:500]
    elif name.startswith("dropout "):
        s, dropout = SETTINGS["dropout"], float(name.split()[1])
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[: s["poems"]]
        data, held_out = [train[int(i)] for i in pick], valid[:500]
    elif name == "corpus":
        s, dropout = SETTINGS["corpus"], SETTINGS["corpus"]["dropout"]
        data, held_out = train, valid
    else:
        raise ValueError(f"unknown run {name!r}; the runs are {RUNS}")
    log(f"{name}: {len(data)} poems, dropout {dropout}")
    torch.manual_seed(0)
    model = CharGRU(len(vocab), dropout=dropout)
    start = time.perf_counter()
    history = train_char_model(
        model,
        data,
        held_out,
        s["epochs"] if epochs is None else epochs,
        lr=s["lr"],
        batch_size=s["batch_size"],
        log=(lambda line: log(f"{name}, {line}")) if log else None,
    )
    history["minutes"] = round((time.perf_counter() - start) / 60, 1)
    if name == "corpus":
        history["test"] = math.exp(cross_entropy(model, encode("test")))
    return history, model


def _in_process(name: str, epochs: int | None) -> tuple[dict, dict]:
    torch.set_num_threads(1)
    history, model = run_one(name, epochs, log=lambda line: print(line, flush=True))
    return history, model.state_dict()


def tang_runs(epochs: int | None = None, log=print, jobs: int = 1) -> tuple[dict, CharGRU]:
    """All of ``RUNS`` (in ``jobs`` processes); returns (curves, the corpus model).  ``epochs`` overrides each run's."""
    if jobs > 1:
        with multiprocessing.get_context("spawn").Pool(min(jobs, len(RUNS))) as pool:
            done = dict(zip(RUNS, pool.starmap(_in_process, [(name, epochs) for name in RUNS])))
        results = {}
        for name, (history, state) in done.items():
            model = CharGRU(len(tang_vocab()), dropout=SETTINGS["corpus"]["dropout"])
            model.load_state_dict(state)
            results[name] = (history, model.eval())
    else:
        results = {name: run_one(name, epochs, log) for name in RUNS}
    curves = {
        "vocabulary": len(tang_vocab()),
        "settings": SETTINGS,
        "torch": str(torch.__version__),
        "date": datetime.date.today().isoformat(),
        "memorise": results["memorise"][0],
        "dropout": {name.split()[1]: results[name][0] for name in RUNS if name.startswith("dropout ")},
        "corpus": results["corpus"][0],
    }
    return curves, results["corpus"][1]
