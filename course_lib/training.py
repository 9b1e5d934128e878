"""A small fit loop with a progress bar, and the budget that keeps grading fast.

Under nbgrader (which sets ``NBGRADER_EXECUTION`` in the kernel while validating or autograding) and
under ``course grade`` the long training cells shrink to a few steps: graded tests never depend on a
long run, and a class of submissions grades in minutes.  ``COURSE_QUICK=1`` asks for the same budget by
hand (the test suite uses it to run the notebooks quickly).
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from course_lib.devices import to_device

__all__ = ["under_grading", "budget", "set_seed", "History", "fit"]


def under_grading() -> bool:
    """True while nbgrader validates or autogrades, under ``course grade``, or with COURSE_QUICK=1."""
    return bool(os.environ.get("NBGRADER_EXECUTION") or os.environ.get("COURSE_QUICK"))


def budget(full: int, graded: int) -> int:
    """``full`` normally, ``graded`` (a small number) while grading: ``steps = budget(2000, 50)``."""
    return graded if under_grading() else full


def set_seed(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators, for runs that repeat."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclasses.dataclass
class History:
    """Losses recorded by :func:`fit`: one per step and the mean of each epoch; seconds per epoch."""

    step_loss: list[float] = dataclasses.field(default_factory=list)
    epoch_loss: list[float] = dataclasses.field(default_factory=list)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)

    @property
    def final(self) -> float:
        return self.epoch_loss[-1] if self.epoch_loss else float("nan")


def fit(
    model: torch.nn.Module,
    batches: Sequence[Any] | Callable[[], Iterable[Any]],
    loss_of_batch: Callable[[torch.nn.Module, Any], torch.Tensor],
    *,
    epochs: int,
    graded_epochs: int = 1,
    lr: float = 1e-2,
    optimizer: torch.optim.Optimizer | None = None,
    clip: float | None = None,
    desc: str = "training",
    progress: bool = True,
    device: torch.device | str | None = None,
) -> History:
    """Train ``model`` by minimising ``loss_of_batch(model, batch)`` over ``batches`` for ``epochs``.

    batches:        a list of batches, or a function returning a fresh iterable each epoch (shuffling).
    graded_epochs:  the epochs used while grading (see :func:`budget`).
    clip:           if given, ``clip_grad_norm_(model.parameters(), clip)`` before each step.
    device:         if given, the model and every batch (its tensors, nested in tuples, lists, dicts) are moved
                    there, e.g. ``device=course_lib.device()``; batches are moved one at a time, as they are used.
    Returns a :class:`History`; the progress bar shows the running loss.
    """
    epochs = budget(epochs, min(epochs, graded_epochs))
    if device is not None:
        model.to(device)  # before the optimiser is made, so that it holds the moved parameters
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    model.train()
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=True)
    for _ in bar:
        start = time.perf_counter()
        losses = []
        for batch in batches() if callable(batches) else batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_of_batch(model, batch if device is None else to_device(batch, device))
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(float(loss.detach()))
        history.step_loss.extend(losses)
        history.epoch_loss.append(float(np.mean(losses)) if losses else float("nan"))
        history.epoch_seconds.append(time.perf_counter() - start)
        bar.set_postfix(loss=f"{history.final:.4f}")
    model.eval()
    return history
