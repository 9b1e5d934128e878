"""Bonus exercises as nbgrader's extra credit: their points add to a score, never to the maximum.

Runs wherever grades are saved: a grading task's autograde (trusted) and the coordinator's recording.  A bonus
exercise's test cell (``test_<name>``, :attr:`course_lib.checks.core.Exercise.bonus` > 0) has 0 nbgrader points in
``solutions/``, so ``max_score`` -- the notebook's, the assignment's, Formgrader's, the LMS file's -- counts the
required exercises only.  Its points are the exercise's ``bonus``, read from the course's registry (never from the
submission), and are earned by nbgrader's own rule (``nbgrader.utils.determine_grade``: no error output -> all of
them) into the grade's ``extra_credit``, which nbgrader adds to the score:

    score = auto_score + extra_credit,   max_score = 0   (a bonus test cell)

A grader may change the extra credit in Formgrader; autograding the same submission again sets it again.
"""

from __future__ import annotations

import copy

from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades

__all__ = ["SaveAutoGradesAndBonus", "bonus_points", "extra_credit"]


def bonus_points(notebook: str, grade_id: str) -> float:
    """The bonus points of notebook ``notebook``'s test cell ``grade_id`` (0: a required exercise, another cell)."""
    from course_lib.checks import EXERCISES, checks_module

    if not grade_id.startswith("test_"):
        return 0.0
    exercise = EXERCISES.get(f"{checks_module(notebook)}.{grade_id.removeprefix('test_')}")
    return float(exercise.bonus) if exercise is not None else 0.0


def extra_credit(cell, notebook: str, log=None) -> float | None:
    """The extra credit a graded test cell of ``notebook`` earns: its bonus points by nbgrader's rule; None if it
    is no bonus exercise's test."""
    points = bonus_points(notebook, cell.metadata["nbgrader"]["grade_id"])
    if not points or cell.cell_type != "code" or utils.is_solution(cell):
        return None
    scored = copy.deepcopy(cell)
    scored.metadata["nbgrader"]["points"] = points
    earned, _ = utils.determine_grade(scored, log)
    return earned


class SaveAutoGradesAndBonus(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, and a bonus test cell's points into the grade's ``extra_credit``."""

    def _add_score(self, cell, resources) -> None:
        super()._add_score(cell, resources)
        credit = extra_credit(cell, self.notebook_id, self.log)
        if credit is not None:
            grade = self.gradebook.find_grade(
                cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
            )
            grade.extra_credit = credit
            self.gradebook.db.commit()
