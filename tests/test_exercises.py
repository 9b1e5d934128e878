"""Does a demonstration cell that waits for an exercise say which one?"""

from __future__ import annotations

import re

import nbformat
import pytest

from course_lib.exercises import needs
from tests.conftest import ROOT, stub


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


def rnn_cell(x):
    raise NotImplementedError()


def rnn_forward(x):  # written: it calls the unwritten rnn_cell
    return [rnn_cell(x_t) for x_t in x]


def test_the_exercise_whose_stub_raised_is_named_not_the_one_that_called_it():
    """Issue 23: with rnn_forward written and rnn_cell not, the cell blamed both (or rnn_forward alone)."""
    with pytest.raises(NotImplementedError) as info:
        with needs("exercise 1 (rnn_cell)", "exercise 2 (rnn_forward)"):
            rnn_forward([1, 2])
    assert "exercise 1 (rnn_cell): write it above" in str(info.value)
    assert "rnn_forward" not in str(info.value)


class FusedLayer:
    def __init__(self):
        raise NotImplementedError()


def decoder_step(x):
    raise NotImplementedError()


def encode(x):  # written
    return x


def test_every_listed_stub_is_named_and_no_written_exercise():
    """06's cell 30 listed finished exercises beside missing ones: only the missing ones are named now."""
    with pytest.raises(NotImplementedError) as info:
        with needs("exercise 1 (encode)", "exercise 2 (decoder_step)", "exercise 3 (FusedLayer)"):
            decoder_step(encode(1))
    assert str(info.value).startswith(
        "this cell runs your code of exercise 2 (decoder_step), exercise 3 (FusedLayer): write them above"
    ), str(info.value)


def _numbers(path) -> dict[str, str]:
    """{exercise id or function name: its number} as the notebook's headings give them.

    A heading ``**Exercise 2 (1 point) and 3 (1 point).**`` numbers the next two exercise cells 2 and 3."""
    from course_lib.checks import EXERCISES

    functions = {e.name: e.function for e in EXERCISES.values()}
    numbers, pending = {}, []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            heading = re.match(r"\*\*(?:Bonus e|E)xercise ([^*]+)\*\*", cell.source.strip())
            if heading:
                pending = re.findall(r"(?:^|and )(\d+[a-z]?)\b", heading.group(1))
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.metadata.get("nbgrader", {}).get("solution") and pending and not grade_id.startswith("test_"):
            number = pending.pop(0)
            numbers[grade_id] = numbers[functions.get(grade_id, grade_id)] = number
    return numbers


SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_needs_numbers_the_exercises_as_the_headings_do(path):
    """01 called decode "exercise 2" while its heading numbers it 3."""
    numbers = _numbers(path)
    wrong = []
    for cell in nbformat.read(path, as_version=4).cells:
        for call in re.findall(r"needs\(([^)]*(?:\([^)]*\)[^)]*)*)\)", cell.source):
            for number, name in re.findall(r"exercise (\w+) \((\w+)\)", call):
                if numbers.get(name) != number:
                    wrong.append(f"exercise {number} ({name}): the heading says {numbers.get(name)}")
    assert not wrong, "\n".join(wrong)
