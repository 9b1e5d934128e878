"""No learner-controlled text written to a CSV file starts a spreadsheet formula (OWASP CSV injection):
grades.csv (report), grading-stats.csv (stats) and the Canvas/Moodle import file (export)."""

from __future__ import annotations

import csv

import pytest

from course_lib.grading.coordinator.csv_cells import FORMULA_STARTS, safe_cell
from course_lib.grading.coordinator.export import export_grades
from course_lib.grading.coordinator.intake import Problem
from course_lib.grading.coordinator.report import write_outputs
from course_lib.grading.coordinator.stats import ExerciseStats, write_stats
from tests.grading.sample_gradebook import A, gradebook

HOSTILE = ['=HYPERLINK("evil.example","click here")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _cells(path):
    return [cell for row in csv.reader(path.open(encoding="utf-8", newline="")) for cell in row]


def _assert_inert(path):
    live = [cell for cell in _cells(path) if cell.startswith(FORMULA_STARTS) and not _number(cell)]
    assert not live, f"{path.name} has cells a spreadsheet would evaluate: {live}"


def _number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("text", HOSTILE)
def test_a_formula_start_gets_a_quote_and_a_number_stays_a_number(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell("-2.4") == "-2.4" and safe_cell("14") == "14" and safe_cell(3) == 3
    assert safe_cell("click here") == "click here"


def test_grades_csv_problems_cell_is_not_a_formula(tmp_path):
    url = gradebook(tmp_path, {"alice": {"auto": 12, "manual": 2, "late_penalty": 1.4}})
    problems = [Problem("alice", A, "-", f"{h}: a named pipe (FIFO): ignored") for h in HOSTILE]
    csv_path, _ = write_outputs(tmp_path, url, {A: {A: set()}}, [("alice", A)], problems)
    _assert_inert(csv_path)
    row = next(csv.DictReader(csv_path.open(encoding="utf-8", newline="")))
    assert row["problems"].startswith("'=HYPERLINK("), "the learner's text kept, as text"
    assert row[A] == "12.6", "numbers untouched"


def test_grading_stats_csv_mistake_cell_is_not_a_formula(tmp_path):
    stats = [ExerciseStats(A, A, "test_x", 2.0, 3, 0, 1.0, 0.5, None, None, mistake=HOSTILE[0], mistake_count=2)]
    csv_path, _, _ = write_stats(tmp_path, stats)
    _assert_inert(csv_path)
    assert "'" + HOSTILE[0] in _cells(csv_path)


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_lms_export_cells_are_not_formulas(tmp_path, lms):
    url = gradebook(
        tmp_path, {"s1001": {"auto": 12, "manual": 2, "first": HOSTILE[0], "last": "@x", "email": "-a@uni.example"}}
    )
    result = export_grades(tmp_path, url, lms, tmp_path / f"{lms}.csv", [A])
    _assert_inert(result.path)
