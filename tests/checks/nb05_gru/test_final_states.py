"""Does check_final_states accept the decoder's initial state bridged from the h_n (and c_n) of a deep bidirectional
nn.LSTM (with and without proj_size) or nn.GRU, and name each typical wrong bridge?"""

from __future__ import annotations

import re

import pytest
import torch

from course_lib.checks.core import CheckFailure
from course_lib.checks.nb05_gru import check_final_states
from tests.conftest import fails_with, stub


def _both(bridge):
    """A bridge of one stacked state (2L, N, F) -> (L, N, 2F), applied to h_n and to c_n (None stays None)."""
    return lambda h_n, c_n=None: (bridge(h_n), None if c_n is None else bridge(c_n))


def _layers(s):
    return s.view(s.shape[0] // 2, 2, *s.shape[1:])  # (L, 2, N, F)


def cat_halves(s):
    states = _layers(s)
    return torch.cat([states[:, 0], states[:, 1]], dim=-1)


def transpose_reshape(s):
    L2, N, F = s.shape
    return _layers(s).transpose(1, 2).reshape(L2 // 2, N, 2 * F)


def strided(s):
    return torch.cat([s[0::2], s[1::2]], dim=-1)


@pytest.mark.parametrize("right", [cat_halves, transpose_reshape, strided])
@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(right, hidden):
    check_final_states(_both(right), hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_right_answer_passes_on_other_seeds(seed):
    check_final_states(_both(strided), hidden=True, seed=seed)


def test_visible_cases_show_one_layer_and_several_both_modules_and_proj_size():
    """The learner sees L = 1 and L >= 2, nn.LSTM and nn.GRU, and a proj_size before grading does."""
    from course_lib.checks.nb05_gru.final_states import FINAL_STATES

    for hidden in (False, True):
        cases = FINAL_STATES.cases(0, hidden).values()
        assert {c["num_layers"] == 1 for c in cases} == {True, False}
        assert {c["module"] for c in cases} == {"LSTM", "GRU"}
        assert {c["proj_size"] > 0 for c in cases} == {True, False}


def direction_major(s):
    L2, N, F = s.shape
    states = s.view(2, L2 // 2, N, F)
    return torch.cat([states[0], states[1]], dim=-1)


def ignores_proj_size(h_n, c_n=None):
    """c_n split with h_n's feature size: fails as soon as proj_size makes them differ."""
    L2, N, P = h_n.shape
    h_0 = _layers(h_n).transpose(1, 2).reshape(L2 // 2, N, 2 * P)
    return h_0, None if c_n is None else c_n.view(L2 // 2, 2, N, P).transpose(1, 2).reshape(L2 // 2, N, 2 * P)


def one_half_swapped(s):
    out = strided(s).clone()
    F = s.shape[-1]
    out[-1, :, :F] = s[-1]  # the top layer's forward half holds its backward state
    return out


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(_both(direction_major), r"direction-major \(\.view\(2, L, N, F\)", id="direction_major_view"),
        pytest.param(
            _both(lambda s: cat_halves(s.view(-1, 2, *s.shape[1:]).flip(1).reshape(s.shape))),
            r"the two halves are swapped",
            id="halves_swapped",
        ),
        pytest.param(_both(lambda s: cat_halves(s).flip(0)), r"the layers are in reverse order", id="layers_reversed"),
        pytest.param(
            _both(lambda s: s.reshape(s.shape[0] // 2, s.shape[1], 2 * s.shape[2])),
            r"joined by a view .* halves of two different sequences",
            id="view_mixes_N",
        ),
        pytest.param(
            _both(lambda s: _layers(s).reshape(s.shape[0] // 2, s.shape[1], 2 * s.shape[2])),
            r"joined by a view .* halves of two different sequences",
            id="view_of_L2NF_mixes_N",
        ),
        pytest.param(
            lambda h, c=None: (strided(c), strided(h)) if c is not None else (strided(h), None),
            r"h_0 holds the other state's values .*h and c are exchanged",
            id="h_and_c_exchanged",
        ),
        pytest.param(
            lambda h, c=None: (strided(h), None if c is None else strided(h)),
            r"c_0 holds the other state's values",
            id="c_0_from_h_n",
        ),
        pytest.param(
            ignores_proj_size, r"raised RuntimeError .*h_n has 2 features and c_n 4.*proj_size", id="proj_size_ignored"
        ),
        pytest.param(
            lambda h, c=None: (strided(h), None if c is None else strided(c)[..., : 2 * h.shape[-1]]),
            r"c_0 .* has shape \(2, 3, 4\), the size h_0 should have.*proj_size",
            id="c_0_cut_to_2P",
        ),
        pytest.param(_both(lambda s: strided(s)[-1]), r"h_0 on case .* shape", id="last_layer_only"),
        pytest.param(
            _both(lambda s: strided(s)[-1].expand(s.shape[0] // 2, -1, -1)),
            r"h_0\[0\]'s forward half holds layer 1's forward state.*LAST layer's",
            id="last_layer_everywhere",
        ),
        pytest.param(
            _both(one_half_swapped), r"h_0\[1\]'s forward half holds layer 1's backward state", id="one_half_swapped"
        ),
        pytest.param(
            lambda h, c=None: (strided(h), strided(h) if c is None else strided(c)),
            r"an nn.GRU: c_n is None\) should be None",
            id="gru_gets_a_cell",
        ),
        pytest.param(
            lambda h, c=None: (strided(h), None),
            r"c_0 on case .* is None, but this is an nn.LSTM",
            id="lstm_without_cell",
        ),
        pytest.param(lambda h, c=None: strided(h), r"one tensor of shape \(2, 3, 8\).*a tuple", id="one_tensor"),
        pytest.param(
            lambda h, c=None: (strided(h),),
            r"should return a tuple \(h_0, c_0\), got tuple of length 1",
            id="one_tuple",
        ),
    ],
)
def test_names_the_mistake(wrong, pattern):
    fails_with(check_final_states, wrong, pattern)


def test_direction_major_is_right_for_one_layer():
    """With L = 1 (a visible case) the direction-major view gives the right states: it must pass there."""
    check_final_states(_both(lambda s: direction_major(s) if s.shape[0] == 2 else strided(s)), hidden=True)


# what the documentation says and the learner has to read: no message may say it
RIGHT_STATE = re.compile(
    r"take h_n|(?<!it )(?:is|are) h_n\[|layer-major|\.view\(L, 2|0::2|\[::2\]|direction-minor|transpose\(1, 2\)"
)


@pytest.mark.parametrize(
    "wrong",
    [
        _both(direction_major),
        _both(lambda s: cat_halves(s.view(-1, 2, *s.shape[1:]).flip(1).reshape(s.shape))),
        _both(lambda s: cat_halves(s).flip(0)),
        _both(lambda s: s.reshape(s.shape[0] // 2, s.shape[1], 2 * s.shape[2])),
        ignores_proj_size,
        _both(lambda s: strided(s)[-1].expand(s.shape[0] // 2, -1, -1)),
        lambda h, c=None: strided(h),
        _both(lambda s: strided(s) * 1.01),
    ],
    ids=[
        "direction_major_view",
        "halves_swapped",
        "layers_reversed",
        "view_mixes_N",
        "proj_size_ignored",
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
    fails_with(check_final_states, _both(lambda s: strided(s) * 1.01), r"h_0 on case .* is wrong:.*times 1.01")
