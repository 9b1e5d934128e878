"""Does check_stacked_rnn_dropout accept both schemes written in several correct ways, and name each misplacement
of the masks -- alone, and two at once -- from the calls of ``mask`` and from the values?"""

from __future__ import annotations

import types

import pytest
import torch

from course_lib.checks.nb02_rnn import RNN_DROPOUT_ALONE
from tests.checks.nb02_rnn._common import mistake
from tests.conftest import fails_with, stub

# exercise 9 alone; the notebook's check tests exercise 8's dropout with it (test_exercises_8_and_9_are_checked_together)
check_stacked_rnn_dropout = RNN_DROPOUT_ALONE.check


def make_stack(*names: str):
    """Both dropout schemes of a stacked tanh RNN, written for the test, with the mistakes ``names`` switched on."""

    def stacked_rnn_dropout(x, layers, training, mask, variational=False):
        N, T, _ = x.shape
        if "not scaled" in names:  # every mask used as 0 / 1
            mask = (lambda draw: lambda shape: (draw(shape) != 0).to(x.dtype))(mask)
        on = training or "left on at evaluation" in names
        whole = not variational or "whole-sequence masks when variational" in names

        def drop(t, place):  # t (N, T, F)
            if not on or place in names:
                return t
            m = mask(t.shape) if whole else mask((N, t.shape[-1]))[:, None]
            return t * m

        shared = None
        inputs = drop(x, "input not dropped")
        for index, (W_xh, W_hh, b_h) in enumerate(layers):
            H = W_hh.shape[0]
            recurrent = on and (variational and "no recurrent mask when variational" not in names)
            recurrent = recurrent or (on and not variational and "recurrent dropped when standard" in names)
            m = None
            if recurrent and not variational:
                m = "per step"
            elif recurrent:
                m = "per step" if "fresh mask per step when variational" in names else mask((N, H))
                if "one recurrent mask for every layer" in names:
                    shared = m if shared is None else shared
                    m = shared
            h, states = x.new_zeros(N, H), []
            for x_t in inputs.unbind(1):
                m_t = mask((N, H)) if m == "per step" else m
                if m_t is not None and "dropped state carried" in names:
                    h = torch.tanh(x_t @ W_xh.T + h @ W_hh.T + b_h) * m_t
                else:
                    h = torch.tanh(x_t @ W_xh.T + (h if m_t is None else h * m_t) @ W_hh.T + b_h)
                states.append(h)
            last = index == len(layers) - 1
            inputs = drop(torch.stack(states, dim=1), "no output dropout" if last else "no dropout between layers")
        return inputs

    return stacked_rnn_dropout


@pytest.mark.parametrize("hidden", [False, True])
def test_accepts_both_schemes(hidden):
    check_stacked_rnn_dropout(make_stack(), hidden=hidden)


def test_accepts_masks_drawn_first_in_another_order_and_nn_rnn_for_the_standard_scheme():
    """Which draw goes to which connection is free: every mask drawn up front, in reverse order of use; the
    standard scheme through nn.RNN, its (N, T, F) masks sliced step by step by nobody but the module."""

    def up_front(x, layers, training, mask, variational=False):
        N, T, D = x.shape
        if not training:
            return make_stack()(x, layers, False, mask, variational)
        L, H = len(layers), layers[0][1].shape[0]
        if variational:
            rec = [mask((N, H)) for _ in range(L)][::-1]
            up = [mask((N, H)) for _ in range(L)]
            m_in = mask((N, D))[:, None]
        else:
            up = [mask((N, T, H)) for _ in range(L)][::-1]
            m_in, rec = mask((N, T, D)), [None] * L
        out = x * m_in
        for (W_xh, W_hh, b_h), r, u in zip(layers, rec, up):
            if r is None:
                rnn = torch.nn.RNN(W_xh.shape[1], W_xh.shape[0], batch_first=True, dtype=x.dtype)
                with torch.no_grad():
                    rnn.weight_ih_l0.copy_(W_xh), rnn.weight_hh_l0.copy_(W_hh)
                    rnn.bias_ih_l0.copy_(b_h), rnn.bias_hh_l0.zero_()
                out = rnn(out)[0] * u
                continue
            h, states = x.new_zeros(N, H), []
            for t in range(T):
                h = torch.tanh(out[:, t] @ W_xh.T + (h * r) @ W_hh.T + b_h)
                states.append(h)
            out = torch.stack(states, 1) * u[:, None]
        return out

    check_stacked_rnn_dropout(up_front, hidden=True)


def test_the_stub_is_not_implemented():
    fails_with(check_stacked_rnn_dropout, stub, "not implemented yet")


def test_names_no_dropout_at_all_while_training():
    fails_with(
        check_stacked_rnn_dropout,
        lambda x, layers, training, mask, variational=False: make_stack()(x, layers, False, mask, variational),
        r"no dropout at all",
    )


def test_names_a_mask_reused_for_a_second_connection():
    fails_with(check_stacked_rnn_dropout, make_stack("one recurrent mask for every layer"), r"one mask \(call \d+")


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        mistake(make_stack, "fresh mask per step when variational", r"fresh mask at every step"),
        mistake(make_stack, "whole-sequence masks when variational", r"variational mode you drew .* whole sequence"),
        mistake(make_stack, "recurrent dropped when standard", r"standard .* mode a mask reaches the recurrent"),
        mistake(make_stack, "no recurrent mask when variational", r"variational mode the recurrent .* no mask"),
        mistake(make_stack, "left on at evaluation", r"left on at evaluation"),
        mistake(make_stack, "not scaled", r"kept units are not scaled"),
        mistake(make_stack, "dropped state carried", r"dropped state is carried forward"),
        mistake(make_stack, "input not dropped", r"input x of the first layer is not dropped"),
        mistake(make_stack, "no output dropout", r"last layer's output \(to the read-out\) is not dropped"),
        mistake(make_stack, "no dropout between layers", r"states of layer 1 going up is not dropped"),
    ],
)
def test_a_mistake_is_named(wrong, pattern):
    fails_with(check_stacked_rnn_dropout, wrong, pattern, hidden=True)


@pytest.mark.parametrize(
    "names, patterns",
    [
        (  # tryout 4's two faults: a fresh mask on h_(t-1) at every step, and nothing dropped between or out
            ("fresh mask per step when variational", "no dropout between layers", "no output dropout"),
            [r"fresh mask at every step"],
        ),
        (
            ("no recurrent mask when variational", "no output dropout"),
            [r"recurrent connection .* no mask", r"last layer's output .* is not dropped"],
        ),
        (
            ("one recurrent mask for every layer", "no output dropout"),
            [r"last layer's output .* is not dropped", r"one mask \(call \d+ of mask\) is used for"],
        ),
        (
            ("input not dropped", "no dropout between layers"),
            [r"input x of the first layer and the states of layer 1 going up are not dropped"],
        ),
    ],
    ids=lambda v: "+".join(v) if isinstance(v, tuple) else None,
)
def test_two_faults_at_once_are_named_not_generic(names, patterns):
    message = fails_with(check_stacked_rnn_dropout, make_stack(*names), patterns[0], hidden=True)
    for pattern in patterns[1:]:
        assert __import__("re").search(pattern, message, flags=__import__("re").S), message
    assert "matches no placement" not in message


def test_names_masks_of_another_shape_and_masks_drawn_but_unused():
    """(N, 1, F) broadcasts like (N, F) but is not the contract's shape; one mask too many is not a fresh mask per
    step (issue 23: a count off by one must not be read as T draws)."""
    right = make_stack()

    def unsqueezed(x, layers, training, mask, variational=False):
        wrapped = (lambda shape: mask((shape[0], 1, shape[1])).squeeze(1)) if variational else mask
        return right(x, layers, training, wrapped, variational)

    fails_with(check_stacked_rnn_dropout, unsqueezed, r"asked for shape \(\d+, 1, \d+\).*shape \(N, F\)")

    def one_more(x, layers, training, mask, variational=False):
        if training:
            mask((x.shape[0], x.shape[2]) if variational else x.shape)
        return right(x, layers, training, mask, variational)

    message = fails_with(check_stacked_rnn_dropout, one_more, r"values are right, but mask was called")
    assert "fresh mask at every step" not in message


def test_exercises_8_and_9_are_checked_together():
    """The notebook's check_stacked_rnn_dropout finds dropout beside the stack and checks it first."""
    from course_lib.checks.nb02_rnn import check_stacked_rnn_dropout as check_both
    from tests.checks.nb02_rnn.test_dropout import make_dropout

    stack = make_stack()
    namespace = {**stack.__globals__, "dropout": make_dropout()}
    both = types.FunctionType(stack.__code__, namespace, stack.__name__, stack.__defaults__, stack.__closure__)
    check_both(both, hidden=True)
    namespace["dropout"] = make_dropout("scaled by 1 / p")
    fails_with(check_both, both, r"^dropout: ")
    namespace["dropout"] = make_dropout()
    fails_with(
        check_both, types.FunctionType(stub.__code__, namespace), r"^dropout passed its cases; stacked_rnn_dropout"
    )
