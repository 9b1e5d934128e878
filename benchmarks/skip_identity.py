"""Print, per notebook and submission, the points `course grade` gives with the course's skip marks and without them.

    python benchmarks/skip_identity.py [--assignments 03_vanishing_gradients ...]

The skip marks (``"course": {"grading": "skip"}``, course_lib.skippable) must change what grading costs, never a
score.  This grades the same class twice, on a course with its marks and on the same course with every mark
removed, and compares every graded cell's points.  The class, per notebook: the full solution, the untouched
learner version, and the solution with one exercise broken (its first solution cell raises), as in
benchmarks/grading.py.  Exit status 1 when any cell's points differ.

It is two full gradings of a class per notebook (about 10 minutes for all seven on a loaded 2-core machine): the
CI suite runs one such test, on 02 (tests/grading/task/test_skip_marks.py); this script is how the marks of the
other notebooks were checked, and how to check a new mark.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.grading.conftest import edit, grade, make_course, points, report, solved, stub, unmark, write  # noqa: E402


def _broken(assignment: str) -> nbformat.NotebookNode:
    good = solved(assignment)
    first = next(c for c in good.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    return edit(good, first.metadata["nbgrader"]["grade_id"], "raise ValueError('broken on purpose')")


CLASS = {"right": solved, "stub": stub, "broken": _broken}


def _points(course: Path, student: str, assignment: str) -> dict[str, float | None]:
    """Every graded cell's points, and the assignment's score (which holds a bonus's extra credit)."""
    return {
        **points(course, student, assignment),
        "(score)": report(course)[student]["assignments"][assignment]["score"],
    }


def _skipped_events(course: Path, student: str, assignment: str) -> str:
    events = report(course)[student]["assignments"][assignment].get("events", [])
    return next((e for e in events if e.startswith("skipped ")), "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="*", default=None)
    args = parser.parse_args()
    assignments = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    scores: dict[bool, dict[tuple[str, str], dict]] = {}
    skipped: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory(prefix="course-skip-identity-") as tmp:
        for marked in (True, False):
            root = Path(tmp) / ("marked" if marked else "unmarked")
            root.mkdir()
            course = make_course(root)
            if not marked:
                unmark(course, assignments)
            subs = root / "submitted"
            for assignment in assignments:
                for student, make in CLASS.items():
                    write(subs, student, make(assignment), assignment)
            started = time.perf_counter()
            summary = grade(course, subs, assignments=assignments, notebook_timeout=600, cell_timeout=120)
            print(
                f"{'marked' if marked else 'unmarked'}: graded in {time.perf_counter() - started:.0f} s, "
                f"failed={summary.failed}",
                flush=True,
            )
            scores[marked] = {(a, s): _points(course, s, a) for a in assignments for s in CLASS}
            if marked:
                skipped = {(a, s): _skipped_events(course, s, a) for a in assignments for s in CLASS}
    differ = 0
    print(f"\n{'notebook':<24} {'student':<7} {'points':>7} {'unmarked':>8}  same  skipped under the marks")
    for key in sorted(scores[True]):
        with_marks, without = scores[True][key], scores[False][key]
        same = with_marks == without
        differ += not same
        total, total_without = with_marks["(score)"] or 0.0, without["(score)"] or 0.0
        print(
            f"{key[0]:<24} {key[1]:<7} {total:7.1f} {total_without:8.1f}  {'yes' if same else 'NO '}  "
            f"{skipped.get(key, '')[:70]}"
        )
        if not same:
            print(
                "    cells that differ:",
                {
                    c: (with_marks.get(c), without.get(c))
                    for c in with_marks.keys() | without.keys()
                    if with_marks.get(c) != without.get(c)
                },
            )
    print(f"\n{differ} submission(s) of {len(scores[True])} scored differently with the marks")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
