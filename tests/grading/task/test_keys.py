"""Does the grader read a quiz's key from the instructor's test cell, without running it, and only there?"""

from __future__ import annotations

import nbformat
import pytest

from course_lib.grading.task.keys import answer_key, answer_keys
from tests.conftest import ROOT
from tests.grading.conftest import A01, cell

INSTRUCTOR = """check_io_structures(IO_STRUCTURES)
### BEGIN HIDDEN TESTS
check_io_structures(IO_STRUCTURES, key={"sentiment of a review": "N-1"})
### END HIDDEN TESTS"""


def test_the_key_is_the_literal_given_to_the_check():
    assert answer_key(INSTRUCTOR, "check_io_structures") == {"sentiment of a review": "N-1"}
    assert answer_key("check_io_structures(IO_STRUCTURES)", "check_io_structures") is None
    assert answer_key("this is not python (", "check_io_structures") is None


def test_a_key_that_is_code_is_refused_not_run():
    with pytest.raises(ValueError, match="not a plain literal"):
        answer_key("check_io_structures(X, key=__import__('os').system('true'))", "check_io_structures")


def test_the_source_notebook_has_the_key_and_the_learners_notebook_has_none():
    source = nbformat.read(ROOT / "solutions" / A01 / f"{A01}.ipynb", as_version=4)
    learner = nbformat.read(ROOT / "notebooks" / A01 / f"{A01}.ipynb", as_version=4)
    keys = answer_keys(source, "nb01_sequence_data")
    assert set(keys) == {"nb01_sequence_data.io_structures"} and len(keys["nb01_sequence_data.io_structures"]) == 5
    assert answer_keys(learner, "nb01_sequence_data") == {}
    assert "key=" not in cell(learner, "test_io_structures").source
