"""One grading task: one student's submissions of one or more assignments, each graded in a scratch course of its own.

Runs in a grading worker's process (a Dask worker: on this machine or another; trusted).  The task gets
everything as data (:class:`Job`: the submitted files, plus the :class:`Shared` course pieces: a gradebook
that knows the assignment, its source folder, the nbgrader config, the grading secret, the limits),
writes them into a scratch folder, runs nbgrader's autograde there with the sandboxed execution
(:class:`course_lib.grading.task.sandboxed_execute.SandboxedExecute`) and the feedback, and returns an
:class:`Outcome`: the autograded notebook(s), the feedback HTML and the per-notebook report summaries, as
bytes.  It never touches the course folder or the real gradebook: the coordinator
(:mod:`course_lib.grading.coordinator.record`) records outcomes, one at a time.  So two tasks of one student
cannot both create the student in the gradebook, and a worker on another machine needs no access to the
course folder.  The notebooks of a task's assignments run in one sandbox, one after another, each in a fresh
kernel (:mod:`course_lib.grading.task.session`); a task never holds two students' assignments.

The scratch folder (solutions, secret, scratch gradebook) is hidden from the learner's sandbox like the
course folder is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import sys
import tempfile
import time
import warnings
from pathlib import Path

import course_lib
from course_lib.grading.task.session import one_sandbox

__all__ = [
    "GRADER_DISTRIBUTIONS",
    "GraderMismatch",
    "Job",
    "Outcome",
    "Shared",
    "grade_submission",
    "grade_submissions",
    "grader_digest",
    "grader_manifest",
    "manifest_differences",
    "same",
    "write_tree",
]


@dataclasses.dataclass
class Shared:
    """What every task of a run shares (sent to each worker once)."""

    grader: dict[str, str]  # the coordinator's grader_manifest(config): a worker that differs in an entry refuses
    config: str  # the course's nbgrader_config.py
    secret: bytes  # the grading secret (seeds of the hidden cases); stays in this trusted process
    gradebooks: dict[str, bytes]  # assignment -> an SQLite gradebook that knows it (nbgrader generate_assignment)
    sources: dict[str, dict[str, bytes]]  # assignment -> its solutions/ folder, file by file
    limits: dict  # SandboxedExecute traits: cell_timeout, notebook_timeout, memory_mb, sandbox; and warm_kernels
    slots: dict[str, dict]  # worker name -> {"threads": n, "cpus": [...]} (a local cluster's job slots)
    hide: list[str]  # folders of the coordinator's machine invisible in the sandbox (course, submissions)


@dataclasses.dataclass
class Job:
    student: str
    assignment: str
    submitted: dict[str, bytes]  # submitted/<student>/<assignment>/, file by file
    manual: list[dict] = dataclasses.field(default_factory=list)  # manual grades and comments, for the feedback
    due: str | None = None  # the assignment's due date in the gradebook (ISO, naive UTC), for the feedback
    extension_hours: float | None = None  # the student's extension (course_lib.grading.coordinator.rescore)


@dataclasses.dataclass
class Outcome:
    student: str
    assignment: str
    success: bool
    error: str = ""
    log: str = ""
    autograded: dict[str, bytes] = dataclasses.field(default_factory=dict)
    feedback: dict[str, bytes] = dataclasses.field(default_factory=dict)
    reports: dict[str, bytes] = dataclasses.field(default_factory=dict)
    feedback_error: str = ""
    page_digest: str = ""  # what the feedback page shows (course_lib.grading.coordinator.rescore.page_digest)
    worker: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = dataclasses.field(default_factory=dict)  # step -> seconds


class GraderMismatch(RuntimeError):
    """This worker's grading code is not the coordinator's."""


# Installed distributions whose version can change a score or a page: nbgrader (autograde, the gradebook),
# nbconvert (the feedback page), torch (every judge's reference), nh3 (what the sanitizer lets through).
GRADER_DISTRIBUTIONS = ("nbgrader", "nbconvert", "torch", "nh3")


def grader_manifest(config: str | None = None) -> dict[str, str]:
    """Name -> digest of everything that can change a grade or a page here: every file of course_lib (code,
    feedback templates, data, json; read now, about 30 ms), the Python version, the installed versions of
    :data:`GRADER_DISTRIBUTIONS`, and, where given, the nbgrader configuration the task runs with."""
    from importlib import metadata

    package = Path(course_lib.__file__).parent
    manifest = {"course_lib version": course_lib.__version__, "python": sys.version.split()[0]}
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            manifest[f"course_lib/{path.relative_to(package).as_posix()}"] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    for name in GRADER_DISTRIBUTIONS:
        try:
            manifest[f"{name} version"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            manifest[f"{name} version"] = "not installed"
    if config is not None:
        manifest["nbgrader_config.py"] = hashlib.sha256(config.encode()).hexdigest()
    return manifest


def manifest_differences(ours: dict[str, str], theirs: object) -> list[str]:
    """The names of the entries in which two manifests differ (present in one only, or another digest)."""
    if not isinstance(theirs, dict):
        return ["the grader manifest itself (another course_lib's format)"]
    return sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))


def describe_differences(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def grader_digest(config: str | None = None) -> str:
    """One digest of :func:`grader_manifest` (the resume marks re-grade when any entry changes)."""
    text = "\n".join(f"{name}\0{value}" for name, value in sorted(grader_manifest(config).items()))
    return hashlib.sha256(text.encode()).hexdigest()


def same(shared: Shared) -> Shared:
    """The run's shared pieces, as a Dask task's result (recomputable, unlike scattered data)."""
    return shared


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return ""


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative path -> bytes) under ``folder``, refusing any path that leaves it."""
    for relative, data in files.items():
        target = (folder / relative).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"a file outside its folder: {relative!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _apply_manual(db_url: str, job: Job) -> None:
    """The instructor's manual grades and comments, so the feedback shows what the gradebook will."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        for entry in job.manual:
            try:
                find = gb.find_grade if entry["kind"] == "grade" else gb.find_comment
                row = find(entry["name"], entry["notebook"], job.assignment, job.student)
            except MissingEntry:
                continue
            for field, value in entry["values"].items():
                setattr(row, field, value)
        gb.db.commit()


def grade_submission(job: Job, shared: Shared) -> Outcome:
    """Grade ``job`` in a scratch course; return the result as data (never raises for a submission's fault)."""
    return grade_submissions([job], shared)[0]


def grade_submissions(jobs: list[Job], shared: Shared) -> list[Outcome]:
    """Grade one student's assignments, each in a scratch course of its own, their notebooks one after another in
    one sandbox with warm kernels (:mod:`course_lib.grading.task.session`); one :class:`Outcome` per job, in order.

    The scratch courses lie in one folder that the sandbox hides; what one job's grading raises is that job's
    error only."""
    if len({job.student for job in jobs}) > 1:
        raise ValueError("one task grades one student's assignments: a sandbox is never shared between students")
    task_started = time.monotonic()
    worker = _worker_name()
    differ = manifest_differences(grader_manifest(shared.config), shared.grader)
    if differ:
        raise GraderMismatch(
            f"the grading worker {worker or '(unnamed)'} runs other grading code than the coordinator; "
            f"these differ: {describe_differences(differ)}. Install the same course_lib and the same versions "
            f"on every worker, so that every submission is graded by the same code"
        )
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="course-task-") as tmp:
        hide = [tmp] + [p for p in shared.hide if Path(p).exists()]
        sandboxed = shared.limits.get("sandbox", True)
        warm = shared.limits.get("warm_kernels", True)
        with one_sandbox(hide, warm) if sandboxed else contextlib.nullcontext():
            for number, job in enumerate(jobs):
                started = time.monotonic()
                outcome = Outcome(job.student, job.assignment, success=False, worker=worker)
                scratch = Path(tmp) / str(number)
                scratch.mkdir()
                try:
                    outcome = _grade_in(scratch, job, shared, outcome)
                except Exception as error:  # noqa: BLE001 -- reported for this student; the class goes on
                    outcome.success, outcome.error = False, f"{type(error).__name__}: {error}"
                outcome.seconds = time.monotonic() - started
                outcomes.append(outcome)
    if outcomes:  # the task's own work outside its jobs (the same-code check, the sandbox's start and end): the
        # worker was busy grading, not idle, and the class run's figures count it so (benchmarks/grading.py)
        outside = max(0.0, time.monotonic() - task_started - sum(o.seconds for o in outcomes))
        outcomes[0].seconds += outside
        outcomes[0].timings[TASK_OUTSIDE_JOBS] = outcomes[0].timings.get(TASK_OUTSIDE_JOBS, 0.0) + outside
    return outcomes


TASK_OUTSIDE_JOBS = "sandbox start and end, same-code check"


def _grade_in(scratch: Path, job: Job, shared: Shared, outcome: Outcome) -> Outcome:
    from sqlalchemy.exc import SAWarning

    from course_lib.grading.coordinator.late import parse_due
    from course_lib.grading.coordinator.rescore import apply_late, page_digest, set_due
    from course_lib.grading.task.autograde import autograde_config
    from course_lib.nbgrader_setup import api_for

    student, assignment = job.student, job.assignment
    (scratch / "nbgrader_config.py").write_text(shared.config, encoding="utf-8")
    write_tree(scratch / "solutions" / assignment, shared.sources[assignment])
    write_tree(scratch / "submitted" / student / assignment, job.submitted)
    (scratch / "gradebook.db").write_bytes(shared.gradebooks[assignment])
    secret = scratch / ".course" / "grading-secret"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(shared.secret)
    secret.chmod(0o600)
    db_url = f"sqlite:///{scratch / 'gradebook.db'}"
    slot = shared.slots.get(outcome.worker, {})
    hidden = [str(scratch)] + [p for p in shared.hide if Path(p).exists()]
    settings = {
        "db_url": db_url,
        "sandbox": {
            **{name: value for name, value in shared.limits.items() if name != "warm_kernels"},
            "threads": slot.get("threads", 1),
            "cpus": slot.get("cpus", []),
            "secret_file": str(secret),
            "hide": hidden,
            "report_dir": str(scratch / ".course" / "reports"),
            "source_dir": str(scratch / "solutions" / assignment),  # the course's copy: its skip marks
        },
    }
    config = autograde_config(scratch, settings)
    api = api_for(config)
    set_due(db_url, assignment, parse_due(job.due) if job.due else None)
    clock = time.monotonic()
    with warnings.catch_warnings():
        # nbgrader's add_submission warns about its own session use (SAWarning) in every grading process
        warnings.simplefilter("ignore", SAWarning)
        result = api.autograde(assignment, student, force=True, create=True)
    outcome.timings["autograde"] = time.monotonic() - clock
    if not result.get("success"):
        outcome.error = (result.get("error") or "")[-3000:]
        outcome.log = (result.get("log") or "")[-3000:]
        return outcome
    outcome.success = True
    outcome.autograded = _read_tree(scratch / "autograded" / student / assignment)
    outcome.reports = _read_tree(scratch / ".course" / "reports" / student / assignment)
    _apply_manual(db_url, job)
    # the penalty of the score with the hand-graded points, as the coordinator records it (rescore.apply_late)
    extension = None if job.extension_hours is None else datetime.timedelta(hours=job.extension_hours)
    apply_late(config, db_url, student, assignment, extension)
    clock = time.monotonic()
    feedback = api.generate_feedback(assignment, student, force=True)
    outcome.timings["feedback"] = time.monotonic() - clock
    if feedback.get("success"):
        outcome.feedback = _read_tree(scratch / "feedback" / student / assignment)
        outcome.page_digest = page_digest(db_url, student, assignment)
    else:
        outcome.feedback_error = (feedback.get("error") or "no error message")[-300:]
    return outcome
