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
- copies of a graded cell (copy and paste keeps the id)  -> the first is graded, the copies are ordinary cells
- anything else that cannot be read or is not a valid notebook -> graded as the blank notebook, reason given
- student ids or file names that could escape the folder, symlinks, oversized files -> refused
- extra files past MAX_FOLDER_BYTES per assignment folder -> left out (named), so no folder fills the disk

The original files are kept untouched under ``.course/originals``: grading never loses a submission.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat

# what one notebook, one student's folder (extras and originals) and an unpacked LMS export may weigh
from course_lib.grading.limits import (
    MAX_FOLDER_BYTES,
    MAX_NOTEBOOK_BYTES,
    MAX_ZIP_BYTES,
)

__all__ = ["Problem", "Intake", "intake"]

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
LMS_PATTERN = r"(?i)^(?:.*/)?(?P<student_id>[a-z0-9][a-z0-9.@+-]*)_(?:late_)?\d+_\d+_(?P<file_id>[^/]+\.ipynb)$"


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
    entries = [p for p in into.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    # A zip of one folder holding the student folders is common; look inside it.
    if len(entries) == 1 and entries[0].is_dir() and all(p.is_dir() for p in entries[0].iterdir()):
        inner = entries[0]
        if not any((inner / s).is_file() for s in ("nbgrader_config.py",)) and any(
                any(q.is_dir() for q in p.iterdir()) for p in inner.iterdir() if p.is_dir()):
            return inner
    return into


def _from_lms(folder: Path, assignment: str, pattern: str, into: Path, problems: list[Problem]) -> Path:
    """Lay out a flat LMS export as <student>/<assignment>/<file> with nbgrader's file-name collector."""
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    collector = FileNameCollectorPlugin(named_regexp=pattern)
    into.mkdir(parents=True, exist_ok=True)  # an export where no file matches is reported, not a crash
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        found = collector.collect(str(path))
        if not found or not found.get("student_id") or not found.get("file_id"):
            problems.append(Problem("-", assignment, path.name, "file name does not match the LMS pattern: ignored"))
            continue
        if not STUDENT_ID.match(found["student_id"]):  # a custom --lms-pattern may capture "..": no path from it
            problems.append(Problem("-", assignment, path.name, "the student id has characters that are not allowed: "
                                    "ignored"))
            continue
        target = into / found["student_id"] / assignment / Path(found["file_id"]).name
        if target.exists():
            problems.append(Problem(found["student_id"], assignment, path.name, "a second file with the same name: ignored"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return into


def intake(root: Path, source: Path, assignments: dict[str, dict[str, set[str]]],
           release_dir: Path, only: list[str] | None = None, lms_pattern: str | None = None) -> Intake:
    """Copy ``source`` into ``root/submitted``; ``assignments`` maps assignment -> notebook -> grade ids.

    ``release_dir`` holds the learner (blank) notebooks used in place of unreadable or missing ones.
    """
    root = Path(root)
    if not source.exists():
        raise FileNotFoundError(f"no submissions at {source}")
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="course-intake-") as tmp:
        folder = _unpack(source, Path(tmp)) if source.is_file() and zipfile.is_zipfile(source) else source
        if not folder.is_dir():
            raise ValueError(f"{source} is neither a folder nor a zip file")
        if lms_pattern or not any(p.is_dir() for p in folder.iterdir()):
            if not only or len(only) != 1:
                raise ValueError("these submissions are flat files (an LMS export): say which assignment they are "
                                 "for with --assignment")
            folder = _from_lms(folder, only[0], lms_pattern or LMS_PATTERN, Path(tmp) / "lms", problems)
        students, work = [], []
        for student_dir in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
            student = student_dir.name
            if student_dir.is_symlink() or not student_dir.is_dir():
                problems.append(Problem(student, "-", "-", "not a folder (or a symbolic link): ignored"))
                continue
            if not STUDENT_ID.match(student):
                problems.append(Problem(student, "-", "-", "the student id has characters that are not allowed: ignored"))
                continue
            students.append(student)
            handed_in = {p.name for p in student_dir.iterdir() if p.is_dir() and not p.is_symlink()}
            unknown = sorted(handed_in - set(assignments))
            for name in unknown:
                problems.append(Problem(student, name, "-", f"unknown assignment '{name}': not graded "
                                        f"(the course has {sorted(assignments)})"))
            for assignment, notebooks in assignments.items():
                if only and assignment not in only:
                    continue
                if assignment not in handed_in:
                    continue
                target = root / "submitted" / student / assignment
                originals = root / ".course" / "originals" / student / assignment
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
                if originals.exists():
                    shutil.rmtree(originals)
                shutil.copytree(student_dir / assignment, originals, symlinks=True, ignore=_beyond_budget())
                _take_assignment(student_dir / assignment, target, student, assignment, notebooks, assignments,
                                 release_dir / assignment, problems)
                work.append((student, assignment))
    return Intake(students, work, problems)


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


def _beyond_budget():
    """A copytree ``ignore`` that leaves out what does not fit in MAX_FOLDER_BYTES (still in the instructor's copy)."""
    budget = [MAX_FOLDER_BYTES]
    return lambda folder, names: {p.name for p in _over_budget([Path(folder) / n for n in names], budget)}


def _take_assignment(src: Path, target: Path, student: str, assignment: str, notebooks: dict[str, set[str]],
                     all_assignments: dict[str, dict[str, set[str]]], blanks: Path, problems: list[Problem]) -> None:
    files = {p.name: p for p in src.iterdir() if p.is_file() and not p.is_symlink()}
    for p in src.iterdir():
        if p.is_symlink():
            problems.append(Problem(student, assignment, p.name, "a symbolic link: ignored"))
    over = _over_budget(files.values(), [MAX_FOLDER_BYTES], max_each=MAX_NOTEBOOK_BYTES)
    for name, path in files.items():  # data files and other extras come along, unless huge
        if not name.endswith(".ipynb") and path not in over:
            shutil.copy2(path, target / name)
    left_out = sorted(p.name for p in over)
    if left_out:
        problems.append(Problem(student, assignment, "-", f"{len(left_out)} extra file(s) too large to take along "
                                                           f"(each <= {MAX_NOTEBOOK_BYTES // 2**20} MB, "
                                                           f"{MAX_FOLDER_BYTES // 2**20} MB in all): {left_out[:5]}"))
    spare = [n for n in files if n.endswith(".ipynb") and n[:-6] not in notebooks]
    for notebook, grade_ids in notebooks.items():
        filename = f"{notebook}.ipynb"
        path = files.get(filename)
        if path is None and len(spare) == 1 and len(notebooks) == 1:
            path = files[spare[0]]
            problems.append(Problem(student, assignment, notebook, f"renamed: graded '{spare[0]}' as '{filename}'"))
        if path is None:
            problems.append(Problem(student, assignment, notebook, "missing: graded as the blank notebook (0 points)"))
            shutil.copy2(blanks / filename, target / filename)
            continue
        try:
            nb, notes = _read_notebook(path, grade_ids, all_assignments)
        except Exception as error:  # untrusted input: whatever breaks the reading is this notebook's problem only
            problems.append(Problem(student, assignment, notebook,
                                    f"unreadable ({type(error).__name__}: {' '.join(str(error).split())[:200]}): graded as the blank "
                                    f"notebook (0 points); the original is kept in .course/originals"))
            shutil.copy2(blanks / filename, target / filename)
            continue
        problems.extend(Problem(student, assignment, notebook, note) for note in notes)
        nbformat.write(nb, target / filename)


def _read_notebook(path: Path, grade_ids: set[str], all_assignments: dict[str, dict[str, set[str]]]):
    """The notebook at ``path`` as a valid nbformat-4 notebook, and notes on what was changed or found.

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
    stripped, seen, copies = 0, set(), []
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
            continue
        del cell.metadata["nbgrader"]
    if stripped:
        notes.append(f"{stripped} cell(s) carried nbgrader ids that the assignment does not have: their grading "
                     f"metadata was removed")
    if copies:
        notes.append(f"copies of graded cells ({', '.join(sorted(set(copies)))}): the first of each is graded, the "
                     f"copies run as ordinary cells")
    nbformat.validate(nb)  # what nbgrader reads next must be a well-formed notebook
    return nb, notes


def _grading_id(cell) -> str | None:
    """The cell's nbgrader grade id, or None where there is none or it is not even a string."""
    grading = cell.get("metadata", {}).get("nbgrader")
    grade_id = grading.get("grade_id") if isinstance(grading, dict) else None
    return grade_id if isinstance(grade_id, str) else None
