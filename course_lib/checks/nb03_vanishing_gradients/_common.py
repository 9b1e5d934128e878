"""Helpers the three notebook-03 checks share: a seeded generator for the cases and a relative comparison."""

from __future__ import annotations

import torch

from course_lib.checks.toolkit import close, generator

_generator = generator  # the toolkit's


def _close(got: torch.Tensor, expected: torch.Tensor, rtol: float) -> bool:
    """Equal up to ``rtol`` relative to each entry (atol scaled to the largest entry, for exact zeros)."""
    if tuple(got.shape) != tuple(expected.shape) or not torch.isfinite(got).all():
        return False
    atol = 1e-12 * max(1.0, float(expected.double().abs().max())) if expected.numel() else 0.0
    return close(got, expected, rtol=rtol, atol=atol)
