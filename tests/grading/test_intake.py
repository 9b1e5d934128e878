"""Does intake take in every readable submission, name every problem, and refuse what could escape?"""

from __future__ import annotations

import zipfile

import nbformat
import pytest

from course_lib.grading.intake import intake
from course_lib.grading.run import _source_notebooks
from tests.conftest import ROOT
from tests.grading.conftest import A01, solved, stub

SOURCES = {A01: _source_notebooks(ROOT)[A01]}


@pytest.fixture
def blanks(tmp_path):
    folder = tmp_path / "release" / A01
    folder.mkdir(parents=True)
    nbformat.write(stub(), folder / f"{A01}.ipynb")
    return tmp_path / "release"


def test_a_zip_with_the_nbgrader_layout_is_taken_in(tmp_path, blanks):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"export/alice/{A01}/{A01}.ipynb", nbformat.writes(solved()))
        z.writestr(f"export/bob/{A01}/{A01}.ipynb", nbformat.writes(stub()))
    taken = intake(tmp_path / "course", archive, SOURCES, blanks)
    assert taken.work == [("alice", A01), ("bob", A01)] and not taken.problems
    assert (tmp_path / "course" / "submitted" / "alice" / A01 / f"{A01}.ipynb").is_file()


def test_a_zip_that_would_write_outside_its_folder_is_refused(tmp_path, blanks):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"../../escape/{A01}.ipynb", "{}")
    with pytest.raises(ValueError, match="unsafe path"):
        intake(tmp_path / "course", archive, SOURCES, blanks)


def test_unsafe_student_ids_symlinks_and_unknown_assignments_are_named(tmp_path, blanks):
    subs = tmp_path / "subs"
    (subs / "bad id!" / A01).mkdir(parents=True)
    (subs / "carol" / "99_unknown").mkdir(parents=True)
    (subs / "dave").mkdir()
    (subs / "dave" / A01).symlink_to(tmp_path)
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    whats = " | ".join(f"{p.student}: {p.what}" for p in taken.problems)
    assert "bad id!: the student id has characters that are not allowed" in whats
    assert "carol: unknown assignment '99_unknown'" in whats
    assert taken.work == []


def test_a_flat_lms_export_is_collected_with_nbgraders_file_name_collector(tmp_path, blanks):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alicesmith_12345_678901_{A01}.ipynb", nbformat.writes(solved()))
        z.writestr(f"bobjones_LATE_23456_789012_{A01}-1.ipynb", nbformat.writes(stub()))
        z.writestr("readme.txt", "not a submission")
    taken = intake(tmp_path / "course", archive, SOURCES, blanks, only=[A01])
    assert taken.work == [("alicesmith", A01), ("bobjones", A01)]
    whats = [p.what for p in taken.problems]
    assert any("renamed" in w for w in whats) and any("does not match the LMS pattern" in w for w in whats)


def test_a_flat_export_needs_the_assignment_named(tmp_path, blanks):
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alicesmith_12345_678901_{A01}.ipynb", nbformat.writes(solved()))
    with pytest.raises(ValueError, match="--assignment"):
        intake(tmp_path / "course", archive, SOURCES, blanks)
