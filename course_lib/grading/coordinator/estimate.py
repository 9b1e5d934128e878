"""How long grading one (student, assignment) pair is expected to take: tasks go out longest first, so that a run
ends with short tasks and the workers finish together.

    expected(s, a) = T_a * (f + (1 - f) * answered(s, a))

- ``T_a``: the mean seconds of assignment ``a``'s earlier summaries in this course (``.course/reports``), or, before
  any, the size of its solution notebooks' code (``/ 10_000``: only the order matters);
- ``answered(s, a)``: the share of ``a``'s exercises whose stub ``s`` replaced, ``1 - stubs / exercises`` clipped to
  [0, 1]: nbgrader's code stub (``raise NotImplementedError()``) counted in the handed-in notebooks' bytes, the
  exercises counted in the source;
- ``f`` = :data:`UNANSWERED_SHARE`: what a notebook with nothing answered still costs, as a share of a solved one
  (the kernel, the imports, a test cell per exercise that fails at once).

Only the order of the tasks depends on it: no score does.  A notebook that lies about its stubs only moves its
own task in the queue.  Why it matters: ordered by assignment alone, every student's task looked alike, and a class
of 50 with warm kernels on 2 workers (a third of the submissions untouched) had its workers idle 29.5 s of its
587 s task phase, mostly while one worker finished the last tasks (``benchmarks/grading.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["UNANSWERED_SHARE", "assignment_seconds", "expected_seconds"]

UNANSWERED_SHARE = 0.3
STUB = b"raise NotImplementedError()"  # nbgrader_config.py's ClearSolutions.code_stub ends with it

Pair = tuple[str, str, str]  # (student, assignment, fingerprint)


def assignment_seconds(root: Path, chosen: list[str]) -> dict[str, float]:
    """assignment -> ``T_a``: the mean of this course's earlier summaries or, before any, the solutions' size."""
    seen: dict[str, list[float]] = {}
    for pair in (root / ".course" / "reports").glob("*/*"):
        try:
            seconds = sum(float(json.loads(p.read_text(encoding="utf-8"))["seconds"]) for p in pair.glob("*.json"))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        seen.setdefault(pair.name, []).append(seconds)
    expected = {}
    for assignment in chosen:
        if seen.get(assignment):
            expected[assignment] = sum(seen[assignment]) / len(seen[assignment])
        else:
            folder = root / "solutions" / assignment
            expected[assignment] = sum(p.stat().st_size for p in folder.glob("*.ipynb")) / 10_000
    return expected


def _exercises(root: Path, assignment: str) -> int:
    """How many code cells of the source are solutions (each one a stub in the learner's version)."""
    count = 0
    for path in (root / "solutions" / assignment).glob("*.ipynb"):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        count += sum(
            1
            for cell in cells
            if isinstance(cell, dict)
            and cell.get("cell_type") == "code"
            and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        )
    return count


def _answered(folder: Path, exercises: int) -> float:
    if exercises <= 0:
        return 1.0
    stubs = 0
    for path in folder.glob("*.ipynb"):
        try:
            stubs += path.read_bytes().count(STUB)
        except OSError:
            continue
    return min(1.0, max(0.0, 1.0 - stubs / exercises))


def expected_seconds(root: Path, chosen: list[str], pairs: list[Pair]) -> dict[tuple[str, str], float]:
    """(student, assignment) -> expected seconds, for each of ``pairs`` (their submissions in ``submitted/``)."""
    base = assignment_seconds(root, chosen)
    exercises = {assignment: _exercises(root, assignment) for assignment in {p[1] for p in pairs}}
    return {
        (student, assignment): base.get(assignment, 0.0)
        * (
            UNANSWERED_SHARE
            + (1 - UNANSWERED_SHARE) * _answered(root / "submitted" / student / assignment, exercises[assignment])
        )
        for student, assignment, _ in pairs
    }
