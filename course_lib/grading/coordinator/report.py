"""What ``course grade`` hands the instructor: ``grades.csv``, ``grading-report.md`` and ``.json``.

Runs in the coordinator (trusted), after grading, from the gradebook and the per-notebook summaries the
grading steps left in ``.course/reports``.  Everything learner-controlled that reaches the Markdown report
goes through :func:`cell_text`.

Each (student, assignment) is read from the gradebook by :func:`standing`, which splits its points three
ways, so that a written answer nobody has graded yet is never a silent zero::

    auto     = sum of the autograded cells' points (no manual score entered)
    manual   = sum of the points an instructor entered in Formgrader
    pending  = sum of the maximum points of the cells still awaiting manual grading (no manual score yet;
               nbgrader re-flags a manually graded cell for review when it autogrades again: that one counts)
    total    = auto + manual - late penalty          (status "awaiting manual grading" while pending > 0)

A (student, assignment) that could not be graded in this run is shown as ``not graded: <cause>`` and
never with the score an earlier run left in the gradebook.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from course_lib.grading.coordinator.csv_cells import SafeDictWriter
from course_lib.grading.coordinator.intake import Problem

__all__ = [
    "GRADED",
    "NOT_GRADED",
    "PENDING",
    "cell_text",
    "heading",
    "markdown",
    "not_graded_in",
    "standing",
    "text_table",
    "write_outputs",
]

GRADED, PENDING, NOT_GRADED = "graded", "awaiting manual grading", "not graded"
FAILED_PREFIX = "grading failed"  # how the class run (class_run.py, coordinator.py) words a (student, assignment) that could not be graded


def standing(submission) -> dict:
    """The points of one nbgrader ``SubmittedAssignment``: auto, manual, pending, late penalty, total, per cell."""
    exercises, auto, manual, pending = [], 0.0, 0.0, 0.0
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.manual_score is not None:  # counted even when nbgrader flags it for review after a re-grade
                kind, manual = "manual", manual + grade.score
            elif grade.needs_manual_grade:
                kind, pending = "pending", pending + grade.max_score
            else:
                kind, auto = "auto", auto + grade.score
            exercises.append(
                {
                    "notebook": notebook.name,
                    "cell": grade.name,
                    "score": None if kind == "pending" else grade.score,
                    "max": grade.max_score,
                    "kind": kind,
                    "needs_manual_grade": kind == "pending",
                }
            )
    penalty = float(submission.late_submission_penalty or 0.0)
    return {
        "status": PENDING if pending else GRADED,
        "score": auto + manual - penalty,
        "max": submission.max_score,
        "auto": auto,
        "manual": manual,
        "pending": pending,
        "late_penalty": penalty,
        "seconds_late": float(submission.total_seconds_late or 0.0),
        "exercises": exercises,
    }


def not_graded_in(problems: list[Problem]) -> dict[tuple[str, str], str]:
    """(student, assignment) -> cause, for every submission this run could not grade."""
    return {(p.student, p.assignment): p.what for p in problems if p.what.startswith(FAILED_PREFIX)}


def _csv_row(student: str, chosen: list[str], entry: dict) -> dict:
    row = {"student": student}
    for assignment in chosen:
        data = entry["assignments"].get(assignment)
        if data is None:
            continue
        row[f"{assignment} status"] = data["status"] if data["status"] != NOT_GRADED else f"not graded: {data['cause']}"
        if data["status"] == NOT_GRADED:
            continue  # no number at all: an older score would look current
        row[assignment] = f"{data['score']:g}"
        for part in ("max", "auto", "manual", "pending", "late_penalty"):
            row[f"{assignment} ({part.replace('_', ' ')})"] = f"{data[part]:g}"
    row["problems"] = "; ".join(p["what"] for p in entry["problems"])
    return row


def write_outputs(
    root: Path,
    db_url: str,
    sources,
    work,
    problems: list[Problem],
    not_graded: dict[tuple[str, str], str] | None = None,
) -> tuple[Path, Path]:
    """grades.csv (one row per student, columns per assignment) and the readable per-student report.

    ``not_graded`` maps (student, assignment) to why it could not be graded now (default: read from the
    ``grading failed`` problems); those show the cause, never the gradebook's older score.
    """
    from nbgrader.api import Gradebook, MissingEntry

    not_graded = not_graded_in(problems) if not_graded is None else not_graded
    work = set(work)
    students = sorted({s for s, _ in work})
    chosen = sorted({a for _, a in work})
    report = {}
    with Gradebook(db_url) as gb:
        for student in students:
            entry = report.setdefault(student, {"assignments": {}, "problems": []})
            for assignment in chosen:
                if (student, assignment) not in work:
                    continue
                if (student, assignment) in not_graded:
                    entry["assignments"][assignment] = {
                        "status": NOT_GRADED,
                        "cause": not_graded[student, assignment],
                        "score": None,
                        "exercises": [],
                    }
                    continue
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    entry["assignments"][assignment] = {
                        "status": NOT_GRADED,
                        "score": None,
                        "exercises": [],
                        "cause": "the gradebook has no record of it",
                    }
                    continue
                entry["assignments"][assignment] = standing(submission)
    for student, entry in report.items():
        for assignment, data in entry["assignments"].items():
            if data["status"] == NOT_GRADED:
                continue
            for notebook in sources.get(assignment, {}):
                summary = root / ".course" / "reports" / student / assignment / f"{notebook}.json"
                if summary.is_file():
                    details = json.loads(summary.read_text())
                    messages = {v["grade_id"]: v["message"] for v in details["verdicts"]}
                    for exercise in data["exercises"]:
                        if exercise["cell"] in messages:
                            exercise["message"] = messages[exercise["cell"]]
                        elif exercise["score"] == 0 and exercise["kind"] == "auto":
                            exercise["message"] = "left unanswered (the cell is as it was handed out)"
                    data.setdefault("events", []).extend(details.get("events", []))
                    data.setdefault("html_turned_off", []).extend(
                        f"{notebook}: {change}" for change in details.get("html_turned_off", [])
                    )
    for problem in problems:
        report.setdefault(problem.student, {"assignments": {}, "problems": []})["problems"].append(
            {"assignment": problem.assignment, "notebook": problem.notebook, "what": problem.what}
        )
    csv_path = root / "grades.csv"
    columns = ["student"] + [
        c
        for a in chosen
        for c in (
            a,
            f"{a} status",
            f"{a} (max)",
            f"{a} (auto)",
            f"{a} (manual)",
            f"{a} (pending)",
            f"{a} (late penalty)",
        )
    ]
    with csv_path.open("w", newline="") as handle:
        writer = SafeDictWriter(handle, fieldnames=columns + ["problems"])
        writer.writeheader()
        for student in students:
            writer.writerow(_csv_row(student, chosen, report[student]))
    (root / "grading-report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    report_path = root / "grading-report.md"
    report_path.write_text(markdown(report) + _statistics(root, db_url, report), encoding="utf-8")
    return csv_path, report_path


def _statistics(root: Path, db_url: str, report: dict) -> str:
    """The term's statistics, written afresh with the report (``grading-stats.*``), as the report's section."""
    from course_lib.grading.coordinator.stats import compute, section, write_stats

    stats = compute(db_url, report)
    _, _, figure = write_stats(root, stats)
    return (
        "\n## Statistics\n\nEvery exercise over the whole term (details: grading-stats.md, grading-stats.csv).\n\n"
        + (section(stats, figure.name))
    )


def markdown(report: dict) -> str:
    lines = ["# Grading report", ""]
    for student in sorted(report):
        entry = report[student]
        lines += [f"## {cell_text(student)}", ""]
        for problem in entry["problems"]:
            lines.append(
                f"- **problem** ({cell_text(problem['assignment'])} / {cell_text(problem['notebook'])}): "
                f"{cell_text(problem['what'])}"
            )
        for assignment, data in sorted(entry["assignments"].items()):
            lines += ["", f"### {assignment}: {heading(data)}", ""]
            if data["status"] == NOT_GRADED:
                continue
            lines += ["| notebook | cell | points | note |", "|---|---|---|---|"]
            for ex in data["exercises"]:
                score = (
                    f"awaiting manual grading ({ex['max']:g})"
                    if ex["kind"] == "pending"
                    else f"{ex['score']:g} / {ex['max']:g}" + (" (manual)" if ex["kind"] == "manual" else "")
                )
                note = ex.get("message", "")
                lines.append(f"| {cell_text(ex['notebook'])} | {cell_text(ex['cell'])} | {score} | {cell_text(note)} |")
            for event in data.get("events", []):
                lines.append(f"- kernel: {cell_text(event)}")
            for change in data.get("html_turned_off", []):
                lines.append(f"- html: {cell_text(change)}")
        lines.append("")
    return "\n".join(lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def heading(data: dict) -> str:
    """One line on a (student, assignment): its total and how it is made up, or why it was not graded."""
    if data["status"] == NOT_GRADED:
        return f"not graded: {cell_text(data['cause'])}"
    parts = [f"{data['auto']:g} autograded"]
    if data["manual"]:
        parts.append(f"{data['manual']:g} graded by hand")
    if data["late_penalty"]:
        parts.append(f"−{data['late_penalty']:g} late penalty ({data['seconds_late'] / 3600:.1f} h late)")
    text = f"{data['score']:g} / {data['max']:g} ({', '.join(parts)})"
    if data["pending"]:
        text += f" — {data['pending']:g} point(s) awaiting manual grading"
    return text


def cell_text(note: str) -> str:
    """The first line of ``note`` as inert Markdown text for a table cell or list item.

    Everything learner-controlled (messages, file names, kernel events) goes through here: HTML's ``& < >``
    become character references and every Markdown punctuation character is backslash-escaped, so no tag,
    link, image, emphasis or table column can come from it.
    """
    line = note.splitlines()[0] if note and note.splitlines() else ""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(line, quote=False))


def text_table(headers, rows) -> str:
    """A plain-text table for a terminal: columns padded to their widest entry, a rule under the headers."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    return "\n".join(
        "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
        for row in (headers, ["-" * w for w in widths], *rows)
    )
