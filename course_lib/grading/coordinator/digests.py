"""The feedback-page digests of many submissions, read in four queries instead of a query per attribute.

Runs in the coordinator (trusted).  :func:`course_lib.grading.coordinator.rescore.digest_of` reads one
nbgrader ``SubmittedAssignment`` through the ORM, where every score, maximum and cell name is a lazy
attribute or a deferred ``column_property`` (one query each: about 50 per submission of notebook 01).
:func:`page_digests` selects the same columns -- nbgrader's own SQL expressions (``Grade.score``,
``Grade.max_score``, ``SubmittedNotebook.score``, ``SubmittedAssignment.max_score`` and
``.late_submission_penalty``, ``Comment.comment``) -- for a whole batch, hands :func:`digest_of` light
objects with the attributes it reads, and so computes the very digest, by the very function
(``tests/grading/coordinator/test_record_batch.py`` compares them with :func:`digest_of`'s).
"""

from __future__ import annotations

from types import SimpleNamespace

from course_lib.grading.coordinator.batch import _seconds_late

__all__ = ["page_digests"]


class _Submission(SimpleNamespace):
    @property
    def total_seconds_late(self) -> float:
        return _seconds_late(self.timestamp, self.due, self.extension)


def page_digests(db, pairs) -> dict[tuple[str, str], str]:
    """(student, assignment) -> :func:`~course_lib.grading.coordinator.rescore.digest_of` of its submission,
    for each of ``pairs`` the gradebook session ``db`` holds."""
    from nbgrader.api import (
        Assignment,
        BaseCell,
        Comment,
        Grade,
        Notebook,
        SubmittedAssignment,
        SubmittedNotebook,
    )
    from sqlalchemy import select, tuple_

    from course_lib.grading.coordinator.rescore import digest_of

    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    submissions, keys = {}, {}
    for chunk in range(0, len(pairs), 500):
        query = (
            select(
                SubmittedAssignment.id,
                SubmittedAssignment.student_id,
                Assignment.name,
                SubmittedAssignment.timestamp,
                SubmittedAssignment.extension,
                Assignment.duedate,
                SubmittedAssignment.max_score,
                SubmittedAssignment.late_submission_penalty,
            )
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .where(tuple_(SubmittedAssignment.student_id, Assignment.name).in_(pairs[chunk : chunk + 500]))
        )
        for sub_id, student, name, timestamp, extension, due, max_score, penalty in db.execute(query):
            submissions[sub_id] = _Submission(
                timestamp=timestamp,
                extension=extension,
                due=due,
                max_score=max_score,
                late_submission_penalty=penalty,
                notebooks=[],
            )
            keys[sub_id] = (student, name)
    notebooks = {}
    query = (
        select(
            SubmittedNotebook.id,
            SubmittedNotebook.assignment_id,
            Notebook.name,
            SubmittedNotebook.score,
            SubmittedNotebook.late_submission_penalty,
        )
        .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
        .where(SubmittedNotebook.assignment_id.in_(list(submissions)))
    )
    for snb_id, sub_id, name, score, penalty in db.execute(query):
        notebooks[snb_id] = SimpleNamespace(
            name=name, score=score, late_submission_penalty=penalty, grades=[], comments=[]
        )
        submissions[sub_id].notebooks.append(notebooks[snb_id])
    grades = (
        select(
            Grade.notebook_id,
            BaseCell.name,
            Grade.manual_score,
            Grade.needs_manual_grade,
            Grade.score,
            Grade.max_score,
        )
        .join(BaseCell, BaseCell.id == Grade.cell_id)
        .where(Grade.notebook_id.in_(list(notebooks)))
    )
    for snb_id, name, manual, needs, score, max_score in db.execute(grades):
        notebooks[snb_id].grades.append(
            SimpleNamespace(name=name, manual_score=manual, needs_manual_grade=needs, score=score, max_score=max_score)
        )
    comments = (
        select(Comment.notebook_id, BaseCell.name, Comment.comment)
        .join(BaseCell, BaseCell.id == Comment.cell_id)
        .where(Comment.notebook_id.in_(list(notebooks)))
    )
    for snb_id, name, text in db.execute(comments):
        notebooks[snb_id].comments.append(SimpleNamespace(name=name, comment=text))
    return {keys[sub_id]: digest_of(submission) for sub_id, submission in submissions.items()}
