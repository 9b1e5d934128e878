"""Does ``check_fused_gru`` accept a fused GRU layer written with ``F.linear``, refuse malformed results, and
name the typical mistakes: an unfused layer (input projection in the loop, one matmul per gate, torch's own
GRU), the wrong formula, unregistered or transposed parameters, outputs of the wrong shape, the first state
for the last, and a forward pass whose gradients are wrong or missing?"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks.core import CheckFailure
from course_lib.checks.nb05_gru import check_fused_gru, gru_variant
from course_lib.checks.nb05_gru.fused_gru import FUSED_GRU
from tests.checks.nb05_gru.answers import FusedGRU, gru_cell, gru_update, run_steps
from tests.conftest import fails_with


class LinearGRU(FusedGRU):
    """Fused with F.linear instead of @: the count sees it too, and it passes."""

    def forward(self, x, h0=None):
        return run_steps(
            lambda gi, h: gru_update(gi, F.linear(h, self.weight_hh, self.bias_hh), h),
            F.linear(x, self.weight_ih, self.bias_ih),
            self.initial_state(x, h0),
        )


def test_fused_gru_accepts_f_linear():
    check_fused_gru(LinearGRU, hidden=True)


# ------------------------------------------------------------------------------------------- wrong layers


class UnfusedGRU(FusedGRU):
    """Right numbers, but the input projection is computed inside the loop (2 matmuls per step)."""

    def forward(self, x, h0=None):
        return run_steps(lambda x_t, h: gru_cell(x_t, h, *self.weights()), x, self.initial_state(x, h0))


class LinearInLoop(FusedGRU):
    """The same with F.linear: the count sees it too."""

    def forward(self, x, h0=None):
        return run_steps(
            lambda x_t, h: gru_update(
                F.linear(x_t, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh), h
            ),
            x,
            self.initial_state(x, h0),
        )


class PerGateGRU(FusedGRU):
    """Right numbers, but the hidden projection is three matmuls per step, one per gate."""

    def forward(self, x, h0=None):
        H = self.hidden_size
        gi_all = x @ self.weight_ih.T + self.bias_ih
        W_hr, W_hz, W_hn = self.weight_hh.chunk(3)
        b_hr, b_hz, b_hn = self.bias_hh.chunk(3)

        def step(gi, h):
            r = torch.sigmoid(gi[:, :H] + h @ W_hr.T + b_hr)
            z = torch.sigmoid(gi[:, H : 2 * H] + h @ W_hz.T + b_hz)
            n = torch.tanh(gi[:, 2 * H :] + r * (h @ W_hn.T + b_hn))
            return (1 - z) * n + z * h

        return run_steps(step, gi_all, self.initial_state(x, h0))


class GRUCellInsideGRU(FusedGRU):
    """Right numbers, but nn.GRUCell does the work."""

    def forward(self, x, h0=None):
        cell = nn.GRUCell(x.shape[2], self.hidden_size, dtype=x.dtype)
        cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = self.weights()
        return run_steps(cell, x, self.initial_state(x, h0))


def _stepping_with(**mistake):
    """A layer that steps with one of the judge's wrong formulas (:func:`gru_variant`)."""

    class VariantGRU(FusedGRU):
        def forward(self, x, h0=None):
            return run_steps(
                lambda x_t, h: gru_variant(x_t, h, *self.weights(), **{"candidate": "torch", **mistake}),
                x,
                self.initial_state(x, h0),
            )

    return VariantGRU


class PlainTensorGRU(FusedGRU):
    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        weight_ih = self.weight_ih.detach()
        del self.weight_ih
        self.weight_ih = weight_ih  # a plain tensor: not registered, an optimiser would never see it


class TransposedGRU(FusedGRU):
    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.zeros(input_size, 3 * hidden_size))


def _returning(outputs):
    """A layer with right numbers whose forward returns ``outputs(out, h_T)`` instead of (out, h_T)."""

    class ReshapedGRU(FusedGRU):
        def forward(self, x, h0=None):
            return outputs(*super().forward(x, h0))

    return ReshapedGRU


# each wrong layer and what the check must call it
NAMED_MISTAKES = [
    pytest.param(UnfusedGRU, "input projection inside the loop", id="input_projection_in_loop"),
    pytest.param(LinearInLoop, "input projection inside the loop", id="f_linear_in_the_loop"),
    pytest.param(PerGateGRU, "gates multiplied one at a time", id="one_matmul_per_gate"),
    pytest.param(GRUCellInsideGRU, "calls nn.GRU or nn.GRUCell", id="calling_torchs_gru"),
    pytest.param(_stepping_with(candidate="cho"), "Cho et al. variant", id="cho_variant"),
    pytest.param(_stepping_with(swap_update=True), r"\(1 - z\) is on the wrong term", id="one_minus_z_on_wrong_term"),
    pytest.param(
        PlainTensorGRU, "no parameter named weight_ih.*wrap them in nn.Parameter", id="unregistered_parameter"
    ),
    pytest.param(TransposedGRU, r"weight_ih has shape \(3, 12\).*transposed", id="transposed_weight"),
    pytest.param(
        _returning(lambda out, h: (out.transpose(0, 1), h)), r"\(T, N, H\).*batch-first", id="time_major_output"
    ),
    pytest.param(
        _returning(lambda out, h: (out, h[None])), r"\(1, N, H\) like nn.GRU's h_n", id="h_n_with_layer_dimension"
    ),
    pytest.param(
        _returning(lambda out, h: (out, out[:, 0])), r"return the \*last\* state", id="first_instead_of_last_state"
    ),
]


@pytest.mark.parametrize("layer, pattern", NAMED_MISTAKES)
def test_fused_gru_names_the_mistake(layer, pattern):
    fails_with(check_fused_gru, layer, pattern)


# ------------------------------------------------------------------------------------------- gradients


def test_fused_gru_checks_gradients_in_the_visible_cases():
    """Right numbers, but the graph is cut: the gradients are wrong, and a learner sees it before grading."""
    detached = _returning(lambda out, h: (out.detach().requires_grad_(), h))
    fails_with(check_fused_gru, detached, r"gradient with respect to weight_ih")


class DetachedStateGRU(FusedGRU):
    """The state detached inside the time loop: right values, no gradient through time."""

    def forward(self, x, h0=None):
        gi_all = x @ self.weight_ih.T + self.bias_ih
        return run_steps(
            lambda gi, h: gru_update(gi, h.detach() @ self.weight_hh.T + self.bias_hh, h.detach()),
            gi_all,
            self.initial_state(x, h0),
        )


class KeepsStateGRU(FusedGRU):
    """With h0=None, starts from the state the previous call ended in."""

    def forward(self, x, h0=None):
        out, h = super().forward(x, h0 if h0 is not None else getattr(self, "kept", None))
        self.kept = h.detach()
        return out, h


class ZeroBiasGRU(FusedGRU):
    """Biases initialised to zero: the docstring says uniform in ±1/sqrt(H), as torch's."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        nn.init.zeros_(self.bias_ih)
        nn.init.zeros_(self.bias_hh)


class NormalInitGRU(FusedGRU):
    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size)
        for p in self.parameters():
            nn.init.normal_(p)


class CpuZerosGRU(FusedGRU):
    """With h0=None, starts from torch.zeros(N, H) made without device=: on the CPU whatever x's device."""

    def initial_state(self, x, h0):
        return torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype) if h0 is None else h0


class EinsumInPlaceGRU(FusedGRU):
    """A correct alternative: einsum for the projections, in-place ops on fresh tensors."""

    def forward(self, x, h0=None):
        gi_all = torch.einsum("ntd,gd->ntg", x, self.weight_ih).add_(self.bias_ih)  # in place on a new tensor

        def step(gi, h):
            gh = torch.einsum("nh,gh->ng", h, self.weight_hh) + self.bias_hh
            return gru_update(gi, gh, h)

        return run_steps(step, gi_all, self.initial_state(x, h0))


@pytest.mark.parametrize(
    "layer, pattern",
    [
        pytest.param(DetachedStateGRU, "detached inside the time loop", id="state_detached_in_the_loop"),
        pytest.param(KeepsStateGRU, "started from the final state of the previous call", id="state_kept_between_calls"),
        pytest.param(ZeroBiasGRU, r"bias_ih should start uniform in \[-1/sqrt\(H\), 1/sqrt\(H\)\]", id="zero_biases"),
        pytest.param(NormalInitGRU, r"weight_ih should start uniform", id="normal_initialisation"),
        pytest.param(
            CpuZerosGRU, r"calls torch\.zeros\(\.\.\.\) without device=.*device=x\.device", id="zeros_on_the_cpu"
        ),
    ],
)
def test_fused_gru_names_what_the_docstring_promises(layer, pattern):
    fails_with(check_fused_gru, layer, pattern)


class IndexedStepsGRU(FusedGRU):
    """Correct but slow: gi_all[:, t] inside the loop."""

    def forward(self, x, h0=None):
        gi_all, h, outs = x @ self.weight_ih.T + self.bias_ih, self.initial_state(x, h0), []
        for t in range(x.shape[1]):
            h = gru_update(gi_all[:, t], h @ self.weight_hh.T + self.bias_hh, h)
            outs.append(h)
        return torch.stack(outs, 1), h


def test_fused_gru_slow_indexing_passes_with_a_note(capsys):
    check_fused_gru(IndexedStepsGRU, hidden=True)
    printed = capsys.readouterr().out
    assert "✓ FusedGRU" in printed and "note:" in printed and "unbind(1)" in printed


def test_fused_gru_accepts_einsum_and_in_place_ops():
    check_fused_gru(EinsumInPlaceGRU)
    check_fused_gru(EinsumInPlaceGRU, hidden=True)


class NoGradGRU(FusedGRU):
    def forward(self, x, h0=None):
        with torch.no_grad():
            return super().forward(x, h0)


def test_fused_gru_names_a_forward_without_graph():
    fails_with(check_fused_gru, NoGradGRU, "no gradient reaches any input or parameter")


# ------------------------------------------------------------------------------------------- the judge

RIGHT_PARAMETERS = {"weight_ih": [12, 3], "weight_hh": [12, 4], "bias_ih": [12], "bias_hh": [12]}


@pytest.mark.parametrize(
    "bad",
    [{}, {"parameters": []}, {"parameters": RIGHT_PARAMETERS, "out": None}, "text"],
    ids=["empty_dict", "parameters_not_a_dict", "outputs_missing", "not_a_dict"],
)
def test_fused_gru_judge_refuses_malformed_results(bad):
    """What comes back from a learner's kernel is untrusted: a malformed result is a CheckFailure, not a crash."""
    cases = FUSED_GRU.cases(0, False)
    with pytest.raises(CheckFailure, match="unexpected result"):
        FUSED_GRU.judge(cases, {name: bad for name in cases})
