"""The coordinator's records: the one process that writes the course folder and the real gradebook.

Runs in the ``course grade`` process (trusted), in the order tasks finish.  ``course grade`` records what
has arrived together (:func:`record_batch`): one gradebook session and one transaction for the batch, the
rows written by :mod:`course_lib.grading.coordinator.batch` (the same rows as below, 0.02 s a student instead of 1.6 s),
then each pair's files and mark as below.  :func:`record` is the reference the batch is tested against.
For a graded submission (:func:`record`): the student and submission rows (nbgrader's ``update_or_create_*``,
with the submission's ``timestamp.txt``), then nbgrader's own ``SaveAutoGrades`` and
``AssignLatePenalties`` preprocessors run over each returned autograded notebook against the real
gradebook -- the very code ``nbgrader autograde`` runs, so the scores are the ones nbgrader would
record; they set ``auto_score`` and never touch ``manual_score``, so grades entered in Formgrader survive
a re-grade.  Then ``autograded/``, ``feedback/`` and ``.course/reports/`` of that pair are replaced, and
the resume mark is written last: a run interrupted at any point re-grades exactly the pairs without a
mark.  For a failed one (:func:`forget`): the mark and the stale files go, so an old score is never
shown as if current.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path, PurePosixPath

from course_lib.grading.coordinator.jobs import entry_order
from course_lib.grading.coordinator.rescore import _extensions, apply_late, extension_for, refresh_page
from course_lib.grading.task.job import Job, Outcome, write_tree

__all__ = [
    "NOT_GRADED_PREFIX",
    "Marks",
    "failure_line",
    "forget",
    "job_for",
    "manual_entries",
    "record",
    "record_batch",
]

NOT_GRADED_PREFIX = "not graded: "  # a failure line for a submission nobody's verdict reached
_PAIR_FOLDERS = ("autograded", "feedback", ".course/reports")


class Marks:
    """Resume marks: ``.course/graded/<student>/<assignment>.json`` holds the fingerprint last graded."""

    def __init__(self, root: Path):
        self.folder = Path(root) / ".course" / "graded"

    def path(self, student: str, assignment: str) -> Path:
        return self.folder / student / f"{assignment}.json"

    def current(self, student: str, assignment: str, fingerprint: str) -> bool:
        mark = self.path(student, assignment)
        try:
            return json.loads(mark.read_text()).get("fingerprint") == fingerprint
        except (OSError, ValueError):
            return False

    def write(self, student: str, assignment: str, fingerprint: str) -> None:
        mark = self.path(student, assignment)
        mark.parent.mkdir(parents=True, exist_ok=True)
        partial = mark.with_suffix(".partial")
        partial.write_text(json.dumps({"fingerprint": fingerprint}))
        partial.replace(mark)

    def drop(self, student: str, assignment: str) -> None:
        self.path(student, assignment).unlink(missing_ok=True)


def job_for(root: Path, db_url: str, student: str, assignment: str) -> Job:
    """The task's input: the submitted folder as bytes, the manual grades already entered, the due date and
    the student's extension (so that the task's feedback page shows the penalty the gradebook will hold).
    One pair, two gradebook sessions: the reference that ``course grade``'s bulk
    :func:`~course_lib.grading.coordinator.jobs.jobs_for` is tested against."""
    from nbgrader.api import Gradebook

    folder = Path(root) / "submitted" / student / assignment
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    with Gradebook(db_url) as gb:
        due = gb.find_assignment(assignment).duedate
    extension = extension_for(root, student, assignment, due)
    return Job(
        student,
        assignment,
        files,
        manual_entries(db_url, student, assignment),
        due=due.isoformat() if due else None,
        extension_hours=None if extension is None else extension.total_seconds() / 3600,
    )


def manual_entries(db_url: str, student: str, assignment: str) -> list[dict]:
    """Manual scores and comments of one submission, as plain data (empty for a first grading), in
    :func:`~course_lib.grading.coordinator.jobs.entry_order` (the ORM's relationships have no order of their own)."""
    from nbgrader.api import Gradebook, MissingEntry

    entries: list[dict] = []
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return entries
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                values = {
                    k: getattr(grade, k) for k in ("manual_score", "extra_credit") if getattr(grade, k) is not None
                }
                if values:
                    entries.append({"kind": "grade", "notebook": notebook.name, "name": grade.name, "values": values})
            for comment in notebook.comments:
                if comment.manual_comment:
                    entries.append(
                        {
                            "kind": "comment",
                            "notebook": notebook.name,
                            "name": comment.name,
                            "values": {"manual_comment": comment.manual_comment},
                        }
                    )
    return sorted(entries, key=entry_order)


def _write_new_tree(folder: Path, files: dict[str, bytes]) -> None:
    """:func:`~course_lib.grading.task.job.write_tree` into a folder that does not exist yet: the names are checked
    as text (relative, no ``..``), the folder resolved once -- nothing inside it can be a link, this process makes
    every folder and file there.  ``write_tree`` resolves the folder and the file, twice a file (a tenth of
    recording's CPU)."""
    base, made = folder.resolve(), set()
    for relative, data in files.items():
        parts = PurePosixPath(relative).parts
        if not parts or parts[0] == "/" or ".." in parts:
            raise ValueError(f"a file outside its folder: {relative!r}")
        target = base.joinpath(*parts)
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(data)


def _replace_folder(target: Path, files: dict[str, bytes]) -> None:
    """``target`` holds exactly ``files`` afterwards (written beside it, then swapped in)."""
    staging = target.with_name(target.name + ".incoming")
    if os.path.lexists(staging):  # rmtree of a missing folder costs an exception: most targets are new
        shutil.rmtree(staging, ignore_errors=True)
    if os.path.lexists(staging):
        write_tree(staging, files)  # left over, not removed: every path resolved
    else:
        _write_new_tree(staging, files)
    if os.path.lexists(target):
        shutil.rmtree(target, ignore_errors=True)
    if files:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.replace(target)


def record(root: Path, config, outcome: Outcome, marks: Marks, fingerprint: str) -> None:
    """Write one graded submission into the gradebook and the course folder (see the module docstring)."""
    import nbformat
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    from course_lib.grading.task.bonus import SaveAutoGradesAndBonus

    root = Path(root)
    student, assignment = outcome.student, outcome.assignment
    db_url = config.CourseDirectory.db_url
    timestamp = root / "submitted" / student / assignment / "timestamp.txt"
    stamp = timestamp.read_text().strip() if timestamp.is_file() else ""
    notebooks = {
        Path(name).stem: data
        for name, data in outcome.autograded.items()
        if "/" not in name and name.endswith(".ipynb")
    }
    with Gradebook(db_url, config.CourseDirectory.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission, as in `nbgrader autograde`
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, **({"timestamp": stamp} if stamp else {}))
        due = submission.assignment.duedate
        for notebook in submission.notebooks:  # handed in without this notebook: zero, as nbgrader does
            if notebook.name not in notebooks:
                for grade in notebook.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
        gb.db.commit()
    for name, data in notebooks.items():
        nb = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
        resources = {"nbgrader": {"student": student, "assignment": assignment, "notebook": name, "db_url": db_url}}
        SaveAutoGradesAndBonus(config=config).preprocess(nb, resources)
    apply_late(config, db_url, student, assignment, extension_for(root, student, assignment, due))  # nbgrader's own
    _replace_folder(root / "autograded" / student / assignment, outcome.autograded)
    _replace_folder(root / "feedback" / student / assignment, outcome.feedback)
    _replace_folder(root / ".course" / "reports" / student / assignment, outcome.reports)
    if outcome.feedback:  # the task's page, unless the gradebook now says otherwise (a grade entered meanwhile)
        refresh_page(root, config, student, assignment, shown=outcome.page_digest)
    marks.write(student, assignment, fingerprint)


def _graded_cells(data: bytes):
    """An autograded notebook with only the cells ``SaveAutoGrades`` reads (grade, solution and task cells), each
    read as nbformat's reader reads it (``from_dict``, lines joined, transient fields dropped).

    Neither ``nbformat.reads``' schema validation nor ``from_dict`` of every cell: the two were most of recording's
    CPU (``from_dict`` alone 5 of 15 s for 100 students, under cProfile); the task wrote these notebooks with
    nbformat, and the cells left out are ones ``write_rows`` skips (``is_grade``, ``is_solution``, ``is_task``)."""
    import json

    import nbformat.reader
    from nbformat.v4.nbjson import JSONReader

    text = data.decode("utf-8")
    nb = json.loads(text)
    if nb.get("nbformat") != 4:
        return nbformat.reader.reads(text)  # another version: nbformat's own reader, whole
    graded = ("grade", "solution", "task")
    keep = [c for c in nb.get("cells", []) if any(c.get("metadata", {}).get("nbgrader", {}).get(k) for k in graded)]
    return JSONReader().to_notebook({**nb, "cells": keep})


def _submitted(root: Path, outcome: Outcome):
    """What :func:`course_lib.grading.coordinator.batch.write_rows` needs of one outcome (notebooks parsed, stamp read)."""
    from course_lib.grading.coordinator.batch import Submitted

    student, assignment = outcome.student, outcome.assignment
    timestamp = root / "submitted" / student / assignment / "timestamp.txt"
    notebooks = {
        Path(name).stem: _graded_cells(data)
        for name, data in outcome.autograded.items()
        if "/" not in name and name.endswith(".ipynb")
    }
    stamp = timestamp.read_text().strip() if timestamp.is_file() else ""
    return Submitted(student, assignment, notebooks, stamp)


def record_batch(root: Path, config, batch: list[tuple[Outcome, str]], marks: Marks) -> None:
    """Write graded submissions (each with its fingerprint) as :func:`record` does, the gradebook in one
    transaction: a run stopped before the commit re-grades the whole batch, after it only the unmarked."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    from course_lib.grading.coordinator.batch import write_rows
    from course_lib.grading.coordinator.digests import page_digests

    if not batch:
        return
    root = Path(root)
    db_url = config.CourseDirectory.db_url
    work = [_submitted(root, outcome) for outcome, _ in batch]
    granted = _extensions(root)  # read once for the batch (extension_for reads the file each call)
    with Gradebook(db_url, config.CourseDirectory.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        dues = {a.name: a.duedate for a in gb.assignments}
        for w in work:
            w.extension = extension_for(root, w.student, w.assignment, dues.get(w.assignment), granted)
        write_rows(gb, config, work)
        gb.db.commit()
        # what each page should show, read back after the commit
        shown = page_digests(gb.db, [(o.student, o.assignment) for o, _ in batch if o.feedback])
    for outcome, fingerprint in batch:
        student, assignment = outcome.student, outcome.assignment
        _replace_folder(root / "autograded" / student / assignment, outcome.autograded)
        _replace_folder(root / "feedback" / student / assignment, outcome.feedback)
        _replace_folder(root / ".course" / "reports" / student / assignment, outcome.reports)
        if outcome.feedback:
            now = shown[student, assignment]
            refresh_page(root, config, student, assignment, shown=outcome.page_digest, now=now)
        marks.write(student, assignment, fingerprint)


def forget(root: Path, student: str, assignment: str, marks: Marks) -> None:
    """A re-grade failed: the old results of this pair must not stand as if current."""
    marks.drop(student, assignment)
    (Path(root) / ".course" / "pages" / student / f"{assignment}.json").unlink(missing_ok=True)
    for folder in _PAIR_FOLDERS:
        shutil.rmtree(Path(root) / folder / student / assignment, ignore_errors=True)


def failure_line(root: Path, student: str, assignment: str, error: str, log: str = "") -> str:
    """One line on why grading failed (its last exception line); the whole log goes to .course/logs."""
    text = f"{log}\n{error}"
    path = Path(root) / ".course" / "logs" / student / f"{assignment}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    # An exception line of a traceback; nbgrader's own wrapper ("see the the above traceback") says nothing.
    raised = [
        line.strip()
        for line in text.splitlines()
        if re.match(r"^[A-Za-z_][\w.]*: ", line) and "see the the above traceback" not in line
    ]
    why = (raised or [line.strip() for line in text.splitlines() if line.strip()] or ["no output"])[-1]
    not_run = re.search(r"NotGraded: (.+)", text)
    if not_run:  # the sandbox did not run the notebook (course_lib.grading.task.ran): not graded, and why
        return f"{NOT_GRADED_PREFIX}{not_run.group(1).strip()[:400]} (full log: {path.relative_to(root)})"
    return f"grading failed: {why[:300]} (full log: {path.relative_to(root)})"
