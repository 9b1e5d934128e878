"""Does each notebook-05 check accept a correct GRU cell, parameter count and fused GRU layer, and name the
typical mistakes (the Cho et al. variant, (1 - z) on the wrong term, swapped gates, one bias, the wrong
input size of stacked layers, an unfused layer)?  And is the documented gate order torch's?

The correct implementations here are written for the tests, independently of the solution notebook.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks.nb05_gru import (
    GATE_ORDER,
    check_count_params,
    check_fused_gru,
    check_gru_cell,
    gru_variant,
)
from tests.conftest import fails_with, stub

ALL_CHECKS = [check_gru_cell, check_count_params, check_fused_gru]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_hidden_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet", hidden=True)


# ------------------------------------------------------------------------------------------- gate order


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
        got = gru_variant(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    torch.testing.assert_close(got, expected)


# ------------------------------------------------------------------------------------------- GRU cell


def gru_cell(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    gi = x @ weight_ih.T + bias_ih
    gh = h_prev @ weight_hh.T + bias_hh
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h_prev


def _cell_with(**mistake):
    return lambda x, h, Wi, Wh, bi, bh: gru_variant(x, h, Wi, Wh, bi, bh, **mistake)


@pytest.mark.parametrize("hidden", [False, True])
def test_gru_cell_accepts_correct(hidden):
    check_gru_cell(gru_cell, hidden=hidden)


def test_gru_cell_accepts_grucell_itself():
    def via_torch(x, h, Wi, Wh, bi, bh):
        cell = nn.GRUCell(x.shape[1], h.shape[1], dtype=x.dtype)
        with torch.no_grad():
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (Wi, Wh, bi, bh)):
                getattr(cell, name).copy_(value)
        return cell(x, h)

    check_gru_cell(via_torch, hidden=True)


def test_gru_cell_recognises_cho_variant():
    fails_with(check_gru_cell, _cell_with(candidate="cho"), r"Cho et al\. variant.*before\* the matmul")


def test_gru_cell_recognises_cho_variant_written_by_hand():
    def cho(x, h, Wi, Wh, bi, bh):  # the seed's formula with separate names, as a learner writes it
        W_ir, W_iz, W_in = Wi.chunk(3)
        W_hr, W_hz, W_hn = Wh.chunk(3)
        b_ir, b_iz, b_in = bi.chunk(3)
        b_hr, b_hz, b_hn = bh.chunk(3)
        r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        return (1 - z) * n + z * h

    fails_with(check_gru_cell, cho, "Cho et al. variant", hidden=True)


def test_gru_cell_names_one_minus_z_on_wrong_term():
    fails_with(check_gru_cell, _cell_with(swap_update=True), r"\(1 - z\) is on the wrong term")


def test_gru_cell_names_swapped_gates():
    fails_with(check_gru_cell, _cell_with(swap_rz=True), "r/z swapped")


def test_gru_cell_names_bias_outside_reset():
    fails_with(check_gru_cell, _cell_with(candidate="bhn_outside"), "b_hn is outside the reset")


def test_gru_cell_names_missing_reset():
    fails_with(check_gru_cell, _cell_with(candidate="no_reset"), "reset gate is never applied")


def test_gru_cell_names_two_mistakes_together():
    message = fails_with(check_gru_cell, _cell_with(candidate="cho", swap_update=True), "several mistakes")
    assert "Cho et al. variant" in message and "(1 - z) is on the wrong term" in message


def test_gru_cell_unnamed_mistake_gets_numbers_and_hint():
    def sigmoid_candidate(x, h, Wi, Wh, bi, bh):
        H = h.shape[1]
        gi, gh = x @ Wi.T + bi, h @ Wh.T + bh
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = torch.sigmoid(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h

    fails_with(check_gru_cell, sigmoid_candidate, r"max relative error.*n\s+uses tanh")


def test_gru_cell_names_wrong_shape():
    fails_with(check_gru_cell, lambda x, h, *w: gru_cell(x, h, *w).T, r"shape \(5, 3\).*transposed")


# ------------------------------------------------------------------------------------------- parameter counts

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def count_params(kind, input_size, hidden_size, num_layers=1, bias=True):
    g, H = GATES[kind], hidden_size
    total = 0
    for layer in range(num_layers):
        inputs = input_size if layer == 0 else H
        total += g * H * (inputs + H) + (2 * g * H if bias else 0)
    return total


@pytest.mark.parametrize("hidden", [False, True])
def test_count_params_accepts_correct(hidden):
    check_count_params(count_params, hidden=hidden)


def test_count_params_accepts_counting_torch_modules():
    def by_torch(kind, input_size, hidden_size, num_layers=1, bias=True):
        module = getattr(nn, kind)(input_size, hidden_size, num_layers=num_layers, bias=bias)
        return sum(p.numel() for p in module.parameters())

    check_count_params(by_torch)


def test_count_params_names_one_bias():
    def one_bias(kind, input_size, hidden_size, num_layers=1, bias=True):
        g, H = GATES[kind], hidden_size
        return sum(g * H * ((input_size if l == 0 else H) + H) + (g * H if bias else 0) for l in range(num_layers))

    fails_with(check_count_params, one_bias, r"one bias instead of\s+two")


def test_count_params_names_input_size_in_every_layer():
    def layer_input(kind, input_size, hidden_size, num_layers=1, bias=True):
        g, H = GATES[kind], hidden_size
        return num_layers * (g * H * (input_size + H) + (2 * g * H if bias else 0))

    fails_with(check_count_params, layer_input, r"wrong layer\s+input size")


def test_count_params_names_wrong_gate_multiplier():
    wrong_gates = {"RNN": 1, "GRU": 4, "LSTM": 4}

    def gates(kind, input_size, hidden_size, num_layers=1, bias=True):
        return count_params("LSTM" if kind == "GRU" else kind, input_size, hidden_size, num_layers, bias)

    assert wrong_gates["GRU"] == 4
    fails_with(check_count_params, gates, r"wrong gate multiplier.*fits 4 blocks for a GRU")


def test_count_params_names_bias_counted_when_disabled():
    fails_with(check_count_params, lambda k, i, h, num_layers=1, bias=True: count_params(k, i, h, num_layers, True),
               "with bias=False there are no bias vectors")


def test_count_params_names_one_layer():
    fails_with(check_count_params, lambda k, i, h, num_layers=1, bias=True: count_params(k, i, h, 1, bias),
               "your count is that of one layer")


def test_count_params_names_float_that_is_not_a_count():
    fails_with(check_count_params, lambda *a, **k: count_params(*a, **k) + 0.5, "should return an int")


def test_count_params_accepts_integral_float():
    check_count_params(lambda *a, **k: float(count_params(*a, **k)))


# ------------------------------------------------------------------------------------------- fused GRU layer


class FusedGRU(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        k = 1 / math.sqrt(hidden_size)
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size).uniform_(-k, k))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))

    def forward(self, x, h0=None):
        N, T, _ = x.shape
        h = x.new_zeros(N, self.hidden_size) if h0 is None else h0
        gi_all = x @ self.weight_ih.T + self.bias_ih  # (N, T, 3H), all steps at once
        outs = []
        for gi in gi_all.unbind(1):
            gh = h @ self.weight_hh.T + self.bias_hh  # (N, 3H)
            i_r, i_z, i_n = gi.chunk(3, 1)
            h_r, h_z, h_n = gh.chunk(3, 1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs, 1), h


@pytest.mark.parametrize("hidden", [False, True])
def test_fused_gru_accepts_correct(hidden):
    check_fused_gru(FusedGRU, hidden=hidden)


class UnfusedGRU(FusedGRU):
    """Right numbers, but the input projection is computed inside the loop (2 matmuls per step)."""

    def forward(self, x, h0=None):
        N, T, _ = x.shape
        h = x.new_zeros(N, self.hidden_size) if h0 is None else h0
        outs = []
        for x_t in x.unbind(1):
            h = gru_cell(x_t, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_names_input_projection_in_loop():
    fails_with(check_fused_gru, UnfusedGRU, "input projection inside the loop")


class PerGateGRU(FusedGRU):
    """Right numbers, but the hidden projection is three matmuls per step, one per gate."""

    def forward(self, x, h0=None):
        N, T, _ = x.shape
        H = self.hidden_size
        h = x.new_zeros(N, H) if h0 is None else h0
        gi_all = x @ self.weight_ih.T + self.bias_ih
        W_hr, W_hz, W_hn = self.weight_hh.chunk(3)
        b_hr, b_hz, b_hn = self.bias_hh.chunk(3)
        outs = []
        for gi in gi_all.unbind(1):
            r = torch.sigmoid(gi[:, :H] + h @ W_hr.T + b_hr)
            z = torch.sigmoid(gi[:, H:2 * H] + h @ W_hz.T + b_hz)
            n = torch.tanh(gi[:, 2 * H:] + r * (h @ W_hn.T + b_hn))
            h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_names_one_matmul_per_gate():
    fails_with(check_fused_gru, PerGateGRU, "gates multiplied one at a time")


class ChoGRU(FusedGRU):
    def forward(self, x, h0=None):
        N, T, _ = x.shape
        h = x.new_zeros(N, self.hidden_size) if h0 is None else h0
        outs = []
        for x_t in x.unbind(1):
            h = gru_variant(x_t, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, candidate="cho")
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_recognises_cho_variant():
    fails_with(check_fused_gru, ChoGRU, "Cho et al. variant")


class SwappedUpdateGRU(FusedGRU):
    def forward(self, x, h0=None):
        N, T, _ = x.shape
        h = x.new_zeros(N, self.hidden_size) if h0 is None else h0
        outs = []
        for x_t in x.unbind(1):
            h = gru_variant(x_t, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, swap_update=True)
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_names_one_minus_z_on_wrong_term():
    fails_with(check_fused_gru, SwappedUpdateGRU, r"\(1 - z\) is on the wrong term")


class PlainTensorGRU(FusedGRU):
    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        weight_ih = self.weight_ih.detach()
        del self.weight_ih
        self.weight_ih = weight_ih  # a plain tensor: not registered, an optimiser would never see it


def test_fused_gru_names_unregistered_parameter():
    fails_with(check_fused_gru, PlainTensorGRU, "no parameter named weight_ih.*wrap them in nn.Parameter")


class TransposedGRU(FusedGRU):
    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.zeros(input_size, 3 * hidden_size))


def test_fused_gru_names_transposed_weight():
    fails_with(check_fused_gru, TransposedGRU, r"weight_ih has shape \(3, 12\).*transposed")


class TimeMajorGRU(FusedGRU):
    def forward(self, x, h0=None):
        out, h = super().forward(x, h0)
        return out.transpose(0, 1), h


def test_fused_gru_names_time_major_output():
    fails_with(check_fused_gru, TimeMajorGRU, r"\(T, N, H\).*batch-first")


class NumLayersFirstGRU(FusedGRU):
    def forward(self, x, h0=None):
        out, h = super().forward(x, h0)
        return out, h[None]


def test_fused_gru_names_h_n_with_layer_dimension():
    fails_with(check_fused_gru, NumLayersFirstGRU, r"\(1, N, H\) like nn.GRU's h_n")


class FirstStateGRU(FusedGRU):
    def forward(self, x, h0=None):
        out, h = super().forward(x, h0)
        return out, out[:, 0]


def test_fused_gru_names_first_instead_of_last_state():
    fails_with(check_fused_gru, FirstStateGRU, r"return the \*last\* state")


class DetachedGRU(FusedGRU):
    """Right numbers, but the graph is cut: the gradients are wrong (hidden gradient case)."""

    def forward(self, x, h0=None):
        out, h = super().forward(x, h0)
        return out.detach().requires_grad_(), h


def test_fused_gru_hidden_checks_gradients():
    check_fused_gru(DetachedGRU)  # the visible cases only look at values
    fails_with(check_fused_gru, DetachedGRU, r"gradient of weight_ih", hidden=True)


# ------------------------------------------------------------------------------------------- other seeds


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_checks_do_not_depend_on_the_seed(seed):
    """Grading draws its own secret seeds: right answers pass and mistakes are still named on any of them."""
    for check, right in ((check_gru_cell, gru_cell), (check_count_params, count_params), (check_fused_gru, FusedGRU)):
        check(right, hidden=True, seed=seed)
    for fn, pattern in ((_cell_with(candidate="cho"), "Cho et al. variant"),
                        (_cell_with(swap_update=True), r"\(1 - z\) is on the wrong term"),
                        (_cell_with(swap_rz=True), "r/z swapped")):
        with pytest.raises(AssertionError, match=pattern):
            check_gru_cell(fn, hidden=True, seed=seed)


class GRUCellInsideGRU(FusedGRU):
    """Right numbers, but nn.GRUCell does the work."""

    def forward(self, x, h0=None):
        cell = nn.GRUCell(x.shape[2], self.hidden_size, dtype=x.dtype)
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = (self.weight_ih, self.weight_hh, self.bias_ih,
                                                                      self.bias_hh)
        h = x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0
        outs = []
        for x_t in x.unbind(1):
            h = cell(x_t, h)
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_names_calling_torchs_gru():
    fails_with(check_fused_gru, GRUCellInsideGRU, "calls nn.GRU or nn.GRUCell")


class LinearGRU(FusedGRU):
    """Fused with F.linear instead of @: the count sees it too, and it passes."""

    def forward(self, x, h0=None):
        h = x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0
        outs = []
        for gi in F.linear(x, self.weight_ih, self.bias_ih).unbind(1):
            gh = F.linear(h, self.weight_hh, self.bias_hh)
            i_r, i_z, i_n = gi.chunk(3, 1)
            h_r, h_z, h_n = gh.chunk(3, 1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            h = (1 - z) * torch.tanh(i_n + r * h_n) + z * h
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_accepts_f_linear():
    check_fused_gru(LinearGRU, hidden=True)


def test_fused_gru_counts_f_linear_in_the_loop():
    class LinearInLoop(FusedGRU):
        def forward(self, x, h0=None):
            h = x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0
            outs = []
            for x_t in x.unbind(1):
                gi, gh = F.linear(x_t, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)
                i_r, i_z, i_n = gi.chunk(3, 1)
                h_r, h_z, h_n = gh.chunk(3, 1)
                r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
                h = (1 - z) * torch.tanh(i_n + r * h_n) + z * h
                outs.append(h)
            return torch.stack(outs, 1), h

    fails_with(check_fused_gru, LinearInLoop, "input projection inside the loop")


class NoGradGRU(FusedGRU):
    def forward(self, x, h0=None):
        with torch.no_grad():
            return super().forward(x, h0)


def test_fused_gru_names_a_forward_without_graph():
    fails_with(check_fused_gru, NoGradGRU, "no gradient reaches weight_ih", hidden=True)


def test_fused_gru_judge_refuses_malformed_results():
    """What comes back from a learner's kernel is untrusted: a malformed result is a CheckFailure, not a crash."""
    from course_lib.checks.core import CheckFailure
    from course_lib.checks.nb05_gru import FUSED_GRU

    cases = FUSED_GRU.cases(0, False)
    right = {"weight_ih": [12, 3], "weight_hh": [12, 4], "bias_ih": [12], "bias_hh": [12]}
    for bad in ({}, {"parameters": []}, {"parameters": right, "out": None}, "text"):
        with pytest.raises(CheckFailure, match="unexpected result"):
            FUSED_GRU.judge(cases, {name: bad for name in cases})
