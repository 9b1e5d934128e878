"""What several of notebook 02's checks share: seeded cases, torch's RNN modules as references, tolerances.

The recurrence, in the notebook's row notation, with the shapes every case uses:

    h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h)
    x_t: (N, D), h_t: (N, H), W_xh: (H, D), W_hh: (H, H), b_h: (H,)

``nn.RNNCell`` and ``nn.RNN`` hold two biases, b_ih + b_hh, where the notebook has one: the references
copy b_h into b_ih and set b_hh to zero.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.core import CheckFailure
from course_lib.checks.references import holding
from course_lib.checks.toolkit import close, generator, tensor, tolerance

_generator = generator  # the toolkit's
_t = tensor


def _same(got: torch.Tensor, expected: torch.Tensor, rtol: float | None = None, atol: float | None = None) -> bool:
    """True if two tensors have one shape and agree (the toolkit's :func:`close`)."""
    return close(got, expected, rtol=rtol, atol=atol)


def _rnn_case(
    g: torch.Generator, N: int, D: int, H: int, T: int | None = None, dtype=torch.float64, scale: float = 0.6
) -> dict[str, np.ndarray]:
    """Random inputs and weights: x (N, D) or (N, T, D), h0 (N, H), W_xh (H, D), W_hh (H, H), b_h (H,)."""
    shape = (N, D) if T is None else (N, T, D)
    case = {
        "x": torch.randn(*shape, generator=g, dtype=torch.float64),
        "h0": torch.randn(N, H, generator=g, dtype=torch.float64).tanh(),
        "W_xh": scale * torch.randn(H, D, generator=g, dtype=torch.float64),
        "W_hh": scale * torch.randn(H, H, generator=g, dtype=torch.float64),
        "b_h": scale * torch.randn(H, generator=g, dtype=torch.float64),
    }
    return {k: v.to(dtype).numpy() for k, v in case.items()}


def _cell_module(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNNCell:
    """nn.RNNCell holding W_xh, W_hh and b_h (its second bias b_hh set to zero)."""
    H, D = W_xh.shape
    return holding(nn.RNNCell(D, H, dtype=W_xh.dtype), W_xh, W_hh, b_h)


def _rnn_module(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNN:
    H, D = W_xh.shape
    return holding(nn.RNN(D, H, batch_first=True, dtype=W_xh.dtype), W_xh, W_hh, b_h)


_tolerance = tolerance


def _check_dtype(got: torch.Tensor, expected: torch.dtype, what: str) -> None:
    if got.dtype != expected:
        raise CheckFailure(
            f"{what} has dtype {got.dtype}, but the inputs are {expected}. Keep the inputs' dtype: create new "
            f"tensors with torch.zeros_like(...) or dtype=x.dtype, not with torch.zeros(...) alone."
        )
