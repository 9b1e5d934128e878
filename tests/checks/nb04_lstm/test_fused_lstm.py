"""Does check_fused_lstm accept a correct FusedLSTM layer and name each typical mistake?

The layer here is written for the tests (not imported from the solution notebook), from the fused cell of
test_fused_lstm_cell.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from course_lib.checks.nb04_lstm import check_fused_lstm
from tests.checks.nb04_lstm.test_fused_lstm_cell import fused_lstm_cell
from tests.conftest import fails_with, stub


class FusedLSTM(nn.Module):
    """Written for the tests: keyword arguments switch one typical mistake on."""

    def __init__(
        self,
        input_size,
        hidden_size,
        forget_bias=1.0,
        *,
        bias_block=1,
        per_gate=False,
        carry=True,
        time_major=False,
        ignore_state=False,
        cpu_zeros=False,
    ):
        super().__init__()
        H = hidden_size
        k = 1 / math.sqrt(H)
        self.weight_ih = nn.Parameter(torch.empty(4 * H, input_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(4 * H, H).uniform_(-k, k))
        self.bias = nn.Parameter(torch.zeros(4 * H))
        with torch.no_grad():
            self.bias[bias_block * H : (bias_block + 1) * H] = forget_bias
        self.per_gate, self.carry, self.time_major, self.ignore_state = per_gate, carry, time_major, ignore_state
        self.cpu_zeros = cpu_zeros  # the initial state made without device=: on the CPU whatever x's device

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.weight_hh.shape[1]
        if state is None and self.cpu_zeros:
            state = (torch.zeros(N, H, dtype=x.dtype), torch.zeros(N, H, dtype=x.dtype))
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


def with_mistake(**mistake):
    return lambda D, H, forget_bias=1.0: FusedLSTM(D, H, forget_bias, **mistake)


class PerStepProjection(FusedLSTM):
    """Projects x_t inside the loop: two products per step instead of one."""

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.weight_hh.shape[1]
        h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
        outs = []
        for t in range(T):
            h, c = fused_lstm_cell(x[:, t] @ self.weight_ih.T + self.bias, h, c, self.weight_hh)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


class WrappedNNLSTM(nn.Module):
    """nn.LSTM inside: right numbers, but not the exercise."""

    def __init__(self, D, H, forget_bias=1.0):
        super().__init__()
        self.lstm = nn.LSTM(D, H, batch_first=True)

    def forward(self, x, state=None):
        out, (h, c) = self.lstm(x)
        return out, (h[0], c[0])


class DetachedState(FusedLSTM):
    """The state detached inside the time loop: right values, no gradient through time."""

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.weight_hh.shape[1]
        h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
        outs = []
        for xp_t in (x @ self.weight_ih.T + self.bias).unbind(1):
            h, c = fused_lstm_cell(xp_t, h.detach(), c.detach(), self.weight_hh)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


class KeepsState(FusedLSTM):
    """With state=None, starts from the state the previous call ended in."""

    def forward(self, x, state=None):
        out, (h, c) = super().forward(x, state if state is not None else getattr(self, "kept", None))
        self.kept = (h.detach(), c.detach())
        return out, (h, c)


class IndexedSteps(FusedLSTM):
    """Correct but slow: xp[:, t] in the loop (the pattern notebook 04 teaches against)."""

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.weight_hh.shape[1]
        h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
        xp = torch.einsum("ntd,gd->ntg", x, self.weight_ih) + self.bias  # einsum: an alternative product
        outs = []
        for t in range(T):
            h, c = fused_lstm_cell(xp[:, t], h, c, self.weight_hh)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


@pytest.mark.parametrize("hidden", [False, True])
def test_fused_lstm_accepts_correct(hidden):
    check_fused_lstm(FusedLSTM, hidden=hidden)


def test_slow_indexing_passes_with_a_note(capsys):
    """xp[:, t] is right: a ✓ (no lost points) with a note that points at xp.unbind(1)."""
    check_fused_lstm(IndexedSteps, hidden=True)
    printed = capsys.readouterr().out
    assert "✓ FusedLSTM" in printed and "note:" in printed and "xp.unbind(1)" in printed
    check_fused_lstm(FusedLSTM)
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched_stub"),
        # the forget bias written into bias[2H:3H], the candidate's rows
        pytest.param(
            with_mistake(bias_block=2),
            r"forget-gate bias bias\[H:2H\] should start at 1.0.*block of the candidate",
            False,
            id="forget_bias_in_the_candidate_block",
        ),
        pytest.param(with_mistake(carry=False), "state is not carried", False, id="state_not_carried"),
        pytest.param(
            with_mistake(ignore_state=True),
            r"initial state \(h0, c0\) .* is ignored",
            False,
            id="ignored_initial_state",
        ),
        pytest.param(DetachedState, "detached inside the time loop", False, id="state_detached_in_the_loop"),
        pytest.param(
            KeepsState, "started from the final state of the previous call", False, id="state_kept_between_calls"
        ),
        pytest.param(with_mistake(time_major=True), "batch-first", False, id="time_major_output"),
        pytest.param(
            with_mistake(per_gate=True), r"correct but not fused.*4 or more per step", False, id="a_product_per_gate"
        ),
        pytest.param(
            PerStepProjection, r"correct but not fused.*about 2 per step", False, id="input_projection_inside_the_loop"
        ),
        pytest.param(WrappedNNLSTM, "contains an nn.LSTM", False, id="nn_lstm_inside"),
        pytest.param(
            with_mistake(cpu_zeros=True),
            r"calls torch\.zeros\(\.\.\.\) without device=.*device=x\.device",
            False,
            id="zeros_on_the_cpu",
        ),
    ],
)
def test_fused_lstm_names_the_mistake(wrong, pattern, hidden):
    fails_with(check_fused_lstm, wrong, pattern, hidden=hidden)


def test_an_unwritten_fused_lstm_cell_is_blamed_not_fused_lstm(monkeypatch):
    """Issue 23: with FusedLSTM written but fused_lstm_cell (exercise 2) not, the check blamed FusedLSTM."""

    def fused_lstm_cell(*args):  # exercise 2's untouched stub, which FusedLSTM calls
        raise NotImplementedError()

    monkeypatch.setitem(globals(), "fused_lstm_cell", fused_lstm_cell)
    message = fails_with(check_fused_lstm, FusedLSTM, "FusedLSTM calls fused_lstm_cell, which is not implemented")
    assert "FusedLSTM is not implemented" not in message
