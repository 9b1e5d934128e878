"""Does check_rnn_backward accept BPTT by hand, state its tolerance, and name each classic mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.compare import rel_error
from course_lib.checks.nb02_rnn import check_rnn_backward
from course_lib.checks.nb02_rnn.bptt import _GRAD_NAMES, BPTT_RTOL
from tests.checks.nb02_rnn._common import mistake, rnn_forward
from tests.conftest import fails_with


def make_backward(mistake: str | None = None):
    """BPTT by hand; ``mistake`` switches on one classic error."""

    def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
        N, T, D = x.shape
        zeros = torch.zeros if mistake == "float32 accumulators" else None
        dW_xh = zeros(W_xh.shape) if zeros else torch.zeros_like(W_xh)
        dW_hh, db_h, dx = torch.zeros_like(W_hh), torch.zeros_like(b_h), torch.zeros_like(x)
        dh_next = {"started at ones": torch.ones_like(h0), "started at dhs[:, -1]": dhs[:, -1].clone()}.get(
            mistake, torch.zeros_like(h0)
        )
        order = range(T) if mistake == "forward loop" else reversed(range(T))
        dh = None
        for t in order:
            h_prev = hs[:, t - 1] if t > 0 else h0
            if mistake == "no carry":
                dh = dhs[:, t].clone()
            elif mistake == "in-place on dhs":
                dh = dhs[:, t]
                dh += dh_next
            else:
                dh = dhs[:, t] + dh_next
            local = 1 if mistake == "no tanh derivative" else (1 - hs[:, t] ** 2)
            da = dh * local
            if mistake == "assign instead of accumulate":
                dW_xh, dW_hh, db_h = da.T @ x[:, t], da.T @ h_prev, da.sum(0)
            else:
                dW_xh += da.T @ x[:, t]
                dW_hh += da.T @ (hs[:, t] if mistake == "dW_hh with h_t" else h_prev)
                db_h += da.sum(0)
            dx[:, t] = da @ W_xh
            dh_next = da @ W_hh
        grads = {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}
        if mistake == "no dh0":
            del grads["dh0"]
        if mistake == "dh0 = dh at t=1":
            grads["dh0"] = dh
        if mistake == "tuple":
            return tuple(grads.values())
        return grads

    return rnn_backward


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_backward_accepts_correct(hidden):
    check_rnn_backward(make_backward(), hidden=hidden)


def test_rnn_backward_passes_torch_gradcheck():
    """The reference the check uses is autograd; the test implementation also passes torch's gradcheck."""
    g = torch.Generator().manual_seed(0)
    x, h0 = torch.randn(2, 3, 2, generator=g, dtype=torch.float64), torch.randn(2, 4, generator=g, dtype=torch.float64)
    W_xh, W_hh = (
        torch.randn(4, 2, generator=g, dtype=torch.float64),
        torch.randn(4, 4, generator=g, dtype=torch.float64),
    )
    b, dhs = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    leaves = [t.clone().requires_grad_() for t in (x, h0, W_xh, W_hh, b)]
    hs, _ = rnn_forward(*leaves)
    auto = torch.autograd.grad((hs * dhs).sum(), leaves)
    mine = make_backward()(x, h0, W_xh, W_hh, b, hs.detach(), dhs)
    for name, a in zip(_GRAD_NAMES, auto):
        assert rel_error(mine[name], a) < BPTT_RTOL


def _slightly_off(*args):
    grads = make_backward()(*args)
    return {**grads, "dW_hh": grads["dW_hh"] * (1 + 1e-6)}


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        mistake(make_backward, "no carry", "gradient flowing back from step t\\+1 is not added"),
        mistake(make_backward, "started at ones", "not started at zero"),
        mistake(make_backward, "started at dhs[:, -1]", "not started at zero"),
        mistake(make_backward, "no dh0", "returned no dh0"),
        mistake(make_backward, "dh0 = dh at t=1", "dh0 is the gradient with respect to h_1"),
        mistake(make_backward, "forward loop", "the time loop runs forward"),
        mistake(make_backward, "no tanh derivative", "tanh's derivative"),
        mistake(make_backward, "dW_hh with h_t", "dW_hh pairs da_t with h_t"),
        mistake(make_backward, "assign instead of accumulate", "accumulate"),
        mistake(make_backward, "float32 accumulators", "dtype torch.float32"),
        mistake(make_backward, "in-place on dhs", "modified its input 'dhs' in place"),
        mistake(make_backward, "tuple", "dict with keys"),
        pytest.param(_slightly_off, "tolerance rtol=1e-08", id="dW_hh off by 1e-6: the message states the tolerance"),
    ],
)
def test_rnn_backward_names_classic_mistakes(wrong, pattern):
    fails_with(check_rnn_backward, wrong, pattern)
