"""Does the package ``course_lib.checks.nb04_lstm`` export what notebook 04 imports, and register every exercise?"""

from __future__ import annotations

import course_lib.checks.nb04_lstm as nb04_lstm
from course_lib.checks.nb04_lstm import (
    EXERCISES,
    FUSED_LSTM,
    FUSED_LSTM_CELL,
    LSTM_CELL,
    LSTM_STATE_GRAD_NORMS,
    check_fused_lstm,
    check_fused_lstm_cell,
    check_lstm_cell,
    check_lstm_state_grad_norms,
)


def test_every_exercise_is_registered():
    from course_lib.checks import EXERCISES as REGISTRY

    assert {f"nb04_lstm.{ex.name}" for ex in EXERCISES} <= set(REGISTRY)


def test_exercises_in_notebook_order_with_their_checks():
    """EXERCISES follows the notebook (1, 2a, 2b, 3, bonus 4a, 4b), and each check_<name> is its exercise's check."""
    from course_lib.checks.nb04_lstm import (
        LSTM_BACKWARD,
        LSTM_STEP_BACKWARD,
        check_lstm_backward,
        check_lstm_step_backward,
    )

    assert EXERCISES == (
        LSTM_CELL,
        FUSED_LSTM_CELL,
        FUSED_LSTM,
        LSTM_STATE_GRAD_NORMS,
        LSTM_STEP_BACKWARD,
        LSTM_BACKWARD,
    )
    for check, exercise in (
        (check_lstm_cell, LSTM_CELL),
        (check_fused_lstm_cell, FUSED_LSTM_CELL),
        (check_fused_lstm, FUSED_LSTM),
        (check_lstm_state_grad_norms, LSTM_STATE_GRAD_NORMS),
        (check_lstm_step_backward, LSTM_STEP_BACKWARD),
        (check_lstm_backward, LSTM_BACKWARD),
    ):
        assert check.__self__ is exercise


def test_all_names_the_public_api():
    assert sorted(nb04_lstm.__all__) == sorted(
        [
            "EXERCISES",
            "GATE_ORDER",
            "SEED_PARAMS",
            "stack_seed_params",
            "check_lstm_cell",
            "check_fused_lstm_cell",
            "check_fused_lstm",
            "check_lstm_state_grad_norms",
            "check_lstm_step_backward",
            "check_lstm_backward",
        ]
    )
    assert all(hasattr(nb04_lstm, name) for name in nb04_lstm.__all__)
