"""What ``course grade`` hands the instructor: ``grades.csv`` (for the LMS), ``grading-report.md`` and ``.json``.

Runs in the coordinator (trusted), after grading, from the gradebook and the per-notebook summaries the
grading steps left in ``.course/reports``.  Everything learner-controlled that reaches the Markdown report
goes through :func:`cell_text`.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

from course_lib.grading.intake import Problem

__all__ = ["write_outputs", "markdown", "cell_text"]


def write_outputs(root: Path, db_url: str, sources, work, problems: list[Problem]) -> tuple[Path, Path]:
    """grades.csv (one row per student, one column per assignment) and the readable per-student report."""
    from nbgrader.api import Gradebook, MissingEntry

    students = sorted({s for s, _ in work})
    chosen = sorted({a for _, a in work})
    rows, report = [], {}
    with Gradebook(db_url) as gb:
        for student in students:
            row = {"student": student}
            entry = report.setdefault(student, {"assignments": {}, "problems": []})
            for assignment in chosen:
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    row[assignment] = ""
                    continue
                row[assignment] = f"{submission.score:g}"
                row[f"{assignment} (max)"] = f"{submission.max_score:g}"
                exercises = []
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        exercises.append({"notebook": notebook.name, "cell": grade.name,
                                          "score": grade.score, "max": grade.max_score,
                                          "needs_manual_grade": bool(grade.needs_manual_grade)})
                entry["assignments"][assignment] = {"score": submission.score, "max": submission.max_score,
                                                    "exercises": exercises}
            rows.append(row)
    for student, entry in report.items():
        for assignment, data in entry["assignments"].items():
            for notebook in sources.get(assignment, {}):
                summary = root / ".course" / "reports" / student / assignment / f"{notebook}.json"
                if summary.is_file():
                    details = json.loads(summary.read_text())
                    messages = {v["grade_id"]: v["message"] for v in details["verdicts"]}
                    for exercise in data["exercises"]:
                        if exercise["cell"] in messages:
                            exercise["message"] = messages[exercise["cell"]]
                        elif exercise["score"] == 0 and not exercise["needs_manual_grade"]:
                            exercise["message"] = "left unanswered (the cell is as it was handed out)"
                    data.setdefault("events", []).extend(details.get("events", []))
                    data.setdefault("html_turned_off", []).extend(
                        f"{notebook}: {change}" for change in details.get("html_turned_off", []))
    for problem in problems:
        report.setdefault(problem.student, {"assignments": {}, "problems": []})["problems"].append(
            {"assignment": problem.assignment, "notebook": problem.notebook, "what": problem.what})
    csv_path = root / "grades.csv"
    columns = ["student"] + [c for a in chosen for c in (a, f"{a} (max)")] + ["problems"]
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            row["problems"] = "; ".join(p["what"] for p in report[row["student"]]["problems"])
            writer.writerow(row)
    (root / "grading-report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    report_path = root / "grading-report.md"
    report_path.write_text(markdown(report), encoding="utf-8")
    return csv_path, report_path


def markdown(report: dict) -> str:
    lines = ["# Grading report", ""]
    for student in sorted(report):
        entry = report[student]
        lines += [f"## {cell_text(student)}", ""]
        for problem in entry["problems"]:
            lines.append(f"- **problem** ({cell_text(problem['assignment'])} / {cell_text(problem['notebook'])}): "
                         f"{cell_text(problem['what'])}")
        for assignment, data in sorted(entry["assignments"].items()):
            lines += ["", f"### {assignment}: {data['score']:g} / {data['max']:g}", "",
                      "| notebook | cell | points | note |", "|---|---|---|---|"]
            for ex in data["exercises"]:
                score = "manual" if ex["score"] is None else f"{ex['score']:g} / {ex['max']:g}"
                note = ex.get("message", "needs manual grading" if ex["needs_manual_grade"] else "")
                lines.append(f"| {cell_text(ex['notebook'])} | {cell_text(ex['cell'])} | {score} | {cell_text(note)} |")
            for event in data.get("events", []):
                lines.append(f"- kernel: {cell_text(event)}")
            for change in data.get("html_turned_off", []):
                lines.append(f"- html: {cell_text(change)}")
        lines.append("")
    return "\n".join(lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def cell_text(note: str) -> str:
    """The first line of ``note`` as inert Markdown text for a table cell or list item.

    Everything learner-controlled (messages, file names, kernel events) goes through here: HTML's ``& < >``
    become character references and every Markdown punctuation character is backslash-escaped, so no tag,
    link, image, emphasis or table column can come from it.
    """
    line = note.splitlines()[0] if note and note.splitlines() else ""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(line, quote=False))
