"""Does an LMS's own export, imported once as the roster, match every submission folder and take the grades
into the LMS's own columns -- with no hand editing, and no new column created by accident?

The samples are laid out as each LMS documents its export: Canvas's gradebook export (``Student, ID, SIS User
ID, SIS Login ID, Integration ID, Section``, assignment columns ``<name> (<id>)``, a ``Points Possible`` row) and
Moodle's grade export (``First name, Last name, ID number, Institution, Department, Email address``, one
``<type>: <name> (Real)`` column per grade item).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from course_lib.cli import main as course_cli
from tests.grading.conftest import make_course
from tests.grading.sample_gradebook import A, gradebook

DATA = Path(__file__).parents[1] / "data"
CANVAS = DATA / "canvas-gradebook-export.csv"
MOODLE = DATA / "moodle-grade-export.csv"
# submission folders as they come: an ID number, an e-mail's local part, Moodle's download name, Canvas's
# sortable name, and one student the LMS does not list
CLASS = {
    "s1001": {"auto": 12, "manual": 2},
    "john.smith": {"auto": 10, "manual": 1},
    "Ada Lee": {"auto": 12, "manual": 0.5},
    "roerick": {"auto": 3, "manual": 0},
    "ghost": {"auto": 1, "manual": 0},
}


@pytest.fixture
def course(tmp_path):
    root = make_course(tmp_path)
    gradebook(root, CLASS)
    return root


def _cli(course, *argv) -> int:
    return course_cli(["--course-dir", str(course), *argv])


def test_moodles_own_grade_export_matches_every_listed_student_and_takes_the_grades(course, capsys):
    assert _cli(course, "roster", "import", "moodle", str(MOODLE)) == 1, "an unmatched student fails the import"
    out = capsys.readouterr().out
    assert "4 of our student(s) matched" in out and "1 student(s) match no row" in out and "ghost" in out
    assert "Ada Lee -> Ada Lee (ada.lee@uni.example)" in out

    assert _cli(course, "roster", "map-assignment", A, "Assignment: Sequence data (Real)") == 0
    assert _cli(course, "export", "moodle", "-o", str(course / "moodle.csv")) == 1, "ghost is not exported"
    assert "ghost" in capsys.readouterr().out
    rows = list(csv.DictReader((course / "moodle.csv").open(encoding="utf-8")))
    assert list(rows[0]) == [
        "First name",
        "Last name",
        "ID number",
        "Institution",
        "Department",
        "Email address",
        "Assignment: Sequence data (Real)",
    ], "the roster's identity columns and the grade item's own column, nothing new"
    grades = {r["ID number"]: r["Assignment: Sequence data (Real)"] for r in rows}
    assert grades == {"s1001": "14", "s1002": "11", "s1003": "12.5", "s1004": "3", "s1005": ""}


def test_canvas_roster_stored_once_serves_every_export(course, capsys):
    assert _cli(course, "roster", "import", "canvas", str(CANVAS)) == 1
    assert "ghost" in capsys.readouterr().out
    assert _cli(course, "roster", "map-assignment", A, "01 Sequence data (90210)") == 0
    assert _cli(course, "export", "canvas", "-o", str(course / "canvas.csv")) == 1
    rows = list(csv.reader((course / "canvas.csv").open(encoding="utf-8")))
    assert rows[0][-1] == "01 Sequence data (90210)" and rows[1][0] == "Points Possible"
    grades = {r[1]: r[-1] for r in rows[2:]}
    assert grades == {"4711": "14", "4712": "11", "4713": "12.5", "4714": "3", "4799": ""}


def test_an_unmapped_assignment_is_refused_never_created(course, capsys):
    assert _cli(course, "roster", "import", "moodle", str(MOODLE)) == 1
    capsys.readouterr()
    assert _cli(course, "export", "moodle", "-o", str(course / "moodle.csv")) == 2
    err = capsys.readouterr().err
    assert f"{A} has no column in the moodle roster" in err and "course roster map-assignment" in err
    assert "'Assignment: Sequence data (Real)'" in err, "the columns it could be mapped to are listed"
    assert not (course / "moodle.csv").exists()


def test_bad_roster_input_is_named(course, tmp_path, capsys):
    assert _cli(course, "roster", "import", "canvas", str(MOODLE)) == 2
    err = capsys.readouterr().err
    assert "is not canvas's export (it looks like moodle's" in err and "lacks the column(s) Student, ID" in err
    assert _cli(course, "roster", "map-assignment", A, "Assignment: Sequence data (Real)") == 2
    assert "no roster yet" in capsys.readouterr().err
    assert _cli(course, "roster", "import", "moodle", str(MOODLE)) == 1
    assert _cli(course, "roster", "map-assignment", A, "Course total (Real)") == 2
    assert "has no grade column 'Course total (Real)'" in capsys.readouterr().err
    assert _cli(course, "roster", "map-assignment", "99_nothing", "Assignment: Sequence data (Real)") == 2
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err
    assert _cli(course, "roster", "import", "moodle", str(tmp_path / "missing.csv")) == 2
    assert "no such file" in capsys.readouterr().err
