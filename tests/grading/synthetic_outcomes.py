"""Grading outcomes made without grading: a task's autograded notebook is the released notebook with outputs
written into its test cells, so the coordinator can be fed thousands (tests/grading/coordinator/test_record_batch.py,
benchmarks/coordinator.py).

Variants of one student's notebook: ``full`` (every test passes, written answers answered: pending a
grader), ``stub`` (every test raises, answers untouched: 0 and "No response."), ``partial`` (tests in turn
raise, print a partial score of half their points, or pass; the first answer written), ``none`` (no notebook
came back).
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import nbformat

from course_lib.grading.coordinator.class_run import _generate
from course_lib.grading.coordinator.late import TIMESTAMP_FORMAT, set_due_date
from course_lib.grading.task.job import Outcome

VARIANTS = ("full", "stub", "partial", "none")
DUE = datetime.datetime(2026, 12, 1, 23, 59)
ERROR = {"output_type": "error", "ename": "AssertionError", "evalue": "wrong", "traceback": ["AssertionError"]}
PARTIAL = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "0.5"}}


def _partial(points: float) -> dict:
    """A test cell's output that nbgrader reads as a partial score: half the cell's points (0 of a 0-point cell,
    whose extra credit is the bonus; more than its points is refused)."""
    data = {"text/plain": repr(points / 2)}
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": data}


def register(root: Path, db_url: str, assignments: list[str], release: Path) -> dict[str, nbformat.NotebookNode]:
    """The gradebook at ``db_url`` learns ``assignments`` (due ``DUE``); returns each released notebook."""
    released = {}
    for assignment in assignments:
        _generate(root, assignment, db_url, release)
        set_due_date(db_url, assignment, DUE)
        released[assignment] = nbformat.read(release / assignment / f"{assignment}.ipynb", as_version=4)
    return released


def autograded(released: nbformat.NotebookNode, variant: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(released)
    tests = answers = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell.outputs = {
                "full": [],
                "stub": [nbformat.from_dict(ERROR)],
                "partial": [[nbformat.from_dict(ERROR)], [nbformat.from_dict(_partial(meta["points"]))], []][tests % 3],
            }[variant]
            tests += 1
        elif meta.get("solution") and meta.get("grade"):
            if variant == "full" or (variant == "partial" and answers == 0):
                cell.source += "\nMy answer."
            answers += 1
    return nb


def outcome(student: str, assignment: str, released, variant: str, page_digest: str | None = None) -> Outcome:
    """A successful task's outcome; ``page_digest`` None: no feedback page came back."""
    notebooks = {} if variant == "none" else {f"{assignment}.ipynb": nbformat.writes(autograded(released, variant))}
    files = {name: text.encode() for name, text in notebooks.items()}
    files["data/extra.txt"] = f"{student} {variant}".encode()
    return Outcome(
        student,
        assignment,
        True,
        autograded=files,
        feedback={} if page_digest is None else {f"{assignment}.html": f"<p>{student}</p>".encode()},
        reports={f"{assignment}.json": b'{"seconds": 1.0, "events": []}'},
        page_digest=page_digest or "",
    )


def hand_in(root: Path, student: str, assignment: str, late_hours: float | None) -> None:
    """``submitted/<student>/<assignment>/timestamp.txt``: ``late_hours`` after the due date (None: no file)."""
    folder = Path(root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if late_hours is not None:
        when = DUE + datetime.timedelta(hours=late_hours)
        (folder / "timestamp.txt").write_text(when.strftime(TIMESTAMP_FORMAT))
