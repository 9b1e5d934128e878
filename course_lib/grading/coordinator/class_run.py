"""``course grade``: grade a whole class, on one machine or many, resumably, with a report.

The class run, step by step (:func:`grade_class`):

1. :func:`_course`: the assignments and their grade cells, the gradebook URL, the checks that need no work;
2. :func:`_register`: the real gradebook learns each assignment (nbgrader ``generate_assignment``), and so
   does a small SQLite gradebook per assignment that every task starts from;
3. intake: submissions -> ``submitted/`` with every problem named (:mod:`course_lib.grading.coordinator.intake`);
4. :func:`_pending`: the (student, assignment) pairs whose submission or grader changed since their last
   successful grading (the others are reused: an interrupted run resumes where it stopped);
5. :func:`_grade`: one task per pair on the Dask cluster (:mod:`course_lib.grading.coordinator.cluster`,
   :mod:`course_lib.grading.task.job`); as each finishes, the coordinator records it
   (:mod:`course_lib.grading.coordinator.record`) and the progress bar moves (:mod:`course_lib.grading.coordinator.progress`);
6. what the run found is remembered per pair (:mod:`course_lib.grading.coordinator.term`), penalties and feedback pages
   of every recorded submission follow the gradebook (:mod:`course_lib.grading.coordinator.rescore`, no kernel), and
   :mod:`course_lib.grading.coordinator.report` writes ``grades.csv`` and ``grading-report.md`` / ``.json`` for the term.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.grading import limits
from course_lib.grading.coordinator.cluster import ClusterOptions, grading_client, local_slots
from course_lib.grading.coordinator.estimate import expected_seconds
from course_lib.grading.coordinator.intake import Intake, Problem, intake
from course_lib.grading.coordinator.jobs import jobs_for
from course_lib.grading.coordinator.late import parse_due, set_due_date, stamp
from course_lib.grading.coordinator.progress import Progress
from course_lib.grading.coordinator.record import NOT_GRADED_PREFIX, Marks, failure_line, forget, record_batch
from course_lib.grading.coordinator.recorder import Recorder
from course_lib.grading.coordinator.rescore import rescore
from course_lib.grading.coordinator.tasks import student_tasks
from course_lib.grading.coordinator.term import remember, write_term
from course_lib.grading.task.bwrap import bwrap_path
from course_lib.grading.task.job import Shared, grade_submissions, grader_digest, grader_manifest, same
from course_lib.nbgrader_setup import CourseError, api_for, assignments, course_config

__all__ = ["ClassSummary", "GradeOptions", "grade_class"]


@dataclasses.dataclass
class GradeOptions:
    jobs: int | None = None
    assignments: list[str] | None = None
    sandbox: bool = True
    force: bool = False
    notebook_timeout: int = limits.NOTEBOOK_SECONDS
    cell_timeout: int = limits.CELL_SECONDS
    memory_mb: int = limits.MEMORY_MB
    lms_pattern: str | None = None
    scheduler: str | None = None
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    quiet: bool = True  # the library is quiet; ``course grade`` shows progress unless --quiet
    due: str | None = None  # ISO date and time: the due date of the chosen assignments (late.py)
    # True (the default): one sandbox per task with kernels forked from a warm zygote, one task per student
    # (task/session.py); a forked kernel that does not answer is replaced by a cold one (sandbox/zygote.py).
    # False: one sandbox and one cold kernel per notebook
    warm_kernels: bool = True


@dataclasses.dataclass
class ClassSummary:
    graded: int
    skipped: int
    failed: int
    seconds: float
    csv_path: Path
    report_path: Path
    problems: list[Problem]
    # where the time went: the coordinator's steps, and summed over the tasks (see benchmarks/grading.py)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    def text(self) -> str:
        lines = [
            (
                f"graded {self.graded} submission(s), reused {self.skipped} unchanged, {self.failed} failed "
                f"in {self.seconds:.1f} s"
            ),
            f"scores: {self.csv_path}",
            f"report: {self.report_path}",
        ]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) -- see the report:")
            lines += [f"  {p.student} / {p.assignment} / {p.notebook}: {p.what}" for p in self.problems[:20]]
        return "\n".join(lines)


@dataclasses.dataclass
class _Course:
    root: Path
    sources: dict[str, dict[str, set[str]]]  # assignment -> notebook -> grade ids
    chosen: list[str]
    db_url: str
    due: datetime.datetime | None = None  # naive UTC, as nbgrader stores it


def _source_notebooks(root: Path) -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for assignment in assignments(root):
        out[assignment] = {}
        for path in sorted((root / "solutions" / assignment).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            out[assignment][path.stem] = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    return out


def _secret(root: Path) -> Path:
    path = root / ".course" / "grading-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path


_grader_digest = grader_digest  # the name the resume marks' fingerprint has always used


def _fingerprint(root: Path, student: str, assignment: str, grader: str) -> str:
    digest = hashlib.sha256(grader.encode())
    for folder in (root / "submitted" / student / assignment, root / "solutions" / assignment):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _course(root: Path, options: GradeOptions) -> _Course:
    if options.sandbox and bwrap_path() is None:
        raise CourseError(
            "bubblewrap is not installed (apt-get install bubblewrap); without it a submission could "
            "read the gradebook and the solutions. Use --no-sandbox only for code you trust."
        )
    sources = _source_notebooks(root)
    if options.assignments:
        unknown = sorted(set(options.assignments) - set(sources))
        if unknown:
            raise CourseError(f"unknown assignment(s) {unknown}; the course has {sorted(sources)}")
    db_url = course_config(root).CourseDirectory.db_url
    if db_url.startswith("sqlite:///") and "?" not in db_url:
        db_url += "?timeout=300"  # the coordinator alone writes, but Formgrader may be open on the same file
    try:
        due = parse_due(options.due) if options.due else None
    except ValueError as error:
        raise CourseError(str(error))
    return _Course(root, sources, options.assignments or sorted(sources), db_url, due)


def _generate(root: Path, assignment: str, db_url: str, release: Path) -> None:
    config = course_config(root, db_url=db_url)
    config.CourseDirectory.release_directory = str(release)
    result = api_for(config).generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise CourseError(f"nbgrader could not prepare {assignment}: {result.get('error')}")


def _source_key(root: Path, assignment: str, due: datetime.datetime | None = None) -> str:
    """What a task's starting gradebook depends on: nbgrader, the course config, the assignment's sources
    and its due date (the task's feedback shows the late penalty)."""
    import nbgrader

    digest = hashlib.sha256(f"{nbgrader.__version__} due={due}".encode())
    digest.update((root / "nbgrader_config.py").read_bytes())
    folder = root / "solutions" / assignment
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _register(course: _Course, release: Path) -> dict[str, bytes]:
    """The real gradebook learns each chosen assignment (and ``release`` gets the blank notebooks); returns,
    per assignment, a task's starting gradebook, kept in ``.course/cache`` until the sources change."""
    cache = course.root / ".course" / "cache"
    templates: dict[str, bytes] = {}
    for assignment in course.chosen:
        _generate(course.root, assignment, course.db_url, release)
        if course.due:
            set_due_date(course.db_url, assignment, course.due)
        template = cache / f"{assignment}-{_source_key(course.root, assignment, course.due)}.db"
        if not template.is_file():
            scratch = release.parent / f"{assignment}.db"
            _generate(course.root, assignment, f"sqlite:///{scratch}", release.parent / "template-release")
            if course.due:
                set_due_date(f"sqlite:///{scratch}", assignment, course.due)
            cache.mkdir(parents=True, exist_ok=True)
            for stale in cache.glob(f"{assignment}-*.db"):
                stale.unlink()
            shutil.copyfile(scratch, template.with_suffix(".partial"))
            template.with_suffix(".partial").replace(template)
        templates[assignment] = template.read_bytes()
    return templates


def _pending(course: _Course, taken: Intake, force: bool, marks: Marks) -> tuple[list[tuple[str, str, str]], int]:
    """The pairs to grade now, each with its fingerprint, and how many are reused as they are."""
    grader, todo = grader_digest((course.root / "nbgrader_config.py").read_text(encoding="utf-8")), []
    for student, assignment in taken.work:
        fingerprint = _fingerprint(course.root, student, assignment, grader)
        if force or not marks.current(student, assignment, fingerprint):
            todo.append((student, assignment, fingerprint))
    return todo, len(taken.work) - len(todo)


def _longest_first(course: _Course, todo: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The pairs, longest expected first (:mod:`course_lib.grading.coordinator.estimate`): the last tasks of a run
    are then short ones, and the workers finish together (one 7-notebook submission on 2 workers: 33 s in
    submission order)."""
    expected = expected_seconds(course.root, course.chosen, todo)
    return sorted(todo, key=lambda pair: (-expected[pair[:2]], pair[1], pair[0]))


def _shared(
    course: _Course, options: GradeOptions, templates: dict[str, bytes], submissions: Path, jobs: int
) -> Shared:
    root = course.root
    folder_files = {
        a: {
            str(p.relative_to(root / "solutions" / a)): p.read_bytes()
            for p in sorted((root / "solutions" / a).rglob("*"))
            if p.is_file()
        }
        for a in course.chosen
    }
    config = (root / "nbgrader_config.py").read_text(encoding="utf-8")
    return Shared(
        grader=grader_manifest(config),
        config=config,
        secret=_secret(root).read_bytes(),
        gradebooks=templates,
        sources=folder_files,
        limits={
            "cell_timeout": options.cell_timeout,
            "notebook_timeout": options.notebook_timeout,
            "memory_mb": options.memory_mb,
            "sandbox": options.sandbox,
            "warm_kernels": options.warm_kernels,
        },
        slots={} if options.scheduler else local_slots(jobs),
        hide=[str(root), str(Path(submissions).resolve())],
    )


def _killed_line(error: BaseException) -> str:
    return (
        f"{NOT_GRADED_PREFIX}the grading worker died {limits.ALLOWED_FAILURES + 1} times on this submission "
        f"(its notebook kills the grader, e.g. by exhausting the worker's memory, or the worker was lost) "
        f"({type(error).__name__})"
    )


def _grade(
    course: _Course,
    options: GradeOptions,
    todo,
    shared: Shared,
    progress: Progress,
    timings: dict[str, float],
    task=None,
) -> list[Problem]:
    """Run the tasks on the cluster; record the outcomes as they arrive.  Returns the problems.

    The main thread submits every task, then collects results as they finish; recording runs on the
    :class:`~course_lib.grading.coordinator.recorder.Recorder`'s thread, so neither waits on the gradebook.
    ``task``: what a worker runs per job instead of grading (``benchmarks/scheduler.py`` passes a no-op)."""
    from distributed import as_completed

    root, marks, failures = course.root, Marks(course.root), []
    config = course_config(root, db_url=course.db_url)
    cluster = ClusterOptions(
        jobs=options.jobs or 1,
        scheduler=options.scheduler,
        tls_ca_file=options.tls_ca_file,
        tls_cert=options.tls_cert,
        tls_key=options.tls_key,
    )

    def record(arrived: list) -> None:  # on the recorder's thread: the one writer of the gradebook and folder
        graded = []
        for (student, assignment, fingerprint), result in arrived:
            what = _what_failed(root, student, assignment, result, timings, failures)
            if what is None:
                graded.append((result, fingerprint))
            else:
                forget(root, student, assignment, marks)
                failures.append(Problem(student, assignment, "-", what))
        recording = time.monotonic()
        record_batch(root, config, graded, marks)
        timings["coordinator: record"] = timings.get("coordinator: record", 0) + time.monotonic() - recording
        for (student, assignment, _), _ in arrived:
            pair = (student, assignment)
            progress.advance(
                [f"{p.student} / {p.assignment}: {p.what}" for p in failures if (p.student, p.assignment) == pair]
            )

    clock = time.monotonic()
    with grading_client(cluster) as client:
        timings["cluster start"] = time.monotonic() - clock
        clock = time.monotonic()
        # The shared pieces as a task, not scattered data: if every worker holding them dies, Dask recomputes
        # them from the scheduler's copy instead of cancelling every task that needs them.
        shared_future = client.submit(same, shared, pure=False, key=f"course-shared-{secrets.token_hex(4)}")
        futures = {}
        slots = sum(client.nthreads().values())
        # one task per student (split where the class has fewer students than slots): its notebooks share a
        # sandbox and warm kernels (coordinator/tasks.py); each pair is still recorded on its own
        groups = (
            student_tasks(todo, expected_seconds(course.root, course.chosen, todo), slots)
            if options.warm_kernels
            else [[p] for p in _longest_first(course, todo)]
        )

        pairs = [(student, assignment) for group in groups for student, assignment, _ in group]
        prepared = dict(zip(pairs, jobs_for(root, course.db_url, pairs)))  # one gradebook session for them all

        def submit(group: list, priority: int):
            jobs = [prepared[(student, assignment)] for student, assignment, _ in group]
            future = client.submit(
                _task_of(task),
                jobs,
                shared_future,
                pure=False,
                key=f"grade-{group[0][0]}-{'-'.join(p[1] for p in group)}-{secrets.token_hex(4)}",
                priority=priority,  # Dask runs higher priorities first
            )
            futures[future] = group
            return future

        for rank, group in enumerate(groups):
            submit(group, len(groups) - rank)
        timings["submit"] = time.monotonic() - clock
        progress.slots(slots)  # the heartbeat starts: running and queued
        with Recorder(record) as recorder:
            pending = as_completed(list(futures))
            for arrived in pending.batches():  # what finished together is recorded together
                results = []
                for future in arrived:
                    group = futures.pop(future)
                    outcomes = _results(group, future)
                    if len(group) > 1 and _killed_worker(outcomes):
                        # one of them may be what kills workers: each again on its own, so it costs the others nothing
                        for pair in group:
                            pending.add(submit([pair], 0))
                    else:
                        results += outcomes
                if results:
                    recorder.put(results)
            timings["tasks (wall)"] = time.monotonic() - clock
        timings["coordinator: after the last task"] = time.monotonic() - clock - timings["tasks (wall)"]
    return failures


def _killed_worker(outcomes: list) -> bool:
    from distributed.scheduler import KilledWorker

    return any(isinstance(outcome, KilledWorker) for _, outcome in outcomes)


def _task_of(task):
    """What a worker runs for a group of one student's jobs: ``grade_submissions`` (one sandbox for them), or a
    per-job ``task`` (a benchmark's or a test's stand-in) once per job."""
    if task is None:
        return grade_submissions
    return functools.partial(_one_by_one, task)


def _one_by_one(task, jobs, shared):
    return [task(job, shared) for job in jobs]


def _results(group: list, future) -> list:
    """``[(pair, outcome or the exception the task ended with), ...]`` (named by :func:`_what_failed` on the
    recorder)."""
    try:
        return list(zip(group, future.result(), strict=True))
    except Exception as error:  # noqa: BLE001 -- the task itself broke: named for this student, the class goes on
        return [(pair, error) for pair in group]


def _what_failed(root: Path, student: str, assignment: str, result, timings: dict, failures: list) -> str | None:
    """None for a graded outcome (its timings added up), else the line the report shows for the pair."""
    from distributed.scheduler import KilledWorker

    from course_lib.grading.task.job import GraderMismatch

    if isinstance(result, KilledWorker):
        return _killed_line(result)
    if isinstance(result, GraderMismatch):
        return f"{NOT_GRADED_PREFIX}{result}"
    if isinstance(result, Exception):
        return failure_line(root, student, assignment, f"{type(result).__name__}: {result}")
    timings["tasks: in workers"] = timings.get("tasks: in workers", 0) + result.seconds
    if not result.success:
        return failure_line(root, student, assignment, result.error, result.log)
    for step, seconds in result.timings.items():
        timings[f"tasks: {step}"] = timings.get(f"tasks: {step}", 0) + seconds
    if result.feedback_error:
        failures.append(Problem(student, assignment, "-", f"feedback failed: {result.feedback_error}"))
    return None


def grade_class(root: Path, submissions: Path, options: GradeOptions) -> ClassSummary:
    root = Path(root).resolve()
    started = time.monotonic()
    timings: dict[str, float] = {}
    course = _course(root, options)
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        release = Path(tmp) / "release"
        templates = _register(course, release)
        timings["register assignments"] = time.monotonic() - started
        try:
            taken = intake(root, Path(submissions), course.sources, release, options.assignments, options.lms_pattern)
        except (FileNotFoundError, ValueError) as error:
            raise CourseError(str(error))
    taken.problems.extend(stamp(root, taken.work, course.due, taken.from_lms, taken.late))
    todo, skipped = _pending(course, taken, options.force, Marks(root))
    timings["intake"] = time.monotonic() - started - timings["register assignments"]
    failures: list[Problem] = []
    with Progress(len(taken.work), done=skipped, quiet=options.quiet) as progress:
        progress.note([f"{p.student} / {p.assignment} / {p.notebook}: {p.what}" for p in taken.problems])
        if todo:
            jobs = max(1, min(options.jobs or len(os.sched_getaffinity(0)), len(todo)))
            options = dataclasses.replace(options, jobs=jobs)
            shared = _shared(course, options, templates, submissions, jobs)
            failures = _grade(course, options, todo, shared, progress, timings)
    # whatever failed in this run shows as not graded (with its cause), never as the gradebook's older score;
    # every "grading failed" line comes from the coordinator's failure_line, so it is among these already
    not_graded = {
        (p.student, p.assignment): p.what.removeprefix(NOT_GRADED_PREFIX)
        for p in failures
        if not p.what.startswith("feedback failed")
    }
    failed = len(not_graded)
    problems = taken.problems + failures
    clock = time.monotonic()
    remember(root, taken.work, not_graded, problems)
    # penalties and pages of the submissions not graded now follow the gradebook too (a grade entered by
    # hand, a due date moved, an extension): recomputed, never re-executed
    rescore(root, course_config(root, db_url=course.db_url), course.chosen)
    timings["rescore"] = time.monotonic() - clock
    clock = time.monotonic()
    csv_path, report_path = write_term(root, course.db_url, course.sources)
    timings["report"] = time.monotonic() - clock
    return ClassSummary(
        len(todo) - failed, skipped, failed, time.monotonic() - started, csv_path, report_path, problems, timings
    )


def _failure(root: Path, student: str, assignment: str, outcome: dict) -> str:
    """One line on why grading failed; kept for callers of the old name."""
    return failure_line(root, student, assignment, outcome.get("error", ""), outcome.get("log", ""))
