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
header without one would create a new assignment, so none is ever written: the roster
(:mod:`course_lib.grading.coordinator.roster`: ``course roster import``, or ``--roster FILE``) supplies every student and
section column as it was exported, and each assignment goes into its mapped column (``course roster
map-assignment``) or the one grade column whose name contains its id; otherwise the export is refused.

Moodle (Grades > Import > CSV file): one identifier column and one column per grade item; on import the
identifier is mapped to "Email address" (or username / ID number) and each column to its grade item.  With
a roster (Moodle's own grade export or participants list) its identity columns are kept, and the grade goes
into the grade item's own column (``Assignment: Sequence data (Real)``).

Without any roster, the gradebook's own identities are written (Canvas: ``SIS User ID``; Moodle: ``ID number``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import types
from pathlib import Path

from course_lib.grading.coordinator.csv_cells import safe_writer
from course_lib.grading.coordinator.report import NOT_GRADED, PENDING, standing
from course_lib.grading.coordinator.roster import IDENTITY, MATCH, column_for, load, match

__all__ = ["Export", "export_grades", "read_roster"]


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


def _roster(root: Path, lms: str, path: Path | None) -> dict | None:
    """The roster to export into: the file given (with the stored column mappings of the same LMS), else the
    one ``course roster import`` stored for this LMS, else none (the gradebook's own identities)."""
    stored = load(root)
    if path is None:
        return stored if stored is not None and stored["lms"] == lms else None
    header, rows, points = read_roster(path)
    columns = stored["columns"] if stored is not None and stored["lms"] == lms else {}
    return {"lms": lms, "header": header, "rows": rows, "points": points, "columns": columns}


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
    identity, match_keys = IDENTITY[lms], MATCH[lms]
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
        for student_id, entry in last.items():  # never recorded, not graded: listed with an empty cell
            if student_id not in students and any(
                a in chosen and d.get("status") == NOT_GRADED for a, d in entry.get("assignments", {}).items()
            ):
                students[student_id] = types.SimpleNamespace(id=student_id, first_name="", last_name="", email="")
        data = _roster(root, lms, roster)
        if data is not None:
            header, rows = data["header"], data["rows"]
            kept = [c for c in header if c in identity]
            columns = {a: column_for(data, a) for a in chosen}  # refused, never a new column, when unmapped
        else:
            kept = (
                ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
                if lms == "canvas"
                else ["First name", "Last name", "ID number", "Email address"]
            )
            header, rows = kept, [_identity(s, lms) for s in students.values()]
            columns = {a: a if lms == "canvas" else f"{a} (Real)" for a in chosen}
        grades: dict[int, dict[str, str]] = {}
        blank, unmatched = [], []
        for student_id in sorted(students):
            row = match(student_id, rows, match_keys)
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
        writer = safe_writer(handle)
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
