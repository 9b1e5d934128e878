"""Sine waves generated from their frequency: the data of notebook 06's one-to-many model.

One input, a frequency ``f`` (cycles per sequence), and a whole sequence as output::

    y_t = sin(2 pi f t / T + phase),   t = 0 .. T-1

Training frequencies are drawn uniformly from ``[f_min, f_max]``; the held-out ones include frequencies
inside that range (interpolation) and outside it (extrapolation).  Nothing is downloaded.
"""

from __future__ import annotations

import math

import torch

__all__ = ["random_frequencies", "sine_waves"]


def sine_waves(frequencies: torch.Tensor, T: int, phase: float = 0.0) -> torch.Tensor:
    """y[n, t] = sin(2 pi frequencies[n] t / T + phase) for t = 0 .. T-1; frequencies: (N,), returns (N, T) float32."""
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    f = torch.as_tensor(frequencies, dtype=torch.float32).reshape(-1, 1)  # (N, 1)
    t = torch.arange(T, dtype=torch.float32)  # (T,)
    return torch.sin(2 * math.pi * f * t / T + phase)  # (N, T)


def random_frequencies(
    n: int, f_min: float = 1.0, f_max: float = 4.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n frequencies drawn uniformly from [f_min, f_max] (cycles per sequence), (n,) float32."""
    if not f_min < f_max:
        raise ValueError(f"need f_min < f_max, got {f_min} and {f_max}")
    return f_min + (f_max - f_min) * torch.rand(n, generator=generator)
