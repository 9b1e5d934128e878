"""How many students a second the coordinator records, on SQLite and on PostgreSQL.

    python benchmarks/coordinator.py [--students 10000] [--batch 50] [--backends sqlite postgresql]

Feeds :func:`course_lib.grading.coordinator.record.record_batch` synthetic outcomes
(``tests/grading/synthetic_outcomes.py``): per student one per assignment of the seven, each variant in turn
(all tests pass, all fail, mixed, no notebook), a third late by two days, with feedback pages whose digest
matches the gradebook (as a grading task's does), in batches of ``--batch`` -- the gradebook rows, the
``autograded/``, ``feedback/`` and report files, the resume marks.  No grading runs: the tasks' own time is
``benchmarks/grading.py``'s.  PostgreSQL is a throw-away server on this machine (as the tests start one:
initdb, pg_ctl, ``fsync=off``).  Target: >= 10 students/s on both.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.grading.coordinator.record import Marks, record_batch  # noqa: E402 -- after the sys.path line above
from course_lib.grading.coordinator.rescore import page_digest  # noqa: E402
from course_lib.nbgrader_setup import course_config  # noqa: E402
from tests.grading.conftest import make_course  # noqa: E402
from tests.grading.coordinator.test_postgres import postgres_server  # noqa: E402
from tests.grading.synthetic_outcomes import VARIANTS, hand_in, outcome, register  # noqa: E402

LATE_HOURS = (-1.0, 49.0)  # on time, two days late (a third of the class)


def _digests(root: Path, config, released) -> dict[tuple[str, int, str], str]:
    """(assignment, late, variant) -> the page digest a task would send (the digest shows no student)."""
    probes = {}
    for assignment, nb in released.items():
        for late in (0, 1):
            for variant in VARIANTS:
                student = f"probe-{late}-{variant}"
                hand_in(root, student, assignment, LATE_HOURS[late])
                probes[assignment, late, variant] = outcome(student, assignment, nb, variant)
    record_batch(root, config, [(o, "probe") for o in probes.values()], Marks(root))
    db_url = config.CourseDirectory.db_url
    return {key: page_digest(db_url, o.student, o.assignment) for key, o in probes.items()}


def run(tmp: Path, backend: str, db_url: str | None, students: int, batch: int) -> float:
    (tmp / backend).mkdir()
    root = make_course(tmp / backend)
    config = course_config(root, db_url=db_url) if db_url else course_config(root)
    assignments = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    released = register(root, config.CourseDirectory.db_url, assignments, tmp / f"release-{backend}")
    digests = _digests(root, config, released)
    work = []
    for i in range(students):
        late = int(i % 3 == 1)
        for assignment in assignments:
            hand_in(root, f"s{i:05d}", assignment, LATE_HOURS[late])
            variant = VARIANTS[i % len(VARIANTS)]
            page = digests[assignment, late, variant]
            work.append((outcome(f"s{i:05d}", assignment, released[assignment], variant, page), "print"))
    per_batch = batch * len(assignments)
    started = time.perf_counter()
    for first in range(0, len(work), per_batch):
        record_batch(root, config, work[first : first + per_batch], Marks(root))
    seconds = time.perf_counter() - started
    print(
        f"{backend:<11} {students} students x {len(assignments)} notebooks in {seconds:.1f} s: "
        f"{students / seconds:.1f} students/s ({1000 * seconds / students:.0f} ms a student)",
        flush=True,
    )
    return students / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50, help="students a transaction")
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="course-bench-coordinator-") as tmp:
        for backend in args.backends:
            with contextlib.ExitStack() as stack:
                url = None
                if backend == "postgresql":
                    url = stack.enter_context(postgres_server())
                run(Path(tmp), backend, url, args.students, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
