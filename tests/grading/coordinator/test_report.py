"""Does what the instructor receives (grades.csv, grading-report.md/.json) tell pending, graded and failed apart?"""

from __future__ import annotations

import csv
import json

from course_lib.grading.coordinator.intake import Problem
from course_lib.grading.coordinator.report import write_outputs
from tests.grading.sample_gradebook import A, gradebook

SOURCES = {A: {A: set()}}


def _outputs(tmp_path, problems=()):
    url = gradebook(
        tmp_path,
        {
            "alice": {"auto": 12, "manual": None},
            "bob": {"auto": 12, "manual": 2, "late_penalty": 1.4},
            "carol": {"auto": 12, "manual": 2},
        },
    )
    work = [("alice", A), ("bob", A), ("carol", A)]
    csv_path, md_path = write_outputs(tmp_path, url, SOURCES, work, list(problems))
    rows = {row["student"]: row for row in csv.DictReader(csv_path.open())}
    return rows, md_path.read_text(), json.loads((tmp_path / "grading-report.json").read_text())


def test_a_written_answer_awaiting_grading_is_pending_never_zero(tmp_path):
    rows, md, report = _outputs(tmp_path)
    alice = rows["alice"]
    assert alice[f"{A} status"] == "awaiting manual grading"
    assert (alice[A], alice[f"{A} (auto)"], alice[f"{A} (manual)"], alice[f"{A} (pending)"]) == ("12", "12", "0", "2")
    written = next(e for e in report["alice"]["assignments"][A]["exercises"] if e["cell"] == "why_bag_of_words_fails")
    assert written["score"] is None and written["kind"] == "pending"
    assert "12 / 14 (12 autograded) — 2 point(s) awaiting manual grading" in md
    assert r"| why\_bag\_of\_words\_fails | awaiting manual grading (2) |" in md  # names are escaped (cell_text)
    assert "| 0 / 2 |" not in md


def test_manual_points_and_the_late_penalty_are_shown_apart(tmp_path):
    rows, md, report = _outputs(tmp_path)
    bob = rows["bob"]
    assert bob[f"{A} status"] == "graded"
    assert (bob[A], bob[f"{A} (auto)"], bob[f"{A} (manual)"], bob[f"{A} (late penalty)"]) == ("12.6", "12", "2", "1.4")
    assert report["bob"]["assignments"][A]["late_penalty"] == 1.4
    assert "12.6 / 14 (12 autograded, 2 graded by hand, −1.4 late penalty" in md


def test_a_submission_that_failed_to_grade_now_shows_the_cause_not_its_older_score(tmp_path):
    cause = "grading failed: the grading worker did not finish in time (full log: .course/logs/carol/x.log)"
    rows, md, report = _outputs(tmp_path, [Problem("carol", A, "-", cause)])
    carol = rows["carol"]
    assert carol[A] == "" and carol[f"{A} (auto)"] == "", "the gradebook's older 14 must not show"
    assert carol[f"{A} status"] == f"not graded: {cause}"
    assert report["carol"]["assignments"][A] == {"status": "not graded", "cause": cause, "score": None, "exercises": []}
    assert f"### {A}: not graded: grading failed: the grading worker did not finish in time" in md
    assert rows["bob"][A] == "12.6", "the others are still graded"


def test_a_submission_missing_from_the_gradebook_is_not_graded_with_a_cause(tmp_path):
    url = gradebook(tmp_path, {"alice": {"auto": 12, "manual": 2}})
    csv_path, _ = write_outputs(tmp_path, url, SOURCES, [("alice", A), ("dave", A)], [])
    rows = {row["student"]: row for row in csv.DictReader(csv_path.open())}
    assert rows["dave"][f"{A} status"] == "not graded: the gradebook has no record of it"
    assert rows["dave"][A] == "" and rows["alice"][A] == "14"


def test_a_manual_grade_nbgrader_flagged_for_review_after_a_regrade_still_counts(tmp_path):
    from nbgrader.api import Gradebook

    url = gradebook(tmp_path, {"alice": {"auto": 12, "manual": 2}})
    with Gradebook(url) as gb:  # what nbgrader's SaveAutoGrades does to a manually graded cell on a re-grade
        gb.find_grade("why_bag_of_words_fails", A, A, "alice").needs_manual_grade = True
        gb.db.commit()
    csv_path, _ = write_outputs(tmp_path, url, SOURCES, [("alice", A)], [])
    alice = next(csv.DictReader(csv_path.open()))
    assert (alice[A], alice[f"{A} (manual)"], alice[f"{A} (pending)"], alice[f"{A} status"]) == (
        "14",
        "2",
        "0",
        "graded",
    )
