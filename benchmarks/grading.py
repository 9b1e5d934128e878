"""Print what `course grade` costs: seconds per submission and for a class of synthetic submissions.

    python benchmarks/grading.py [--students 50] [--jobs 2] [--assignments 01_sequence_data ...]

Each synthetic student hands in every chosen notebook: a third the full solution, a third the untouched
learner version, a third the solution with one exercise broken.  Grading is the real thing (sandboxed,
judged outside the kernel).  Target: one full six-notebook submission in <= 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.grading.run import GradeOptions, grade_class  # noqa: E402
from tests.grading.conftest import edit, make_course, solved, stub, write  # noqa: E402


def _broken(assignment: str):
    good = solved(assignment)
    first = next(c for c in good.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    return edit(good, first.metadata["nbgrader"]["grade_id"], "raise ValueError('broken on purpose')")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--assignments", nargs="*", default=None)
    args = parser.parse_args()
    assignments = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        tmp = Path(tmp)
        course = make_course(tmp)
        one, many = tmp / "one", tmp / "many"
        for assignment in assignments:
            write(one, "solo", solved(assignment), assignment)
            for i in range(args.students):
                nb = (solved, stub, _broken)[i % 3](assignment)
                write(many, f"student{i:03d}", nb, assignment)
        started = time.perf_counter()
        grade_class(course, one, GradeOptions(jobs=args.jobs, assignments=assignments))
        single = time.perf_counter() - started
        print(f"one submission of {len(assignments)} notebook(s): {single:.1f} s", flush=True)
        shutil.rmtree(course)
        course = make_course(tmp)
        started = time.perf_counter()
        summary = grade_class(course, many, GradeOptions(jobs=args.jobs, assignments=assignments))
        total = time.perf_counter() - started
        print(f"class of {args.students} students x {len(assignments)} notebook(s): {total:.1f} s "
              f"({total / args.students:.1f} s per student, jobs={args.jobs or 'cores'}, failed={summary.failed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
