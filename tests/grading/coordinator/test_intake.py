"""Does intake take in every readable submission, name every problem, and refuse what could escape?"""

from __future__ import annotations

import datetime
import os
import zipfile

import nbformat
import pytest
from nbgrader.utils import parse_utc

from course_lib.grading.coordinator.class_run import _source_notebooks
from course_lib.grading.coordinator.intake import BAD_STUDENT_ID, intake
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
    "nbgrader-a-string": (
        _with_cell(lambda cells: cells[3]["metadata"].__setitem__("nbgrader", "x")),
        "grading metadata was removed",
    ),
    "grade-id-a-list": (
        _with_cell(
            lambda cells: cells[3]["metadata"].__setitem__("nbgrader", {"grade": True, "grade_id": ["test_encode"]})
        ),
        "grading metadata was removed",
    ),
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
        "copies of graded cells (test_encode): the first of each is graded, the copies run as ordinary cells"
    ]
    written = nbformat.read(tmp_path / "course" / "submitted" / "paster" / A01 / f"{A01}.ipynb", as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in written.cells if "nbgrader" in c.metadata]
    assert ids.count("test_encode") == 1 and len(written.cells) == len(nb.cells)


def test_a_custom_lms_pattern_cannot_make_a_path_of_a_student_id(tmp_path, blanks):
    export = tmp_path / "export"
    export.mkdir()
    (export / f".._{A01}.ipynb").write_text(nbformat.writes(solved()))
    taken = intake(
        tmp_path / "course",
        export,
        SOURCES,
        blanks,
        only=[A01],
        lms_pattern=r"^(?:.*/)?(?P<student_id>[^_]+)_(?P<file_id>.+\.ipynb)$",
    )
    assert taken.work == []
    assert [p.what for p in taken.problems] == [BAD_STUDENT_ID] and "allowed: letters" in BAD_STUDENT_ID


def test_huge_extra_files_are_left_out_and_named(tmp_path, blanks, monkeypatch):
    from course_lib.grading.coordinator import intake as intake_module

    monkeypatch.setattr(intake_module, "MAX_FOLDER_BYTES", 3000)
    subs = tmp_path / "subs"
    _handed_in(subs, "hoarder", nbformat.writes(solved()))
    for name in ("a.csv", "b.csv", "c.csv"):
        (subs / "hoarder" / A01 / name).write_bytes(b"x" * 1200)
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    assert [p.what for p in taken.problems] == [
        "1 extra file(s) too large to take along (each <= 20 MB, 0 MB in all): ['c.csv']"
    ]
    assert sorted(p.name for p in (tmp_path / "course" / "submitted" / "hoarder" / A01).iterdir()) == [
        f"{A01}.ipynb",
        "a.csv",
        "b.csv",
    ]
    originals = tmp_path / "course" / ".course" / "originals" / "hoarder" / A01
    assert (originals / f"{A01}.ipynb").is_file() and len(list(originals.iterdir())) < 4


# ------------------------------------------------- any file a student hands in is that student's problem


def _hostile_folder(subs, tmp_path):
    """mallory's folder: a good notebook among a FIFO, a socket, a device, links out, an undecodable name, a
    folder 40 deep and one of many files; nb-dir hands in a folder named like the notebook."""
    import os
    import socket

    folder = subs / "mallory" / A01
    folder.mkdir(parents=True)
    nbformat.write(solved(), folder / f"{A01}.ipynb")
    os.mkfifo(folder / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket"))
    try:
        os.mknod(folder / "device", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pass  # not root: the device case is left out
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "notes").mkdir()
    (folder / "notes" / "up").symlink_to(tmp_path)
    os.mkfifo(folder / "notes" / "pipe")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.csv"), "wb") as handle:
        handle.write(b"1,2\n")
    nbformat.write(
        solved(), (subs / "deep-tree" / A01).mkdir(parents=True) or subs / "deep-tree" / A01 / f"{A01}.ipynb"
    )
    deep = subs / "deep-tree" / A01 / "deep"
    for _ in range(40):
        deep = deep / "d"
    deep.mkdir(parents=True)
    many = folder / "zmany"
    many.mkdir()
    for i in range(200):
        (many / f"{i}.txt").write_text("x")
    (subs / "nb-dir" / A01 / f"{A01}.ipynb").mkdir(parents=True)
    os.makedirs(os.path.join(os.fsencode(subs), b"\xff\xfestudent", A01.encode()))
    (subs / "alice" / A01).mkdir(parents=True)
    nbformat.write(solved(), subs / "alice" / A01 / f"{A01}.ipynb")
    return server


def test_fifos_sockets_devices_links_odd_names_and_deep_trees_are_that_students_problem(tmp_path, blanks, monkeypatch):
    from course_lib.grading.coordinator import intake as intake_module
    from course_lib.grading.coordinator.report import markdown

    monkeypatch.setattr(intake_module, "MAX_ENTRIES", 100, raising=False)
    subs = tmp_path / "subs"
    server = _hostile_folder(subs, tmp_path)
    try:
        taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    finally:
        server.close()
    assert sorted(taken.work) == [("alice", A01), ("deep-tree", A01), ("mallory", A01), ("nb-dir", A01)]
    whats = [f"{p.student}: {p.what}" for p in taken.problems]  # grades.csv shows the what: it names the file
    text = "\n".join(whats)
    text.encode("utf-8")  # every name is printable: the report is written as UTF-8
    for words in (
        "mallory: pipe: a named pipe (FIFO): ignored",
        "mallory: socket: a socket: ignored",
        "mallory: passwd: a symbolic link: ignored",
        "mallory: notes/up: a symbolic link: ignored",
        "mallory: notes/pipe: a named pipe (FIFO): ignored",
        r"mallory: caf\xe9.csv: a file name that is not UTF-8: ignored",
        "mallory: zmany: more than 100 files and folders",
        "deep-tree: deep" + "/d" * 12 + ": nested deeper than 12 folders: ignored",
        "nb-dir: a folder, not a notebook: graded as the blank notebook (0 points)",
        r"\xff\xfestudent: the student id has characters that are not allowed",
    ):
        assert words in text, f"{words!r} not in:\n{text}"
    if any("device" in w for w in whats):
        assert "mallory: device: a device: ignored" in text
    assert not [w for w in whats if w.startswith("alice")]
    markdown({p.student: {"assignments": {}, "problems": [p.__dict__]} for p in taken.problems}).encode("utf-8")
    submitted = tmp_path / "course" / "submitted" / "mallory" / A01
    assert nbformat.read(submitted / f"{A01}.ipynb", as_version=4).cells
    originals = tmp_path / "course" / ".course" / "originals" / "mallory" / A01
    assert (originals / f"{A01}.ipynb").is_file() and not (originals / "pipe").exists()
    assert not (originals / "passwd").is_symlink() and not (originals / "notes" / "up").is_symlink()


def _problems_of(tmp_path, blanks, student: str, nb) -> list[str]:
    """What intake says about ``student`` handing in ``nb`` alone."""
    _handed_in(tmp_path / "subs", student, nbformat.writes(nb))
    return [p.what for p in intake(tmp_path / "course", tmp_path / "subs", SOURCES, blanks).problems]


def test_forged_grading_metadata_is_named_and_restored_from_the_assignment(tmp_path, blanks):
    """A solution cell marked "grade": true made nbgrader fail the notebook ("see the above traceback")."""
    nb = solved()
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "build_vocab":
            meta.update(grade=True, points=5)
        elif meta.get("grade_id") == "test_encode":
            meta.update(points=100)
        elif meta.get("grade_id") == "test_decode":
            meta.update(locked=False, points="lots")
    assert _problems_of(tmp_path, blanks, "forger", nb) == [
        (
            "forged grading metadata in build_vocab, test_encode, test_decode (its grade/solution/locked/points or cell "
            "type differ from the assignment's): restored from the assignment, graded as the assignment says"
        )
    ]
    written = nbformat.read(tmp_path / "course" / "submitted" / "forger" / A01 / f"{A01}.ipynb", as_version=4)
    blank = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in stub().cells if "nbgrader" in c.metadata
    }
    got = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in written.cells if "nbgrader" in c.metadata
    }
    assert got == blank


def test_a_deleted_graded_cell_is_reported(tmp_path, blanks):
    nb = solved()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_pad_batch"]
    assert _problems_of(tmp_path, blanks, "deleter", nb) == [
        (
            "graded cells deleted from the notebook: test_pad_batch; put back from the assignment and graded (a deleted "
            "answer cell earns nothing)"
        )
    ]


def test_the_courses_own_submitted_folder_is_graded_as_nbgrader_collect_left_it(tmp_path, blanks):
    """`course grade submitted` after `nbgrader collect`: intake rewrites submitted/, so it must read a copy that
    it does not rewrite, and the collected files must survive (before: each student's folder was removed first)."""
    course = tmp_path / "course"
    collected = course / "submitted" / "alice" / A01
    collected.mkdir(parents=True)
    nbformat.write(solved(), collected / f"{A01}.ipynb")
    (collected / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    saved = datetime.datetime(2026, 12, 1, 9, 59, tzinfo=datetime.timezone.utc).timestamp()
    os.utime(collected / f"{A01}.ipynb", (saved, saved))  # saved before it was handed in, as nbgrader's submit does
    taken = intake(course, course / "submitted", SOURCES, blanks)
    assert taken.work == [("alice", A01)] and not taken.problems
    assert nbformat.read(collected / f"{A01}.ipynb", as_version=4).cells == solved().cells
    (kept,) = (course / ".course" / "collected").iterdir()
    assert (kept / "alice" / A01 / "timestamp.txt").read_text() == "2026-12-01 10:00:00.000000 UTC"


def test_a_dotted_student_folder_and_a_symlinked_assignment_are_named_for_that_student(tmp_path, blanks):
    subs = tmp_path / "subs"
    _handed_in(subs, "...", nbformat.writes(solved()))
    (subs / "dave").mkdir(parents=True)
    (subs / "dave" / A01).symlink_to(blanks / A01, target_is_directory=True)
    (subs / "bad id!").mkdir()
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    named = {(p.student, p.assignment): p.what for p in taken.problems}
    assert "not a student id" in named[("...", "-")]
    assert "a symbolic link, not a folder handed in" in named[("dave", A01)]
    assert "allowed: letters A-Z and a-z, digits and . _ @ + -" in named[("bad id!", "-")]
    assert taken.work == []


def _stamped(tmp_path, text: str, modified: float):
    subs = tmp_path / "subs"
    _handed_in(subs, "alice", nbformat.writes(solved()))
    folder = subs / "alice" / A01
    (folder / "timestamp.txt").write_text(text)
    os.utime(folder / f"{A01}.ipynb", (modified, modified))
    taken = intake(tmp_path / "course", subs, SOURCES, tmp_path / "release")
    return taken, tmp_path / "course" / "submitted" / "alice" / A01 / "timestamp.txt"


def test_a_timestamp_that_is_not_a_date_is_named_and_the_notebook_still_graded(tmp_path, blanks):
    taken, stamp_file = _stamped(tmp_path, "not a date at all", 1_700_000_000.0)
    assert taken.work == [("alice", A01)]
    (what,) = [p.what for p in taken.problems]
    assert what.startswith("timestamp.txt is not a date ('not a date at all'") and "without a time" in what
    assert not stamp_file.exists(), "nbgrader's autograde would crash on it; late.stamp writes the file's time"
    kept = tmp_path / "course" / ".course" / "originals" / "alice" / A01 / "timestamp.txt"
    assert kept.read_text() == "not a date at all", "the original is kept"


def test_a_timestamp_earlier_than_the_notebooks_last_change_is_named_and_kept(tmp_path, blanks):
    modified = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc).timestamp()
    taken, stamp_file = _stamped(tmp_path, "2020-01-01 00:00:00.000000 UTC", modified)
    (what,) = [p.what for p in taken.problems]
    assert "before the notebook was last modified (2026-12-06 12:00 UTC): check it" in what
    assert parse_utc(stamp_file.read_text()) == datetime.datetime(2020, 1, 1), (
        "a file's time is no time of handing in (a copy without -p makes every file new): the instructor decides"
    )


def test_an_honest_timestamp_is_kept_as_it_is(tmp_path, blanks):
    modified = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc).timestamp()
    taken, stamp_file = _stamped(tmp_path, "2026-12-06 12:03:00.000000 UTC", modified)
    assert not taken.problems and stamp_file.read_text() == "2026-12-06 12:03:00.000000 UTC"


def test_an_answer_cell_and_its_test_cell_deleted_together_are_put_back_in_place_unanswered(tmp_path, blanks):
    """nbgrader's OverwriteCells puts back grade cells only, after the previous cell, and raised KeyError when
    that cell (the answer) was deleted too: the whole notebook went ungraded.  Intake puts both back."""
    nb = solved()
    gone = {"encode", "test_encode"}
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in gone]
    subs = tmp_path / "subs"
    _handed_in(subs, "deleter", nbformat.writes(nb))
    taken = intake(tmp_path / "course", subs, SOURCES, blanks)
    (what,) = [p.what for p in taken.problems]
    assert what.startswith("graded cells deleted from the notebook: encode, test_encode; put back")
    graded = nbformat.read(tmp_path / "course" / "submitted" / "deleter" / A01 / f"{A01}.ipynb", as_version=4)
    nbformat.validate(graded)
    order = [c.metadata["nbgrader"]["grade_id"] for c in graded.cells if "nbgrader" in c.metadata]
    released = [c.metadata["nbgrader"]["grade_id"] for c in stub().cells if "nbgrader" in c.metadata]
    assert order == released, "every graded cell, in the assignment's order"
    blank_answer = next(c for c in stub().cells if c.metadata.get("nbgrader", {}).get("grade_id") == "encode")
    answer = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "encode")
    assert answer.source == blank_answer.source, "the put-back answer cell is the released, unanswered one"
