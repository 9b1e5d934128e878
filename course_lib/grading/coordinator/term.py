"""The term so far: what ``grades.csv``, the report and the exports are made from, whatever the order of runs.

Runs in the coordinator (trusted).  The scores are the gradebook's; what the gradebook cannot hold is kept
in ``.course/term.json``, per (student, assignment), by the run that last took that pair in:

- ``not_graded``: why the last grading of the pair reached no verdict (the report shows ``not graded:
  <cause>`` and no number; the exports leave the cell empty);
- ``problems``: what intake and grading found (a renamed notebook, a LATE_ marker, a failed feedback page).

A run of one assignment replaces the entries of the pairs it took in and keeps every other, so grading
``02_rnn`` after ``01_sequence_data`` no longer drops 01 from ``grades.csv``.  :func:`write_term` writes the
outputs for every submission of the gradebook and every pair with an entry here.
"""

from __future__ import annotations

import json
from pathlib import Path

from course_lib.grading.coordinator.intake import Problem

__all__ = ["load", "remember", "write_term"]

STATE = Path(".course") / "term.json"


def load(root: Path) -> tuple[dict[tuple[str, str], str], list[Problem]]:
    """(student, assignment) -> cause of every pair not graded, and every problem remembered."""
    path = Path(root) / STATE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, []
    not_graded = {(e["student"], e["assignment"]): e["cause"] for e in data.get("not_graded", [])}
    problems = [Problem(p["student"], p["assignment"], p["notebook"], p["what"]) for p in data.get("problems", [])]
    return not_graded, problems


def remember(root: Path, pairs, not_graded: dict[tuple[str, str], str], problems: list[Problem]) -> None:
    """Replace what is kept for ``pairs`` (and for the pairs of ``problems``) by this run's findings."""
    old_not_graded, old_problems = load(root)
    taken = set(pairs) | {(p.student, p.assignment) for p in problems} | set(not_graded)
    kept = {pair: cause for pair, cause in old_not_graded.items() if pair not in taken}
    kept.update(not_graded)
    kept_problems = [p for p in old_problems if (p.student, p.assignment) not in taken] + list(problems)
    data = {
        "not_graded": [{"student": s, "assignment": a, "cause": c} for (s, a), c in sorted(kept.items())],
        "problems": [
            {"student": p.student, "assignment": p.assignment, "notebook": p.notebook, "what": p.what}
            for p in kept_problems
        ],
    }
    path = Path(root) / STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)


def write_term(root: Path, db_url: str, sources) -> tuple[Path, Path]:
    """``grades.csv`` and ``grading-report.md`` / ``.json`` for the whole term (see the module docstring)."""
    from nbgrader.api import Gradebook

    from course_lib.grading.coordinator.report import write_outputs

    not_graded, problems = load(root)
    with Gradebook(db_url) as gb:
        recorded = {(s.student.id, a.name) for a in gb.assignments for s in a.submissions}
    return write_outputs(root, db_url, sources, recorded | set(not_graded), problems, not_graded)
