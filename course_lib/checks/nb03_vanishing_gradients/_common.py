"""Helpers the three notebook-03 checks share: a seeded generator for the cases and a relative comparison."""

from __future__ import annotations

import torch


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _close(got: torch.Tensor, expected: torch.Tensor, rtol: float) -> bool:
    """Equal up to ``rtol`` relative to each entry (atol scaled to the largest entry, for exact zeros)."""
    if tuple(got.shape) != tuple(expected.shape) or not torch.isfinite(got).all():
        return False
    g, e = got.double(), expected.double()
    atol = 1e-12 * max(1.0, float(e.abs().max())) if e.numel() else 0.0
    return bool(torch.allclose(g, e, rtol=rtol, atol=atol))
