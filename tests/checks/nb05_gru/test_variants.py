"""Is the documented gate order torch's, and is :func:`gru_variant` with every mistake switched off
``nn.GRUCell``?"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.checks.nb05_gru.variants import GATE_ORDER, _gru_step, gru_variant


def test_documented_gate_order_is_torchs():
    """Stacking per-gate weights in the documented order (r, z, n) into nn.GRU reproduces the equations."""
    assert GATE_ORDER == ("r", "z", "n")
    g = torch.Generator().manual_seed(0)
    D, H, N, T = 3, 4, 2, 5
    W_i = {k: torch.randn(H, D, generator=g, dtype=torch.float64) for k in GATE_ORDER}
    W_h = {k: torch.randn(H, H, generator=g, dtype=torch.float64) for k in GATE_ORDER}
    b_i = {k: torch.randn(H, generator=g, dtype=torch.float64) for k in GATE_ORDER}
    b_h = {k: torch.randn(H, generator=g, dtype=torch.float64) for k in GATE_ORDER}
    gru = nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.cat([W_i[k] for k in GATE_ORDER]))
        gru.weight_hh_l0.copy_(torch.cat([W_h[k] for k in GATE_ORDER]))
        gru.bias_ih_l0.copy_(torch.cat([b_i[k] for k in GATE_ORDER]))
        gru.bias_hh_l0.copy_(torch.cat([b_h[k] for k in GATE_ORDER]))
    x = torch.randn(N, T, D, generator=g, dtype=torch.float64)
    h = torch.randn(N, H, generator=g, dtype=torch.float64)
    out, h_n = gru(x, h[None])
    for t in range(T):  # the equations of the module docstring, one gate at a time
        x_t = x[:, t]
        r = torch.sigmoid(x_t @ W_i["r"].T + b_i["r"] + h @ W_h["r"].T + b_h["r"])
        z = torch.sigmoid(x_t @ W_i["z"].T + b_i["z"] + h @ W_h["z"].T + b_h["z"])
        n = torch.tanh(x_t @ W_i["n"].T + b_i["n"] + r * (h @ W_h["n"].T + b_h["n"]))
        h = (1 - z) * n + z * h
        torch.testing.assert_close(out[:, t], h)
    torch.testing.assert_close(h_n[0], h)


def test_gru_variant_torch_equals_grucell():
    """The judge's formula switchboard, with every mistake switched off, is nn.GRUCell."""
    g = torch.Generator().manual_seed(1)
    cell = nn.GRUCell(3, 5, dtype=torch.float64)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    h = torch.randn(4, 5, generator=g, dtype=torch.float64)
    with torch.no_grad():
        expected = cell(x, h)
        got = _gru_step(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, "torch", False, False)
    torch.testing.assert_close(got, expected)


def test_gru_variant_cannot_compute_the_standard_cell():
    """Issue 23: one call to gru_variant, imported in 05's first cell, passed gru_cell's check."""
    g = torch.Generator().manual_seed(1)
    cell = nn.GRUCell(3, 5, dtype=torch.float64)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    h = torch.randn(4, 5, generator=g, dtype=torch.float64)
    weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    with pytest.raises(TypeError, match="candidate"):
        gru_variant(x, h, *weights)
    with pytest.raises(ValueError, match="exercise 1"):
        gru_variant(x, h, *weights, candidate="torch")
    with torch.no_grad():
        for kwargs in ({"candidate": "cho"}, {"candidate": "torch", "swap_update": True}, {"candidate": "no_reset"}):
            assert not torch.allclose(gru_variant(x, h, *weights, **kwargs), cell(x, h)), kwargs
