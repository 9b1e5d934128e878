"""The references: torch's own ``nn.LSTMCell`` and ``nn.LSTM`` with weights copied in the documented order.

The stacked weights are (i, f, g, o) blocks (see :mod:`.gates`): ``weight_ih`` (4H, D), ``weight_hh`` (4H, H),
``bias`` (4H,) goes into ``bias_ih`` and ``bias_hh`` is zero, so torch computes
``z = x_t weight_ih^T + h_{t-1} weight_hh^T + bias`` and the article's six equations from it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from course_lib.checks.references import holding


def torch_cell(x, h, c, weight_ih, weight_hh, bias) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.LSTMCell with the given stacked (i, f, g, o) weights; bias_hh is zero."""
    D, H = weight_ih.shape[1], weight_hh.shape[1]
    cell = holding(nn.LSTMCell(D, H, dtype=torch.float64), weight_ih, weight_hh, bias)
    with torch.no_grad():
        h_t, c_t = cell(x.double(), (h.double(), c.double()))
    return h_t, c_t


def torch_layer(x, weight_ih, weight_hh, bias, h0=None, c0=None):
    """nn.LSTM (batch-first, one layer) with the given stacked weights: out (N, T, H), h_T, c_T (N, H)."""
    D, H = weight_ih.shape[1], weight_hh.shape[1]
    lstm = holding(nn.LSTM(D, H, batch_first=True, dtype=torch.float64), weight_ih, weight_hh, bias)
    with torch.no_grad():
        state = None if h0 is None else (h0.double()[None], c0.double()[None])
        out, (h, c) = lstm(x.double(), state)
    return out, h[0], c[0]
