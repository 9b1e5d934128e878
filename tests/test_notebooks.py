"""Are the notebooks right as files, and do they run?

- notebooks/ is exactly what `course release` generates from solutions/ (nbgrader is the generator);
- both trees are committed without outputs;
- every solution notebook runs top to bottom without an error;
- every learner notebook runs top to bottom failing only with the stub's NotImplementedError or a
  check's "not implemented yet" (no NameError because an earlier exercise is unfinished).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.release import release
from tests.conftest import ROOT

SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
LEARNER = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
IDS = [p.parent.name for p in SOLUTIONS]


def test_there_are_notebooks_and_each_solution_has_a_learner_version():
    assert SOLUTIONS, "no solution notebooks found"
    assert [p.relative_to(ROOT / "solutions") for p in SOLUTIONS] == [
        p.relative_to(ROOT / "notebooks") for p in LEARNER
    ]


def test_notebooks_folder_is_exactly_what_release_generates(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copytree(ROOT / "solutions", course / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    release(course)
    for committed in LEARNER:
        generated = course / "notebooks" / committed.relative_to(ROOT / "notebooks")
        assert generated.is_file(), f"release did not generate {committed.name}"
        assert json.loads(generated.read_text()) == json.loads(committed.read_text()), (
            f"{committed.relative_to(ROOT)} differs from what `course release` generates from solutions/: "
            f"run `course release` and commit the result (never edit notebooks/ by hand)"
        )


@pytest.mark.parametrize("path", SOLUTIONS + LEARNER, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"cell {index} of {path.name} has outputs"


def test_learner_notebooks_say_they_are_generated():
    for path in LEARNER:
        note = nbformat.read(path, as_version=4).metadata.get("course", {}).get("generated", "")
        assert "do not edit" in note and "solutions/" in note, path


def _execute(path: Path, tmp_path: Path, quick: bool) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("COURSE_QUICK")
    if quick:
        os.environ["COURSE_QUICK"] = "1"
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        if env_before is None:
            os.environ.pop("COURSE_QUICK", None)
    return nb


def _errors(nb) -> list[tuple[int, str, str]]:
    return [
        (i, o.ename, o.evalue)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_solution_runs_top_to_bottom_without_error(path, tmp_path):
    nb = _execute(path, tmp_path, quick=False)
    assert not _errors(nb), f"{path.name} raised: {_errors(nb)}"


@pytest.mark.slow
@pytest.mark.parametrize("path", LEARNER, ids=[p.parent.name for p in LEARNER])
def test_learner_version_fails_only_where_the_learner_has_work_to_do(path, tmp_path):
    nb = _execute(path, tmp_path, quick=True)
    errors = _errors(nb)
    assert errors, "an untouched learner notebook should fail its checks"
    unexpected = [
        (i, name, value[:200])
        for i, name, value in errors
        if not (name == "NotImplementedError" or (name == "CheckFailure" and "not implemented yet" in value))
    ]
    assert not unexpected, f"cells failing for another reason than an unfinished exercise: {unexpected}"
    demos = [
        (i, value[:120])
        for i, name, value in errors
        if name == "NotImplementedError"
        and not nb.cells[i].metadata.get("nbgrader", {}).get("solution")
        and "this cell runs your code of" not in value
    ]
    assert not demos, f"demonstration cells that fail without naming the exercise to write first (needs()): {demos}"
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    for cell in graded:
        assert any(o.output_type == "error" for o in cell.outputs), (
            f"{cell.metadata['nbgrader']['grade_id']} passes on the untouched stub"
        )


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_every_test_cell_checks_an_exercise_of_its_own_notebook(path):
    """The grader judges test cell test_X of assignment NN_topic with exercise X of module nbNN_topic."""
    from course_lib.checks import EXERCISES, checks_module
    from course_lib.grading.task.judge import test_exercise

    module = checks_module(path.parent.name)
    names = [test_exercise(c) for c in nbformat.read(path, as_version=4).cells]
    names = [n for n in names if n]
    assert names, f"{path.name} has no autograded test cells"
    for cell in nbformat.read(path, as_version=4).cells:
        name = test_exercise(cell)
        if name:
            assert f"{module}.{name}" in EXERCISES, f"{path.name}: test_{name} has no exercise {name} in {module}"
            assert f"check_{name}(" in cell.source, f"{path.name}: test_{name} does not call check_{name}"
