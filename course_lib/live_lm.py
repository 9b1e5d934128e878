"""A language model trained live in the notebook: a fixed step budget, a progress bar, and what it has learnt so far.

Notebook 02 trains the learner's own ``RNNLM`` on the full Tang corpus for a budget of steps small enough to
keep the notebook within its minute, and prints, every ``every`` steps, the held-out perplexity

    PPL = exp( -(1/M) sum_{n,t: y_nt != pad} log p(y_nt | y_n,<t) )

(M real targets; the same measure as :func:`course_lib.charlm.cross_entropy`) and a few sampled lines, so that the
learner watches both improve.  Then :func:`perplexity_table` sets the run beside the unigram and bigram baselines
and the shipped long-trained checkpoint.  Shapes: N poems, T steps, V vocabulary.

Each step is one Adam update on the mean cross-entropy of a batch of whole poems (padding ignored), with
gradient-norm clipping, on batches drawn in a seeded order (a fresh shuffle of the training poems each epoch):
a run repeats exactly for the same seed and budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course_lib.charlm import poem_batches

__all__ = ["batch_stream", "held_out_perplexity", "perplexity_table", "train_live"]


def batch_stream(
    sequences: Sequence[torch.Tensor], batch_size: int, seed: int = 0, pad_id: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, targets) batches, (N, T) each, epoch after epoch, each epoch a fresh seeded shuffle of ``sequences``."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield from poem_batches(sequences, batch_size, generator, pad_id=pad_id)


@torch.no_grad()
def held_out_perplexity(
    model: nn.Module, sequences: Sequence[torch.Tensor], pad_id: int = 0, batch_size: int = 64, device=None
) -> float:
    """exp of the mean cross-entropy over every real target of ``sequences`` (summed over batches, divided once).

    ``model(inputs)[0]`` must be the logits (N, T, V), as ``RNNLM`` and ``CharGRU`` return them.  The model is
    evaluated in eval mode and left in the mode it was in.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for inputs, targets in poem_batches(sequences, batch_size, pad_id=pad_id):
        if device is not None:
            inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)[0]  # (N, T, V)
        total += float(F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id, reduction="sum"))
        count += int((targets != pad_id).sum())
    model.train(was_training)
    return math.exp(total / count)


def train_live(
    model: nn.Module,
    train: Sequence[torch.Tensor],
    valid: Sequence[torch.Tensor],
    *,
    steps: int,
    every: int,
    samples: Callable[[], Sequence[str]] | None = None,
    batch_size: int = 32,
    lr: float = 1e-2,
    clip: float = 1.0,
    seed: int = 0,
    pad_id: int = 0,
    device=None,
    progress: bool = True,
    log: Callable[[str], None] = tqdm.write,
) -> dict[str, list[float]]:
    """Train ``model`` for ``steps`` Adam steps on ``train``; report held-out perplexity and samples every ``every``.

    model:   forward(ids (N, T)) -> (logits (N, T, V), ...); its parameters are updated in place.
    train, valid: lists of id sequences (<bos> + characters + <eos>), as :func:`course_lib.charlm.encode_poems`.
    samples: a function returning a few generated lines, called (in eval mode) at each report.
    Returns {"step", "valid", "seconds"}: step 0 is the untrained model, then every ``every`` steps and the last.
    """
    if device is not None:
        model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"step": [], "valid": [], "seconds": []}
    started = time.perf_counter()

    def report(step: int) -> None:
        ppl = held_out_perplexity(model, valid, pad_id, device=device)
        history["step"].append(step)
        history["valid"].append(ppl)
        history["seconds"].append(time.perf_counter() - started)
        log(f"step {step:>5}: held-out perplexity {ppl:8.1f}")
        if samples is not None:
            was_training = model.training
            model.eval()
            for line in samples():
                log(f"             {line}")
            model.train(was_training)

    report(0)
    model.train()
    stream = batch_stream(train, batch_size, seed, pad_id)
    bar = tqdm(range(1, steps + 1), desc="your RNNLM on the Tang corpus", disable=not progress)
    for step in bar:
        inputs, targets = next(stream)
        if device is not None:
            inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)[0]  # (N, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        if step % every == 0 or step == steps:
            report(step)
    bar.close()
    model.eval()
    return history


def perplexity_table(rows: dict[str, float], log: Callable[[str], None] = print) -> str:
    """Print (and return) a table of held-out perplexities, one row per model, in the given order."""
    width = max(len(name) for name in rows)
    lines = [f"{'model':<{width}}  held-out perplexity"]
    lines += [f"{name:<{width}}  {ppl:>19.1f}" for name, ppl in rows.items()]
    text = "\n".join(lines)
    log(text)
    return text
