"""The gradebook rows of many graded submissions, written in one session and one transaction.

Runs in the coordinator (trusted).  :func:`course_lib.grading.coordinator.record.record` writes one submission the
way ``nbgrader autograde`` does: ``update_or_create_student`` / ``_submission``, then nbgrader's
``SaveAutoGrades`` and ``AssignLatePenalties`` per notebook, each opening the gradebook again and committing
once per grade cell -- about 1.6 s per student of seven notebooks.  :func:`write_rows` sets the same columns
to the same values for a whole batch, in the caller's session, and leaves the commit to the caller:

- student: created if missing (``add_student``, no other column);
- submission: created if missing with every notebook, grade and comment row nbgrader's ``add_submission``
  makes; ``timestamp`` from ``timestamp.txt`` (``nbgrader.utils.parse_utc``), ``extension`` from
  ``.course/extensions.json``;
- a notebook not handed back: every grade ``auto_score = 0``, ``needs_manual_grade = False``;
- each grade cell of a returned notebook (``SaveAutoGrades._add_score``): ``auto_score`` from
  ``nbgrader.utils.determine_grade``; ``needs_manual_grade`` when a manual score exists or no auto score; a bonus
  exercise's ``extra_credit`` (:mod:`course_lib.grading.task.bonus`);
- each solution or task cell (``SaveAutoGrades._add_comment``): ``auto_comment = "No response."`` when the
  checksum is unchanged and it is not a task, else None;
- each notebook's ``late_submission_penalty`` (``AssignLatePenalties.preprocess``): None, then the
  configured plugin's penalty from the notebook's score, checked by nbgrader's own ``_check_late_penalty``.

The batch goes to the database as a few statements, whatever its size (the ORM's unit of work issued a
query per lazy attribute and per row: 0.7 s of CPU a student on a loaded machine): one read of the
assignments' cells, one of the batch's existing submissions, one insert per table for the new rows
(``executemany``, the ids from nbgrader's own ``new_uuid``), one read of the batch's grade and comment rows,
one ``UPDATE ... WHERE id = ?`` per column set (``executemany``), and one read of the late notebooks'
scores (nbgrader's own ``SubmittedNotebook.score`` expression, so the penalty sees the number nbgrader's
would).  Late seconds: nbgrader's ``total_seconds_late`` of ``timestamp``, due date and extension.

``tests/grading/coordinator/test_record_batch.py`` records the same outcomes both ways and compares every table.
"""

from __future__ import annotations

import dataclasses
import datetime
import types

__all__ = ["INDEXES", "Submitted", "ensure_indexes", "write_rows"]


@dataclasses.dataclass
class Submitted:
    """One graded submission, as the gradebook needs it."""

    student: str
    assignment: str
    notebooks: dict[str, object]  # notebook name -> the autograded notebook (nbformat node)
    stamp: str = ""  # timestamp.txt ("" when none)
    extension: datetime.timedelta | None = None


# The columns the batch (and nbgrader's own lazy loads: ``submission.notebooks``, ``notebook.grades``) look rows up
# by that nbgrader's schema does not index: its unique constraints lead with the other column, so each lookup
# scanned the table, and recording slowed with the class (3.3 students/s after 1,200 of 10,000 on SQLite, load 11).
INDEXES = {
    "ix_course_submitted_notebook_assignment_id": ("submitted_notebook", "assignment_id"),
    "ix_course_grade_notebook_id": ("grade", "notebook_id"),
    "ix_course_comment_notebook_id": ("comment", "notebook_id"),
}


def ensure_indexes(db) -> None:
    """``CREATE INDEX IF NOT EXISTS`` each of :data:`INDEXES` (SQLite and PostgreSQL); nothing else changes, so
    nbgrader and Formgrader read and write the gradebook as before."""
    from sqlalchemy import text

    for name, (table, column) in INDEXES.items():
        db.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})"))


def _late(config):
    """nbgrader's ``AssignLatePenalties`` with the course's plugin, for its plugin and its checks."""
    from nbgrader.preprocessors import AssignLatePenalties

    late = AssignLatePenalties(config=config)
    late.init_plugin()
    return late


_TYPES = {"GradeCell": "grade", "SolutionCell": "solution", "TaskCell": "task"}


def _cells(db, assignment_ids) -> dict:
    """assignment id -> notebook name -> (notebook id, {"grade"|"solution"|"task": [cell ids]})."""
    from nbgrader.api import BaseCell, Notebook
    from sqlalchemy import select

    out: dict = {}
    for nb_id, assignment_id, name in db.execute(
        select(Notebook.id, Notebook.assignment_id, Notebook.name).where(Notebook.assignment_id.in_(assignment_ids))
    ):
        out.setdefault(assignment_id, {})[name] = (nb_id, {"grade": [], "solution": [], "task": []})
    by_id = {nb_id: kinds for notebooks in out.values() for nb_id, kinds in notebooks.values()}
    for cell_id, nb_id, kind in db.execute(
        select(BaseCell.id, BaseCell.notebook_id, BaseCell.type).where(BaseCell.notebook_id.in_(list(by_id)))
    ):
        if kind in _TYPES:
            by_id[nb_id][_TYPES[kind]].append(cell_id)
    return out


def _insert_submissions(db, new: list[tuple[str, str]], cells: dict) -> dict[tuple[str, str], str]:
    """nbgrader's ``add_submission`` for each (student id, assignment id): the submission, a notebook per
    notebook, a grade per grade and task cell, a comment per solution and task cell; returns their ids."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook, new_uuid
    from sqlalchemy import insert

    submissions, notebooks, grades, comments, ids = [], [], [], [], {}
    for student, assignment in new:
        sub_id = ids[student, assignment] = new_uuid()
        submissions.append({"id": sub_id, "assignment_id": assignment, "student_id": student})
        for nb_id, kinds in cells.get(assignment, {}).values():
            snb_id = new_uuid()
            notebooks.append({"id": snb_id, "notebook_id": nb_id, "assignment_id": sub_id})
            grades += [{"notebook_id": snb_id, "cell_id": c} for c in kinds["grade"] + kinds["task"]]
            comments += [{"notebook_id": snb_id, "cell_id": c} for c in kinds["solution"] + kinds["task"]]
    for model, rows in (
        (SubmittedAssignment, submissions),
        (SubmittedNotebook, notebooks),
        (Grade, grades),
        (Comment, comments),
    ):
        if rows:
            db.execute(insert(model.__table__), rows)
    return ids


def _rows(db, submission_ids) -> tuple[dict, dict, dict]:
    """The batch's rows: (submission id, notebook, cell name) -> grade (id, manual score) and -> comment id;
    submission id -> [(submitted notebook id, notebook name)]."""
    from nbgrader.api import BaseCell, Comment, Grade, Notebook, SubmittedNotebook
    from sqlalchemy import select

    grades, comments, notebooks = {}, {}, {}
    for snb_id, sub_id, name in db.execute(
        select(SubmittedNotebook.id, SubmittedNotebook.assignment_id, Notebook.name)
        .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
        .where(SubmittedNotebook.assignment_id.in_(submission_ids))
    ):
        notebooks.setdefault(sub_id, []).append((snb_id, name))
    for model, out, extra in ((Grade, grades, [Grade.manual_score]), (Comment, comments, [])):
        query = (
            select(model.id, SubmittedNotebook.assignment_id, Notebook.name, BaseCell.name, *extra)
            .join(SubmittedNotebook, SubmittedNotebook.id == model.notebook_id)
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
            .join(BaseCell, BaseCell.id == model.cell_id)
            .where(SubmittedNotebook.assignment_id.in_(submission_ids))
        )
        for row_id, sub_id, notebook, cell, *rest in db.execute(query):
            out[sub_id, notebook, cell] = (row_id, *rest)
    return grades, comments, notebooks


def _update(db, model, rows: list[dict]) -> None:
    """``UPDATE <table> SET <the keys> WHERE id = :row_id``, one executemany per set of keys."""
    from sqlalchemy import bindparam, update

    table = model.__table__
    by_keys: dict[tuple, list] = {}
    for row in rows:
        by_keys.setdefault(tuple(sorted(k for k in row if k != "row_id")), []).append(row)
    for keys, group in by_keys.items():
        statement = update(table).where(table.c.id == bindparam("row_id")).values({k: bindparam(k) for k in keys})
        db.execute(statement, group)


def _seconds_late(timestamp, due, extension) -> float:
    """nbgrader's ``SubmittedAssignment.total_seconds_late``."""
    if timestamp is None or due is None:
        return 0
    if extension is not None:
        due = due + extension
    return max(0, (timestamp - due).total_seconds())


def write_rows(gb, config, work: list[Submitted]) -> None:
    """Every row of ``work`` into the gradebook session ``gb`` (see the module docstring); no commit."""
    from nbgrader import utils
    from nbgrader.api import (
        Assignment,
        Comment,
        Grade,
        MissingEntry,
        Student,
        SubmittedAssignment,
    )
    from sqlalchemy import insert, select

    from course_lib.grading.task.bonus import extra_credit

    if not work:
        return
    db, late = gb.db, _late(config)
    ensure_indexes(db)
    names = sorted({w.assignment for w in work})
    ids = sorted({w.student for w in work})
    assignments = dict(db.execute(select(Assignment.name, Assignment.id).where(Assignment.name.in_(names))).all())
    dues = dict(db.execute(select(Assignment.id, Assignment.duedate).where(Assignment.name.in_(names))).all())
    for name in names:
        if name not in assignments:
            gb.find_assignment(name)  # raises nbgrader's MissingEntry, as update_or_create_submission does
    known = set(db.scalars(select(Student.id).where(Student.id.in_(ids))))
    if set(ids) - known:
        db.execute(insert(Student.__table__), [{"id": s} for s in ids if s not in known])
    submissions = {
        (student, assignment): (sub_id, timestamp)
        for sub_id, student, assignment, timestamp in db.execute(
            select(
                SubmittedAssignment.id,
                SubmittedAssignment.student_id,
                SubmittedAssignment.assignment_id,
                SubmittedAssignment.timestamp,
            ).where(
                SubmittedAssignment.assignment_id.in_(list(assignments.values())),
                SubmittedAssignment.student_id.in_(ids),
            )
        )
    }
    cells = _cells(db, list(assignments.values()))
    new = sorted({(w.student, assignments[w.assignment]) for w in work} - set(submissions))
    for pair, sub_id in _insert_submissions(db, new, cells).items():
        submissions[pair] = (sub_id, None)
    grades, comments, notebooks = _rows(db, [sub_id for sub_id, _ in submissions.values()])

    of_notebook: dict[tuple[str, str], list[str]] = {}
    for (sub_id, notebook, _), (grade_id, _) in grades.items():
        of_notebook.setdefault((sub_id, notebook), []).append(grade_id)
    grade_rows, comment_rows, submission_rows, standing = [], [], [], {}
    for w in work:
        sub_id, timestamp = submissions[w.student, assignments[w.assignment]]
        if w.stamp:
            timestamp = utils.parse_utc(w.stamp)
            submission_rows.append({"row_id": sub_id, "timestamp": timestamp, "extension": w.extension})
        else:
            submission_rows.append({"row_id": sub_id, "extension": w.extension})
        for _, notebook in notebooks.get(
            sub_id, []
        ):  # handed in without this notebook: zero, as coordinator.record does
            if notebook not in w.notebooks:
                grade_rows += [
                    {"row_id": grade_id, "auto_score": 0, "needs_manual_grade": False}
                    for grade_id in of_notebook.get((sub_id, notebook), [])
                ]
        for notebook, nb in w.notebooks.items():  # SaveAutoGrades.preprocess_cell, every cell
            for cell in nb.cells:
                if utils.is_grade(cell):
                    found = grades.get((sub_id, notebook, cell.metadata["nbgrader"]["grade_id"]))
                    if found is None:
                        raise MissingEntry()
                    auto_score, _ = utils.determine_grade(cell, late.log)
                    needs = found[1] is not None or auto_score is None
                    row = {"row_id": found[0], "auto_score": auto_score, "needs_manual_grade": needs}
                    credit = extra_credit(cell, notebook, late.log)
                    if credit is not None:  # a bonus exercise (SaveAutoGradesAndBonus)
                        row["extra_credit"] = credit
                    grade_rows.append(row)
                if utils.is_solution(cell) or utils.is_task(cell):
                    found = comments.get((sub_id, notebook, cell.metadata["nbgrader"]["grade_id"]))
                    if found is None:
                        raise MissingEntry()
                    unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
                    text = "No response." if unchanged and not utils.is_task(cell) else None
                    comment_rows.append({"row_id": found[0], "auto_comment": text})
        due = dues[assignments[w.assignment]]
        standing[sub_id] = (w.student, _seconds_late(timestamp, due, w.extension))
    _update(db, Grade, grade_rows)
    _update(db, Comment, comment_rows)
    _update(db, SubmittedAssignment, submission_rows)
    _penalties(db, late, standing, notebooks)


def _penalties(db, late, standing: dict, notebooks: dict) -> None:
    """``AssignLatePenalties`` for submissions ``standing`` (id -> (student, seconds late)) whose notebooks
    are ``notebooks`` (id -> [(notebook id, name)]): None, then the plugin's penalty from the score where late."""
    from nbgrader.api import SubmittedNotebook
    from sqlalchemy import select

    late_notebooks = {
        snb_id: sub_id for sub_id, (_, s) in standing.items() if s > 0 for snb_id, _ in notebooks.get(sub_id, [])
    }
    scores = (
        dict(
            db.execute(
                select(SubmittedNotebook.id, SubmittedNotebook.score).where(
                    SubmittedNotebook.id.in_(list(late_notebooks))
                )
            ).all()
        )
        if late_notebooks
        else {}
    )
    penalty_rows = []
    for sub_id, (student, seconds_late) in standing.items():
        for snb_id, _ in notebooks.get(sub_id, []):
            penalty = None
            if seconds_late > 0:
                score = scores[snb_id]
                penalty = late.plugin_inst.late_submission_penalty(student, score, seconds_late)
                if penalty is not None:
                    penalty = late._check_late_penalty(types.SimpleNamespace(score=score), penalty)
            penalty_rows.append({"row_id": snb_id, "late_submission_penalty": penalty})
    _update(db, SubmittedNotebook, penalty_rows)


def apply_late_batch(gb, config, extensions: dict[tuple[str, str], datetime.timedelta | None]) -> list:
    """:func:`~course_lib.grading.coordinator.rescore.apply_late` for many submissions in one session, no commit:
    ``extensions`` (student, assignment) -> the extension to copy into the submission; each notebook's penalty
    recomputed from the scores the gradebook holds.  Returns the pairs the gradebook has."""
    from nbgrader.api import Assignment, SubmittedAssignment
    from sqlalchemy import select, tuple_

    db, late = gb.db, _late(config)
    ensure_indexes(db)
    pairs = sorted(extensions)
    standing, rows, found = {}, [], []
    for chunk in range(0, len(pairs), 500):
        query = (
            select(
                SubmittedAssignment.id,
                SubmittedAssignment.student_id,
                Assignment.name,
                SubmittedAssignment.timestamp,
                Assignment.duedate,
            )
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .where(tuple_(SubmittedAssignment.student_id, Assignment.name).in_(pairs[chunk : chunk + 500]))
        )
        for sub_id, student, assignment, timestamp, due in db.execute(query):
            extension = extensions[student, assignment]
            rows.append({"row_id": sub_id, "extension": extension})
            standing[sub_id] = (student, _seconds_late(timestamp, due, extension))
            found.append((student, assignment))
    _update(db, SubmittedAssignment, rows)
    _, _, notebooks = _rows(db, list(standing))
    _penalties(db, late, standing, notebooks)
    return found
