"""The recurrence of notebook 02's checks: random cases of it, and torch's RNN modules holding their weights.

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

from course_lib.checks.references import holding

__all__ = ["cell_module", "rnn_case", "rnn_module"]


def rnn_case(
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


def cell_module(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNNCell:
    """nn.RNNCell holding W_xh, W_hh and b_h (its second bias b_hh set to zero)."""
    H, D = W_xh.shape
    return holding(nn.RNNCell(D, H, dtype=W_xh.dtype), W_xh, W_hh, b_h)


def rnn_module(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNN:
    H, D = W_xh.shape
    return holding(nn.RNN(D, H, batch_first=True, dtype=W_xh.dtype), W_xh, W_hh, b_h)
