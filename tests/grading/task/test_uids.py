"""Do two sandboxed notebooks on one machine -- of one run or of two `course grade` runs -- ever share a uid?"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from course_lib.grading.task.uids import sandbox_uid


@pytest.fixture(autouse=True)
def _own_lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_UID_LOCK_DIR", str(tmp_path / "uids"))


HOLDER = """
import sys, time
from course_lib.grading.task.uids import sandbox_uid
with sandbox_uid(first=70000, count=8) as uid:
    print(uid, flush=True)
    time.sleep(600)
"""


def _other_run() -> tuple[subprocess.Popen, int]:
    """Another `course grade` process, holding a uid of the same range."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    return process, int(process.stdout.readline())


def test_notebooks_running_at_once_get_distinct_uids():
    with sandbox_uid(first=70000, count=8) as a, sandbox_uid(first=70000, count=8) as b:
        assert a != b
    with sandbox_uid(first=70000, count=8) as again:
        assert again == 70000, "a uid is free again once its notebook is done"


def test_a_concurrent_run_never_gets_a_uid_in_use_and_a_killed_run_frees_its_uid():
    process, theirs = _other_run()
    try:
        with sandbox_uid(first=70000, count=8) as ours:
            assert ours != theirs
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with sandbox_uid(first=70000, count=8) as uid:
        assert uid == theirs == 70000, "the kernel dropped the killed run's lock"


def test_when_every_uid_is_taken_the_error_says_so():
    with (
        sandbox_uid(first=70000, count=1),
        pytest.raises(RuntimeError, match="all 1 sandbox uids from 70000 are in use"),
        sandbox_uid(first=70000, count=1),
    ):
        pass
