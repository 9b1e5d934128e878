"""Do the scheduler and the coordinator keep up with many workers?  Tasks that grade nothing, through the
class run's own cluster and its submit / collect / record loop.

    python benchmarks/scheduler.py [--workers 8] [--students 50] [--task-seconds 0]

Starts ``course grade``'s local cluster (:mod:`course_lib.grading.coordinator.cluster`: TLS, one
single-threaded worker process per job, over-subscribed on a small machine) and runs
:func:`course_lib.grading.coordinator.class_run._grade` on ``--students`` x 7 pairs whose task is a no-op
(it sleeps ``--task-seconds``): each task still receives the real payload (the submitted notebook, the
shared sources and task gradebooks, as ``course grade`` sends them) and returns one shaped like a graded
one (the notebook as the autograded copy, a summary), which the coordinator records in the real gradebook
(rows, files, resume marks).  No feedback page comes back: a page whose digest the coordinator cannot
check would be made again here, by nbgrader, which is grading work.

Prints the engine's CPU per task (submitting, scheduling, the workers' receiving and returning, collecting and
recording: the run's CPU after the cluster started, per task) against a real task's CPU (``--real-task-cpu``), a share
that does not depend on the machine's load; then tasks per second and the engine's cost per task (the run's wall time, less the tasks' own time
spread over the workers, per task), and what that is as a share of a class run whose tasks take
``--real-task-seconds`` each (default: 57 s of CPU per student of 7 notebooks, README's figure from
``benchmarks/grading.py``, on ``--workers`` cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.grading.coordinator import class_run  # noqa: E402 -- after the sys.path line above
from course_lib.grading.coordinator.progress import Progress  # noqa: E402
from tests.grading.conftest import make_course  # noqa: E402

CPU_PER_STUDENT = 57.0  # s, one student's seven notebooks (README, Scale: benchmarks/grading.py --students 50)


def no_grading(job, shared, seconds: float = 0.0):
    """A task that grades nothing: the handed-in notebook comes back as the autograded one."""
    import time

    from course_lib.grading.task.job import Outcome

    started = time.monotonic()
    if seconds:
        time.sleep(seconds)
    notebooks = {name: data for name, data in job.submitted.items() if name.endswith(".ipynb")}
    summary = b'{"seconds": 0.0, "events": []}'
    reports = {f"{name[:-6]}.json": summary for name in notebooks}
    return Outcome(
        job.student, job.assignment, True, autograded=notebooks, reports=reports, seconds=time.monotonic() - started
    )


def _cpu() -> float:
    """CPU seconds of this process, its finished children and its live descendants (the workers, their nannies'
    processes): the scheduler runs in this process, as in ``course grade``."""
    import psutil

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:  # ended meanwhile: counted in RUSAGE_CHILDREN once reaped
            continue
        live += times.user + times.system
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + live


class _Phases(Progress):
    """The class run's progress, which also notes the CPU when every task has been submitted (``slots``: the
    heartbeat starts) and the main thread's CPU until then (starting the cluster is mostly other threads' and
    processes'; submitting -- the jobs prepared, the tasks handed to Dask -- is the main thread's)."""

    submitted_cpu: float | None = None
    main_thread_cpu: float | None = None

    def slots(self, workers: int) -> None:
        self.submitted_cpu, self.main_thread_cpu = _cpu(), time.thread_time()
        super().slots(workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--task-seconds", type=float, default=0.0)
    parser.add_argument("--real-task-seconds", type=float, default=CPU_PER_STUDENT / 7)
    parser.add_argument(
        "--real-task-cpu", type=float, default=CPU_PER_STUDENT / 7, help="CPU seconds of a real task (one notebook)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="course-bench-scheduler-") as tmp:
        tmp = Path(tmp)
        root = make_course(tmp)
        options = class_run.GradeOptions(jobs=args.workers, sandbox=False)
        course = class_run._course(root, options)
        templates = class_run._register(course, tmp / "release")
        todo = []
        for i in range(args.students):
            for assignment in course.chosen:
                folder = root / "submitted" / f"s{i:05d}" / assignment
                folder.mkdir(parents=True)
                learner = root / "notebooks" / assignment / f"{assignment}.ipynb"
                (folder / learner.name).write_bytes(learner.read_bytes())
                todo.append((f"s{i:05d}", assignment, "print"))
        shared = class_run._shared(course, options, templates, root / "submitted", args.workers)

        def task(job, shared, seconds=args.task_seconds):
            return no_grading(job, shared, seconds)

        timings: dict[str, float] = {}
        started, cpu, main_thread = time.monotonic(), _cpu(), time.thread_time()
        with _Phases(len(todo), quiet=True) as progress:
            failures = class_run._grade(course, options, todo, shared, progress, timings, task=task)
        wall, end = time.monotonic() - started, _cpu()
        start_and_submit, submit = progress.submitted_cpu - cpu, progress.main_thread_cpu - main_thread
        cpu = end - cpu
    assert not failures, failures[:3]
    tasks = len(todo)
    phase = timings["tasks (wall)"] + timings["coordinator: after the last task"]
    engine = phase - timings.get("tasks: in workers", 0.0) / args.workers  # the workers' own time spread out
    per_task = engine / tasks
    print(
        f"{args.workers} workers, {tasks} no-op tasks ({args.students} students x {len(course.chosen)}): "
        f"{wall:.1f} s in all; cluster start {timings['cluster start']:.1f} s, submit {timings['submit']:.1f} s, "
        f"tasks and recording {phase:.1f} s = {tasks / phase:.1f} tasks/s ({tasks / phase / 7:.1f} students/s); "
        f"recording {timings.get('coordinator: record', 0):.1f} s on its own thread; CPU of the run {cpu:.1f} s "
        f"(the workers' included); load average {os.getloadavg()[0]:.1f}"
    )
    # In CPU, independent of the machine's load: what the engine costs a task (submitting, the scheduler, the
    # workers receiving and returning it, the coordinator collecting and recording it), against a real task's CPU
    engine_cpu = (submit + end - progress.submitted_cpu) / tasks
    print(
        f"CPU: cluster start and submit {start_and_submit:.1f} s (the main thread's, preparing and submitting the jobs: "
        f"{submit:.1f} s), tasks and recording {end - progress.submitted_cpu:.1f} s (workers, scheduler, coordinator); "
        f"engine {1000 * engine_cpu:.0f} ms of CPU a task = {100 * engine_cpu / (args.real_task_cpu + engine_cpu):.2f} "
        f"% of a task that grades one notebook ({args.real_task_cpu:.1f} s of CPU); cluster start "
        f"{start_and_submit - submit:.1f} s of CPU once a run"
    )
    real = args.real_task_seconds * tasks / args.workers
    overhead = timings["cluster start"] + engine
    print(
        f"engine per task {1000 * per_task:.0f} ms; for these {tasks} tasks at {args.real_task_seconds:.1f} s each on "
        f"{args.workers} workers ({real:.0f} s of grading): cluster start + engine {overhead:.1f} s = "
        f"{100 * overhead / (real + overhead):.1f} % of the run"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
