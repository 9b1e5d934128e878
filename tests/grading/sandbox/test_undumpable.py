"""The runner is non-dumpable: a process of the same uid can neither PTRACE_ATTACH to it nor open its memory."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PTRACE_ATTACH, PTRACE_DETACH = 16, 17
CHILD = """
import sys
{setup}
print("ready", flush=True)
sys.stdin.readline()
"""


def _reach(setup: str) -> tuple[bool, bool]:
    """(could open /proc/<pid>/mem for writing, could PTRACE_ATTACH) for a waiting child that ran ``setup``."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(setup=setup)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"  # waits for the state, not a time
        try:
            with open(f"/proc/{child.pid}/mem", "r+b"):
                mem = True
        except PermissionError:
            mem = False
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        traced = libc.ptrace(PTRACE_ATTACH, child.pid, None, None) == 0
        if traced:
            import os

            os.waitpid(child.pid, 0)
            libc.ptrace(PTRACE_DETACH, child.pid, None, None)
        return mem, traced
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def _reach_in_sandbox(setup: str) -> tuple[bool, bool]:
    """:func:`_reach` as the grading sandbox runs it: bubblewrap, uid 1000, no capabilities (the grader runs as
    root here, and root's CAP_SYS_PTRACE passes any check)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        pytest.skip("bubblewrap is not installed")
    command = [bwrap, "--dev-bind", "/", "/", "--proc", "/proc", "--unshare-user", "--uid", "1000", "--gid", "1000"]
    command += ["--unshare-pid", "--die-with-parent", sys.executable, "-c"]
    script = f"import json; from {__name__} import _reach; print(json.dumps(_reach({setup!r})))"
    out = subprocess.run(command + [script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120)
    return tuple(json.loads(out.stdout.splitlines()[-1]))


def test_a_non_dumpable_runner_cannot_be_traced_or_written_by_its_own_uid():
    if _reach_in_sandbox("") != (True, True):
        pytest.skip("this machine forbids same-uid ptrace already (Yama or a seccomp filter): nothing to compare")
    assert _reach_in_sandbox(
        "from course_lib.grading.sandbox.undumpable import make_undumpable; make_undumpable()"
    ) == (
        False,
        False,
    )


def test_the_runner_makes_itself_non_dumpable_before_the_record_starts():
    import inspect

    from course_lib.grading.sandbox import runner

    source = inspect.getsource(runner.main)
    assert source.index("make_undumpable()") < source.index("Record(args.record_fd)")
