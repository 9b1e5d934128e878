"""The grading sandbox: bubblewrap plus resource limits around one learner notebook's execution.

What the learner's kernel sees: a read-only view of the system directories, the Python environment and
the ``course_lib`` package, with the grading view (:mod:`course_lib.grading.task.view`: run steps, no judge, no
reference) in place of ``course_lib/checks``; its own notebook and the probe's inputs (read-only); a
private ``/tmp`` of limited size.  It does not see the course folder (solutions, gradebook, other
students' submissions, the grading secret), the network (a private network namespace with loopback
only), or other processes (a private PID namespace).

Limits: address space (memory), file size, process count, open files; CPU affinity to this job's share
of the cores, and the BLAS/torch thread count to match; a wall-clock limit for the whole notebook,
enforced from outside by killing the sandbox.

The process limit needs care: Linux does not apply RLIMIT_NPROC to root, so when the grader runs as root
each notebook drops to an unprivileged uid of its own before entering the sandbox, which also keeps one
student's fork bomb from using up another's process budget.  The uid is held with a lock for as long as
the notebook runs (:mod:`course_lib.grading.task.uids`), so two ``course grade`` runs on one machine never
share one.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

import course_lib
from course_lib.grading import limits as defaults
from course_lib.grading.kernel.probe import INPUTS_ENV
from course_lib.grading.task.uids import sandbox_uid
from course_lib.grading.task.view import grading_view

__all__ = ["Limits", "SandboxResult", "bwrap_path", "run_sandboxed"]

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
MAX_RECORD_BYTES = defaults.MAX_RECORD_BYTES  # an execution record is cut off here


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one learner kernel (and everything it starts)."""

    notebook_seconds: int = defaults.NOTEBOOK_SECONDS
    cell_seconds: int = defaults.CELL_SECONDS
    memory_mb: int = defaults.MEMORY_MB
    disk_mb: int = defaults.DISK_MB
    processes: int = defaults.PROCESSES
    threads: int = defaults.THREADS
    cpus: tuple[int, ...] = ()


@dataclasses.dataclass
class SandboxResult:
    returncode: int | None
    seconds: float
    timed_out: bool
    stderr: str


def bwrap_path() -> str | None:
    """The bubblewrap binary, or None if it is not installed."""
    return shutil.which("bwrap")


def _readable_paths() -> list[Path]:
    """The interpreter, the environment and course_lib: what the kernel must be able to import."""
    paths = {
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).resolve(),
        Path(sys.executable).resolve().parent,
        Path(course_lib.__file__).resolve().parent,
    }
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(Path(sysconfig.get_paths()[key]).resolve())
    return sorted(paths)


def _binds(view: Path | None) -> dict[Path, Path]:
    """{path inside: path outside} of what the kernel reads; the view goes over course_lib/checks."""
    binds = {p: p for p in _readable_paths()}
    if view is not None:
        binds[Path(course_lib.__file__).resolve().parent / "checks"] = view
    return dict(sorted(binds.items()))  # a parent before the paths bound inside it


def _command(
    notebook: Path,
    limits: Limits,
    hide: list[Path],
    sources: dict[Path, Path],
    record_fd: int,
    inputs: Path,
    folder: bool = False,
) -> list[str]:
    """The bwrap command line; ``sources`` maps each path the kernel reads to where bwrap finds it.
    ``folder``: bind the folder of ``notebook`` and ``inputs`` as ``/sandbox`` (read-only) instead of the two
    files, so that the grader can put another notebook there (course_lib.grading.task.session)."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    cmd = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--hostname",
        "grader",
    ]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            cmd += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            cmd += ["--ro-bind", d, d]
    cmd += ["--size", str(limits.disk_mb * 2**20), "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    # Hide the course folder and anything else secret (read-only empty folders) before binding what the
    # kernel needs, since the environment or course_lib may live inside the course folder.
    for secret in hide:
        cmd += ["--size", "4096", "--tmpfs", str(secret)]
    for path, source in sources.items():
        cmd += ["--ro-bind", str(source), str(path)]
    for secret in hide:
        cmd += ["--remount-ro", str(secret)]
    if folder:
        cmd += ["--ro-bind", str(notebook.parent), "/sandbox"]
    else:
        cmd += ["--dir", "/sandbox", "--ro-bind", str(notebook), "/sandbox/notebook.ipynb"]
        cmd += ["--ro-bind", str(inputs), f"/sandbox/{inputs.name}"]
    cmd += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(16 * 2**20),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp/home",
    ]
    for key, value in _environment(limits, "/tmp", f"/sandbox/{inputs.name}").items():
        cmd += ["--setenv", key, value]
    cmd += _runner(Path("/sandbox/notebook.ipynb"), limits, record_fd)
    return cmd


def _environment(limits: Limits, scratch: str, inputs: str) -> dict[str, str]:
    """The kernel's whole environment: nothing of the grader's leaks in."""
    threads = str(limits.threads)
    env = {
        "HOME": f"{scratch}/home",
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": f"{scratch}/mpl",
        "IPYTHONDIR": f"{scratch}/ipython",
        "JUPYTER_RUNTIME_DIR": f"{scratch}/runtime",
        "JUPYTER_DATA_DIR": f"{scratch}/jupyter-data",
        "JUPYTER_CONFIG_DIR": f"{scratch}/jupyter-config",
        "COURSE_JUPYTER_PATH": f"{scratch}/jupyter",
        "NBGRADER_EXECUTION": "autograde",
        "COURSE_GRADING": "1",
        INPUTS_ENV: inputs,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
    }
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # this machine's BLAS workarounds, if set
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _runner(notebook: Path, limits: Limits, record_fd: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "course_lib.grading.sandbox.runner",
        str(notebook),
        "--record-fd",
        str(record_fd),
        "--cell-timeout",
        str(limits.cell_seconds),
    ]


_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x20000, 4096, 16384, 1 << 18


def _mount(source: bytes | None, target: bytes, flags: int) -> None:
    if _libc.mount(source, target, None, flags, None) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {source!r} on {target!r}: {os.strerror(error)}")


def _prepare(limits: Limits, uid: int, staged: dict[Path, Path] | None):
    """What runs in the child between fork and exec: limits, and for root, a drop to the job's own uid.

    An unprivileged uid cannot reach paths under a private folder (a Python under /root, say), so root
    first binds them, in a mount namespace of this child alone, onto open staging folders.
    """

    def apply() -> None:
        mem = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.disk_mb * 2**20,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if limits.cpus:
            os.sched_setaffinity(0, limits.cpus)
        if staged is not None and os.geteuid() == 0:
            if _libc.unshare(_CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
            _mount(None, b"/", _MS_REC | _MS_PRIVATE)
            for path, stage in staged.items():
                _mount(str(path).encode(), str(stage).encode(), _MS_BIND | _MS_REC)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if staged is not None:  # only in the sandbox: outside a user namespace the limit counts all our processes
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


def run_sandboxed(
    notebook_json: str, limits: Limits, hide: list[Path] = (), sandbox: bool = True, inputs_json: str = "{}"
) -> tuple[SandboxResult, bytes]:
    """Execute a notebook (given as JSON text) in the sandbox; returns the run and the runner's record.

    ``inputs_json``: the probe's inputs (:func:`course_lib.grading.kernel.probe.probe_inputs`).
    ``sandbox=False`` runs the same runner with the same limits but without bubblewrap, and with the real
    course_lib (``course validate`` on a learner's own machine, where the learner's code is the learner's
    own business).

    The record (JSON lines, one per executed cell; see ``course_lib.grading.sandbox.runner``) arrives through a
    pipe and is cut off at MAX_RECORD_BYTES.  Every path in ``hide`` is an empty read-only folder inside.
    """
    root_user = sandbox and os.geteuid() == 0
    uid = sandbox_uid() if root_user else contextlib.nullcontext(os.geteuid())
    with uid as uid, tempfile.TemporaryDirectory(prefix="course-job-") as tmp:
        job = Path(tmp)
        job.chmod(0o755)
        notebook, stage_dir = job / "notebook.ipynb", job / "stage"
        notebook.write_text(notebook_json, encoding="utf-8")
        notebook.chmod(0o644)
        inputs = job / "probe-inputs.json"
        inputs.write_text(inputs_json, encoding="utf-8")
        inputs.chmod(0o644)
        binds = _binds(grading_view()) if sandbox else {}
        staged: dict[Path, Path] = {}
        if root_user:
            stage_dir.mkdir(mode=0o755)
            for i, source in enumerate(binds.values()):
                (stage_dir / str(i)).mkdir()
                staged[source] = stage_dir / str(i)
        sources = {path: staged[source] for path, source in binds.items()} if root_user else binds
        read_end, write_end = os.pipe()
        if sandbox:
            cmd, env = _command(notebook, limits, [Path(p).resolve() for p in hide], sources, write_end, inputs), None
        else:
            scratch = job / "scratch"
            scratch.mkdir()
            cmd, env = _runner(notebook, limits, write_end), _environment(limits, str(scratch), str(inputs))
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_prepare(limits, uid, staged if sandbox else None),
                start_new_session=True,
                pass_fds=(write_end,),
                env=env,
                cwd=job,
            )
        finally:
            os.close(write_end)
        record, stderr = bytearray(), bytearray()
        reader = threading.Thread(target=_drain, args=(read_end, record, process), daemon=True)
        errors = threading.Thread(target=_keep_tail, args=(process.stderr, stderr), daemon=True)
        reader.start()
        errors.start()
        timed_out = False
        try:
            process.wait(timeout=limits.notebook_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        errors.join(timeout=10)
        result = SandboxResult(
            process.returncode, time.monotonic() - started, timed_out, stderr.decode("utf-8", "replace")[-4000:]
        )
        return result, bytes(record)


def _drain(fd: int, record: bytearray, process: subprocess.Popen) -> None:
    """Read the record until EOF; past MAX_RECORD_BYTES, stop the sandbox (output flooding)."""
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read1(1 << 16):
            record.extend(chunk)
            if len(record) > MAX_RECORD_BYTES:
                del record[MAX_RECORD_BYTES:]
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return


def _keep_tail(pipe, tail: bytearray, keep: int = 1 << 16) -> None:
    """Read the sandbox's stderr to EOF, keeping only its last ``keep`` bytes: the kernel inherits this
    stream, and a learner's cell can write gigabytes to it that the grader must not hold in memory."""
    with pipe:
        while chunk := pipe.read1(1 << 16):
            tail.extend(chunk)
            del tail[:-keep]
