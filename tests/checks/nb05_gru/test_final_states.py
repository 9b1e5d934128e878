"""Does check_final_states accept the last layer's final states of a deep bidirectional LSTM, read either from
h_n or from the padded output, and name each typical wrong reading?"""

from __future__ import annotations

import re

import pytest
import torch

from course_lib.checks.core import CheckFailure
from course_lib.checks.nb05_gru import check_final_states
from tests.conftest import fails_with, stub


def from_h_n(output, h_n, lengths):
    """h_n is (num_layers * 2, N, H), layer-major: the last layer is h_n.view(L, 2, N, H)[-1]."""
    last = h_n.view(-1, 2, *h_n.shape[1:])[-1]
    return last[0], last[1]


def from_output(output, h_n, lengths):
    """The same states read from the padded output: forward at each row's last real step, backward at t = 0."""
    H = h_n.shape[-1]
    rows = torch.arange(output.shape[0])
    return output[rows, lengths - 1, :H], output[:, 0, H:]


@pytest.mark.parametrize("right", [from_h_n, from_output])
@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(right, hidden):
    check_final_states(right, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_right_answer_passes_on_other_seeds(seed):
    check_final_states(from_output, hidden=True, seed=seed)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(
            lambda o, h, n: (h[-1], h[-1]), r"h_forward .*h_n\[-1\], which is not the forward", id="h_n_last_only"
        ),
        pytest.param(lambda o, h, n: (h[0], h[1]), r"h_n\[0\], a state of the FIRST layer", id="first_layer"),
        pytest.param(lambda o, h, n: (h[-1], h[-2]), r"h_forward .*not the forward direction", id="directions_swapped"),
        pytest.param(
            lambda o, h, n: (h.view(2, -1, *h.shape[1:])[0, -1], h.view(2, -1, *h.shape[1:])[1, -1]),
            r"as if it were direction-major",
            id="direction_major_view",
        ),
        pytest.param(
            lambda o, h, n: (o[:, -1, : h.shape[-1]], h[-1]), r"padded output's last column", id="ignores_lengths"
        ),
        pytest.param(lambda o, h, n: (h[-2], o[:, -1, h.shape[-1] :]), r"FINISHES at t = 0", id="backward_at_the_end"),
        pytest.param(
            lambda o, h, n: (h[-2], o[torch.arange(o.shape[0]), n - 1, h.shape[-1] :]),
            r"backward state at step lengths - 1",
            id="backward_at_the_last_real_step",
        ),
        pytest.param(lambda o, h, n: h[-2:], r"one tensor of shape \(2, 3, 4\).*as a tuple", id="one_tensor"),
        pytest.param(lambda o, h, n: torch.cat([h[-2], h[-1]], dim=1), r"concatenated", id="concatenated"),
    ],
)
def test_names_the_mistake(wrong, pattern):
    fails_with(check_final_states, wrong, pattern)


# the old messages: "the last layer's are h_n[-2] (forward) and ...", "or take h_n[-2]", "which is h_n[-1]",
# "layer-major and direction-minor: h_n.view(L, 2, N, H)"; naming what the learner read ("it is h_n[-1]") is fine
RIGHT_STATE = re.compile(r"take h_n|(?<!it )(?:is|are) h_n\[-[12]\]|layer-major|h_n\.view\(L, 2")


@pytest.mark.parametrize(
    "wrong",
    [
        lambda o, h, n: (h[-1], h[-1]),
        lambda o, h, n: (h[0], h[1]),
        lambda o, h, n: (h.view(2, -1, *h.shape[1:])[0, -1], h.view(2, -1, *h.shape[1:])[1, -1]),
        lambda o, h, n: (o[:, -1, : h.shape[-1]], h[-1]),
        lambda o, h, n: (h[-2], o[:, -1, h.shape[-1] :]),
        lambda o, h, n: h[-2:],
        lambda o, h, n: (h[-2] * 1.01, h[-1]),
    ],
    ids=[
        "h_n_last_only",
        "first_layer",
        "direction_major_view",
        "ignores_lengths",
        "backward_at_the_end",
        "one_tensor",
        "unnamed",
    ],
)
def test_the_message_never_says_which_row_of_h_n_is_right(wrong):
    """Issue 24: the text asks the learner to read h_n's layout in PyTorch's documentation; no message reads it."""
    with pytest.raises(CheckFailure) as info:
        check_final_states(wrong)
    assert not RIGHT_STATE.search(str(info.value)), str(info.value)


def test_single_layer_first_layer_is_the_last():
    """With L = 1 (a hidden case) h_n[0], h_n[1] is right: the check must not call it a mistake."""
    check_final_states(lambda o, h, n: (h[0], h[1]) if h.shape[0] == 2 else from_h_n(o, h, n), hidden=True)


def test_an_unnamed_mistake_gets_the_comparison():
    fails_with(
        check_final_states,
        lambda o, h, n: (h[-2] * 1.01, h[-1]),
        r"h_forward on case .* is wrong:.*max relative error",
    )
