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


def _handed_in(subs, student: str, text: str) -> None:
    folder = subs / student / A01
    folder.mkdir(parents=True)
    (folder / f"{A01}.ipynb").write_text(text, encoding="utf-8")


def _with_cell(edit) -> str:
    nb = nbformat.writes(solved())
    data = __import__("json").loads(nb)
    edit(data["cells"])
    return __import__("json").dumps(data)


MALFORMED = {  # student -> (notebook text, words the problem must contain)
    "cell-a-string": (_with_cell(lambda cells: cells.__setitem__(2, "hello")), "unreadable (ValidationError"),
    "cells-a-dict": ('{"cells": {}, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "unreadable"),
    "source-a-number": (_with_cell(lambda cells: cells[2].__setitem__("source", 5)), "unreadable"),
    "unknown-cell-type": (_with_cell(lambda cells: cells[2].__setitem__("cell_type", "heading")), "unreadable"),
    "nested-too-deep": ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "unreadable (RecursionError"),
    "not-utf8": ('{"cells": "\udcff"}', "unreadable"),
    "nbgrader-a-string": (_with_cell(lambda cells: cells[3]["metadata"].__setitem__("nbgrader", "x")),
                          "grading metadata was removed"),
    "grade-id-a-list": (_with_cell(lambda cells: cells[3]["metadata"].__setitem__(
        "nbgrader", {"grade": True, "grade_id": ["test_encode"]})), "grading metadata was removed"),
}


def test_malformed_notebooks_are_named_one_by_one_and_never_stop_the_class(tmp_path, blanks):
    subs = tmp_path / "subs"
    for student, (text, _) in MALFORMED.items():
        folder = subs / student / A01
        folder.mkdir(parents=True)
        (folder / f"{A01}.ipynb").write_bytes(text.encode("utf-8", "surrogateescape"))
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    assert sorted(s for s, _ in taken.work) == sorted(MALFORMED)
    whats = {p.student: p.what for p in taken.problems}
    for student, (_, words) in MALFORMED.items():
        assert words in whats.get(student, ""), f"{student}: {whats.get(student)}"
        assert "\n" not in whats[student]
        written = tmp_path / "course" / "submitted" / student / A01 / f"{A01}.ipynb"
        nbformat.validate(nbformat.read(written, as_version=4))


def test_a_copied_graded_cell_keeps_one_id_so_nbgrader_accepts_the_notebook(tmp_path, blanks):
    import copy

    nb = solved()
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_encode")
    nb.cells.append(copy.deepcopy(test_cell))
    subs = tmp_path / "subs"
    _handed_in(subs, "paster", nbformat.writes(nb))
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    assert [p.what for p in taken.problems] == [
        "copies of graded cells (test_encode): the first of each is graded, the copies run as ordinary cells"]
    written = nbformat.read(tmp_path / "course" / "submitted" / "paster" / A01 / f"{A01}.ipynb", as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in written.cells if "nbgrader" in c.metadata]
    assert ids.count("test_encode") == 1 and len(written.cells) == len(nb.cells)


def test_a_custom_lms_pattern_cannot_make_a_path_of_a_student_id(tmp_path, blanks):
    export = tmp_path / "export"
    export.mkdir()
    (export / f".._{A01}.ipynb").write_text(nbformat.writes(solved()))
    taken = intake(tmp_path / "course", export, SOURCES, blanks, only=[A01],
                   lms_pattern=r"^(?:.*/)?(?P<student_id>[^_]+)_(?P<file_id>.+\.ipynb)$")
    assert taken.work == []
    assert [p.what for p in taken.problems] == ["the student id has characters that are not allowed: ignored"]


def test_huge_extra_files_are_left_out_and_named(tmp_path, blanks, monkeypatch):
    from course_lib.grading import intake as intake_module

    monkeypatch.setattr(intake_module, "MAX_FOLDER_BYTES", 3000)
    subs = tmp_path / "subs"
    _handed_in(subs, "hoarder", nbformat.writes(solved()))
    for name in ("a.csv", "b.csv", "c.csv"):
        (subs / "hoarder" / A01 / name).write_bytes(b"x" * 1200)
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    assert [p.what for p in taken.problems] == [
        "1 extra file(s) too large to take along (each <= 20 MB, 0 MB in all): ['c.csv']"]
    assert sorted(p.name for p in (tmp_path / "course" / "submitted" / "hoarder" / A01).iterdir()) == [
        f"{A01}.ipynb", "a.csv", "b.csv"]
    originals = tmp_path / "course" / ".course" / "originals" / "hoarder" / A01
    assert (originals / f"{A01}.ipynb").is_file() and len(list(originals.iterdir())) < 4
