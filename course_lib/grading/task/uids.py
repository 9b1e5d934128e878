"""Sandbox uids, one per running notebook on this machine, across every ``course grade`` run.

Runs in the grading task's process (trusted), around each sandboxed notebook, when grading as root.
Linux counts RLIMIT_NPROC per uid machine-wide, so two runs (two courses, two instructors) that used
the same uid would share one process budget: one learner's fork bomb would fail another's notebook.
A uid is taken by holding an exclusive ``flock`` on its own lock file (``/run/lock/course-grade-uids/<uid>``,
or under the temp folder); the kernel drops the lock when the holder exits, even by SIGKILL, so a
crashed worker never leaks a uid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from course_lib.grading.limits import UID_BASE, UID_COUNT

__all__ = ["lock_dir", "sandbox_uid"]


def lock_dir() -> Path:
    """The folder of uid lock files, shared by every run on this machine."""
    override = os.environ.get("COURSE_UID_LOCK_DIR")
    run_lock = Path("/run/lock")
    base = Path(override) if override else run_lock if os.access(run_lock, os.W_OK) else Path(tempfile.gettempdir())
    folder = base if override else base / "course-grade-uids"
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def sandbox_uid(first: int = UID_BASE, count: int = UID_COUNT) -> Iterator[int]:
    """Hold the lowest free uid in ``first .. first + count - 1`` for the duration of the block."""
    folder = lock_dir()
    for uid in range(first, first + count):
        fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield uid
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise RuntimeError(f"all {count} sandbox uids from {first} are in use on this machine (lock files in {folder})")
