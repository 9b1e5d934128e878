"""Does `course export` write the file Canvas's and Moodle's grade imports take, from a real LMS export?

The sample is laid out as Canvas's own gradebook export (Gradebook > Export): identity and section columns,
assignment columns headed "<name> (<canvas id>)", a "Points Possible" row, read-only score columns.
"""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

import pytest

from course_lib.grading.coordinator.export import export_grades, read_roster
from tests.grading.sample_gradebook import DUE, A, gradebook

SAMPLE = Path(__file__).parents[1] / "data" / "canvas-gradebook-export.csv"
CLASS = {
    "doejane": {"auto": 12, "manual": 2},  # from a Canvas zip: the name in the file names
    "s1002": {"auto": 10, "manual": 1, "late_penalty": 1.1, "submitted": DUE + datetime.timedelta(hours=5)},
    "alee": {"auto": 12, "manual": None},  # the written answer is not graded yet
    "ghost": {"auto": 3, "manual": 0},  # not in the LMS class list
}


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8")))


def test_canvas_import_file_round_trips_against_canvas_own_export(tmp_path):
    url = gradebook(tmp_path, CLASS)
    result = export_grades(tmp_path, url, "canvas", tmp_path / "canvas.csv", [A], roster=SAMPLE)
    rows = _rows(result.path)
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Integration ID",
        "Section",
        "01 Sequence data (90210)",
    ], "the LMS's own column, with its id, so Canvas updates it"
    assert rows[1] == ["Points Possible", "", "", "", "", "", "14"]
    # Read back as Canvas does: every student row of the export, identity and sections exactly as exported.
    header, exported, _ = read_roster(result.path)
    _, original, _ = read_roster(SAMPLE)
    assert [{k: r[k] for k in header[:6]} for r in exported] == [{k: r[k] for k in header[:6]} for r in original]
    grades = {r["SIS Login ID"] or r["Student"]: r["01 Sequence data (90210)"] for r in exported}
    assert grades == {"jdoe": "14", "jsmith": "9.9", "alee": "", "rroe": "", "Student, Test": ""}
    assert result.blank == [f"alee / {A}: 2 point(s) awaiting manual grading"], "pending is empty, never a low number"
    assert result.unmatched == ["ghost"]


def test_moodle_import_file_maps_an_identifier_to_the_grade(tmp_path):
    students = {
        "s1001": {"auto": 12, "manual": 2, "email": "jane@uni.example", "first": "Jane", "last": "Doe"},
        "s1002": {"auto": 12, "manual": None, "email": "john@uni.example", "first": "John", "last": "Smith"},
    }
    url = gradebook(tmp_path, students)
    result = export_grades(tmp_path, url, "moodle", tmp_path / "moodle.csv", [A])
    rows = list(csv.DictReader(result.path.open(encoding="utf-8")))
    assert list(rows[0]) == ["First name", "Last name", "ID number", "Email address", f"{A} (Real)"]
    assert {r["Email address"]: r[f"{A} (Real)"] for r in rows} == {"jane@uni.example": "14", "john@uni.example": ""}
    assert {r["ID number"] for r in rows} == {"s1001", "s1002"}


def test_a_submission_the_last_run_could_not_grade_is_left_empty(tmp_path):
    url = gradebook(tmp_path, {"doejane": {"auto": 12, "manual": 2}})
    last_run = {"doejane": {"assignments": {A: {"status": "not graded", "cause": "grading failed: x"}}}}
    (tmp_path / "grading-report.json").write_text(json.dumps(last_run))
    result = export_grades(tmp_path, url, "canvas", tmp_path / "canvas.csv", [A], roster=SAMPLE)
    grades = {r["SIS Login ID"]: r["01 Sequence data (90210)"] for r in read_roster(result.path)[1]}
    assert grades["jdoe"] == "", "the gradebook's older 14 is not exported"
    assert result.blank == [f"doejane / {A}: not graded: grading failed: x"]


def test_an_unknown_assignment_is_named(tmp_path):
    url = gradebook(tmp_path, {})
    with pytest.raises(ValueError, match="no assignment"):
        export_grades(tmp_path, url, "canvas", tmp_path / "x.csv", ["99_nothing"])
