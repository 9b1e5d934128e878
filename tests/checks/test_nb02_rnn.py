"""Does each notebook-02 check accept a correct implementation and name the classic mistakes?

The correct implementations here are written for the tests (not imported from the solution notebook).  Each
mistake is the smallest change to a correct implementation that a learner typically makes; the test asserts
the check's message names it.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks import nb02_rnn
from course_lib.checks.nb02_rnn import (
    check_rnn_backward,
    check_rnn_cell,
    check_rnn_forward,
    check_rnn_lm,
    check_sample,
    check_tbptt,
)
from tests.conftest import fails_with, stub

ALL_CHECKS = [check_rnn_cell, check_rnn_forward, check_rnn_backward, check_tbptt, check_sample, check_rnn_lm]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


def test_registry_lists_every_exercise_once():
    assert [ex.name for ex in nb02_rnn.EXERCISES] == ["rnn_cell", "rnn_forward", "rnn_backward", "tbptt", "sample",
                                                      "rnn_lm"]


# ------------------------------------------------------------------------------------------- rnn_cell


def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_cell_accepts_correct(hidden):
    check_rnn_cell(rnn_cell, hidden=hidden)


def test_rnn_cell_accepts_column_vector_form():
    """The seed's W @ x_t on columns is the same computation as x_t @ W.T on rows."""
    check_rnn_cell(lambda x, h, W_xh, W_hh, b: torch.tanh(W_xh @ x.T + W_hh @ h.T + b[:, None]).T, hidden=True)


@pytest.mark.parametrize("wrong, pattern", [
    (lambda x, h, W_xh, W_hh, b: x @ W_xh.T + h @ W_hh.T + b, "tanh missing"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h + b), "h_prev is not multiplied by W_hh"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh + h @ W_hh.T + b), "W_xh used without transpose"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h @ W_hh + b), "W_hh used without transpose"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h @ W_hh.T), "b_h is not added"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + h @ W_hh.T + 2 * b), "b_h is added twice"),
    (lambda x, h, W_xh, W_hh, b: torch.sigmoid(x @ W_xh.T + h @ W_hh.T + b), "sigmoid"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T) + torch.tanh(h @ W_hh.T) + b, "tanh missing"),
    (lambda x, h, W_xh, W_hh, b: torch.tanh(x @ W_xh.T + b), "h_prev is not used"),
])
def test_rnn_cell_names_the_wrong_term(wrong, pattern):
    fails_with(check_rnn_cell, wrong, pattern)


def test_rnn_cell_names_float32_result():
    fails_with(check_rnn_cell, lambda *args: rnn_cell(*(a.float() for a in args)), "dtype torch.float32")


# ------------------------------------------------------------------------------------------- rnn_forward


def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    for t in range(x.shape[1]):
        h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
        states.append(h)
    return torch.stack(states, dim=1), h


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_forward_accepts_correct(hidden):
    check_rnn_forward(rnn_forward, hidden=hidden)


def _with_h0(x, h0, *w):
    hs, last = rnn_forward(x, h0, *w)
    return torch.cat([h0[:, None], hs], dim=1), last


def _shifted(x, h0, *w):
    hs, last = rnn_forward(x, h0, *w)
    return torch.cat([h0[:, None], hs[:, :-1]], dim=1), last


def _from_h0(x, h0, W_xh, W_hh, b):
    hs = torch.stack([rnn_cell(x[:, t], h0, W_xh, W_hh, b) for t in range(x.shape[1])], dim=1)
    return hs, hs[:, -1]


@pytest.mark.parametrize("wrong, pattern", [
    (_with_h0, "returned h_0 among the states"),
    (_shifted, "returned h_0 among the states .off by one in time"),
    (lambda x, h0, *w: (rnn_forward(x, h0, *w)[0], h0), "last is not the final state .* h_0"),
    (lambda x, h0, *w: (rnn_forward(x, h0, *w)[0], rnn_forward(x, h0, *w)[0][:, 0]), "last is not the final state"),
    (lambda x, h0, *w: (rnn_forward(x, h0, *w)[0].transpose(0, 1), rnn_forward(x, h0, *w)[1]), "time first"),
    (_from_h0, "not carried from step to step"),
    (lambda x, h0, *w: rnn_forward(x, torch.zeros_like(h0), *w), "h0 is ignored"),
    (lambda x, h0, *w: rnn_forward(x, h0, *w)[0], "should return a pair"),
])
def test_rnn_forward_names_mistakes(wrong, pattern):
    fails_with(check_rnn_forward, wrong, pattern)


# ------------------------------------------------------------------------------------------- rnn_backward


def make_backward(mistake: str | None = None):
    """BPTT by hand; ``mistake`` switches on one classic error."""

    def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
        N, T, D = x.shape
        zeros = torch.zeros if mistake == "float32 accumulators" else None
        dW_xh = zeros(W_xh.shape) if zeros else torch.zeros_like(W_xh)
        dW_hh, db_h, dx = torch.zeros_like(W_hh), torch.zeros_like(b_h), torch.zeros_like(x)
        dh_next = {"started at ones": torch.ones_like(h0), "started at dhs[:, -1]": dhs[:, -1].clone()}.get(
            mistake, torch.zeros_like(h0))
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
    W_xh, W_hh = torch.randn(4, 2, generator=g, dtype=torch.float64), torch.randn(4, 4, generator=g, dtype=torch.float64)
    b, dhs = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    leaves = [t.clone().requires_grad_() for t in (x, h0, W_xh, W_hh, b)]
    hs, _ = rnn_forward(*leaves)
    auto = torch.autograd.grad((hs * dhs).sum(), leaves)
    mine = make_backward()(x, h0, W_xh, W_hh, b, hs.detach(), dhs)
    for name, a in zip(nb02_rnn._GRAD_NAMES, auto):
        assert nb02_rnn.rel_error(mine[name], a) < nb02_rnn.BPTT_RTOL


@pytest.mark.parametrize("mistake, pattern", [
    ("no carry", "gradient flowing back from step t\\+1 is not added"),
    ("started at ones", "not started at zero"),
    ("started at dhs[:, -1]", "not started at zero"),
    ("no dh0", "returned no dh0"),
    ("dh0 = dh at t=1", "dh0 is the gradient with respect to h_1"),
    ("forward loop", "the time loop runs forward"),
    ("no tanh derivative", "tanh's derivative"),
    ("dW_hh with h_t", "dW_hh pairs da_t with h_t"),
    ("assign instead of accumulate", "accumulate"),
    ("float32 accumulators", "dtype torch.float32"),
    ("in-place on dhs", "modified its input 'dhs' in place"),
    ("tuple", "dict with keys"),
])
def test_rnn_backward_names_classic_mistakes(mistake, pattern):
    fails_with(check_rnn_backward, make_backward(mistake), pattern)


def test_rnn_backward_states_the_tolerance():
    def slightly_off(*args):
        grads = make_backward()(*args)
        return {**grads, "dW_hh": grads["dW_hh"] * (1 + 1e-6)}

    fails_with(check_rnn_backward, slightly_off, "tolerance rtol=1e-08")


# ------------------------------------------------------------------------------------------- truncated BPTT


def make_tbptt(mistake: str | None = None):
    def tbptt(step, x, y, h0, k, optimizer=None):
        T = x.shape[1]
        chunk = {"chunks of k + 1": k + 1, "detached every step": 1}.get(mistake, k)
        h, total, loss = h0, 0.0, 0.0
        for start in range(0, T, chunk):
            stop = min(start + chunk, T)
            if mistake == "drop last chunk" and stop - start < chunk:
                break
            if mistake not in ("never detached", "never detached, one backward"):
                h = h.detach()
            if mistake != "never detached, one backward":
                loss = 0.0
            for t in range(start, stop):
                h, loss_t = step(x[:, t], y[:, t], h)
                loss = loss + loss_t
            if mistake == "never detached, one backward":
                continue
            if mistake != "backward after the loop":
                loss.backward()
            total += float(loss.detach())
            if optimizer is not None and mistake != "step at the end":
                optimizer.step()
                if mistake != "no zero_grad":
                    optimizer.zero_grad()
        if mistake == "never detached, one backward":
            loss.backward()
            total = float(loss.detach())
        if mistake == "backward after the loop":
            loss.backward()
        if mistake == "step at the end" and optimizer is not None:
            optimizer.step()
        return h.detach(), total

    return tbptt


@pytest.mark.parametrize("hidden", [False, True])
def test_tbptt_accepts_correct(hidden):
    check_tbptt(make_tbptt(), hidden=hidden)


@pytest.mark.parametrize("mistake, pattern", [
    ("never detached", "never detached"),
    ("never detached, one backward", "never detached"),
    ("detached every step", "detached every step"),
    ("chunks of k + 1", "chunks have k \\+ 1"),
    ("drop last chunk", "last, shorter chunk"),
    ("backward after the loop", "only the last chunk's loss"),
    ("no zero_grad", "not cleared"),
    ("step at the end", "updated once at the end"),
])
def test_tbptt_names_mistakes(mistake, pattern):
    fails_with(check_tbptt, make_tbptt(mistake), pattern)


def test_tbptt_names_state_detached_only_at_start():
    def wrong(step, x, y, h0, k, optimizer=None):
        h, total = h0.detach(), 0.0
        for t in range(x.shape[1]):
            h, loss = step(x[:, t], y[:, t], h)
            loss.backward()  # a backward per step through a graph that grows: fails at the second step
            total += float(loss.detach())
        return h, total

    fails_with(check_tbptt, wrong, "never detached")


# ------------------------------------------------------------------------------------------- sampling


def make_sample(mistake: str | None = None):
    def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
        ids = start_ids.clone() if mistake != "in-place start" else start_ids
        new = []
        for _ in range(steps):
            logits = logits_fn(start_ids if mistake == "no feedback" else ids)
            if temperature == 0 and mistake != "divide by zero":
                nxt = logits.argmax().reshape(1)
            else:
                if mistake == "in-place logits":
                    logits /= temperature
                    probs = torch.softmax(logits, dim=-1)
                elif mistake == "multiply":
                    probs = torch.softmax(logits * temperature, dim=-1)
                elif mistake == "ignore temperature":
                    probs = torch.softmax(logits, dim=-1)
                elif mistake == "manual exp":
                    e = torch.exp(logits / temperature)
                    probs = e / e.sum()
                else:
                    probs = torch.softmax(logits / temperature, dim=-1)
                if mistake == "global rng":
                    nxt = torch.multinomial(probs, 1)
                elif mistake == "gumbel":
                    u = torch.rand(probs.shape, generator=generator, dtype=probs.dtype)
                    nxt = (probs.log() - (-u.log()).log()).argmax().reshape(1)
                else:
                    nxt = torch.multinomial(probs, 1, generator=generator)
            if mistake == "in-place start":
                ids.data = torch.cat([ids, nxt])
            else:
                ids = torch.cat([ids, nxt])
            new.append(nxt)
        if mistake == "only new":
            return torch.cat(new) if new else start_ids[:0]
        return ids

    return sample


@pytest.mark.parametrize("hidden", [False, True])
def test_sample_accepts_correct(hidden):
    check_sample(make_sample(), hidden=hidden)


@pytest.mark.parametrize("mistake, pattern, hidden", [
    ("multiply", "multiplied by the temperature", False),
    ("ignore temperature", "temperature is ignored", False),
    ("global rng", "not reproducible", False),
    ("in-place logits", "modified the logits returned by logits_fn in place", False),
    ("in-place start", "modified start_ids in place", False),
    ("no feedback", "always received start_ids", False),
    ("only new", "only the .* new ids", False),
    ("divide by zero", "Temperature 0 means greedy", False),
    ("gumbel", "differ from torch.multinomial", False),
    ("manual exp", "overflows", True),
])
def test_sample_names_mistakes(mistake, pattern, hidden):
    fails_with(check_sample, make_sample(mistake), pattern, hidden=hidden)


def test_sample_names_argmin_greedy():
    def wrong(logits_fn, start_ids, steps, temperature=1.0, generator=None):
        ids = start_ids.clone()
        for _ in range(steps):
            ids = torch.cat([ids, logits_fn(ids).argmin().reshape(1)])
        return ids

    fails_with(check_sample, wrong, "argmin")


def test_sample_statistics_name_a_wrong_distribution():
    """A sampler that is not torch.multinomial is still diagnosed by the frequencies of many draws."""
    case = nb02_rnn._sample_case(torch.Generator().manual_seed(0), 5, [0], 3000, 2.0, "constant", seed=3)
    logits = torch.from_numpy(case["table"][0])
    g = torch.Generator().manual_seed(1)
    draws = torch.multinomial(torch.softmax(logits * 2.0, 0), 3000, replacement=True, generator=g)
    assert "multiplied" in nb02_rnn._frequency_verdict(case, draws)
    right = torch.multinomial(torch.softmax(logits / 2.0, 0), 3000, replacement=True, generator=g)
    assert nb02_rnn._frequency_verdict(case, right) is None


# ------------------------------------------------------------------------------------------- RNN language model


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
            hs, h_T = rnn_forward(x, h0, self.W_xh, W_hh, self.b_h)
            if mistake == "logits from h_{t-1}":
                hs = torch.cat([h0[:, None], hs[:, :-1]], dim=1)
            return hs @ self.W_hy.T + self.b_y, h_T

    return RNNLM


@pytest.mark.parametrize("hidden", [False, True])
def test_rnn_lm_overfits_a_tiny_set(hidden):
    check_rnn_lm(make_lm(), hidden=hidden)


@pytest.mark.parametrize("mistake, pattern", [
    ("zero init", "start at zero"),
    ("plain tensor", "no parameter named 'W_hh'"),
    ("detached W_hh", "W_hh gets no gradient"),
    ("logits from h_{t-1}", "computed from h_\\{t-1\\}"),
])
def test_rnn_lm_names_mistakes(mistake, pattern):
    fails_with(check_rnn_lm, make_lm(mistake), pattern)


def test_rnn_lm_names_a_model_that_does_not_learn():
    class Frozen(make_lm()):
        def __init__(self, V, H):
            super().__init__(V, H)
            with torch.no_grad():
                for p in self.parameters():
                    p.mul_(40)  # saturated tanh: the units are stuck at ±1 and the loss barely moves

    fails_with(check_rnn_lm, Frozen, "did not|below 0.05|saturate")
