"""Does a demonstration cell that waits for an exercise say which one?"""

from __future__ import annotations

import pytest

from course_lib.exercises import needs
from tests.conftest import stub


def test_an_unwritten_exercise_is_named_and_stays_a_not_implemented_error():
    with pytest.raises(NotImplementedError, match=r"exercise 3 \(rnn_backward\), exercise 4 \(tbptt\): write them"):
        with needs("exercise 3 (rnn_backward)", "exercise 4 (tbptt)"):
            stub()
    with pytest.raises(NotImplementedError, match=r"your code of exercise 1 \(rnn_cell\): write it above"):
        with needs("exercise 1 (rnn_cell)"):
            stub()


def test_a_written_exercise_runs_and_other_errors_pass_through():
    with needs("exercise 1 (rnn_cell)"):
        value = 1 + 1
    assert value == 2
    with pytest.raises(ValueError, match="shape"):
        with needs("exercise 1 (rnn_cell)"):
            raise ValueError("shape")
