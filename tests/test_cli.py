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
    assert main(["--course-dir", str(course), "grade", str(course / "subs"), "--assignment", "07_x", "--no-sandbox"]) == 2
    assert "unknown assignment(s) ['07_x']" in capsys.readouterr().err


def test_validate_names_a_notebook_that_is_not_json(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    assert main(["validate", str(bad)]) == 2
    assert "is not a valid notebook" in capsys.readouterr().err


def test_validate_names_a_missing_notebook(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err
