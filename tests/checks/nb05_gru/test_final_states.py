"""Does check_final_states accept every layer's final states read from the h_n of a deep bidirectional nn.LSTM or
nn.GRU, on one layer and on several, and name each typical wrong reading of h_n's layout?"""

from __future__ import annotations

import re

import pytest
import torch

from course_lib.checks.core import CheckFailure
from course_lib.checks.nb05_gru import check_final_states
from tests.conftest import fails_with, stub


def layer_major(h_n):
    """h_n is (num_layers * 2, N, H), layer-major, direction-minor: h_n.view(L, 2, N, H)."""
    L2, N, H = h_n.shape
    states = h_n.view(L2 // 2, 2, N, H)
    return states[:, 0], states[:, 1]


def strided(h_n):
    """The same states by slicing: even rows forward, odd rows backward."""
    return h_n[0::2], h_n[1::2]


def _view(h_n, *shape):
    return h_n.reshape(*shape)


@pytest.mark.parametrize("right", [layer_major, strided])
@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(right, hidden):
    check_final_states(right, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_right_answer_passes_on_other_seeds(seed):
    check_final_states(strided, hidden=True, seed=seed)


def test_visible_cases_show_one_layer_and_several_of_both_modules():
    """The learner sees L = 1 and L >= 2, nn.LSTM and nn.GRU, before grading does."""
    from course_lib.checks.nb05_gru.final_states import FINAL_STATES

    for hidden in (False, True):
        cases = FINAL_STATES.cases(0, hidden).values()
        assert {c["num_layers"] == 1 for c in cases} == {True, False}
        assert {c["module"] for c in cases} == {"LSTM", "GRU"}


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(
            lambda h: (_view(h, 2, -1, *h.shape[1:])[0], _view(h, 2, -1, *h.shape[1:])[1]),
            r"direction-major \(h_n\.view\(2, L, N, H\)",
            id="direction_major_view",
        ),
        pytest.param(lambda h: layer_major(h)[::-1], r"the two directions are swapped", id="directions_swapped"),
        pytest.param(
            lambda h: (
                _view(h, -1, h.shape[1], 2, h.shape[2])[:, :, 0],
                _view(h, -1, h.shape[1], 2, h.shape[2])[:, :, 1],
            ),
            r"mixes the batch axis N with the direction axis",
            id="view_mixes_N_and_H",
        ),
        pytest.param(
            lambda h: (
                _view(h, -1, h.shape[1], 2 * h.shape[2])[..., : h.shape[2]],
                _view(h, -1, h.shape[1], 2 * h.shape[2])[..., h.shape[2] :],
            ),
            r"mixes the batch axis N with the direction axis",
            id="reshape_to_2H_and_split",
        ),
        pytest.param(lambda h: (h[-2], h[-1]), r"one layer's states.*EVERY layer's", id="last_layer_only"),
        pytest.param(
            lambda h: (h[-2].expand(h.shape[0] // 2, -1, -1), h[-1].expand(h.shape[0] // 2, -1, -1)),
            r"h_forward\[0\] holds layer 1's forward state.*LAST layer's state",
            id="last_layer_everywhere",
        ),
        pytest.param(
            lambda h: (torch.cat([strided(h)[0][:1], strided(h)[1][1:]]), strided(h)[1]),
            r"h_forward\[1\] holds layer 1's backward state",
            id="one_layer_swapped",
        ),
        pytest.param(lambda h: h, r"one tensor of shape \(4, 3, 4\).*a tuple", id="one_tensor"),
        pytest.param(
            lambda h: (h,), r"should return a tuple \(h_forward, h_backward\), got tuple of length 1", id="one_tuple"
        ),
    ],
)
def test_names_the_mistake(wrong, pattern):
    fails_with(check_final_states, wrong, pattern)


def test_direction_major_is_right_for_one_layer():
    """With L = 1 (a visible case) the direction-major view gives the right states: it must pass there."""
    check_final_states(
        lambda h: (
            (_view(h, 2, -1, *h.shape[1:])[0], _view(h, 2, -1, *h.shape[1:])[1]) if h.shape[0] == 2 else strided(h)
        ),
        hidden=True,
    )


# what the documentation says and the learner has to read: no message may say it
RIGHT_STATE = re.compile(r"take h_n|(?<!it )(?:is|are) h_n\[|layer-major|h_n\.view\(L, 2|0::2|\[::2\]|direction-minor")


@pytest.mark.parametrize(
    "wrong",
    [
        lambda h: (_view(h, 2, -1, *h.shape[1:])[0], _view(h, 2, -1, *h.shape[1:])[1]),
        lambda h: layer_major(h)[::-1],
        lambda h: (h[-2], h[-1]),
        lambda h: (h[-2].expand(h.shape[0] // 2, -1, -1), h[-1].expand(h.shape[0] // 2, -1, -1)),
        lambda h: h,
        lambda h: (strided(h)[0] * 1.01, strided(h)[1]),
    ],
    ids=[
        "direction_major_view",
        "directions_swapped",
        "last_layer_only",
        "last_layer_everywhere",
        "one_tensor",
        "unnamed",
    ],
)
def test_the_message_never_says_how_h_n_is_laid_out(wrong):
    """The text asks the learner to read h_n's layout in PyTorch's documentation; no message reads it for them."""
    with pytest.raises(CheckFailure) as info:
        check_final_states(wrong)
    assert not RIGHT_STATE.search(str(info.value)), str(info.value)


def test_an_unnamed_mistake_gets_the_comparison():
    fails_with(
        check_final_states,
        lambda h: (strided(h)[0] * 1.01, strided(h)[1]),
        r"h_forward on case .* is wrong:.*times 1.01",
    )
