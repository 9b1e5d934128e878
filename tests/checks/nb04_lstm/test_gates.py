"""Does the documented gate order (i, f, g, o) load into nn.LSTMCell and nn.LSTM as the article's equations?

The weights are loaded in the order ``GATE_ORDER`` states, and in the order the solution notebook's
docstrings state, so the order written in the docstrings cannot drift from the order the checks and torch use.
"""

from __future__ import annotations

import json
import re

import pytest
import torch
import torch.nn as nn

from course_lib.checks.nb04_lstm import GATE_ORDER, SEED_PARAMS, stack_seed_params
from tests.conftest import ROOT


def _seed_equations(x, h, c, p):
    """the article's six equations, one gate at a time, in float64: the order-free ground truth."""
    i = torch.sigmoid(x @ p["W_xi"].T + h @ p["W_hi"].T + p["b_i"])
    f = torch.sigmoid(x @ p["W_xf"].T + h @ p["W_hf"].T + p["b_f"])
    o = torch.sigmoid(x @ p["W_xo"].T + h @ p["W_ho"].T + p["b_o"])
    g = torch.tanh(x @ p["W_xc"].T + h @ p["W_hc"].T + p["b_c"])
    c_t = f * c + i * g
    return o * torch.tanh(c_t), c_t


def _random_seed_params(D, H, gen):
    p = {}
    for k in GATE_ORDER:
        wx, wh, b = SEED_PARAMS[k]
        p[wx] = torch.randn(H, D, generator=gen, dtype=torch.float64)
        p[wh] = torch.randn(H, H, generator=gen, dtype=torch.float64)
        p[b] = torch.randn(H, generator=gen, dtype=torch.float64)
    return p


def test_documented_order_loads_into_nn_lstmcell():
    """Stacking the article's weights in GATE_ORDER = (i, f, g, o) gives nn.LSTMCell the article's equations."""
    assert GATE_ORDER == ("i", "f", "g", "o")
    gen = torch.Generator().manual_seed(0)
    D, H, N = 3, 5, 4
    p = _random_seed_params(D, H, gen)
    x, h, c = (torch.randn(N, n, generator=gen, dtype=torch.float64) for n in (D, H, H))
    cell = nn.LSTMCell(D, H, dtype=torch.float64)
    weight_ih, weight_hh, bias = stack_seed_params(p)
    with torch.no_grad():
        cell.weight_ih.copy_(weight_ih)
        cell.weight_hh.copy_(weight_hh)
        cell.bias_ih.copy_(bias)
        cell.bias_hh.zero_()
    for got, expected in zip(cell(x, (h, c)), _seed_equations(x, h, c, p)):
        torch.testing.assert_close(got, expected)


def test_documented_order_loads_into_nn_lstm():
    """The same stacked weights in nn.LSTM give the article's equations at every step, and h_T, c_T."""
    gen = torch.Generator().manual_seed(1)
    D, H, N, T = 2, 3, 2, 5
    p = _random_seed_params(D, H, gen)
    x = torch.randn(N, T, D, generator=gen, dtype=torch.float64)
    lstm = nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    weight_ih, weight_hh, bias = stack_seed_params(p)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(weight_ih)
        lstm.weight_hh_l0.copy_(weight_hh)
        lstm.bias_ih_l0.copy_(bias)
        lstm.bias_hh_l0.zero_()
    out, (h_T, c_T) = lstm(x)
    h = c = torch.zeros(N, H, dtype=torch.float64)
    for t in range(T):
        h, c = _seed_equations(x[:, t], h, c, p)
        torch.testing.assert_close(out[:, t], h)
    torch.testing.assert_close(h_T[0], h)
    torch.testing.assert_close(c_T[0], c)


def _solution_sources() -> str:
    path = ROOT / "solutions" / "04_lstm" / "04_lstm.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def _documented_order(text: str, name: str) -> tuple[str, ...]:
    """The gate order a docstring states for ``name``, e.g. 'weight_ih: (4H, D) = [W_xi; W_xf; W_xc; W_xo]'."""
    match = re.search(rf"{name}:\s*\(4H,?\s*[DH]?\)\s*=\s*\[([^\]]+)\]", text)
    assert match, f"the solution notebook should document the layout of {name} as '{name}: (4H, ...) = [...]'"
    letters = [part.strip()[-1] for part in match.group(1).split(";")]
    return tuple("g" if letter == "c" else letter for letter in letters)  # the article's c~ is PyTorch's g


@pytest.mark.parametrize("name", ["weight_ih", "weight_hh", "bias"])
def test_solution_docstrings_state_the_order_the_checks_use(name):
    """FusedLSTM's docstring states the order of its stacked blocks; it is the order the checks use."""
    assert _documented_order(_solution_sources(), name) == GATE_ORDER


def test_weights_stacked_in_the_documented_order_load_into_nn_lstm():
    """Stack the article's weights in the order the notebook documents; nn.LSTM then computes the article's equations."""
    text = _solution_sources()
    orders = {name: _documented_order(text, name) for name in ("weight_ih", "weight_hh", "bias")}
    gen = torch.Generator().manual_seed(2)
    D, H, N, T = 3, 4, 2, 4
    p = _random_seed_params(D, H, gen)
    x = torch.randn(N, T, D, generator=gen, dtype=torch.float64)
    lstm = nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, target, slot in (
            ("weight_ih", lstm.weight_ih_l0, 0),
            ("weight_hh", lstm.weight_hh_l0, 1),
            ("bias", lstm.bias_ih_l0, 2),
        ):
            target.copy_(torch.cat([p[SEED_PARAMS[k][slot]] for k in orders[name]]))
        lstm.bias_hh_l0.zero_()
    out, _ = lstm(x)
    h = c = torch.zeros(N, H, dtype=torch.float64)
    for t in range(T):
        h, c = _seed_equations(x[:, t], h, c, p)
    torch.testing.assert_close(out[:, -1], h)
