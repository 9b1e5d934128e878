"""``course roster``: the LMS's class list and assignment columns, imported once, so exports need no editing.

Runs in the coordinator (trusted).  ``course roster import canvas|moodle FILE`` reads the LMS's own export
and keeps it in ``.course/roster.json``:

- Canvas: the gradebook export (Grades > Export), ``Student, ID, SIS User ID, SIS Login ID, Section,
  <Name> (<id>)...`` with its ``Points Possible`` row;
- Moodle: the grade export (Grade administration > Export > Plain text file) or the participants list,
  ``First name, Last name, ID number, Institution, Department, Email address, Assignment: <name> (Real)...``.

Each submission folder (the student id ``course grade`` knows) is matched to one row: by an id column
(Canvas ``ID``/``SIS User ID``/``SIS Login ID``; Moodle ``ID number``/``Username``/``Email address``), by the
e-mail's local part, or by the name the LMS writes into submission file names (Canvas ``doejane``, Moodle
``Jane Doe``) when exactly one row has it.  Students no row matches are listed and the command fails.

``course roster map-assignment 01_sequence_data "Sequence data (90210)"`` names the LMS's own column of an
assignment, once; ``course export`` writes grades only into mapped (or unambiguously named) columns and
refuses an assignment it cannot place, so no new column is ever created in the LMS by accident.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from course_lib.nbgrader_setup import CourseError

__all__ = ["IDENTITY", "MATCH", "Matched", "import_roster", "load", "map_assignment", "match", "our_students"]

ROSTER = Path(".course") / "roster.json"
IDENTITY = {
    "canvas": ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section"),
    "moodle": ("First name", "Last name", "ID number", "Username", "Institution", "Department", "Email address"),
}
MATCH = {"canvas": ("ID", "SIS User ID", "SIS Login ID"), "moodle": ("ID number", "Username", "Email address")}
REQUIRED = {"canvas": ("Student", "ID"), "moodle": ("First name", "Last name")}


def name_key(text: str) -> str:
    """A name as LMS file names carry it, lower-cased without punctuation: "Doe, Jane" -> "doejane"."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _names(row: dict[str, str]) -> set[str]:
    first, last = (row.get("First name") or "").strip(), (row.get("Last name") or "").strip()
    student = row.get("Student") or ""  # Canvas: "Doe, Jane"
    names = {name_key(student), name_key("".join(reversed(student.split(",", 1))))}
    if first or last:
        names |= {name_key(first + last), name_key(last + first)}
    return names - {""}


def match(student: str, rows: list[dict[str, str]], keys: tuple[str, ...]) -> dict[str, str] | None:
    """The one row ``student`` (a submission folder's name) is, or None."""
    for row in rows:
        if any((row.get(k) or "").strip().lower() == student.strip().lower() for k in keys if row.get(k)):
            return row
    local = [r for r in rows if (r.get("Email address") or "").split("@")[0].lower() == student.lower()]
    if len(local) == 1:
        return local[0]
    by_name = [row for row in rows if name_key(student) in _names(row)]
    return by_name[0] if len(by_name) == 1 else None


@dataclasses.dataclass
class Matched:
    lms: str
    rows: int
    matched: dict[str, str]  # student -> how the LMS shows them
    unmatched: list[str]

    def text(self) -> str:
        lines = [f"roster: {self.rows} {self.lms} row(s); {len(self.matched)} of our student(s) matched"]
        lines += [f"  {s} -> {who}" for s, who in sorted(self.matched.items())]
        if self.unmatched:
            lines.append(
                f"{len(self.unmatched)} student(s) match no row (their grades cannot be exported): "
                + ", ".join(self.unmatched)
            )
        return "\n".join(lines)


def load(root: Path) -> dict | None:
    path = Path(root) / ROSTER
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _save(root: Path, data: dict) -> None:
    path = Path(root) / ROSTER
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)


def our_students(root: Path, db_url: str) -> list[str]:
    """Every student the course knows: the gradebook's and the submission folders'."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        known = {s.id for s in gb.students}
    submitted = Path(root) / "submitted"
    if submitted.is_dir():
        known |= {p.name for p in submitted.iterdir() if p.is_dir()}
    return sorted(known)


def _who(row: dict[str, str], lms: str) -> str:
    if lms == "canvas":
        return f"{row.get('Student', '')} (ID {row.get('ID', '')})"
    name = f"{row.get('First name', '')} {row.get('Last name', '')}".strip()
    return f"{name} ({row.get('Email address') or row.get('ID number') or row.get('Username') or 'no id'})"


def matched(root: Path, db_url: str, data: dict) -> Matched:
    found, missing = {}, []
    for student in our_students(root, db_url):
        row = match(student, data["rows"], MATCH[data["lms"]])
        if row is None:
            missing.append(student)
        else:
            found[student] = _who(row, data["lms"])
    return Matched(data["lms"], len(data["rows"]), found, missing)


def import_roster(root: Path, db_url: str, lms: str, path: Path) -> Matched:
    """Read the LMS's export at ``path`` and keep it (assignment mappings of the same LMS are kept)."""
    from course_lib.grading.coordinator.export import read_roster

    if lms not in IDENTITY:
        raise CourseError(f"unknown LMS {lms!r}: canvas or moodle")
    try:
        header, rows, points = read_roster(path)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CourseError(f"cannot read the roster {path}: {error}") from None
    lacking = [c for c in REQUIRED[lms] if c not in header]
    if lacking or not any(c in header for c in MATCH[lms]):
        other = next((o for o in IDENTITY if o != lms and all(c in header for c in REQUIRED[o])), None)
        hint = f" (it looks like {other}'s: course roster import {other} {path})" if other else ""
        raise CourseError(
            f"{path} is not {lms}'s export{hint}: it lacks the column(s) "
            f"{', '.join(lacking or MATCH[lms])}; its header is {', '.join(header)}"
        )
    old = load(root) or {}
    columns = {a: c for a, c in old.get("columns", {}).items() if old.get("lms") == lms and c in header}
    data = {"lms": lms, "file": str(path), "header": header, "rows": rows, "points": points, "columns": columns}
    _save(root, data)
    return matched(root, db_url, data)


def grade_columns(data: dict) -> list[str]:
    """The roster's columns that can take an assignment's grade (not identity, not Canvas's read-only totals)."""
    points = data.get("points") or {}
    return [
        c
        for c in data["header"]
        if c not in IDENTITY[data["lms"]] and "(read only)" not in (points.get(c) or "") and "total" not in c.lower()
    ]


def map_assignment(root: Path, assignment: str, column: str) -> str:
    """Store the LMS's column of ``assignment`` (it must be one of the roster's grade columns)."""
    from course_lib.nbgrader_setup import assignments

    data = load(root)
    if data is None:
        raise CourseError("no roster yet: run `course roster import canvas|moodle FILE` first")
    if assignment not in assignments(root):
        raise CourseError(f"unknown assignment {assignment!r}; the course has {assignments(root)}")
    if column not in grade_columns(data):
        raise CourseError(
            f"the {data['lms']} roster has no grade column {column!r}; its grade columns are: "
            + ", ".join(repr(c) for c in grade_columns(data))
        )
    data["columns"][assignment] = column
    _save(root, data)
    return f"{assignment} -> {data['lms']} column {column!r}"


def column_for(data: dict, assignment: str) -> str:
    """The roster column of ``assignment``: the mapped one, else the one grade column naming it; else refused."""
    if assignment in data.get("columns", {}):
        return data["columns"][assignment]
    bare = name_key(assignment)
    named = [c for c in grade_columns(data) if bare and bare in name_key(re.sub(r"\s*\(\d+\)$", "", c))]
    if len(named) == 1:
        return named[0]
    raise CourseError(
        f"{assignment} has no column in the {data['lms']} roster, and the export creates none: map it once with "
        f"`course roster map-assignment {assignment} COLUMN`; the roster's grade columns are: "
        + ", ".join(repr(c) for c in grade_columns(data))
    )
