"""Seeded case data for the notebook-04 checks, and the tolerance a result is compared with.

Cases are drawn in float64 from a ``torch.Generator`` seeded per check (a few cases in float32); a result
counts as equal to a reference when it has its shape and is within rtol 1e-6, atol 1e-8 (float64) or
rtol 1e-4, atol 1e-5 (float32).
"""

from __future__ import annotations

import numpy as np
import torch

def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0, dtype=torch.float64) -> np.ndarray:
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype).numpy()


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a))


def _tol(dtype) -> dict[str, float]:
    return {"rtol": 1e-6, "atol": 1e-8} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}


def _close(got: torch.Tensor, expected: torch.Tensor, dtype) -> bool:
    tol = _tol(dtype)
    return tuple(got.shape) == tuple(expected.shape) and bool(
        torch.allclose(got.double(), expected.double(), rtol=tol["rtol"], atol=tol["atol"])
    )
