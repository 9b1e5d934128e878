"""When the sandbox never ran a learner's notebook, is the submission "not graded: <cause>" -- never 0 points,
never exported as a number -- and does the run fail?

Two ways the grader's side breaks: the grading machine kills one student's sandbox (``kill -9`` of its
``bwrap``), and the sandbox imports another ``course_lib`` than the grader (a course folder on PYTHONPATH
while the environment installs course_lib from elsewhere).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from course_lib.cli import main as course_cli
from course_lib.grading.coordinator.export import export_grades
from course_lib.grading.task.bwrap import SandboxResult
from course_lib.grading.task.ran import not_run
from course_lib.nbgrader_setup import course_config
from tests.conftest import ROOT
from tests.grading.conftest import A01, FULL_01, auto_total, cell, edit, make_course, needs_bwrap, report, solved, write

MARKER = "# grade-me-not: the test kills this notebook's sandbox"
# alice's make_windows cell ends by waiting, so her kernel is surely mid-notebook when the test kills it
WAIT = f"\nimport time\n\ntime.sleep(40)  {MARKER}"
COURSE = str(Path(sys.executable).parent / "course")


def _status(course: Path, student: str) -> str:
    rows = {r["student"]: r for r in csv.DictReader((course / "grades.csv").open())}
    return rows[student][f"{A01} status"], rows[student].get(A01, "")


def _bwrap_grading_marked(seen: set[int]) -> psutil.Process | None:
    """A running bwrap whose notebook carries MARKER (the job folder's notebook is readable by the grader)
    and whose learner kernel has started."""
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] != "bwrap" or process.pid in seen:
            continue
        args = process.info["cmdline"] or []
        for i, arg in enumerate(args[:-1]):
            # a sandbox of one notebook binds it; a task's sandbox (task/session.py) binds its folder
            notebook = {"/sandbox/notebook.ipynb": Path(arg), "/sandbox": Path(arg) / "notebook.ipynb"}.get(args[i + 1])
            if notebook is not None:
                with contextlib.suppress(OSError, psutil.Error):
                    if MARKER in notebook.read_text():
                        below = [" ".join(p.cmdline()) for p in process.children(recursive=True)]
                        # a kernel started cold, or forked by the zygote (it keeps the zygote's command line)
                        kernels = [c for c in below if "ipykernel_launcher" in c]
                        forked = [c for c in below if "course_lib.grading.sandbox.zygote" in c][1:]
                        return process if kernels or forked else None
                seen.add(process.pid)
    return None


@needs_bwrap
@pytest.mark.slow
def test_a_sandbox_killed_from_outside_is_not_graded_fails_the_run_and_exports_no_number(tmp_path):
    course, subs = make_course(tmp_path), tmp_path / "submissions"
    good = solved()
    write(subs, "alice", edit(good, "make_windows", cell(good, "make_windows").source + WAIT))
    write(subs, "bob", good)
    exit_codes: list[int] = []
    argv = ["--course-dir", str(course), "grade", str(subs), "--quiet", "--jobs", "1", "--cell-timeout", "60"]
    run = threading.Thread(target=lambda: exit_codes.append(course_cli(argv)))
    run.start()
    killed, seen = None, set()
    while killed is None and run.is_alive():  # wait for the state: alice's sandbox exists
        found = _bwrap_grading_marked(seen)
        if found is not None:
            os.kill(found.pid, signal.SIGKILL)
            killed = found.pid
        else:
            run.join(timeout=0.05)  # polls: returns at once when the run has ended
    run.join()
    assert killed is not None, "alice's sandbox was never seen running"
    assert exit_codes == [1], "a submission not graded is a failure of the run"
    status, score = _status(course, "alice")
    assert status.startswith("not graded: the sandbox stopped before the notebook finished (killed by signal 9"), status
    assert score == "", "no number for a notebook nobody judged"
    assert auto_total(course, "bob") == FULL_01 and _status(course, "bob")[0] == "awaiting manual grading"
    alice = report(course)["alice"]
    assert alice["assignments"][A01]["status"] == "not graded" and alice["assignments"][A01]["score"] is None
    assert any(p["what"].startswith("not graded: the sandbox stopped") for p in alice["problems"])
    assert "not graded: the sandbox stopped" in (course / "grading-report.md").read_text()

    db_url = course_config(course).CourseDirectory.db_url
    exported = export_grades(course, db_url, "canvas", tmp_path / "canvas.csv", [A01])
    rows = {r["SIS User ID"]: r[A01] for r in csv.DictReader(exported.path.open()) if r["SIS User ID"]}
    assert rows["alice"] == "", "never exported as 0"
    assert any(b.startswith(f"alice / {A01}: not graded: the sandbox stopped") for b in exported.blank)


@needs_bwrap
@pytest.mark.slow
def test_a_sandbox_importing_another_course_lib_is_not_graded_and_named(tmp_path):
    """The grader imports the course folder's course_lib (PYTHONPATH); the environment installs course_lib
    from another folder, which the sandbox cannot see."""
    course, subs = make_course(tmp_path), tmp_path / "submissions"
    shutil.copytree(ROOT / "course_lib", course / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    write(subs, "alice", solved())
    env = {**os.environ, "PYTHONPATH": str(course)}
    ran = subprocess.run(
        [COURSE, "--course-dir", str(course), "grade", str(subs), "--quiet", "--jobs", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    status, score = _status(course, "alice")
    assert status.startswith("not graded: the sandbox cannot import the grading course_lib"), status
    assert str(course / "course_lib") in status and score == ""
    assert "1 failed" in ran.stdout


def test_a_finished_run_a_timed_out_one_and_a_flood_are_graded():
    done = b'{"course_lib": "/x"}\n{"index": 1, "status": "ok", "outputs": []}\n{"event": "executed in 1.0 s"}\n'
    assert not_run(SandboxResult(0, 1.0, False, ""), done, Path("/x"), 10**6) is None
    assert not_run(SandboxResult(-9, 9.0, True, ""), b"", Path("/x"), 10**6) is None, "the notebook's limit"
    assert not_run(SandboxResult(-9, 1.0, False, ""), b"x" * 10, Path("/x"), 10) is None, "an output flood"
    kernel = b'{"course_lib": "/x"}\n{"event": "the kernel could not start: Kernel died before replying"}\n'
    assert "kernel could not start" in not_run(SandboxResult(0, 1.0, False, ""), kernel, Path("/x"), 10**6)
    other = b'{"course_lib": "/elsewhere/course_lib"}\n'
    assert "imports course_lib from /elsewhere" in not_run(SandboxResult(1, 1.0, False, ""), other, Path("/x"), 10**6)


@needs_bwrap
@pytest.mark.slow
def test_course_doctor_names_a_sandbox_that_imports_another_course_lib(tmp_path):
    shutil.copytree(ROOT / "course_lib", tmp_path / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    ran = subprocess.run([COURSE, "doctor"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 1, ran.stdout
    assert "`course grade` would grade nothing: the sandbox cannot import the grading course_lib" in ran.stdout
    assert str(tmp_path / "course_lib") in ran.stdout and "unset PYTHONPATH" in ran.stdout
