"""Bring a class's submissions into nbgrader's ``submitted/`` folder, checking each one on the way.

Accepted: a folder laid out as nbgrader expects (``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb``),
a zip of that layout, or an LMS export: a zip (or folder) of flat files whose names carry the student id,
read with nbgrader's own ``FileNameCollectorPlugin`` (the collector of ``nbgrader zip_collect``) and the
pattern ``LMS_PATTERN`` (Canvas's ``<student>_<LATE_><id>_<id>_<file>``; pass another with
``--lms-pattern``).  Each problem is reported by name for that student and never stops the class:

- a notebook that is not valid JSON, or not a notebook  -> graded as the blank notebook (0), original kept
- a missing notebook                                    -> graded as the blank notebook (0)
- a renamed notebook (the only .ipynb in the folder)    -> graded under its right name
- an old nbformat version                               -> converted to version 4
- a notebook from another assignment                    -> graded, and reported
- cells with nbgrader ids the source does not have      -> their grading metadata is removed
- graded cells deleted (an answer and its test together)-> put back from the released notebook, in its order
- a timestamp.txt that is not a date, or is earlier than the notebook's last change -> named; ignored or the later used
- a hidden student folder (``...``), a symbolic link where an assignment folder should be -> named, not graded
- copies of a graded cell (copy and paste keeps the id)  -> the first is graded, the copies are ordinary cells
- anything else that cannot be read or is not a valid notebook -> graded as the blank notebook, reason given
- student ids or file names that could escape the folder, symlinks, oversized files -> refused
- extra files past MAX_FOLDER_BYTES per assignment folder -> left out (named), so no folder fills the disk
- named pipes, sockets, devices, symbolic links (anywhere in the folder), names that are not UTF-8, more than
  MAX_ENTRIES entries or MAX_DEPTH levels, a folder where the notebook should be -> left out, named for that
  student (a FIFO is never opened: reading one would wait forever)

The original files are kept untouched under ``.course/originals``: grading never loses a submission.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import json
import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat

from course_lib.grading.coordinator.handed_in import check_timestamp

# what one notebook, one student's folder (extras and originals) and an unpacked LMS export may weigh, and how
# many entries and folder levels one student's folder may hold
from course_lib.grading.limits import (
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_FOLDER_BYTES,
    MAX_NOTEBOOK_BYTES,
    MAX_ZIP_BYTES,
)

__all__ = ["Intake", "Problem", "intake", "shown"]

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
BAD_STUDENT_ID = (
    "the student id has characters that are not allowed (allowed: letters A-Z and a-z, digits and . _ @ + -, "
    "starting with a letter or a digit, at most 100 characters): ignored"
)
HIDDEN_KNOWN = {".ipynb_checkpoints", ".DS_Store", ".git", ".course"}  # hidden entries that are never a student
LMS_PATTERN = r"(?i)^(?:.*/)?(?P<student_id>[a-z0-9][a-z0-9.@+-]*)_(?P<late>late_)?\d+_\d+_(?P<file_id>[^/]+\.ipynb)$"


@dataclasses.dataclass
class Problem:
    student: str
    assignment: str
    notebook: str
    what: str


@dataclasses.dataclass
class Intake:
    students: list[str]
    work: list[tuple[str, str]]  # (student, assignment) pairs to grade
    problems: list[Problem]
    from_lms: bool = False  # flat LMS files: their times are those of unpacking
    late: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # (student, assignment) the LMS marked late


def shown(name: str) -> str:
    """A file name as printable UTF-8 text: bytes that are not UTF-8 as ``\\xff``, control characters escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _decodable(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:  # os.fsdecode keeps undecodable bytes as lone surrogates
        return False


_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


@dataclasses.dataclass
class _Inventory:
    """What a student's assignment folder holds that can be taken: regular files and folders (relative
    paths, in name order), and what was left out, as (shown path, why)."""

    files: list[Path] = dataclasses.field(default_factory=list)
    folders: list[Path] = dataclasses.field(default_factory=list)
    left_out: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _inventory(folder: Path) -> _Inventory:
    """Walk ``folder`` without following links or opening anything: regular files and folders only."""
    found = _Inventory()
    seen = 0
    pending = collections.deque([(Path(), 0)])  # breadth first: a deep chain does not hide the rest
    while pending:
        relative, depth = pending.popleft()
        try:
            entries = sorted(os.scandir(folder / relative), key=lambda e: e.name)
        except OSError as error:
            found.left_out.append((shown(str(relative)), f"could not be read ({type(error).__name__}): ignored"))
            continue
        subfolders = []
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                found.left_out.append(
                    (shown(str(relative)), f"more than {MAX_ENTRIES} files and folders: the rest ignored")
                )
                return found
            path = relative / entry.name
            if not _decodable(entry.name):
                found.left_out.append((shown(str(path)), "a file name that is not UTF-8: ignored"))
            elif entry.is_symlink():
                found.left_out.append((shown(str(path)), "a symbolic link: ignored"))
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 > MAX_DEPTH:
                    found.left_out.append((shown(str(path)), f"nested deeper than {MAX_DEPTH} folders: ignored"))
                else:
                    found.folders.append(path)
                    subfolders.append((path, depth + 1))
            elif entry.is_file(follow_symlinks=False):
                found.files.append(path)
            else:
                mode = entry.stat(follow_symlinks=False).st_mode
                why = next((what for test, what in _SPECIAL if test(mode)), "not a regular file")
                found.left_out.append((shown(str(path)), f"{why}: ignored"))
        pending.extend(subfolders)
    return found


def _unpack(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        total = 0
        for member in archive.infolist():
            total += member.file_size
            name = Path(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ValueError(f"the zip holds an unsafe path: {member.filename!r}")
            if member.external_attr >> 16 & 0o170000 == 0o120000:
                raise ValueError(f"the zip holds a symbolic link: {member.filename!r}")
        if total > MAX_ZIP_BYTES:
            raise ValueError("the zip unpacks to more than 2 GiB")
        archive.extractall(into)
        for member in archive.infolist():  # extractall does not keep a file's time; late.py reads it
            stamp = time.mktime((*member.date_time, 0, 0, -1))
            try:
                os.utime(into / member.filename, (stamp, stamp))
            except (OSError, ValueError, OverflowError):
                pass  # a time that cannot be set only means the file's time is the time of unpacking
    entries = [p for p in into.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    # A zip of one folder holding the student folders is common; look inside it.
    if len(entries) == 1 and entries[0].is_dir() and all(p.is_dir() for p in entries[0].iterdir()):
        inner = entries[0]
        if not any((inner / s).is_file() for s in ("nbgrader_config.py",)) and any(
            any(q.is_dir() for q in p.iterdir()) for p in inner.iterdir() if p.is_dir()
        ):
            return inner
    return into


def _from_lms(
    folder: Path, assignment: str, pattern: str, into: Path, problems: list[Problem], late: set[tuple[str, str]]
) -> Path:
    """Lay out a flat LMS export as <student>/<assignment>/<file> with nbgrader's file-name collector."""
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    collector = FileNameCollectorPlugin(named_regexp=pattern)
    into.mkdir(parents=True, exist_ok=True)  # an export where no file matches is reported, not a crash
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        found = collector.collect(str(path))
        if not found or not found.get("student_id") or not found.get("file_id"):
            problems.append(
                Problem("-", assignment, shown(path.name), "file name does not match the LMS pattern: ignored")
            )
            continue
        if not STUDENT_ID.match(found["student_id"]):  # a custom --lms-pattern may capture "..": no path from it
            problems.append(Problem("-", assignment, shown(path.name), BAD_STUDENT_ID))
            continue
        target = into / found["student_id"] / assignment / Path(found["file_id"]).name
        if target.exists():
            problems.append(
                Problem(found["student_id"], assignment, shown(path.name), "a second file with the same name: ignored")
            )
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        if found.get("late"):  # Canvas's LATE_ marker: grading/late.py turns it into nbgrader's timestamp
            late.add((found["student_id"], assignment))
    return into


def _set_aside_collected(root: Path, source: Path) -> Path:
    """``source`` itself, unless it is the course's own ``submitted/`` (what ``nbgrader collect`` fills, from the
    exchange): intake rewrites that folder, so it is first moved, whole and in one rename, to
    ``.course/collected/<UTC time>/`` and read from there (and kept there: grading never loses a submission)."""
    submitted = root / "submitted"
    if not (source.is_dir() and submitted.is_dir() and source.resolve() == submitted.resolve()):
        return source
    kept = root / ".course" / "collected" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept.parent.mkdir(parents=True, exist_ok=True)
    while kept.exists():  # two runs in one second
        kept = kept.with_name(kept.name + "+")
    os.rename(submitted, kept)
    return kept


def intake(
    root: Path,
    source: Path,
    assignments: dict[str, dict[str, set[str]]],
    release_dir: Path,
    only: list[str] | None = None,
    lms_pattern: str | None = None,
) -> Intake:
    """Copy ``source`` into ``root/submitted``; ``assignments`` maps assignment -> notebook -> grade ids.

    ``release_dir`` holds the learner (blank) notebooks used in place of unreadable or missing ones.
    """
    root = Path(root)
    if not source.exists():
        raise FileNotFoundError(f"no submissions at {source}")
    source = _set_aside_collected(root, Path(source))
    problems: list[Problem] = []
    late: set[tuple[str, str]] = set()
    from_lms = False
    with tempfile.TemporaryDirectory(prefix="course-intake-") as tmp:
        folder = _unpack(source, Path(tmp)) if source.is_file() and zipfile.is_zipfile(source) else source
        if not folder.is_dir():
            raise ValueError(f"{source} is neither a folder nor a zip file")
        if lms_pattern or not any(p.is_dir() for p in folder.iterdir()):
            if not only or len(only) != 1:
                raise ValueError(
                    "these submissions are flat files (an LMS export): say which assignment they are "
                    "for with --assignment"
                )
            folder = _from_lms(folder, only[0], lms_pattern or LMS_PATTERN, Path(tmp) / "lms", problems, late)
            from_lms = True
        students, work = [], []
        for student_dir in sorted(folder.iterdir()):
            student = student_dir.name
            if student.startswith("."):  # "..." is a folder name too: named, never skipped without a word
                if student not in HIDDEN_KNOWN:
                    problems.append(
                        Problem(shown(student), "-", "-", "a hidden name (starts with '.'), not a student id: ignored")
                    )
                continue
            if student_dir.is_symlink() or not student_dir.is_dir():
                problems.append(Problem(shown(student), "-", "-", "not a folder (or a symbolic link): ignored"))
                continue
            if not STUDENT_ID.match(student):
                problems.append(Problem(shown(student), "-", "-", BAD_STUDENT_ID))
                continue
            try:
                handed_in = {p.name for p in student_dir.iterdir() if p.is_dir() and not p.is_symlink()}
            except OSError as error:  # an unreadable folder is this student's problem
                problems.append(Problem(student, "-", "-", f"the folder could not be read ({type(error).__name__})"))
                continue
            students.append(student)
            for linked in sorted(p.name for p in student_dir.iterdir() if p.is_symlink()):
                problems.append(
                    Problem(student, shown(linked), "-", "a symbolic link, not a folder handed in: not graded")
                )
            for name in sorted(handed_in - set(assignments)):
                problems.append(
                    Problem(
                        student,
                        shown(name),
                        "-",
                        f"unknown assignment '{shown(name)}': not graded (the course has {sorted(assignments)})",
                    )
                )
            for assignment, notebooks in assignments.items():
                if (only and assignment not in only) or assignment not in handed_in:
                    continue
                target = root / "submitted" / student / assignment
                originals = root / ".course" / "originals" / student / assignment
                for old in (target, originals):
                    if old.exists():
                        shutil.rmtree(old)
                target.mkdir(parents=True)
                found = _inventory(student_dir / assignment)
                problems.extend(Problem(student, assignment, "-", f"{path}: {why}") for path, why in found.left_out)
                _keep_originals(student_dir / assignment, found, originals)
                _take_assignment(
                    student_dir / assignment,
                    found,
                    target,
                    student,
                    assignment,
                    notebooks,
                    assignments,
                    release_dir / assignment,
                    problems,
                )
                problems.extend(Problem(student, assignment, "-", note) for note in check_timestamp(target, originals))
                work.append((student, assignment))
    return Intake(students, work, problems, from_lms, late)


def _over_budget(paths, budget: list[int], max_each: int | None = None) -> set[Path]:
    """The extra files (not notebooks) among ``paths`` that do not fit, in name order, in ``budget[0]`` bytes
    (or are larger than ``max_each``); those that fit use the budget up.  A folder of huge files must not fill
    the grader's disk; notebooks always come along."""
    over = set()
    for path in sorted(paths):
        if path.is_symlink() or not path.is_file() or path.name.endswith(".ipynb"):
            continue
        size = path.stat().st_size
        if size > budget[0] or (max_each is not None and size > max_each):
            over.add(path)
        else:
            budget[0] -= size
    return over


def _keep_originals(src: Path, found: _Inventory, originals: Path) -> None:
    """Copy what ``found`` lists into ``originals``: the folders, the notebooks, the extras that fit the budget."""
    originals.mkdir(parents=True)
    for folder in found.folders:
        (originals / folder).mkdir(parents=True, exist_ok=True)
    over = _over_budget([src / f for f in found.files], [MAX_FOLDER_BYTES])
    for relative in found.files:
        if src / relative not in over:
            shutil.copy2(src / relative, originals / relative, follow_symlinks=False)


def _take_assignment(
    src: Path,
    found: _Inventory,
    target: Path,
    student: str,
    assignment: str,
    notebooks: dict[str, set[str]],
    all_assignments: dict[str, dict[str, set[str]]],
    blanks: Path,
    problems: list[Problem],
) -> None:
    files = {p.name: src / p for p in found.files if len(p.parts) == 1}
    over = _over_budget(files.values(), [MAX_FOLDER_BYTES], max_each=MAX_NOTEBOOK_BYTES)
    for name, path in files.items():  # data files and other extras come along, unless huge
        if not name.endswith(".ipynb") and path not in over:
            shutil.copy2(path, target / name)
    left_out = sorted(p.name for p in over)
    if left_out:
        problems.append(
            Problem(
                student,
                assignment,
                "-",
                f"{len(left_out)} extra file(s) too large to take along "
                f"(each <= {MAX_NOTEBOOK_BYTES // 2**20} MB, "
                f"{MAX_FOLDER_BYTES // 2**20} MB in all): {left_out[:5]}",
            )
        )
    spare = [n for n in files if n.endswith(".ipynb") and n[:-6] not in notebooks]
    for notebook, grade_ids in notebooks.items():
        filename = f"{notebook}.ipynb"
        path = files.get(filename)
        if path is None and len(spare) == 1 and len(notebooks) == 1:
            path = files[spare[0]]
            problems.append(Problem(student, assignment, notebook, f"renamed: graded '{spare[0]}' as '{filename}'"))
        if path is None:
            where = "a folder, not a notebook" if Path(filename) in found.folders else "missing"
            problems.append(Problem(student, assignment, notebook, f"{where}: graded as the blank notebook (0 points)"))
            shutil.copy2(blanks / filename, target / filename)
            continue
        try:
            blank = nbformat.read(blanks / filename, as_version=4)
            nb, notes = _read_notebook(path, grade_ids, all_assignments, _reference(blank), blank)
        except Exception as error:  # untrusted input: whatever breaks the reading is this notebook's problem only
            problems.append(
                Problem(
                    student,
                    assignment,
                    notebook,
                    f"unreadable ({type(error).__name__}: {' '.join(str(error).split())[:200]}): graded as the blank "
                    f"notebook (0 points); the original is kept in .course/originals",
                )
            )
            shutil.copy2(blanks / filename, target / filename)
            continue
        problems.extend(Problem(student, assignment, notebook, note) for note in notes)
        nbformat.write(nb, target / filename)


GRADING_FIELDS = ("grade", "solution", "locked", "task", "points")


def _reference(nb) -> dict[str, tuple[str, dict]]:
    """{grade id: (cell type, nbgrader metadata)} of the assignment's own (released) notebook ``nb``."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: (cell.cell_type, dict(cell.metadata["nbgrader"]))
        for cell in nb.cells
        if _grading_id(cell) is not None
    }


def _grading_kind(cell_type: str, meta: dict) -> tuple:
    """What makes a cell graded, comparable: its type, its flags and its points."""
    try:
        points = float(meta.get("points") or 0)
    except (TypeError, ValueError):
        points = float("nan")  # a forged value never equals the source's
    return (cell_type, *(bool(meta.get(f)) for f in GRADING_FIELDS[:-1]), points)


def _read_notebook(
    path: Path,
    grade_ids: set[str],
    all_assignments: dict[str, dict[str, set[str]]],
    reference: dict[str, tuple[str, dict]] | None = None,
    blank=None,
):
    """The notebook at ``path`` as a valid nbformat-4 notebook, and notes on what was changed or found.

    A graded cell whose grading metadata (grade, solution, locked, task, points, cell type) disagrees with
    ``reference`` (the assignment's own notebook) is forged: its metadata is restored from the reference (a
    cell of another type loses it).  nbgrader itself fails such a notebook with "see the above traceback".

    Raises (anything) when it cannot be read: the caller grades the blank notebook instead.
    """
    notes = []
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise ValueError("it is JSON but not a notebook")
    version = raw.get("nbformat")
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    if version != 4:
        notes.append(f"converted from nbformat {version} to 4")
    handed_in_ids = {_grading_id(cell) for cell in nb.cells} - {None}
    if grade_ids and not handed_in_ids & grade_ids:
        other = [f"{a}/{n}" for a, nbs in all_assignments.items() for n, g in nbs.items() if handed_in_ids & g]
        where = f"it looks like {other[0]}" if other else "it has none of this notebook's cells"
        notes.append(f"wrong notebook: {where}; graded as handed in")
    stripped, seen, copies, forged = 0, set(), [], []
    for cell in nb.cells:
        if "nbgrader" not in cell.get("metadata", {}):
            continue
        grade_id = _grading_id(cell)
        if grade_id not in grade_ids:
            stripped += 1
        elif grade_id in seen:  # a copied and pasted cell carries its original's id; nbgrader refuses the notebook
            copies.append(grade_id)
        else:
            seen.add(grade_id)
            if reference is None or grade_id not in reference:
                continue
            cell_type, meta = reference[grade_id]
            if _grading_kind(cell.cell_type, cell.metadata["nbgrader"]) == _grading_kind(cell_type, meta):
                continue
            forged.append(grade_id)
            if cell.cell_type == cell_type:
                cell.metadata["nbgrader"] = copy.deepcopy(meta)
                continue
        del cell.metadata["nbgrader"]
    if stripped:
        notes.append(
            f"{stripped} cell(s) carried nbgrader ids that the assignment does not have: their grading "
            f"metadata was removed"
        )
    deleted = [i for i in (reference or {}) if i not in seen]
    if deleted and len(deleted) < len(reference or {}):  # none at all is the "wrong notebook" note above
        if blank is not None:
            _restore_cells(nb, blank, set(deleted))
        notes.append(
            f"graded cells deleted from the notebook: {', '.join(deleted)}; put back from the assignment "
            f"and graded (a deleted answer cell earns nothing)"
        )
    if forged:
        notes.append(
            f"forged grading metadata in {', '.join(forged)} (its grade/solution/locked/points or cell type "
            f"differ from the assignment's): restored from the assignment, graded as the assignment says"
        )
    if copies:
        notes.append(
            f"copies of graded cells ({', '.join(sorted(set(copies)))}): the first of each is graded, the "
            f"copies run as ordinary cells"
        )
    nbformat.validate(nb)  # what nbgrader reads next must be a well-formed notebook
    return nb, notes


def _restore_cells(nb, blank, deleted: set[str]) -> None:
    """Put the graded cells ``deleted`` back into ``nb`` from the released notebook ``blank``, in its order: each
    after the nearest cell before it (in ``blank``) that ``nb`` still has, or first.

    nbgrader's own ``OverwriteCells.add_missing_grade_cells`` puts back grade cells only, after the previous
    source cell, and fails with ``KeyError`` when that one was deleted too (an answer cell and its test cell
    deleted together): the whole notebook's score was lost.  A put-back answer cell is the released one
    (unanswered), so the notebook scores as if the cells were there and left unanswered.
    """
    position = {_grading_id(cell): i for i, cell in enumerate(nb.cells) if _grading_id(cell) is not None}
    taken_ids = {cell.get("id") for cell in nb.cells}
    after = -1  # index in nb of the last cell of blank seen so far
    for cell in blank.cells:
        grade_id = _grading_id(cell)
        if grade_id is None:
            continue
        if grade_id in deleted:
            restored = copy.deepcopy(cell)
            if restored.get("id") in taken_ids:  # cell ids are unique in a notebook
                restored["id"] = f"restored-{grade_id}"[:64]
            taken_ids.add(restored.get("id"))
            nb.cells.insert(after + 1, restored)
            position = {k: (i + 1 if i > after else i) for k, i in position.items()}
            after += 1
            position[grade_id] = after
        elif grade_id in position:
            after = max(after, position[grade_id])


def _grading_id(cell) -> str | None:
    """The cell's nbgrader grade id, or None where there is none or it is not even a string."""
    grading = cell.get("metadata", {}).get("nbgrader")
    grade_id = grading.get("grade_id") if isinstance(grading, dict) else None
    return grade_id if isinstance(grade_id, str) else None
