"""Does the `course` command give clear, specific errors for an instructor's or learner's wrong input?"""

from __future__ import annotations

import shutil

import pytest

from course_lib.cli import main
from tests.conftest import ROOT


@pytest.fixture
def course(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    return tmp_path


def test_release_names_an_unknown_assignment(course, capsys):
    assert main(["--course-dir", str(course), "release", "99_nope"]) == 2
    assert "unknown assignment(s) ['99_nope']" in capsys.readouterr().err


def test_release_outside_a_course_folder_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["release"]) == 2
    assert "no course folder" in capsys.readouterr().err


def test_grade_names_a_missing_submissions_folder(course, capsys):
    assert main(["--course-dir", str(course), "grade", str(course / "nowhere"), "--no-sandbox"]) == 2
    assert "no submissions at" in capsys.readouterr().err


def test_grade_names_an_unknown_assignment(course, capsys):
    (course / "subs").mkdir()
    assert (
        main(["--course-dir", str(course), "grade", str(course / "subs"), "--assignment", "07_x", "--no-sandbox"]) == 2
    )
    assert "unknown assignment(s) ['07_x']" in capsys.readouterr().err


def test_validate_names_a_notebook_that_is_not_json(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    assert main(["validate", str(bad)]) == 2
    assert "is not a valid notebook" in capsys.readouterr().err


def test_validate_names_a_missing_notebook(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err


def test_grade_names_a_due_date_it_cannot_read(course, capsys):
    (course / "subs").mkdir()
    assert main(["--course-dir", str(course), "grade", str(course / "subs"), "--due", "friday", "--no-sandbox"]) == 2
    assert "the due date 'friday' is not an ISO date and time" in capsys.readouterr().err


def test_export_writes_the_lms_file_and_lists_what_it_left_empty(course, capsys):
    from tests.grading.sample_gradebook import A, gradebook

    gradebook(course, {"s1001": {"auto": 12, "manual": 2}, "s1002": {"auto": 12, "manual": None}})
    assert main(["--course-dir", str(course), "export", "canvas", "--assignment", A]) == 0
    out = capsys.readouterr().out
    assert f"wrote {course / 'canvas-grades.csv'} (2 student rows)" in out
    assert f"s1002 / {A}: 2 point(s) awaiting manual grading" in out
    lines = (course / "canvas-grades.csv").read_text().splitlines()
    assert lines[:2] == [f"Student,ID,SIS User ID,SIS Login ID,Section,{A}", "Points Possible,,,,,14"]
    assert sorted(lines[2:]) == ["s1001,,s1001,,,14", "s1002,,s1002,,,"]


def test_export_names_a_missing_roster(course, capsys):
    from tests.grading.sample_gradebook import gradebook

    gradebook(course, {})
    assert main(["--course-dir", str(course), "export", "moodle", "--roster", str(course / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err
