"""The references: torch's own ``nn.LSTMCell`` and ``nn.LSTM`` with weights copied in the documented order.

The stacked weights are (i, f, g, o) blocks (see ``_gates``): ``weight_ih`` (4H, D), ``weight_hh`` (4H, H),
``bias`` (4H,) goes into ``bias_ih`` and ``bias_hh`` is zero, so torch computes
``z = x_t weight_ih^T + h_{t-1} weight_hh^T + bias`` and the seed article's six equations from it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

def _torch_cell(x, h, c, weight_ih, weight_hh, bias) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.LSTMCell with the given stacked (i, f, g, o) weights; bias_hh is zero."""
    D, H = weight_ih.shape[1], weight_hh.shape[1]
    cell = nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(weight_ih)
        cell.weight_hh.copy_(weight_hh)
        cell.bias_ih.copy_(bias)
        cell.bias_hh.zero_()
        h_t, c_t = cell(x.double(), (h.double(), c.double()))
    return h_t, c_t


def _torch_layer(x, weight_ih, weight_hh, bias, h0=None, c0=None):
    """nn.LSTM (batch-first, one layer) with the given stacked weights: out (N, T, H), h_T, c_T (N, H)."""
    D, H = weight_ih.shape[1], weight_hh.shape[1]
    lstm = nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(weight_ih)
        lstm.weight_hh_l0.copy_(weight_hh)
        lstm.bias_ih_l0.copy_(bias)
        lstm.bias_hh_l0.zero_()
        state = None if h0 is None else (h0.double()[None], c0.double()[None])
        out, (h, c) = lstm(x.double(), state)
    return out, h[0], c[0]
