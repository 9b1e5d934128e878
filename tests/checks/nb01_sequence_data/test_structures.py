"""Does check_io_structures accept the right answers and name each typical mistake?"""

from __future__ import annotations

import pytest

from course_lib.checks import check_io_structures
from tests.conftest import fails_with

RIGHT = {
    "sentiment of a review": "N-1",
    "next character at every step": "N-N",
    "caption from one image": "1-N",
    "part-of-speech tag of every word": "N-N",
    "tomorrow's temperature from the last 30 days": "N-1",
}


def test_io_structures_accepts_right_answers():
    check_io_structures(RIGHT)


@pytest.mark.parametrize("answers, pattern", [
    pytest.param({**RIGHT, "caption from one image": "N-1"}, "caption from one image", id="wrong task"),
    pytest.param({k: None for k in RIGHT}, "not implemented yet", id="unfilled answer"),
    pytest.param({**RIGHT, "caption from one image": "one to many"}, "should be one of", id="invalid answer"),
])
def test_io_structures_names_the_mistake(answers, pattern):
    fails_with(check_io_structures, answers, pattern)
