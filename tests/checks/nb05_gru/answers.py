"""Right answers to notebook 05's exercises, written for the tests independently of the solution notebook.

Gate order r, z, n (rows 0:H, H:2H, 2H:3H of the stacked weights), as in torch::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
"""

from __future__ import annotations

import math

import torch
from torch import nn

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def gru_update(gi, gh, h_prev):
    """h_t from the stacked projections gi = W_ih x_t + b_ih and gh = W_hh h_{t-1} + b_hh, both (N, 3H)."""
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h_prev


def gru_cell(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return gru_update(x @ weight_ih.T + bias_ih, h_prev @ weight_hh.T + bias_hh, h_prev)


def count_params(kind, input_size, hidden_size, num_layers=1, bias=True):
    g, H = GATES[kind], hidden_size
    total = 0
    for layer in range(num_layers):
        inputs = input_size if layer == 0 else H
        total += g * H * (inputs + H) + (2 * g * H if bias else 0)
    return total


def run_steps(step, inputs, h):
    """``h = step(input_t, h)`` for every t of inputs: (N, T, ·); returns (out: (N, T, H), h_T: (N, H))."""
    outs = []
    for input_t in inputs.unbind(1):
        h = step(input_t, h)
        outs.append(h)
    return torch.stack(outs, 1), h


class FusedGRU(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        k = 1 / math.sqrt(hidden_size)
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size).uniform_(-k, k))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))

    def initial_state(self, x, h0):
        return x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0  # (N, H)

    def weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def forward(self, x, h0=None):
        gi_all = x @ self.weight_ih.T + self.bias_ih  # (N, T, 3H), all steps at once
        return run_steps(
            lambda gi, h: gru_update(gi, h @ self.weight_hh.T + self.bias_hh, h),  # one matmul a step
            gi_all,
            self.initial_state(x, h0),
        )


def final_states(h_n, c_n=None):
    """A unidirectional L-layer decoder's initial (h_0, c_0) from a bidirectional encoder's h_n (2L, N, P) and c_n
    (2L, N, H) or None: h_n is layer-major, direction-minor; each layer becomes [forward; backward]."""

    def bridge(state):  # (2L, N, F) -> (L, N, 2F)
        L2, N, F = state.shape
        return state.view(L2 // 2, 2, N, F).transpose(1, 2).reshape(L2 // 2, N, 2 * F)

    return bridge(h_n), None if c_n is None else bridge(c_n)


def last_layer_from_output(output, lengths):
    """The last layer's [forward; backward] final states from a padded bidirectional output (N, T, 2H): the forward
    direction finishes at each row's last real step, the backward one at step 0."""
    N, T, H2 = output.shape
    index = (lengths.to(output.device) - 1).view(N, 1, 1).expand(N, 1, H2 // 2)  # (N, 1, H)
    forward = output[..., : H2 // 2].gather(1, index)[:, 0]  # (N, H)
    return torch.cat([forward, output[:, 0, H2 // 2 :]], dim=1)  # (N, 2H)
