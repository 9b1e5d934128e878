"""Do check_dropout and check_stacked_rnn_dropout accept inverted dropout on the non-recurrent connections, and
name dropout on the recurrent state, dropout left on at evaluation and the wrong scaling?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb02_rnn import check_dropout, check_stacked_rnn_dropout
from tests.checks.nb02_rnn._common import mistake
from tests.conftest import fails_with, stub


def make_dropout(name: str = ""):
    """Inverted dropout written for the test, with one mistake switched on by ``name``."""

    def dropout(x, p, training, generator=None):
        if (not training and name != "left on at evaluation") or p == 0:
            return x * (1 - p) if name == "scaled at evaluation" and not training else x
        keep_p = p if name == "p is the keep probability" else 1 - p
        keep = torch.rand(x.shape, generator=generator, dtype=torch.float64) < keep_p  # (same shape as x)
        scale = {"not scaled": 1.0, "scaled by 1 - p": 1 - p, "scaled by 1 / p": 1 / p}.get(name, 1 / (1 - p))
        if name == "in place":
            return x.mul_(keep.to(x.dtype)).mul_(scale)
        return x * keep.to(x.dtype) * scale

    return dropout


def make_stack(name: str = ""):
    """A stacked tanh RNN with drop where it belongs, written for the test, with one misplacement by ``name``."""

    def stacked_rnn_dropout(x, layers, training, drop):
        use = drop if training or name == "left on at evaluation" else (lambda t: t)
        out = x if name in ("each layer's input dropped", "only between layers") else use(x)
        for index, (W_xh, W_hh, b_h) in enumerate(layers):
            if name == "each layer's input dropped":  # up into every layer, never out to the read-out
                out = use(out)
            h, states = x.new_zeros(x.shape[0], W_hh.shape[0]), []
            for x_t in out.unbind(1):  # step by step: drop must act alike on slices
                h_in = use(h) if name == "recurrent connection" else h
                h = torch.tanh(x_t @ W_xh.T + h_in @ W_hh.T + b_h)
                h = use(h) if name == "dropped state carried" else h
                states.append(h)
            out = torch.stack(states, dim=1)
            last = index == len(layers) - 1
            skip = {
                "dropped state carried": True,
                "no output dropout": last,
                "no dropout between layers": not last,
                "each layer's input dropped": True,
                "only between layers": last,
            }
            out = out if skip.get(name, False) else use(out)
        return out

    return stacked_rnn_dropout


@pytest.mark.parametrize("hidden", [False, True])
def test_dropout_accepts_inverted_dropout(hidden):
    check_dropout(make_dropout(), hidden=hidden)


def test_dropout_names_a_mask_not_drawn_from_the_generator_and_one_draw_per_row():
    """torch's F.dropout draws from the global generator whatever generator is passed: a seeded run of the
    notebook's experiment could not be repeated; one draw per row broadcast is not independent."""
    fails_with(
        check_dropout,
        lambda x, p, training, generator=None: torch.nn.functional.dropout(x, p, training),
        "not drawn from the generator passed",
    )

    def per_row(x, p, training, generator=None):
        if not training or p == 0:
            return x
        keep = torch.rand(x.shape[:-1] + (1,), generator=generator, dtype=torch.float64) < 1 - p
        return x * keep.to(x.dtype) / (1 - p)

    fails_with(check_dropout, per_row, "dropped or kept as a whole")


def test_dropout_accepts_a_bernoulli_mask():
    def bernoulli(x, p, training, generator=None):
        if not training:
            return x
        return x * torch.bernoulli(torch.full_like(x, 1 - p), generator=generator) / (1 - p)

    check_dropout(bernoulli, hidden=True)


@pytest.mark.parametrize("hidden", [False, True])
def test_stacked_rnn_dropout_accepts_dropout_on_the_non_recurrent_connections(hidden):
    check_stacked_rnn_dropout(make_stack(), hidden=hidden)


def test_stacked_rnn_dropout_accepts_whole_sequences_and_nn_rnn():
    def with_nn_rnn(x, layers, training, drop):
        out = drop(x) if training else x
        for W_xh, W_hh, b_h in layers:
            rnn = torch.nn.RNN(W_xh.shape[1], W_xh.shape[0], batch_first=True, dtype=x.dtype)
            with torch.no_grad():
                rnn.weight_ih_l0.copy_(W_xh), rnn.weight_hh_l0.copy_(W_hh)
                rnn.bias_ih_l0.copy_(b_h), rnn.bias_hh_l0.zero_()
            out = rnn(out)[0]
            out = drop(out) if training else out
        return out

    check_stacked_rnn_dropout(with_nn_rnn, hidden=True)


def test_stacked_rnn_dropout_names_no_dropout_at_all_while_training():
    fails_with(
        check_stacked_rnn_dropout, lambda x, layers, training, drop: make_stack()(x, layers, False, drop), r"no dropout"
    )


@pytest.mark.parametrize("check", [check_dropout, check_stacked_rnn_dropout], ids=["dropout", "stacked_rnn_dropout"])
def test_the_stub_is_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


@pytest.mark.parametrize(
    "wrong, pattern, check",
    [
        mistake(make_dropout, "left on at evaluation", r"left on at evaluation", check_dropout),
        mistake(make_dropout, "scaled at evaluation", r"training=False you multiplied by 1 - p", check_dropout),
        mistake(make_dropout, "not scaled", r"kept entries are not scaled", check_dropout),
        mistake(make_dropout, "scaled by 1 - p", r"multiplied by 1 - p.*scaled \*up\*", check_dropout),
        mistake(make_dropout, "scaled by 1 / p", r"divided by p", check_dropout),
        mistake(make_dropout, "p is the keep probability", r"dropping a unit, not of keeping", check_dropout),
        mistake(make_dropout, "in place", r"changed in place", check_dropout),
        mistake(make_stack, "recurrent connection", r"reaches the recurrent connection", check_stacked_rnn_dropout),
        mistake(
            make_stack, "dropped state carried", r"recurrent connection.*carried forward", check_stacked_rnn_dropout
        ),
        mistake(make_stack, "left on at evaluation", r"left on at evaluation", check_stacked_rnn_dropout),
        mistake(make_stack, "no output dropout", r"last layer's output is not dropped", check_stacked_rnn_dropout),
        mistake(make_stack, "no dropout between layers", r"between stacked layers are not", check_stacked_rnn_dropout),
        mistake(  # issue 23: the text promises the connection left out is named; this got a generic message
            make_stack, "each layer's input dropped", r"last layer's output is not dropped", check_stacked_rnn_dropout
        ),
        mistake(
            make_stack,
            "only between layers",
            r"input x of the first layer and the last layer's output are not dropped",
            check_stacked_rnn_dropout,
        ),
    ],
)
def test_a_mistake_is_named(wrong, pattern, check):
    fails_with(check, wrong, pattern, hidden=True)
