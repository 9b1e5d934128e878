"""The adding problem (Hochreiter & Schmidhuber 1997; the form of Le, Jaitly & Hinton 2015).

Each example is a sequence of T pairs (value, marker): values ~ U(0, 1), the marker is 1 at exactly two
steps, one in the first half and one in the second half, 0 elsewhere.  The target is the sum of the two
marked values.  Predicting the mean (1.0) every time gives MSE = Var(U + U') = 2/12 ~ 0.167: a model
stuck at that baseline has not learned to remember the first marked value across the sequence.

Generated on the fly (no file): deterministic for a given seed.  CC0.
"""

from __future__ import annotations

import torch

__all__ = ["BASELINE_MSE", "adding_problem"]

BASELINE_MSE = 2.0 / 12.0


def adding_problem(
    n: int, T: int, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """x: (n, T, 2) of (value, marker), y: (n,) the sum of the two marked values.  Needs T >= 2."""
    if T < 2:
        raise ValueError(f"the adding problem needs T >= 2, got T={T}")
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, T, generator=g, dtype=dtype)
    half = T // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, T, (n,), generator=g)
    markers = torch.zeros(n, T, dtype=dtype)
    rows = torch.arange(n)
    markers[rows, first] = 1
    markers[rows, second] = 1
    x = torch.stack([values, markers], dim=-1)  # (n, T, 2)
    y = values[rows, first] + values[rows, second]  # (n,)
    return x, y
