"""Do check_make_windows and check_make_char_windows accept correct windows and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import check_make_char_windows, check_make_windows
from tests.conftest import fails_with, stub


def make_windows(series, window):
    return series.unfold(0, window, 1)[:-1], series[window:]


@pytest.mark.parametrize("hidden", [False, True])
def test_make_windows_accepts_correct(hidden):
    check_make_windows(make_windows, hidden=hidden)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(lambda s, w: (s.unfold(0, w, 1), s[w - 1 :]), "off by one", id="off by one"),
        pytest.param(
            lambda s, w: (s.unfold(0, w, 1)[:-1], s[w - 1 : -1]), "targets not shifted", id="unshifted targets"
        ),
    ],
)
def test_make_windows_names_the_mistake(wrong, pattern):
    fails_with(check_make_windows, wrong, pattern)


def make_char_windows(ids, L):
    windows = ids.unfold(0, L + 1, 1)
    return windows[:, :-1], windows[:, 1:]


@pytest.mark.parametrize("hidden", [False, True])
def test_make_char_windows_accepts_correct(hidden):
    check_make_char_windows(make_char_windows, hidden=hidden)


def shift_by_two(ids, L):
    X = ids.unfold(0, L, 1)[: len(ids) - L]
    Y = torch.stack([ids[i + 2 : i + 2 + L] if i + 2 + L <= len(ids) else X[i] for i in range(len(X))])
    return X, Y


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(lambda ids, L: (make_char_windows(ids, L)[0],) * 2, "targets not shifted", id="unshifted targets"),
        pytest.param(shift_by_two, r"Y\[i\] should be ids\[i \+ 1", id="shift by two"),
        pytest.param(lambda ids, L: tuple(t.float() for t in make_char_windows(ids, L)), "torch.long", id="float ids"),
    ],
)
def test_make_char_windows_names_the_mistake(wrong, pattern):
    fails_with(check_make_char_windows, wrong, pattern)
