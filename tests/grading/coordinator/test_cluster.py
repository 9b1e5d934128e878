"""`course grade` on Dask: a second "host" reached with --scheduler over TLS, as README tells an instructor;
a worker killed mid-run; a submission that kills its worker every time; a worker with other grading code.

Kept small (notebook 01, two or three students): each test is one short grading run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from course_lib.cli import main as course_cli
from course_lib.grading.task.job import GraderMismatch, Job, Shared, grade_submission
from tests.conftest import ROOT
from tests.grading.conftest import (
    A01,
    FULL_01,
    auto_total,
    cell,
    edit,
    grade,
    make_course,
    needs_bwrap,
    problems,
    solved,
    stub,
    write,
)

DASK = str(Path(sys.executable).parent / "dask")

# A learner cell that kills the process grading it: without the sandbox (--no-sandbox, trusted code only)
# the kernel's parent is the runner and the runner's parent the Dask worker.
KILL_THE_WORKER = """import os, signal
runner = os.getppid()
with open(f"/proc/{runner}/stat") as stat:
    worker = int(stat.read().rsplit(")", 1)[1].split()[1])
os.kill(worker, signal.SIGKILL)
"""


def _tls_files(folder: Path) -> list[str]:
    """A throw-away CA-signed certificate (Dask's own recipe), as the three files the README's commands take."""
    from distributed.security import Security

    security = Security.temporary()
    paths = []
    for name, text in (
        ("ca.pem", security.tls_ca_file),
        ("cert.pem", security.tls_client_cert),
        ("key.pem", security.tls_client_key),
    ):
        (folder / name).write_text(text)
        paths.append(str(folder / name))
    return paths


class _Cluster:
    """`dask scheduler` and `dask worker` processes, started as README says, stopped at the end."""

    def __init__(self, folder: Path):
        self.folder, self.processes = folder, []
        self.ca, self.cert, self.key = _tls_files(folder)
        self.tls = ["--tls-ca-file", self.ca, "--tls-cert", self.cert, "--tls-key", self.key]
        self.scheduler_file = folder / "scheduler.json"
        self._start(
            [
                DASK,
                "scheduler",
                "--protocol",
                "tls",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(self.scheduler_file),
                *self.tls,
            ]
        )
        deadline = time.monotonic() + 120
        while not self.scheduler_file.is_file():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        time.sleep(0.5)
        self.address = json.loads(self.scheduler_file.read_text())["address"]

    def _start(self, cmd: list[str], env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env or os.environ.copy(),
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def workers(self, count: int, env: dict | None = None) -> subprocess.Popen:
        return self._start(
            [
                DASK,
                "worker",
                self.address,
                "--nworkers",
                str(count),
                "--nthreads",
                "1",
                "--no-dashboard",
                "--memory-limit",
                "0",
                *self.tls,
            ],
            env=env,
        )

    @contextlib.contextmanager
    def client(self):
        from distributed import Client
        from distributed.security import Security

        security = Security(
            tls_ca_file=self.ca, tls_client_cert=self.cert, tls_client_key=self.key, require_encryption=True
        )
        with Client(self.address, security=security, timeout=60) as client:
            yield client

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture
def cluster(tmp_path):
    started = _Cluster(tmp_path)
    yield started
    started.stop()


def _class(tmp_path: Path, students: dict) -> tuple[Path, Path]:
    course, subs = make_course(tmp_path), tmp_path / "submissions"
    for student, nb in students.items():
        write(subs, student, nb)
    return course, subs


def _wrong_windows():
    good = solved()
    return edit(
        good, "make_windows", cell(good, "make_windows").source.replace("series[window:]", "series[window - 1 : -1]")
    )


@needs_bwrap
@pytest.mark.slow
def test_a_second_host_over_tls_grades_the_class_even_when_a_worker_is_killed_mid_run(tmp_path, cluster):
    course, subs = _class(tmp_path, {"alice": solved(), "bob": stub(), "carol": _wrong_windows()})
    cluster.workers(2)
    with cluster.client() as client:
        client.wait_for_workers(2, timeout=120)
        pids = client.run(os.getpid)
    exit_codes = []
    run = threading.Thread(
        target=lambda: exit_codes.append(
            course_cli(
                [
                    "--course-dir",
                    str(course),
                    "grade",
                    str(subs),
                    "--scheduler",
                    cluster.address,
                    "--quiet",
                    "--cell-timeout",
                    "30",
                    "--tls-ca-file",
                    cluster.ca,
                    "--tls-cert",
                    cluster.cert,
                    "--tls-key",
                    cluster.key,
                ]
            )
        )
    )
    run.start()
    killed = None
    while killed is None and run.is_alive():  # registering the assignment comes first: no time limit here
        for pid in pids.values():  # a worker that is grading has a sandbox below it: kill it there
            with contextlib.suppress(psutil.NoSuchProcess):
                if psutil.Process(pid).children():
                    os.kill(pid, 9)
                    killed = pid
                    break
        time.sleep(0.2)
    run.join(timeout=900)
    assert killed is not None, "no worker was caught grading"
    assert exit_codes == [0]
    assert {s: auto_total(course, s) for s in ("alice", "bob", "carol")} == {
        "alice": FULL_01,
        "bob": 0,
        "carol": FULL_01 - 2,
    }
    for student in ("alice", "bob", "carol"):
        assert (course / ".course" / "graded" / student / f"{A01}.json").is_file()
        assert (course / "feedback" / student / A01 / f"{A01}.html").is_file()
        assert problems(course, student) == []


@pytest.mark.slow
def test_a_submission_that_kills_its_worker_every_time_is_a_named_problem_and_the_rest_is_graded(tmp_path):
    killer = edit(solved(), "pad_batch", KILL_THE_WORKER)
    course, subs = _class(tmp_path, {"alice": solved(), "mallory": killer})
    summary = grade(course, subs, sandbox=False)
    assert (summary.graded, summary.failed) == (1, 1), summary.text()
    assert auto_total(course, "alice") == FULL_01
    assert problems(course, "mallory") == [
        (
            "not graded: the grading worker died 3 times on this submission (its notebook kills the grader, e.g. by "
            "exhausting the worker's memory, or the worker was lost) (KilledWorker)"
        )
    ]
    assert not (course / ".course" / "graded" / "mallory").exists(), "no resume mark: the next run tries again"


def test_a_worker_with_other_grading_code_refuses_the_task(tmp_path):
    job = Job("alice", A01, {})
    shared = Shared(
        grader={"course_lib/checks/core.py": "0" * 64},
        config="",
        secret=b"",
        gradebooks={},
        sources={},
        limits={},
        slots={},
        hide=[],
    )
    with pytest.raises(GraderMismatch, match="runs other grading code than the coordinator"):
        grade_submission(job, shared)


@pytest.mark.slow
def test_a_cluster_with_a_worker_running_other_grading_code_is_refused(tmp_path, cluster, capsys):
    other = tmp_path / "other"
    shutil.copytree(ROOT / "course_lib", other / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    template = other / "course_lib" / "grading" / "templates" / "feedback" / "course_feedback.html.j2"
    template.write_text(template.read_text() + "\n{# an edited feedback page #}\n")
    cluster.workers(1, env={**os.environ, "PYTHONPATH": str(other)})
    with cluster.client() as client:
        client.wait_for_workers(1, timeout=120)
    course, subs = _class(tmp_path, {"alice": solved()})
    code = course_cli(
        [
            "--course-dir",
            str(course),
            "grade",
            str(subs),
            "--scheduler",
            cluster.address,
            "--quiet",
            "--tls-ca-file",
            cluster.ca,
            "--tls-cert",
            cluster.cert,
            "--tls-key",
            cluster.key,
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "run other grading code than this coordinator" in err
    assert "course_lib/grading/templates/feedback/course_feedback.html.j2" in err  # named, not just "differs"
    assert not (course / "autograded").exists()
