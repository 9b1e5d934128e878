"""A PostgreSQL gradebook, for real: a throw-away server, a small class graded into it, the same CSV and
report as with SQLite.  `bash quickstart.sh test` installs Debian's postgresql; elsewhere this is skipped."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.grading.conftest import (
    A01,
    FULL_01,
    auto_total,
    grade,
    make_course,
    needs_bwrap,
    solved,
    stub,
    write,
)

pytestmark = [needs_bwrap, pytest.mark.slow]


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)), None
    )
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture
def postgres():
    if _postgres_bin() is None:
        pytest.skip(
            "PostgreSQL's server binaries are not installed (apt-get install postgresql; quickstart.sh test does)"
        )
    with postgres_server() as url:
        yield url


@contextlib.contextmanager
def postgres_server(fsync: bool = False):
    """A throw-away PostgreSQL server with an empty database; yields its URL (benchmarks use it too).
    ``fsync``: PostgreSQL's default, every commit flushed to disk (off for the tests: nothing to keep)."""
    bin_dir = _postgres_bin()
    data = Path(tempfile.mkdtemp(prefix="course-pg-"))  # not under pytest's private tmp: the server user reads it
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data}" + ("" if fsync else " -c fsync=off")
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(data / "log"),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE gradebook")
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(data, ignore_errors=True)


def _graded_class(tmp: Path, db_url: str | None) -> Path:
    tmp.mkdir()
    course, subs = make_course(tmp), tmp / "submissions"
    if db_url:
        with (course / "nbgrader_config.py").open("a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    write(subs, "alice", solved())
    write(subs, "bob", stub())
    summary = grade(course, subs)
    assert (summary.graded, summary.failed) == (2, 0), summary.text()
    return course


def _without_timings(course: Path) -> dict:
    """The report, less the kernel's "executed in 3.1 s" lines (the one thing two runs may not share), its
    exercises in one order (report.py lists them in the gradebook's row order, which differs by backend)."""
    report = json.loads((course / "grading-report.json").read_text())
    for entry in report.values():
        for data in entry["assignments"].values():
            data["events"] = [e for e in data.get("events", []) if not e.startswith("executed in ")]
            data["exercises"].sort(key=lambda e: (e["notebook"], e["cell"]))
    return report


def test_a_postgresql_gradebook_gives_the_same_scores_csv_and_report_as_sqlite(tmp_path, postgres):
    on_postgres = _graded_class(tmp_path / "pg", postgres)
    on_sqlite = _graded_class(tmp_path / "sqlite", None)
    assert not (on_postgres / "gradebook.db").exists(), "the PostgreSQL course wrote no SQLite file"
    assert (auto_total(on_postgres, "alice"), auto_total(on_postgres, "bob")) == (FULL_01, 0)
    assert (on_postgres / "grades.csv").read_text() == (on_sqlite / "grades.csv").read_text()
    assert _without_timings(on_postgres) == _without_timings(on_sqlite)
    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gb:
        assert gb.find_submission(A01, "alice").score == FULL_01
