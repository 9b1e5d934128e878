"""Print what `course grade` costs, and where the time goes: one submission, then a class of synthetic ones.

    python benchmarks/grading.py [--students 50] [--jobs 2] [--assignments 01_sequence_data ...] [--no-warm-kernels]
                                 [--scores FILE]

(``--students 0``: the one submission only.  The kernels are ``course grade``'s default: one sandbox per task, kernels
forked from a warm zygote; ``--no-warm-kernels``: one sandbox and one cold kernel per notebook.
``--scores FILE``: every student's points per exercise as JSON, to compare two runs.)

Each synthetic student hands in every chosen notebook: a third the full solution, a third the untouched
learner version, a third the solution with one exercise broken.  Grading is the real thing (a local Dask
cluster, sandboxed, judged outside the kernel).  For each run it prints the coordinator's steps (register
the assignments, intake, cluster start, recording, report), the tasks' steps summed over the class
(nbgrader autograde, feedback) and, per notebook, the sandbox's wall time split into "sandbox + runner
start" and "kernel start + cells" (the runner's own clock), and the CPU the whole run used (so a figure
taken on a busy machine still says what the run costs).  Targets on a 2-core machine: one full
submission <= 30 s; a class of 50 <= 25 min; the engine's own overhead <= 5 % of a class run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.grading.coordinator.class_run import GradeOptions, grade_class  # noqa: E402 -- after the sys.path line above
from tests.grading.conftest import edit, make_course, solved, stub, write  # noqa: E402

COORDINATOR = ("register assignments", "intake", "coordinator: record", "report")


def _broken(assignment: str):
    good = solved(assignment)
    first = next(c for c in good.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    return edit(good, first.metadata["nbgrader"]["grade_id"], "raise ValueError('broken on purpose')")


def _notebook_seconds(course: Path) -> dict[str, list[float]]:
    """notebook -> [sandbox wall, runner's execution, CPU of runner and kernels] summed over the students."""
    out: dict[str, list[float]] = {}
    for summary in sorted((course / ".course" / "reports").rglob("*.json")):
        data = json.loads(summary.read_text())
        total = out.setdefault(data["notebook"], [0.0, 0.0, 0.0])
        total[0] += data["seconds"]
        for event in data["events"]:
            if found := re.match(r"executed in ([\d.]+) s \(CPU ([\d.]+) s\)", event):
                total[1] += float(found[1])
                total[2] += float(found[2])
    return out


def _cpu_seconds() -> float:
    """CPU (user + system) of this process and of the finished processes under it (the workers).  What runs
    inside bubblewrap is not passed up to here: each runner reports its own and its kernels' CPU instead
    (:func:`_notebook_seconds`).  The sum is what the run cost, whatever else the machine was doing (wall
    time is not, on a shared machine)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _scores(course: Path) -> dict:
    """student -> assignment -> exercise -> points, from the run's report."""
    report = json.loads((course / "grading-report.json").read_text())
    return {
        student: {
            assignment: {e["cell"]: e["score"] for e in data["exercises"]}
            for assignment, data in sorted(entry["assignments"].items())
        }
        for student, entry in sorted(report.items())
    }


def _run(course: Path, subs: Path, options: GradeOptions, label: str, students: int) -> float:
    started, cpu = time.perf_counter(), _cpu_seconds()
    summary = grade_class(course, subs, options)
    wall = time.perf_counter() - started
    notebooks = _notebook_seconds(course)
    cpu = _cpu_seconds() - cpu + sum(n[2] for n in notebooks.values())
    cores = options.jobs or len(os.sched_getaffinity(0))
    print(f"\n{label}: {wall:.1f} s ({wall / students:.1f} s per student, failed={summary.failed})", flush=True)
    print(
        f"  CPU of the whole run: {cpu:.1f} s = {cpu / students:.1f} s per student; on {cores} idle cores at "
        f"least {cpu / cores:.1f} s ({cpu / cores / students:.1f} s per student); load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    coordinator = sum(summary.timings.get(step, 0.0) for step in COORDINATOR)
    # Dask's own cost: starting the cluster, and the time the workers were not running a task while the run
    # was in its task phase (hand-off, scheduling, results coming back, the last tasks' imbalance); a task's
    # own sandbox start and same-code check are its work ("in workers"), not idle time
    idle = summary.timings.get("tasks (wall)", 0.0) - summary.timings.get("tasks: in workers", 0.0) / cores
    engine = summary.timings.get("cluster start", 0.0) + max(0.0, idle)
    for step, seconds in summary.timings.items():
        print(f"  {step:<28} {seconds:7.1f} s")
    print(
        f"  engine overhead (cluster start + workers idle in the task phase): {engine:.1f} s = "
        f"{100 * engine / wall:.1f} % of the run"
    )
    print(
        f"  coordinator's own steps (register, intake, record, report; recording overlaps the tasks): "
        f"{coordinator:.1f} s = {100 * coordinator / wall:.1f} % of the run"
    )
    for notebook, (sandbox, executed, kernel_cpu) in notebooks.items():
        print(
            f"  {notebook:<28} sandbox {sandbox:6.1f} s = start {sandbox - executed:5.1f} s + kernel & cells "
            f"{executed:6.1f} s (CPU {kernel_cpu:6.1f} s; all students)"
        )
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument(
        "--warm-kernels",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one sandbox per task, kernels forked warm (the default); --no-warm-kernels: cold, one sandbox each",
    )
    parser.add_argument("--scores", type=Path, default=None, help="write the class's points per exercise here")
    args = parser.parse_args()
    assignments = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        tmp = Path(tmp)
        one, many = tmp / "one", tmp / "many"
        for assignment in assignments:
            write(one, "solo", solved(assignment), assignment)
            for i in range(args.students):
                write(many, f"student{i:03d}", (solved, stub, _broken)[i % 3](assignment), assignment)
        options = GradeOptions(jobs=args.jobs, assignments=assignments, warm_kernels=args.warm_kernels)
        print(f"kernels: {'warm, one sandbox per task' if args.warm_kernels else 'cold, one sandbox per notebook'}")
        course = make_course(tmp)
        _run(course, one, options, f"one submission of {len(assignments)} notebook(s)", 1)
        if not args.students:
            return 0
        shutil.rmtree(course)
        course = make_course(tmp)
        _run(
            course,
            many,
            options,
            f"class of {args.students} students x {len(assignments)} notebook(s), jobs={args.jobs or 'cores'}",
            args.students,
        )
        if args.scores:
            args.scores.write_text(json.dumps(_scores(course), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
