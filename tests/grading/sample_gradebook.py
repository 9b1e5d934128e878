"""A small nbgrader gradebook built through nbgrader's own API, for the report and export tests.

Assignment ``01_sequence_data``: one notebook with an autograded test cell (12 points) and a written answer
(2 points, graded by hand), as notebook 01 has; no grading run needed.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from nbgrader.api import Gradebook

from course_lib.nbgrader_setup import _ensure_bin_on_path

A = "01_sequence_data"
DUE = datetime.datetime(2026, 12, 1, 23, 59)


def gradebook(folder: Path, students: dict[str, dict]) -> str:
    """A gradebook at ``folder/gradebook.db``; ``students`` maps id -> {auto, manual (None: pending), late_penalty,
    submitted (datetime, default on time)}.  Returns its URL."""
    _ensure_bin_on_path()
    url = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment(A, duedate=DUE)
        gb.add_notebook(A, A)
        gb.add_grade_cell("test_windows", A, A, max_score=12, cell_type="code")
        gb.add_grade_cell("why_bag_of_words_fails", A, A, max_score=2, cell_type="markdown")
        gb.add_solution_cell("why_bag_of_words_fails", A, A)
        for student, marks in students.items():
            gb.add_student(
                student, first_name=marks.get("first"), last_name=marks.get("last"), email=marks.get("email")
            )
            gb.add_submission(A, student, timestamp=marks.get("submitted", DUE))
            test = gb.find_grade("test_windows", A, A, student)
            test.auto_score, test.needs_manual_grade = marks["auto"], False
            written = gb.find_grade("why_bag_of_words_fails", A, A, student)
            written.auto_score = None
            if marks.get("manual") is not None:
                written.manual_score, written.needs_manual_grade = marks["manual"], False
            gb.find_submission_notebook(A, A, student).late_submission_penalty = marks.get("late_penalty")
        gb.db.commit()
    return url
