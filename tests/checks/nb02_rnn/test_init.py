"""Does the package register every exercise once, and does every check refuse the untouched stub?"""

from __future__ import annotations

import pytest

from course_lib.checks import nb02_rnn
from course_lib.checks.nb02_rnn import (
    DROPOUT,
    RNN_DROPOUT_ALONE,
    check_perplexity,
    check_rnn_backward,
    check_rnn_cell,
    check_rnn_forward,
    check_rnn_lm,
    check_sample,
    check_tbptt,
)
from tests.conftest import fails_with, stub

ALL_CHECKS = [
    check_rnn_cell,
    check_rnn_forward,
    check_rnn_backward,
    check_tbptt,
    check_sample,
    check_rnn_lm,
    check_perplexity,
    DROPOUT.check,  # exercise 8 alone; the notebook grades it with exercise 9
    RNN_DROPOUT_ALONE.check,
]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


def test_registry_lists_every_exercise_once():
    assert [ex.name for ex in nb02_rnn.EXERCISES] == [
        "rnn_cell",
        "rnn_forward",
        "rnn_backward",
        "tbptt",
        "sample",
        "rnn_lm",
        "perplexity",
        "stacked_rnn_dropout",
    ]
    assert nb02_rnn.RNN_DROPOUT.parts == ("dropout",)


def test_package_exports_each_exercise_and_its_check():
    """The notebook imports check_<name> from the package: each is its exercise's own check."""
    for ex in nb02_rnn.EXERCISES:
        assert getattr(nb02_rnn, f"check_{ex.name}") == ex.check
    assert [name for name in nb02_rnn.__all__ if not hasattr(nb02_rnn, name)] == []
