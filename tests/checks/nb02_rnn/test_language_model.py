"""Does check_rnn_lm accept an RNN language model that overfits a tiny set, and name why one does not?"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks.nb02_rnn import check_rnn_lm
from tests.checks.nb02_rnn._common import mistake, rnn_forward
from tests.conftest import fails_with


def make_lm(mistake: str | None = None):
    class RNNLM(nn.Module):
        def __init__(self, V, H):
            super().__init__()
            self.V = V
            bound = 1 / math.sqrt(H)

            def param(*shape):
                if mistake == "zero init":
                    return nn.Parameter(torch.zeros(*shape))
                return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

            self.W_xh, self.W_hh, self.b_h = param(H, V), param(H, H), param(H)
            self.W_hy, self.b_y = param(V, H), param(V)
            if mistake == "plain tensor":
                del self.W_hh
                self.W_hh = torch.zeros(H, H)

        def forward(self, ids, h0=None):
            x = F.one_hot(ids, self.V).to(self.W_xh.dtype)  # (N, T, V)
            if h0 is None:
                h0 = x.new_zeros(ids.shape[0], self.W_hh.shape[0])
            W_hh = self.W_hh.detach() if mistake == "detached W_hh" else self.W_hh
            if mistake == "state detached in the loop":
                h, states = h0, []
                for x_t in x.unbind(1):
                    h = torch.tanh(x_t @ self.W_xh.T + h.detach() @ W_hh.T + self.b_h)
                    states.append(h)
                hs, h_T = torch.stack(states, 1), h
            else:
                hs, h_T = rnn_forward(x, h0, self.W_xh, W_hh, self.b_h)
            if mistake == "logits from h_{t-1}":
                hs = torch.cat([h0[:, None], hs[:, :-1]], dim=1)
            return hs @ self.W_hy.T + self.b_y, h_T

    return RNNLM


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_lm_overfits_a_tiny_set(hidden):
    check_rnn_lm(make_lm(), hidden=hidden)


class _Frozen(make_lm()):
    def __init__(self, V, H):
        super().__init__(V, H)
        with torch.no_grad():
            for p in self.parameters():
                p.mul_(40)  # saturated tanh: the units are stuck at ±1 and the loss barely moves


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        mistake(make_lm, "zero init", "start at zero"),
        mistake(make_lm, "plain tensor", "no parameter named 'W_hh'"),
        mistake(make_lm, "detached W_hh", "W_hh gets no gradient"),
        mistake(make_lm, "logits from h_{t-1}", "computed from h_\\{t-1\\}"),
        mistake(make_lm, "state detached in the loop", "detached inside the time loop"),
        pytest.param(
            _Frozen, "did not|below 0.05|saturate|outside ±1/sqrt\\(H\\)", id="weights x40: saturated, does not learn"
        ),
    ],
)
def test_rnn_lm_names_mistakes(wrong, pattern):
    fails_with(check_rnn_lm, wrong, pattern)
