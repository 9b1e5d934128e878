"""torch's own recurrent modules holding given weights: the references the checks compare learners with.

A learner's cell computes ``x_t W_ih^T + h_{t-1} W_hh^T + b`` with one bias; torch's modules carry two,
``bias_ih`` and ``bias_hh``.  :func:`holding` puts ``b`` in ``bias_ih`` and zeroes ``bias_hh``, so that the
module computes the learner's formula exactly.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["holding"]


def holding(module: nn.Module, weight_ih: torch.Tensor, weight_hh: torch.Tensor, bias: torch.Tensor) -> nn.Module:
    """``module`` (an ``nn.RNNCell``/``LSTMCell``/``GRUCell``, or a one-layer ``nn.RNN``/``LSTM``/``GRU``)
    with ``weight_ih``, ``weight_hh`` and ``bias`` copied in, and ``bias_hh`` zero; returns the module."""
    layer = "_l0" if isinstance(module, nn.RNNBase) else ""
    with torch.no_grad():
        getattr(module, "weight_ih" + layer).copy_(weight_ih)
        getattr(module, "weight_hh" + layer).copy_(weight_hh)
        getattr(module, "bias_ih" + layer).copy_(bias)
        getattr(module, "bias_hh" + layer).zero_()
    return module
