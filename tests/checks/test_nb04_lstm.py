"""Does each notebook-04 check accept a correct LSTM and name the typical mistakes?

The correct implementations here are written for the tests (not imported from the solution notebook), so a
check is tested against an independent answer as well as against the solution run in tests/test_notebooks.py.
The tests at the end load weights in the documented gate order (i, f, g, o) into nn.LSTMCell and nn.LSTM,
so the order written in the docstrings cannot drift from the order the checks and torch use.
"""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
import torch.nn as nn

from course_lib.checks.nb04_lstm import (
    EXERCISES,
    GATE_ORDER,
    SEED_PARAMS,
    check_fused_lstm,
    check_fused_lstm_cell,
    check_lstm_cell,
    check_lstm_state_grad_norms,
    stack_seed_params,
)
from course_lib.measure import state_grad_norms
from tests.conftest import ROOT, fails_with, stub

ALL_CHECKS = [check_lstm_cell, check_fused_lstm_cell, check_fused_lstm, check_lstm_state_grad_norms]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


def test_every_exercise_is_registered():
    from course_lib.checks import EXERCISES as REGISTRY

    assert {f"nb04_lstm.{ex.name}" for ex in EXERCISES} <= set(REGISTRY)


# ------------------------------------------------------------------------------------------- lstm_cell


def lstm_cell(x_t, h_prev, c_prev, p, *, g_act=torch.tanh, cell_act=torch.tanh, names=None, old_c_in_h=False,
              forget_h=False, swap_out=False, f_fn=lambda f: f, i_act=torch.sigmoid):
    """The seed's equations; keyword arguments switch one typical mistake on."""
    names = names or {k: SEED_PARAMS[k] for k in GATE_ORDER}

    def pre(k):
        wx, wh, b = names[k]
        return x_t @ p[wx].T + h_prev @ p[wh].T + p[b]

    i, f, o = i_act(pre("i")), torch.sigmoid(pre("f")), torch.sigmoid(pre("o"))
    g = g_act(pre("g"))
    c_t = f_fn(f) * (h_prev if forget_h else c_prev) + i * g
    h_t = o * cell_act(c_prev if old_c_in_h else c_t)
    return (c_t, h_t) if swap_out else (h_t, c_t)


@pytest.mark.parametrize("hidden", [False, True])
def test_lstm_cell_accepts_correct(hidden):
    check_lstm_cell(lstm_cell, hidden=hidden)


def test_lstm_cell_names_swapped_input_and_forget_gates():
    names = {**{k: SEED_PARAMS[k] for k in GATE_ORDER}, "i": SEED_PARAMS["f"], "f": SEED_PARAMS["i"]}
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, names=names),
               "the input gate i_t and the forget gate f_t are swapped")


def test_lstm_cell_names_swapped_output_gate_and_candidate():
    names = {**{k: SEED_PARAMS[k] for k in GATE_ORDER}, "o": SEED_PARAMS["g"], "g": SEED_PARAMS["o"]}
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, names=names),
               r"the candidate c~_t and the output gate o_t are swapped")


def test_lstm_cell_names_sigmoid_on_candidate():
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, g_act=torch.sigmoid), "candidate c~_t goes through a sigmoid")


def test_lstm_cell_names_missing_tanh_on_cell_state():
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, cell_act=lambda c: c), "tanh on the cell state is missing")


def test_lstm_cell_names_old_cell_state_where_new_belongs():
    """h_t = o_t * tanh(c_{t-1}): the cell state of the wrong time step."""
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, old_c_in_h=True), r"c_\{t-1\}.*where the new c_t belongs")


def test_lstm_cell_names_forget_gate_on_hidden_state():
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, forget_h=True), r"forget gate multiplies h_\{t-1\}")


def test_lstm_cell_names_returned_old_cell_state():
    fails_with(check_lstm_cell, lambda x, h, c, p: (lstm_cell(x, h, c, p)[0], c), r"returned cell state is c_\{t-1\}")


def test_lstm_cell_names_outputs_in_wrong_order():
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, swap_out=True), r"return \(h_t, c_t\)")


def test_lstm_cell_names_one_wrong_weight():
    """A typo in one name: the forget gate reads W_hi."""
    names = {**{k: SEED_PARAMS[k] for k in GATE_ORDER}, "f": ("W_xf", "W_hi", "b_f")}
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, names=names), "forget gate f_t uses W_hi where W_hf belongs")


def test_lstm_cell_names_missing_bias():
    def wrong(x_t, h_prev, c_prev, p):
        return lstm_cell(x_t, h_prev, c_prev, {**p, "b_o": torch.zeros_like(p["b_o"])})

    fails_with(check_lstm_cell, wrong, "bias b_o is missing from the output gate")


def test_lstm_cell_probe_points_at_the_wrong_gate():
    """A mistake no rule knows (the forget gate squared): the probe with only f_t on names the forget gate."""
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, f_fn=lambda f: f * f), r"problem in the forget gate f_t")


def test_lstm_cell_probes_point_at_the_candidate():
    """A scaled tanh on the candidate: every probe that lets c~_t through fails, the forget gate's does not."""
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, g_act=lambda z: torch.tanh(2 * z)),
               r"problem in the candidate c~_t.*only candidate c~_t on")


def test_lstm_cell_probes_point_at_the_output_line():
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, cell_act=torch.sigmoid),
               r"c_t is right in every probe but h_t is not")


def test_lstm_cell_names_tanh_on_a_gate():
    fails_with(check_lstm_cell, lambda *a: lstm_cell(*a, i_act=torch.tanh), "input gate i_t goes through tanh")


def test_lstm_cell_names_wrong_shape():
    fails_with(check_lstm_cell, lambda *a: tuple(t.T for t in lstm_cell(*a)), r"h_t .* has shape \(4, 2\)")


# ------------------------------------------------------------------------------------------- fused cell


def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh, order="ifgo", g_act=torch.tanh):
    z = torch.addmm(xp_t, h_prev, weight_hh.T)
    gates = dict(zip(order, z.chunk(4, dim=1)))
    i, f, o = torch.sigmoid(gates["i"]), torch.sigmoid(gates["f"]), torch.sigmoid(gates["o"])
    c_t = f * c_prev + i * g_act(gates["g"])
    return o * torch.tanh(c_t), c_t


@pytest.mark.parametrize("hidden", [False, True])
def test_fused_lstm_cell_accepts_correct(hidden):
    check_fused_lstm_cell(fused_lstm_cell, hidden=hidden)


def test_fused_lstm_cell_names_the_seed_order():
    """Chunking as i, f, o, g (the order the seed lists its equations) instead of PyTorch's i, f, g, o."""
    fails_with(check_fused_lstm_cell, lambda *a: fused_lstm_cell(*a, order="ifog"),
               r"read in the wrong order: you used the blocks as i, f, o, g \(the order in which the seed")


def test_fused_lstm_cell_names_swapped_input_and_forget():
    fails_with(check_fused_lstm_cell, lambda *a: fused_lstm_cell(*a, order="figo"), r"blocks as f, i, g, o")


def test_fused_lstm_cell_names_sigmoid_on_candidate():
    fails_with(check_fused_lstm_cell, lambda *a: fused_lstm_cell(*a, g_act=torch.sigmoid), "goes through a sigmoid")


def test_fused_lstm_cell_names_untransposed_weight():
    fails_with(check_fused_lstm_cell, lambda xp, h, c, W: fused_lstm_cell(xp, h, c, W.T),
               r"RuntimeError.*h_prev @ weight_hh.T")


# ------------------------------------------------------------------------------------------- FusedLSTM


class FusedLSTM(nn.Module):
    """Written for the tests: keyword arguments switch one typical mistake on."""

    def __init__(self, input_size, hidden_size, forget_bias=1.0, *, bias_block=1, per_gate=False, carry=True,
                 time_major=False, ignore_state=False):
        super().__init__()
        H = hidden_size
        k = 1 / math.sqrt(H)
        self.weight_ih = nn.Parameter(torch.empty(4 * H, input_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(4 * H, H).uniform_(-k, k))
        self.bias = nn.Parameter(torch.zeros(4 * H))
        with torch.no_grad():
            self.bias[bias_block * H:(bias_block + 1) * H] = forget_bias
        self.per_gate, self.carry, self.time_major, self.ignore_state = per_gate, carry, time_major, ignore_state

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.weight_hh.shape[1]
        if state is None or self.ignore_state:
            state = (x.new_zeros(N, H), x.new_zeros(N, H))
        h, c = state
        xp = torch.addmm(self.bias, x.reshape(N * T, -1), self.weight_ih.T).view(N, T, 4 * H)
        outs = []
        for xp_t in xp.unbind(1):
            if self.per_gate:  # four products per step, one per gate
                z = torch.cat([h @ W.T for W in self.weight_hh.chunk(4)], 1) + xp_t
                h_new, c_new = fused_lstm_cell(z, h, c, torch.zeros_like(self.weight_hh))
            else:
                h_new, c_new = fused_lstm_cell(xp_t, h, c, self.weight_hh)
            if self.carry:
                h, c = h_new, c_new
            outs.append(h_new)
        out = torch.stack(outs, 0 if self.time_major else 1)
        return out, (h_new, c_new)


@pytest.mark.parametrize("hidden", [False, True])
def test_fused_lstm_accepts_correct(hidden):
    check_fused_lstm(FusedLSTM, hidden=hidden)


def test_fused_lstm_names_forget_bias_in_the_candidate_block():
    """The forget bias written into bias[2H:3H], the candidate's rows."""
    fails_with(check_fused_lstm, lambda D, H, forget_bias=1.0: FusedLSTM(D, H, forget_bias, bias_block=2),
               r"forget-gate bias bias\[H:2H\] should start at 1.0.*block of the candidate")


def test_fused_lstm_names_state_not_carried():
    fails_with(check_fused_lstm, lambda D, H, forget_bias=1.0: FusedLSTM(D, H, forget_bias, carry=False),
               "state is not carried")


def test_fused_lstm_names_ignored_initial_state():
    fails_with(check_fused_lstm, lambda D, H, forget_bias=1.0: FusedLSTM(D, H, forget_bias, ignore_state=True),
               r"initial state \(h0, c0\) .* is ignored", hidden=True)


def test_fused_lstm_names_time_major_output():
    fails_with(check_fused_lstm, lambda D, H, forget_bias=1.0: FusedLSTM(D, H, forget_bias, time_major=True),
               "batch-first")


def test_fused_lstm_names_a_product_per_gate():
    fails_with(check_fused_lstm, lambda D, H, forget_bias=1.0: FusedLSTM(D, H, forget_bias, per_gate=True),
               r"correct but not fused.*4 or more per step")


def test_fused_lstm_names_input_projection_inside_the_loop():
    class PerStep(FusedLSTM):
        def forward(self, x, state=None):
            N, T, _ = x.shape
            H = self.weight_hh.shape[1]
            h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
            outs = []
            for t in range(T):
                h, c = fused_lstm_cell(x[:, t] @ self.weight_ih.T + self.bias, h, c, self.weight_hh)
                outs.append(h)
            return torch.stack(outs, 1), (h, c)

    fails_with(check_fused_lstm, PerStep, r"correct but not fused.*about 2 per step")


def test_fused_lstm_names_nn_lstm_inside():
    class Wrapped(nn.Module):
        def __init__(self, D, H, forget_bias=1.0):
            super().__init__()
            self.lstm = nn.LSTM(D, H, batch_first=True)

        def forward(self, x, state=None):
            out, (h, c) = self.lstm(x)
            return out, (h[0], c[0])

    fails_with(check_fused_lstm, Wrapped, "contains an nn.LSTM")


# ------------------------------------------------------------------------------------------- gradient norms


def lstm_state_grad_norms(lstm, x, loss_of_last, wrt="h", reset_c=False):
    N, T, _ = x.shape
    H = lstm.hidden_size
    h = c = x.new_zeros(1, N, H)
    hs, cs = [], []
    for t in range(T):
        _, (h, c) = lstm(x[:, t:t + 1], (h, x.new_zeros(1, N, H) if reset_c else c))
        hs.append(h)
        cs.append(c)
    return state_grad_norms(loss_of_last(h[0]), hs if wrt == "h" else cs)


@pytest.mark.parametrize("hidden", [False, True])
def test_lstm_state_grad_norms_accepts_correct(hidden):
    check_lstm_state_grad_norms(lstm_state_grad_norms, hidden=hidden)


def test_lstm_state_grad_norms_names_one_call_over_the_whole_sequence():
    def wrong(lstm, x, loss_of_last):
        out, _ = lstm(x)
        states = list(out.unbind(1))
        return state_grad_norms(loss_of_last(states[-1]), states)

    fails_with(check_lstm_state_grad_norms, wrong, "ran nn.LSTM once over the whole sequence")


def test_lstm_state_grad_norms_names_cell_state_norms():
    fails_with(check_lstm_state_grad_norms, lambda *a: lstm_state_grad_norms(*a, wrt="c"), r"\|\|dL/dc_t\|\|")


def test_lstm_state_grad_norms_names_reset_cell_state():
    fails_with(check_lstm_state_grad_norms, lambda *a: lstm_state_grad_norms(*a, reset_c=True), "reset to zero")


def test_lstm_state_grad_norms_names_initial_state_included():
    def wrong(lstm, x, loss_of_last):
        N, T, _ = x.shape
        h = c = x.new_zeros(1, N, lstm.hidden_size).requires_grad_()
        hs = [h]
        for t in range(T):
            _, (h, c) = lstm(x[:, t:t + 1], (h, c))
            hs.append(h)
        return state_grad_norms(loss_of_last(h[0]), hs)

    fails_with(check_lstm_state_grad_norms, wrong, "includes h_0")


def test_lstm_state_grad_norms_names_reversed():
    fails_with(check_lstm_state_grad_norms, lambda *a: lstm_state_grad_norms(*a).flip(0), "reverse order")


# ------------------------------------------------------------------------------------------- documented order


def _seed_equations(x, h, c, p):
    """The seed's six equations, one gate at a time, in float64: the order-free ground truth."""
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
    """Stacking the seed's weights in GATE_ORDER = (i, f, g, o) gives nn.LSTMCell the seed's equations."""
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
    """The same stacked weights in nn.LSTM give the seed's equations at every step, and h_T, c_T."""
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
    return tuple("g" if letter == "c" else letter for letter in letters)  # the seed's c~ is PyTorch's g


@pytest.mark.parametrize("name", ["weight_ih", "weight_hh", "bias"])
def test_solution_docstrings_state_the_order_the_checks_use(name):
    """FusedLSTM's docstring states the order of its stacked blocks; it is the order the checks use."""
    assert _documented_order(_solution_sources(), name) == GATE_ORDER


def test_weights_stacked_in_the_documented_order_load_into_nn_lstm():
    """Stack the seed's weights in the order the notebook documents; nn.LSTM then computes the seed's equations."""
    text = _solution_sources()
    orders = {name: _documented_order(text, name) for name in ("weight_ih", "weight_hh", "bias")}
    gen = torch.Generator().manual_seed(2)
    D, H, N, T = 3, 4, 2, 4
    p = _random_seed_params(D, H, gen)
    x = torch.randn(N, T, D, generator=gen, dtype=torch.float64)
    lstm = nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, target, slot in (("weight_ih", lstm.weight_ih_l0, 0), ("weight_hh", lstm.weight_hh_l0, 1),
                                   ("bias", lstm.bias_ih_l0, 2)):
            target.copy_(torch.cat([p[SEED_PARAMS[k][slot]] for k in orders[name]]))
        lstm.bias_hh_l0.zero_()
    out, _ = lstm(x)
    h = c = torch.zeros(N, H, dtype=torch.float64)
    for t in range(T):
        h, c = _seed_equations(x[:, t], h, c, p)
    torch.testing.assert_close(out[:, -1], h)
