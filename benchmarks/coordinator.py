"""How many students a second the coordinator records, on SQLite and on PostgreSQL.

    python benchmarks/coordinator.py [--students 10000] [--batch 50] [--backends sqlite postgresql]

Feeds :func:`course_lib.grading.coordinator.record.record_batch` synthetic outcomes
(``tests/grading/synthetic_outcomes.py``): per student one per assignment of the seven, each variant in turn
(all tests pass, all fail, mixed, no notebook), a third late by two days, with feedback pages whose digest
matches the gradebook (as a grading task's does), in batches of ``--batch`` -- the gradebook rows, the
``autograded/``, ``feedback/`` and report files, the resume marks.  No grading runs: the tasks' own time is
``benchmarks/grading.py``'s.  PostgreSQL is a throw-away server on this machine (as the tests start one:
initdb, pg_ctl), with PostgreSQL's default ``fsync=on`` unless ``--no-fsync``.  Target: >= 10 students/s on both.

Besides the wall time it prints the CPU the recording used: this process's, and the PostgreSQL server's
(its postmaster and backends, finished ones included), so that a figure taken on a shared machine still
says what recording costs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.grading.coordinator.record import Marks, record_batch  # noqa: E402 -- after the sys.path line above
from course_lib.grading.coordinator.rescore import page_digest  # noqa: E402
from course_lib.grading.task.job import Outcome  # noqa: E402
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


def _as_student(shape: Outcome, student: str) -> Outcome:
    """``shape``'s outcome for ``student``, as :func:`tests.grading.synthetic_outcomes.outcome` makes it (the
    notebook's bytes shared, not copied: 10,000 students' notebooks would take 4 GB)."""
    variant = shape.autograded["data/extra.txt"].decode().split()[-1]
    autograded = {**shape.autograded, "data/extra.txt": f"{student} {variant}".encode()}
    feedback = {name: f"<p>{student}</p>".encode() for name in shape.feedback}
    return dataclasses.replace(shape, student=student, autograded=autograded, feedback=feedback)


def _server_cpu(db_url: str | None) -> float:
    """CPU seconds of the PostgreSQL server listening on ``db_url``'s port (0 for SQLite): the postmaster, its
    finished children (reaped: counted in its children's times) and the live ones."""
    import psutil

    if not db_url:
        return 0.0
    port = db_url.rsplit(":", 1)[1].split("/")[0]
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "-p" in cmdline and port in cmdline and any(part.endswith("postgres") for part in cmdline[:1]):
            own = proc.cpu_times()
            live = sum(c.cpu_times().user + c.cpu_times().system for c in proc.children(recursive=True))
            return own.user + own.system + own.children_user + own.children_system + live
    raise RuntimeError(f"no PostgreSQL server on port {port}")


def run(tmp: Path, backend: str, db_url: str | None, students: int, batch: int, label: str = "") -> float:
    (tmp / backend).mkdir()
    root = make_course(tmp / backend)
    config = course_config(root, db_url=db_url) if db_url else course_config(root)
    assignments = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    released = register(root, config.CourseDirectory.db_url, assignments, tmp / f"release-{backend}")
    digests = _digests(root, config, released)
    shapes = {  # one outcome per shape, its notebook written once: 70,000 nbformat.writes would take an hour
        (assignment, late, variant): outcome("", assignment, nb, variant, digests[assignment, late, variant])
        for assignment, nb in released.items()
        for late in (0, 1)
        for variant in VARIANTS
    }
    work = []
    for i in range(students):
        late, student = int(i % 3 == 1), f"s{i:05d}"
        for assignment in assignments:
            hand_in(root, student, assignment, LATE_HOURS[late])
            work.append((_as_student(shapes[assignment, late, VARIANTS[i % len(VARIANTS)]], student), "print"))
    per_batch = batch * len(assignments)
    started, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(db_url)
    for first in range(0, len(work), per_batch):
        record_batch(root, config, work[first : first + per_batch], Marks(root))
    seconds = time.perf_counter() - started
    cpu, server = time.process_time() - cpu, _server_cpu(db_url) - server
    print(
        f"{label or backend:<11} {students} students x {len(assignments)} notebooks in {seconds:.1f} s: "
        f"{students / seconds:.1f} students/s ({1000 * seconds / students:.0f} ms a student); CPU "
        f"{cpu:.1f} s coordinator + {server:.1f} s database server = {1000 * (cpu + server) / students:.0f} ms a "
        f"student ({students / (cpu + server):.1f} students per CPU second); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return students / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50, help="students a transaction")
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL with fsync=off (default: on)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="course-bench-coordinator-") as tmp:
        for backend in args.backends:
            with contextlib.ExitStack() as stack:
                url = None
                if backend == "postgresql":
                    url = stack.enter_context(postgres_server(fsync=not args.no_fsync))
                fsync = {"sqlite": "", "postgresql": f" (fsync={'off' if args.no_fsync else 'on'})"}.get(backend, "")
                run(Path(tmp), backend, url, args.students, args.batch, backend + fsync)
    return 0


if __name__ == "__main__":
    sys.exit(main())
