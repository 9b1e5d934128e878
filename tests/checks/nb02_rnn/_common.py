"""What several test modules share: correct rnn_cell and rnn_forward, and one row of a table of mistakes.

The correct implementations are written for the tests (not imported from the solution notebook); the tests
of later exercises build on them.
"""

from __future__ import annotations

import pytest
import torch


def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    for t in range(x.shape[1]):
        h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
        states.append(h)
    return torch.stack(states, dim=1), h


def mistake(make, name: str, pattern: str, *more):
    """A table row: ``make(name)`` (an implementation with mistake ``name`` switched on), the pattern its
    failure message must match and any further arguments, with the mistake as the test id."""
    return pytest.param(make(name), pattern, *more, id=name)
