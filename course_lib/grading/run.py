"""``course grade``: grade a whole class, several students at once, resumably, with a report.

1. intake: submissions -> ``submitted/`` with every problem named (:mod:`course_lib.grading.intake`);
2. the gradebook learns the assignments (nbgrader ``generate_assignment`` into a scratch release folder);
3. autograde: one worker process per (student, assignment), ``--jobs`` at a time, each with its own job
   slot (uid, cores, thread count); a (student, assignment) whose submission and grader are unchanged
   since its last successful grading is skipped, so an interrupted run resumes where it stopped;
4. feedback HTML (hidden tests removed), then :mod:`course_lib.grading.report` writes ``grades.csv`` for the
   LMS and ``grading-report.md`` / ``.json``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

import course_lib
from course_lib.grading.intake import Problem, intake
from course_lib.grading.late import parse_due, set_due_date, stamp
from course_lib.grading.report import write_outputs
from course_lib.grading.sandbox import bwrap_path
from course_lib.nbgrader_setup import CourseError, api_for, assignments, course_config

__all__ = ["GradeOptions", "ClassSummary", "grade_class"]


@dataclasses.dataclass
class GradeOptions:
    jobs: int | None = None
    assignments: list[str] | None = None
    sandbox: bool = True
    force: bool = False
    notebook_timeout: int = 300
    cell_timeout: int = 120
    memory_mb: int = 4096
    lms_pattern: str | None = None
    due: str | None = None  # ISO date and time: the due date of the chosen assignments (late.py)


@dataclasses.dataclass
class ClassSummary:
    graded: int
    skipped: int
    failed: int
    seconds: float
    csv_path: Path
    report_path: Path
    problems: list[Problem]

    def text(self) -> str:
        lines = [f"graded {self.graded} submission(s), reused {self.skipped} unchanged, {self.failed} failed "
                 f"in {self.seconds:.1f} s", f"scores: {self.csv_path}", f"report: {self.report_path}"]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) -- see the report:")
            lines += [f"  {p.student} / {p.assignment} / {p.notebook}: {p.what}" for p in self.problems[:20]]
        return "\n".join(lines)


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


def _grader_digest() -> str:
    """A digest of course_lib's code: a new grader re-grades everything."""
    digest = hashlib.sha256(course_lib.__version__.encode())
    for module in sorted(Path(course_lib.__file__).parent.rglob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()


def _fingerprint(root: Path, student: str, assignment: str, grader: str) -> str:
    digest = hashlib.sha256(grader.encode())
    for folder in (root / "submitted" / student / assignment, root / "solutions" / assignment):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _slots(jobs: int) -> list[dict]:
    cores = sorted(os.sched_getaffinity(0))
    per = max(1, len(cores) // jobs)
    return [{"slot": i, "threads": per, "cpus": cores[(i * per) % len(cores):][:per] or cores[:per]}
            for i in range(jobs)]


def grade_class(root: Path, submissions: Path, options: GradeOptions) -> ClassSummary:
    root = Path(root).resolve()
    started = time.monotonic()
    if options.sandbox and bwrap_path() is None:
        raise CourseError("bubblewrap is not installed (apt-get install bubblewrap); without it a submission could "
                          "read the gradebook and the solutions. Use --no-sandbox only for code you trust.")
    sources = _source_notebooks(root)
    if options.assignments:
        unknown = sorted(set(options.assignments) - set(sources))
        if unknown:
            raise CourseError(f"unknown assignment(s) {unknown}; the course has {sorted(sources)}")
    db_url = course_config(root).CourseDirectory.db_url
    if db_url.startswith("sqlite:///") and "?" not in db_url:
        db_url += "?timeout=300"  # several workers write; SQLite makes each wait its turn
    config = course_config(root, db_url=db_url)
    try:
        due = parse_due(options.due) if options.due else None
    except ValueError as error:
        raise CourseError(str(error))

    # The gradebook learns each assignment's cells; the scratch release folder also gives the blank notebooks.
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        release = Path(tmp) / "release"
        config.CourseDirectory.release_directory = str(release)
        api = api_for(config)
        chosen = options.assignments or sorted(sources)
        for assignment in chosen:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result.get("success"):
                raise CourseError(f"nbgrader could not prepare {assignment}: {result.get('error')}")
            if due:
                set_due_date(db_url, assignment, due)
        try:
            taken = intake(root, Path(submissions), sources, release, options.assignments, options.lms_pattern)
        except (FileNotFoundError, ValueError) as error:
            raise CourseError(str(error))
    taken.problems.extend(stamp(root, taken.work, due, taken.from_lms, taken.late))

    jobs = max(1, min(options.jobs or len(os.sched_getaffinity(0)), max(1, len(taken.work))))
    settings = {"db_url": db_url, "sandbox": {
        "cell_timeout": options.cell_timeout, "notebook_timeout": options.notebook_timeout,
        "memory_mb": options.memory_mb, "sandbox": options.sandbox, "secret_file": str(_secret(root)),
        "hide": [str(root), str(Path(submissions).resolve())], "report_dir": str(root / ".course" / "reports")}}
    free: queue.Queue = queue.Queue()
    for slot in _slots(jobs):
        free.put(slot)
    marks = root / ".course" / "graded"
    failures: list[Problem] = []
    grader = _grader_digest()

    def grade_one(student: str, assignment: str) -> str:
        mark = marks / student / f"{assignment}.json"
        fingerprint = _fingerprint(root, student, assignment, grader)
        if not options.force and mark.is_file() and json.loads(mark.read_text()).get("fingerprint") == fingerprint:
            return "skipped"
        slot = free.get()
        try:
            job_settings = json.loads(json.dumps(settings))
            job_settings["sandbox"].update(slot=slot["slot"], threads=slot["threads"], cpus=slot["cpus"])
            process = subprocess.run(
                [sys.executable, "-m", "course_lib.grading.worker", str(root), student, assignment,
                 "--settings", json.dumps(job_settings)],
                capture_output=True, text=True, timeout=options.notebook_timeout * 4 + 300,
                env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
            lines = process.stdout.strip().splitlines()
            outcome = json.loads(lines[-1]) if lines else {"success": False, "error": process.stderr[-2000:]}
        except subprocess.TimeoutExpired:
            outcome = {"success": False, "error": "the grading worker did not finish in time"}
        except ValueError:
            outcome = {"success": False, "error": "the grading worker's answer was unreadable"}
        finally:
            free.put(slot)
        if not outcome.get("success"):
            failures.append(Problem(student, assignment, "-", _failure(root, student, assignment, outcome)))
            return "failed"
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(json.dumps({"fingerprint": fingerprint}))
        return "graded"

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda pair: grade_one(*pair), taken.work))
    graded, skipped = outcomes.count("graded"), outcomes.count("skipped")

    api = api_for(course_config(root, db_url=db_url))
    for student, assignment in taken.work:
        if (root / "autograded" / student / assignment).is_dir():
            result = api.generate_feedback(assignment, student, force=True)
            if not result.get("success"):
                failures.append(Problem(student, assignment, "-", f"feedback failed: {result.get('error')}"))
    problems = taken.problems + failures
    csv_path, report_path = write_outputs(root, db_url, sources, taken.work, problems)
    return ClassSummary(graded, skipped, outcomes.count("failed"), time.monotonic() - started, csv_path,
                        report_path, problems)


def _failure(root: Path, student: str, assignment: str, outcome: dict) -> str:
    """One line on why a worker failed (its last exception line); the whole log goes to .course/logs."""
    text = f"{outcome.get('log', '')}\n{outcome.get('error', '')}"
    log = root / ".course" / "logs" / student / f"{assignment}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text, encoding="utf-8")
    # An exception line of a traceback; nbgrader's own wrapper ("see the the above traceback") says nothing.
    raised = [line.strip() for line in text.splitlines()
              if re.match(r"^[A-Za-z_][\w.]*: ", line) and "see the the above traceback" not in line]
    why = (raised or [line.strip() for line in text.splitlines() if line.strip()] or ["no output"])[-1]
    return f"grading failed: {why[:300]} (full log: {log.relative_to(root)})"
