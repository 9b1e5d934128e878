"""The tasks' inputs for a whole class run, prepared in bulk: the gradebook read once, not twice a pair.

Runs in the coordinator (trusted), before the tasks are submitted.  A task's :class:`~course_lib.grading.task.job.Job`
carries the submitted folder, the manual grades and comments already entered (so that its feedback page shows what
the gradebook will), the assignment's due date and the student's extension.
:func:`course_lib.grading.coordinator.record.job_for` builds one the ORM's way -- one gradebook session for the
due date, another for the submission's notebooks, grades and comments (a query per lazy attribute), and
``.course/extensions.json`` read again -- which at a class's scale was the run's bottleneck before any task
started (1.3 s a pair at load 25).  :func:`jobs_for` builds the same jobs for any number of pairs from one
gradebook session of three queries, whatever the class size:

- the assignments' due dates;
- every grade row of the chosen assignments with a manual score or extra credit, and every comment row with a
  manual comment, each with its student, assignment, notebook and cell names (rows of pairs not asked for are
  dropped here: a class's hand-graded rows are few);
- ``.course/extensions.json`` read once.

The submitted files are read pair by pair as the jobs are taken (a class's files need not fit in memory at
once).  ``tests/grading/coordinator/test_record_batch.py`` compares the jobs with :func:`job_for`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from course_lib.grading.coordinator.rescore import _extensions, extension_for
from course_lib.grading.task.job import Job

__all__ = ["entry_order", "jobs_for"]


def entry_order(entry: dict) -> tuple:
    """The order of a job's manual entries: by notebook, grades before comments, by cell name."""
    return entry["notebook"], entry["kind"] != "grade", entry["name"]


def _manual(db, assignments: list[str], pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[dict]]:
    """(student, assignment) -> its manual entries (as :func:`~course_lib.grading.coordinator.record.manual_entries`)."""
    from nbgrader.api import Assignment, BaseCell, Comment, Grade, Notebook, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import or_, select

    def rows(model, *columns, where):
        return db.execute(
            select(SubmittedAssignment.student_id, Assignment.name, Notebook.name, BaseCell.name, *columns)
            .select_from(model)
            .join(SubmittedNotebook, SubmittedNotebook.id == model.notebook_id)
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
            .join(BaseCell, BaseCell.id == model.cell_id)
            .where(Assignment.name.in_(assignments), where)
        )

    out: dict[tuple[str, str], list[dict]] = {}
    grades = rows(
        Grade,
        Grade.manual_score,
        Grade.extra_credit,
        where=or_(Grade.manual_score.isnot(None), Grade.extra_credit.isnot(None)),
    )
    for student, assignment, notebook, cell, manual_score, extra_credit in grades:
        values = {k: v for k, v in (("manual_score", manual_score), ("extra_credit", extra_credit)) if v is not None}
        if (student, assignment) in pairs:
            entry = {"kind": "grade", "notebook": notebook, "name": cell, "values": values}
            out.setdefault((student, assignment), []).append(entry)
    for student, assignment, notebook, cell, text in rows(
        Comment, Comment.manual_comment, where=Comment.manual_comment.isnot(None)
    ):
        if text and (student, assignment) in pairs:
            entry = {"kind": "comment", "notebook": notebook, "name": cell, "values": {"manual_comment": text}}
            out.setdefault((student, assignment), []).append(entry)
    for entries in out.values():
        entries.sort(key=entry_order)
    return out


def jobs_for(root: Path, db_url: str, pairs: list[tuple[str, str]]) -> Iterator[Job]:
    """:func:`~course_lib.grading.coordinator.record.job_for` of each (student, assignment) of ``pairs``, in order;
    the gradebook is read once, before the first job (see the module docstring)."""
    from nbgrader.api import Assignment, Gradebook
    from sqlalchemy import select

    root = Path(root)
    names = sorted({assignment for _, assignment in pairs})
    with Gradebook(db_url) as gb:
        dues = dict(gb.db.execute(select(Assignment.name, Assignment.duedate).where(Assignment.name.in_(names))).all())
        for name in names:
            if name not in dues:
                gb.find_assignment(name)  # raises nbgrader's MissingEntry, as job_for does
        manual = _manual(gb.db, names, set(pairs))
    granted = _extensions(root)
    for student, assignment in pairs:
        folder = root / "submitted" / student / assignment
        files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        due = dues[assignment]
        extension = extension_for(root, student, assignment, due, granted)
        yield Job(
            student,
            assignment,
            files,
            manual.get((student, assignment), []),
            due=due.isoformat() if due else None,
            extension_hours=None if extension is None else extension.total_seconds() / 3600,
        )
