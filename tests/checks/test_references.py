"""Does ``holding`` load weights so that torch's modules compute the one-bias formula of the notebooks?"""

from __future__ import annotations

import torch
import torch.nn as nn

from course_lib.checks.references import holding


def _weights(D: int, H: int, gates: int = 1):
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(gates * H, D, generator=g, dtype=torch.float64),
        torch.randn(gates * H, H, generator=g, dtype=torch.float64),
        torch.randn(gates * H, generator=g, dtype=torch.float64),
    )


def test_a_cell_and_a_layer_compute_tanh_of_x_W_ih_plus_h_W_hh_plus_one_bias():
    D, H = 3, 4
    W_ih, W_hh, b = _weights(D, H)
    x, h = torch.randn(2, D, dtype=torch.float64), torch.randn(2, H, dtype=torch.float64)
    expected = torch.tanh(x @ W_ih.T + h @ W_hh.T + b)
    cell = holding(nn.RNNCell(D, H, dtype=torch.float64), W_ih, W_hh, b)
    assert cell.bias_hh.abs().sum() == 0
    torch.testing.assert_close(cell(x, h), expected, rtol=1e-12, atol=1e-12)
    rnn = holding(nn.RNN(D, H, batch_first=True, dtype=torch.float64), W_ih, W_hh, b)
    assert rnn.bias_hh_l0.abs().sum() == 0
    out, _ = rnn(x[:, None], h[None])
    torch.testing.assert_close(out[:, 0], expected, rtol=1e-12, atol=1e-12)


def test_an_lstm_layer_holds_the_stacked_weights():
    D, H = 3, 2
    W_ih, W_hh, b = _weights(D, H, gates=4)
    lstm = holding(nn.LSTM(D, H, dtype=torch.float64), W_ih, W_hh, b)
    assert torch.equal(lstm.weight_ih_l0, W_ih) and torch.equal(lstm.weight_hh_l0, W_hh)
    assert torch.equal(lstm.bias_ih_l0, b) and lstm.bias_hh_l0.abs().sum() == 0
