"""Does the package export notebook 05's exercises in notebook order, and does each exported check fail the
untouched stub and pass a right answer, on the visible cases, the hidden ones and other seeds?"""

from __future__ import annotations

import pytest

from course_lib.checks.nb05_gru import (
    EXERCISES,
    check_count_params,
    check_final_states,
    check_fused_gru,
    check_gru_cell,
    check_last_layer_from_output,
)
from tests.checks.nb05_gru.answers import FusedGRU, count_params, final_states, gru_cell, last_layer_from_output
from tests.conftest import fails_with, stub

RIGHT_ANSWERS = {
    "gru_cell": gru_cell,
    "count_params": count_params,
    "fused_gru": FusedGRU,
    "final_states": final_states,
    "last_layer_from_output": last_layer_from_output,
}
by_name = pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.name)
visible_and_hidden = pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])


def test_exercises_in_notebook_order_with_their_checks():
    assert [exercise.name for exercise in EXERCISES] == [
        "gru_cell",
        "count_params",
        "fused_gru",
        "final_states",
        "last_layer_from_output",
    ]
    assert [check_gru_cell, check_count_params, check_fused_gru, check_final_states, check_last_layer_from_output] == [
        exercise.check for exercise in EXERCISES
    ]


@by_name
@visible_and_hidden
def test_untouched_stub_fails_and_says_not_implemented(exercise, hidden):
    fails_with(exercise.check, stub, "not implemented yet", hidden=hidden)


@by_name
@visible_and_hidden
def test_right_answer_passes(exercise, hidden):
    exercise.check(RIGHT_ANSWERS[exercise.name], hidden=hidden)


@by_name
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_right_answer_passes_on_any_seed(exercise, seed):
    """Grading draws its own secret seeds: right answers pass on any of them."""
    exercise.check(RIGHT_ANSWERS[exercise.name], hidden=True, seed=seed)
