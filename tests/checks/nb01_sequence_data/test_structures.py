"""Does check_io_structures check the answers' form in the learner's notebook, mark them against the
instructor's key, and give away nothing about the key without it?"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools

import pytest

from course_lib.checks import check_io_structures
from course_lib.checks.nb01_sequence_data import STRUCTURE_TASKS, STRUCTURES
from tests.conftest import fails_with

# The instructor's key: in the tests and the source notebook's hidden tests, never in course_lib.
RIGHT = {
    "sentiment of a review": "N-1",
    "next character at every step": "N-N",
    "caption from one image": "1-N",
    "part-of-speech tag of every word": "N-N",
    "tomorrow's temperature from the last 30 days": "N-1",
}


def _printed(answers) -> str:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        check_io_structures(answers)
    return out.getvalue()


def test_without_the_key_a_well_formed_answer_is_recorded():
    assert "recorded" in _printed(RIGHT)


def test_without_the_key_every_well_formed_answer_looks_the_same():
    """All 3^5 answer sets pass alike with the same words: the learner's check holds no information about
    the key (the salted hashes it used to compare were reversed in a line)."""
    printed = {_printed(dict(zip(STRUCTURE_TASKS, choice))) for choice in itertools.product(STRUCTURES, repeat=5)}
    assert len(printed) == 1


def test_with_the_key_the_right_answers_pass():
    with contextlib.redirect_stdout(io.StringIO()) as out:
        check_io_structures(RIGHT, key=RIGHT)
    assert "passed" in out.getvalue()


def test_with_the_key_a_wrong_answer_is_named():
    fails_with(
        functools.partial(check_io_structures, key=RIGHT),
        {**RIGHT, "caption from one image": "N-1"},
        "caption from one image",
    )


@pytest.mark.parametrize(
    "answers, pattern",
    [
        pytest.param({k: None for k in RIGHT}, "not implemented yet", id="unfilled answer"),
        pytest.param({**RIGHT, "caption from one image": "one to many"}, "should be one of", id="invalid answer"),
        pytest.param(
            {k: v for k, v in RIGHT.items() if k != "caption from one image"}, "no answer for", id="missing task"
        ),
        pytest.param(["N-1"], "should be a dict", id="not a dict"),
    ],
)
def test_io_structures_names_a_malformed_answer_without_the_key(answers, pattern):
    fails_with(check_io_structures, answers, pattern)
