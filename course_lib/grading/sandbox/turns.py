"""One sandbox, one student's notebooks one after another: the runner's turns, and what it clears between two.

``python -m course_lib.grading.sandbox.runner --serve FD --record-fd 3 [--warm-kernels]`` runs inside the
sandbox that :class:`course_lib.grading.task.session.SandboxSession` starts for one grading task (one
student's assignments).  For each line ``{"turn": n, "cell_timeout": s}`` the grader writes on descriptor FD,
the runner runs ``/sandbox/notebook.ipynb`` (which the grader has just put there: the folder is bound read-only
and holds the current notebook and its probe inputs only) in a fresh kernel -- forked from the zygote with
``--warm-kernels``, so torch, matplotlib and ``torch._dynamo`` are imported once per sandbox, not once per
notebook -- and writes that notebook's record as before (``{"course_lib": ...}`` first, the cells, ``executed in
... (CPU ...)``), then ``{"done": n}``.  The grader keeps each notebook's time budget (it kills the whole sandbox
when one runs past it; the next notebook gets a fresh sandbox) and each notebook's record.

Why one student's notebooks may share a sandbox: nothing a notebook does may change another notebook's score,
so between two turns, and before the first, the runner makes the sandbox what a fresh one is (:func:`clear`):

* every process but the bubblewrap init, the runner and the zygote is killed (the runner is a child subreaper,
  so whatever the kernel left behind, double-forked or not, is found in the sandbox's own ``/proc``);
* ``/tmp`` (the kernel's home, working folder, IPython, matplotlib and Jupyter folders, a user ``site-packages``)
  and ``/dev/shm`` are emptied: no module, ``.pth``, IPython start-up file or ``matplotlibrc`` planted by one
  notebook is there for the next; the rest of the file system is read-only;
* what a process of the same uid can change in another without ptrace (the runner and the zygote are not
  dumpable, so memory, ``/proc/<pid>`` files, ptrace and descriptors are out of reach): its resource limits
  (``prlimit``), nice value, scheduling policy, CPU affinity, and stopping it.  These are compared with what
  they were when the sandbox started; a difference ends the sandbox (:class:`Tainted`), and the grader starts
  a fresh one for the next notebook.  A killed zygote leaves the next kernels cold (an event says so).

Left as they are, because nothing reads them unless the next notebook's own code asks (and that code is the
same student's): System V IPC objects and keyrings of the sandbox.  Each notebook still gets its own kernel,
its own ``/tmp`` budget, its own record; the grader never sees another notebook's file in ``/sandbox``.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import stat
import time
from pathlib import Path

from course_lib.grading.sandbox.zygote import _PR_SET_CHILD_SUBREAPER, _prctl, warm_kernels

__all__ = ["CLEARED", "Tainted", "clear", "cpu_seconds", "end_leftovers", "serve", "settings"]

CLEARED = (Path("/tmp"), Path("/dev/shm"))  # the sandbox's writable folders (bwrap.py mounts them)
HOME = Path("/tmp/home")  # the kernel's home and working folder (bwrap.py's --chdir)
_LIMITS = [getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")]


class Tainted(RuntimeError):
    """The sandbox is no longer what a fresh one is; it must end."""


def _inside_a_sandbox() -> bool:
    """Whether this runner is bubblewrap's child in a PID namespace of its own (never clear a real machine)."""
    try:
        init = Path("/proc/1/comm").read_text().strip()
    except OSError:
        return False
    return os.getppid() == 1 and init == "bwrap"


def _processes() -> dict[int, tuple[str, int]]:
    """pid -> (state, parent pid) of every process this PID namespace shows."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            found[int(entry)] = (fields[0], int(fields[1]))
    return found


def end_leftovers(keep: set[int], seconds: float = 10.0) -> int:
    """SIGKILL every process but ``keep`` (and pid 1) and reap those that come back to this subreaper, until none
    is left; returns how many were ended.  Tainted if some survive ``seconds`` (never seen)."""
    me, ended, deadline = os.getpid(), set(), time.monotonic() + seconds
    while True:
        rest = {pid: info for pid, info in _processes().items() if pid not in keep | {1, me}}
        if not rest:
            return len(ended)
        for pid, (state, parent) in rest.items():
            if state == "Z":
                if parent == me:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, os.WNOHANG)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                ended.add(pid)
        if time.monotonic() > deadline:
            raise Tainted(f"{len(rest)} process(es) of the last notebook could not be ended")
        time.sleep(0.001)  # poll: a killed process leaves /proc when its parent reaps it


def _mount_points() -> set[Path]:
    """Where something is mounted in this sandbox (the hidden folders bubblewrap put inside ``/tmp``, say)."""
    points = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        points.add(Path(line.split()[4].replace("\\040", " ")))
    return points


def _wipe(folder: Path, keep: set[Path]) -> None:
    """Remove everything inside ``folder`` but the mount points in ``keep`` and the folders that lead to them
    (entries made unreadable or unwritable are opened up first)."""

    def retry(function, path, _error):
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, stat.S_IRWXU)
            shutil.rmtree(path, onerror=retry)
        else:
            function(path)

    if not folder.is_dir() or folder.is_symlink():
        return
    os.chmod(folder, os.stat(folder).st_mode | stat.S_IRWXU)
    for entry in os.listdir(folder):
        path = folder / entry
        if path in keep:
            continue
        if any(path in point.parents for point in keep):
            _wipe(path, keep)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, onerror=retry)
        else:
            path.unlink()


def settings(pid: int) -> dict:
    """What another process of the same uid can change in process ``pid`` without ptrace."""
    state = _processes().get(pid, ("gone", 0))[0]
    return {
        "alive": state not in ("gone", "Z", "X"),
        "stopped": state in ("T", "t"),
        "limits": [resource.prlimit(pid, r) for r in _LIMITS] if state != "gone" else None,
        "nice": os.getpriority(os.PRIO_PROCESS, pid) if state != "gone" else None,
        "policy": os.sched_getscheduler(pid) if state != "gone" else None,
        "cpus": sorted(os.sched_getaffinity(pid)) if state != "gone" else None,
    }


def clear(keep: set[int]) -> int:
    """Make the sandbox what a fresh one is for the next notebook (see the module docstring); returns the number
    of leftover processes ended."""
    ended = end_leftovers(keep)
    mounts = _mount_points()
    for folder in CLEARED:
        _wipe(folder, {point for point in mounts if folder in point.parents})
    HOME.mkdir(parents=True, exist_ok=True)
    os.chdir(HOME)
    return ended


def _zygote_cpu(pid: int) -> float:
    """The zygote's CPU so far (its own and its reaped children's): it is reaped only when the sandbox ends."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def cpu_seconds() -> float:
    """CPU of this process and of its reaped children (the kernels; the zygote once it has ended)."""
    return sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )


def serve(record, requests_fd: int, warm: bool, run_one) -> int:
    """Run one notebook per request line until the grader closes the pipe.  ``run_one(cell_timeout)`` runs
    ``/sandbox/notebook.ipynb`` and writes its cells; returns the exit status."""
    if not _inside_a_sandbox():
        record.event("--serve runs only as bubblewrap's child in a PID namespace of its own")
        return 2
    os.set_inheritable(requests_fd, False)  # the kernel must not hold the grader's request pipe
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # what a kernel leaves behind comes back here, to be ended
    with (
        os.fdopen(requests_fd, "r", encoding="utf-8") as requests,
        warm_kernels(record.event) if warm else contextlib.nullcontext() as zygote,
    ):
        zygote_pid = zygote.process.pid if zygote is not None else None
        keep = {zygote_pid} - {None}
        watched = {pid: settings(pid) for pid in (os.getpid(), *keep)}
        cpu_before = 0.0
        for line in requests:
            turn = json.loads(line)
            started = time.monotonic()
            run_one(int(turn["cell_timeout"]))
            try:  # before the grader puts the next notebook in /sandbox: nothing of this one may see it
                clear(keep)
                changed = [pid for pid, seen in watched.items() if settings(pid) != seen]
                if changed:
                    raise Tainted(f"the notebook changed the limits, priority or state of process(es) {changed}")
            except (Tainted, OSError) as error:
                tainted = f"the sandbox cannot be cleared for another notebook: {error}"
            else:
                tainted = ""
            cpu = cpu_seconds() + (_zygote_cpu(zygote_pid) if zygote_pid else 0.0)
            record.event(f"executed in {time.monotonic() - started:.1f} s (CPU {cpu - cpu_before:.1f} s)")
            cpu_before = cpu
            if tainted:  # this notebook's record is whole; the grader starts a fresh sandbox for the next
                record.event(tainted)
                return 3
            record._write({"done": turn["turn"]})
    return 0
