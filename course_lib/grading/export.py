"""``course export canvas|moodle``: the gradebook as the file an LMS's grade import takes as it is.

Run after manual grading.  Scores come from nbgrader's gradebook through :func:`report.standing`
(autograded + manually graded - late penalty); a submission still awaiting manual grading, or one the last
``course grade`` could not grade (``grading-report.json``), gets an empty cell, never a low number, and is
listed in what the command prints.

Canvas (Gradebook > Import): the layout of Canvas's own gradebook export::

    Student,ID,SIS User ID,SIS Login ID,Section,<Assignment> (<canvas id>)
    Points Possible,,,,,14
    "Doe, Jane",4711,s123,jdoe,Section A,12

Canvas matches rows by ``ID`` (or the SIS ids) and assignments by the ``(<canvas id>)`` in the header; a
header without one creates a new assignment.  Pass the course's exported gradebook as ``--roster`` and
every student and section column it carried is kept as it was; our students are matched to its rows by
``ID``, ``SIS User ID``, ``SIS Login ID`` or by the name Canvas puts in submission file names (``doejane``).

Moodle (Grades > Import > CSV file): one identifier column and one column per grade item; on import the
identifier is mapped to "Email address" (or username / ID number) and each column to its grade item.  With
a ``--roster`` (Moodle's own "Export > Plain text file") its identity columns are kept.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

from course_lib.grading.report import NOT_GRADED, PENDING, standing

__all__ = ["Export", "export_grades", "read_roster"]

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
CANVAS_MATCH = ("ID", "SIS User ID", "SIS Login ID")
MOODLE_IDENTITY = ("First name", "Last name", "ID number", "Username", "Institution", "Department", "Email address")
MOODLE_MATCH = ("ID number", "Username", "Email address")
CANVAS_ASSIGNMENT = re.compile(r"^(?P<name>.*?)\s*\((?P<id>\d+)\)$")


@dataclasses.dataclass
class Export:
    path: Path
    rows: int
    blank: list[str]  # "student / assignment: why" for every empty grade cell of a graded student
    unmatched: list[str]  # gradebook students the roster does not list

    def text(self) -> str:
        lines = [f"wrote {self.path} ({self.rows} student rows)"]
        if self.blank:
            lines.append(f"{len(self.blank)} grade(s) left empty (the LMS keeps what it had):")
            lines += [f"  {b}" for b in self.blank]
        if self.unmatched:
            lines.append(
                f"{len(self.unmatched)} student(s) of the gradebook are not in the roster (not exported): "
                f"{', '.join(self.unmatched)}"
            )
        return "\n".join(lines)


def read_roster(path: Path) -> tuple[list[str], list[dict[str, str]], dict[str, str]]:
    """An LMS gradebook export: its header, its student rows, and Canvas's "Points Possible" row (if any).

    Canvas puts the points row (and, in newer exports, a "Manual Posting" row) under the header; those are
    not students.
    """
    text = Path(path).read_text(encoding="utf-8-sig")  # Excel and Canvas write a byte-order mark
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValueError(f"{path} has no header row")
    rows, points = [], {}
    for row in reader:
        first = (row.get(reader.fieldnames[0]) or "").strip()
        if first == "Points Possible":
            points = row
        elif not first.startswith("Manual Posting") and any(
            (v or "").strip() for v in row.values() if isinstance(v, str)
        ):
            rows.append(row)
    return list(reader.fieldnames), rows, points


def _name_key(text: str) -> str:
    """Canvas's submission file names carry the sortable name lower-cased without punctuation: "doejane"."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _match(student: str, rows: list[dict[str, str]], keys: tuple[str, ...]) -> dict[str, str] | None:
    for row in rows:
        if any((row.get(k) or "").strip() == student for k in keys):
            return row
    by_name = [row for row in rows if _name_key(row.get("Student", "")) == _name_key(student)]
    return by_name[0] if len(by_name) == 1 else None


def _column(assignment: str, header: list[str], lms: str) -> str:
    """The roster's column of ``assignment`` (its name, before Canvas's "(id)", mentions the id), or a new one."""
    for name in header:
        bare = CANVAS_ASSIGNMENT.match(name).group("name") if CANVAS_ASSIGNMENT.match(name) else name
        if _name_key(assignment) and _name_key(assignment) in _name_key(bare):
            return name
    return assignment if lms == "canvas" else f"{assignment} (Real)"


def _last_report(root: Path) -> dict:
    path = root / "grading-report.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def export_grades(
    root: Path, db_url: str, lms: str, out: Path, assignments: list[str] | None = None, roster: Path | None = None
) -> Export:
    """Write ``out`` for ``lms`` ("canvas" or "moodle") from the gradebook of the course at ``root``."""
    from nbgrader.api import Gradebook, MissingEntry

    from course_lib.nbgrader_setup import _ensure_bin_on_path

    _ensure_bin_on_path()  # nbgrader's Gradebook runs `alembic`
    if lms not in ("canvas", "moodle"):
        raise ValueError(f"unknown LMS {lms!r}: canvas or moodle")
    identity, match_keys = (CANVAS_IDENTITY, CANVAS_MATCH) if lms == "canvas" else (MOODLE_IDENTITY, MOODLE_MATCH)
    last = _last_report(Path(root))
    with Gradebook(db_url) as gb:
        chosen = assignments or sorted(a.name for a in gb.assignments)
        unknown = sorted(set(chosen) - {a.name for a in gb.assignments})
        if unknown:
            raise ValueError(
                f"the gradebook has no assignment {unknown}; it has {sorted(a.name for a in gb.assignments)}"
            )
        maxima = {a: gb.find_assignment(a).max_score for a in chosen}
        students = {s.id: s for s in gb.students}
        if roster is not None:
            header, rows, _ = read_roster(roster)
            kept = [c for c in header if c in identity]
        else:
            kept = (
                ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
                if lms == "canvas"
                else ["First name", "Last name", "ID number", "Email address"]
            )
            header, rows = kept, [_identity(s, lms) for s in students.values()]
        columns = {a: _column(a, header, lms) for a in chosen}
        grades: dict[int, dict[str, str]] = {}
        blank, unmatched = [], []
        for student_id in sorted(students):
            row = _match(student_id, rows, match_keys)
            if row is None:
                unmatched.append(student_id)
                continue
            cells = grades.setdefault(id(row), {})
            for assignment in chosen:
                status = last.get(student_id, {}).get("assignments", {}).get(assignment, {})
                if status.get("status") == NOT_GRADED:
                    blank.append(f"{student_id} / {assignment}: not graded: {status.get('cause', '')}")
                    continue
                try:
                    data = standing(gb.find_submission(assignment, student_id))
                except MissingEntry:
                    continue  # nothing handed in: the LMS's own missing-work policy applies
                if data["status"] == PENDING:
                    blank.append(f"{student_id} / {assignment}: {data['pending']:g} point(s) awaiting manual grading")
                    continue
                cells[columns[assignment]] = f"{data['score']:g}"
    out = Path(out)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(kept + [columns[a] for a in chosen])
        if lms == "canvas":
            writer.writerow(["Points Possible"] + [""] * (len(kept) - 1) + [f"{maxima[a]:g}" for a in chosen])
        for row in rows:
            cells = grades.get(id(row), {})
            writer.writerow([row.get(c, "") for c in kept] + [cells.get(columns[a], "") for a in chosen])
    return Export(out, len(rows), blank, unmatched)


def _identity(student, lms: str) -> dict[str, str]:
    """Identity columns from the gradebook alone (no roster): the student id is the one id we know."""
    if lms == "canvas":
        name = ", ".join(p for p in (student.last_name, student.first_name) if p) or student.id
        return {"Student": name, "ID": "", "SIS User ID": student.id, "SIS Login ID": "", "Section": ""}
    return {
        "First name": student.first_name or "",
        "Last name": student.last_name or "",
        "ID number": student.id,
        "Email address": student.email or "",
    }
