"""Fixtures for the grading suite: a temporary course, and submissions crafted from notebook 01.

A submission is built from the learner notebook with solution cells filled in from the solution notebook
(the answer an honest, correct learner hands in), then edited: a wrong function, tampering code, a
deleted cell, broken JSON...
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.grading.coordinator.class_run import ClassSummary, GradeOptions, grade_class
from course_lib.grading.task.bwrap import bwrap_path
from course_lib.skippable import is_marked_skip
from tests.conftest import ROOT

A01 = "01_sequence_data"
FULL_01 = 17.0  # autograded points of notebook 01
WRITTEN_01 = {"why_bag_of_words_fails": 2.0, "vocabulary_from_training_split": 2.0, "embedding_grad_cost": 1.0}
"""Notebook 01's written answers, graded by hand: cell -> points (5 in all)."""

needs_bwrap = pytest.mark.skipif(
    bwrap_path() is None, reason="bubblewrap is not installed (apt-get install bubblewrap)"
)


def make_course(tmp: Path) -> Path:
    course = tmp / "course"
    course.mkdir()
    for name in ("solutions", "notebooks"):
        shutil.copytree(ROOT / name, course / name)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    # A fixed grading secret, so the hidden seeds (and so every test's outcome) are the same on every run;
    # tests/checks/test_hidden_seeds.py is where checks meet many seeds.
    (course / ".course").mkdir()
    (course / ".course" / "grading-secret").write_bytes(b"tests: a fixed grading secret, 32+")
    return course


def solved(assignment: str = A01) -> nbformat.NotebookNode:
    """The learner notebook with every solution cell replaced by the instructor's solution."""
    learner = nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in solution.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in learner.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return learner


def stub(assignment: str = A01) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / assignment / f"{assignment}.ipynb", as_version=4)


def cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def edit(nb, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cell(nb, grade_id).source = source
    return nb


def write(subs: Path, student: str, nb, assignment: str = A01, name: str | None = None) -> None:
    folder = subs / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name or assignment}.ipynb"
    if isinstance(nb, str):
        target.write_text(nb)
    else:
        nbformat.write(nb, target)


def grade(course: Path, subs: Path, **options) -> ClassSummary:
    options.setdefault("jobs", 2)
    options.setdefault("cell_timeout", 30)
    options.setdefault("notebook_timeout", 240)
    return grade_class(course, subs, GradeOptions(**options))


def report(course: Path) -> dict:
    return json.loads((course / "grading-report.json").read_text())


def points(course: Path, student: str, assignment: str = A01) -> dict[str, float | None]:
    """{cell grade_id: score} from the gradebook, via the report."""
    data = report(course)[student]["assignments"][assignment]
    return {e["cell"]: e["score"] for e in data["exercises"]}


def auto_total(course: Path, student: str, assignment: str = A01) -> float:
    return sum(s or 0 for c, s in points(course, student, assignment).items() if c.startswith("test_"))


def message(course: Path, student: str, grade_id: str, assignment: str = A01) -> str:
    data = report(course)[student]["assignments"][assignment]
    return next(e.get("message", "") for e in data["exercises"] if e["cell"] == grade_id)


def problems(course: Path, student: str) -> list[str]:
    return [p["what"] for p in report(course)[student]["problems"]]


def outputs_text(course: Path, student: str, grade_id: str, assignment: str = A01) -> str:
    nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    return json.dumps(cell(nb, grade_id).outputs)


def formgrader_resources(notebook: Path, student: str, assignment: str = A01) -> dict:
    """The resources Formgrader's submission handler gives its page exporter (template ``formgrade``)."""
    return {
        "assignment_id": assignment,
        "notebook_id": assignment,
        "submission_id": "x",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": student,
        "last_name": "",
        "first_name": "",
        "notebook_path": str(notebook),
    }


def unmark(course: Path, assignments: list[str]) -> None:
    """The course without its skip marks (course_lib.skippable): grading then runs every cell, as before them."""
    for assignment in assignments:
        path = course / "solutions" / assignment / f"{assignment}.ipynb"
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if is_marked_skip(c):
                del c.metadata["course"]
        nbformat.write(nb, path)
