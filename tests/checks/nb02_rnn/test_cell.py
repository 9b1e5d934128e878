"""Does check_rnn_cell accept h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b_h) and name each wrong term?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb02_rnn import check_rnn_cell
from tests.checks.nb02_rnn._common import rnn_cell
from tests.conftest import fails_with


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_cell_accepts_correct(hidden):
    check_rnn_cell(rnn_cell, hidden=hidden)


def test_rnn_cell_accepts_column_vector_form():
    """the article's W @ x_t on columns is the same computation as x_t @ W.T on rows."""
    check_rnn_cell(lambda x, h, W_xh, W_hh, b: torch.tanh(W_xh @ x.T + W_hh @ h.T + b[:, None]).T, hidden=True)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(lambda x, h, W_xh, W_hh, b: x @ W_xh.T + h @ W_hh.T + b, "tanh missing", id="no tanh"),
        pytest.param(
            lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h + b),
            "h_prev is not multiplied by W_hh",
            id="h_prev without W_hh",
        ),
        pytest.param(
            lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh + h @ W_hh.T + b),
            "W_xh used without transpose",
            id="W_xh not transposed",
        ),
        pytest.param(
            lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h @ W_hh + b),
            "W_hh used without transpose",
            id="W_hh not transposed",
        ),
        pytest.param(lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h @ W_hh.T), "b_h is not added", id="no b_h"),
        pytest.param(
            lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h @ W_hh.T + 2 * b),
            "b_h is added twice",
            id="b_h twice",
        ),
        pytest.param(
            lambda x, h, W_xh, W_hh, b: torch.sigmoid(x @ W_xh.T + h @ W_hh.T + b),
            "sigmoid",
            id="sigmoid instead of tanh",
        ),
        pytest.param(
            lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T) + torch.tanh(h @ W_hh.T) + b,
            "tanh missing",
            id="tanh of each term",
        ),
        pytest.param(lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + b), "h_prev is not used", id="no h_prev"),
        pytest.param(lambda *args: rnn_cell(*(a.float() for a in args)), "dtype torch.float32", id="float32 result"),
    ],
)
def test_rnn_cell_names_mistakes(wrong, pattern):
    fails_with(check_rnn_cell, wrong, pattern)
