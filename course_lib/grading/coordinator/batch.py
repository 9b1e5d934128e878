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
  ``nbgrader.utils.determine_grade``; ``needs_manual_grade`` when a manual score exists or no auto score;
- each solution or task cell (``SaveAutoGrades._add_comment``): ``auto_comment = "No response."`` when the
  checksum is unchanged and it is not a task, else None;
- each notebook's ``late_submission_penalty`` (``AssignLatePenalties.preprocess``): None, then the
  configured plugin's penalty from the notebook's score, checked by nbgrader's own ``_check_late_penalty``.

``tests/grading/coordinator/test_record_batch.py`` records the same outcomes both ways and compares every table.
"""

from __future__ import annotations

import dataclasses
import datetime

__all__ = ["Submitted", "write_rows"]


@dataclasses.dataclass
class Submitted:
    """One graded submission, as the gradebook needs it."""

    student: str
    assignment: str
    notebooks: dict[str, object]  # notebook name -> the autograded notebook (nbformat node)
    stamp: str = ""  # timestamp.txt ("" when none)
    extension: datetime.timedelta | None = None


def _late(config):
    """nbgrader's ``AssignLatePenalties`` with the course's plugin, for its plugin and its checks."""
    from nbgrader.preprocessors import AssignLatePenalties

    late = AssignLatePenalties(config=config)
    late.init_plugin()
    return late


def _new_submission(gb, assignment, student):
    """nbgrader's ``add_submission``: the submission, with a row per notebook, grade cell, comment."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook

    submission = SubmittedAssignment(assignment=assignment, student=student)
    for notebook in assignment.notebooks:
        nb = SubmittedNotebook(notebook=notebook, assignment=submission)
        for grade_cell in notebook.grade_cells:
            Grade(cell_id=grade_cell.id, notebook=nb)
        for solution_cell in notebook.solution_cells:
            Comment(cell_id=solution_cell.id, notebook=nb)
        for task_cell in notebook.task_cells:
            Comment(cell_id=task_cell.id, notebook=nb)
            Grade(cell_id=task_cell.id, notebook=nb)
    gb.db.add(submission)
    return submission


def _rows_by_cell(gb, submission) -> tuple[dict, dict]:
    """(notebook, cell name) -> its Grade, and -> its Comment, of one submission."""
    from nbgrader.api import BaseCell

    gb.db.flush()  # new rows get their ids; a cell is then found by id in the session's identity map
    grades, comments = {}, {}
    for nb in submission.notebooks:
        for grade in nb.grades:
            grades[nb.name, gb.db.get(BaseCell, grade.cell_id).name] = grade
        for comment in nb.comments:
            comments[nb.name, gb.db.get(BaseCell, comment.cell_id).name] = comment
    return grades, comments


def _save_auto_grades(nb, notebook: str, grades: dict, comments: dict, log) -> None:
    """``SaveAutoGrades.preprocess_cell`` over every cell, without its commit per cell."""
    from nbgrader import utils
    from nbgrader.api import MissingEntry

    from course_lib.grading.task.bonus import extra_credit

    for cell in nb.cells:
        if utils.is_grade(cell):
            grade = grades.get((notebook, cell.metadata["nbgrader"]["grade_id"]))
            if grade is None:
                raise MissingEntry()
            grade.auto_score, _ = utils.determine_grade(cell, log)
            credit = extra_credit(cell, notebook, log)
            if credit is not None:  # a bonus exercise (SaveAutoGradesAndBonus)
                grade.extra_credit = credit
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        if utils.is_solution(cell) or utils.is_task(cell):
            comment = comments.get((notebook, cell.metadata["nbgrader"]["grade_id"]))
            if comment is None:
                raise MissingEntry()
            unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
            comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None


def write_rows(gb, config, work: list[Submitted]) -> None:
    """Every row of ``work`` into the gradebook session ``gb`` (see the module docstring); no commit."""
    from nbgrader import utils
    from nbgrader.api import Assignment, Student, SubmittedAssignment

    late = _late(config)
    names = sorted({w.assignment for w in work})
    ids = sorted({w.student for w in work})
    assignments = {a.name: a for a in gb.db.query(Assignment).filter(Assignment.name.in_(names))}
    students = {s.id: s for s in gb.db.query(Student).filter(Student.id.in_(ids))}
    submissions = {
        (s.student_id, s.assignment.name): s
        for s in gb.db.query(SubmittedAssignment)
        .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
        .filter(Assignment.name.in_(names), SubmittedAssignment.student_id.in_(ids))
    }
    for w in work:
        if w.student not in students:
            students[w.student] = Student(id=w.student)
            gb.db.add(students[w.student])
        if w.assignment not in assignments:
            gb.find_assignment(w.assignment)  # raises nbgrader's MissingEntry, as update_or_create_submission does
        submission = submissions.get((w.student, w.assignment))
        if submission is None:
            submission = _new_submission(gb, assignments[w.assignment], students[w.student])
            submissions[w.student, w.assignment] = submission
        if w.stamp:
            submission.timestamp = utils.parse_utc(w.stamp)
        grades, comments = _rows_by_cell(gb, submission)
        for notebook in submission.notebooks:  # handed in without this notebook: zero, as coordinator.record does
            if notebook.name not in w.notebooks:
                for grade in notebook.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
        for name, nb in w.notebooks.items():
            _save_auto_grades(nb, name, grades, comments, late.log)
        submission.extension = w.extension
        gb.db.flush()
        for notebook in submission.notebooks:  # AssignLatePenalties, from the scores just written
            notebook.late_submission_penalty = None
            if submission.total_seconds_late > 0:
                gb.db.expire(notebook, ["score"])
                penalty = late.plugin_inst.late_submission_penalty(
                    w.student, notebook.score, submission.total_seconds_late
                )
                if penalty is not None:
                    notebook.late_submission_penalty = late._check_late_penalty(notebook, penalty)
