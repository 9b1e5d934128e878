"""One sandbox for a grading task's notebooks: warm kernels that pay, without a weaker trust boundary.

Runs in a grading task's process (trusted).  A task grades one student's assignments
(:func:`course_lib.grading.task.job.grade_submissions`); inside :func:`one_sandbox`, every notebook that
:class:`~course_lib.grading.task.sandboxed_execute.SandboxedExecute` runs goes to the same sandbox, whose runner
(:mod:`course_lib.grading.sandbox.turns`) runs them one after another, each in a fresh kernel forked from one
zygote: torch, matplotlib, ``torch._dynamo`` and ipykernel (about 3 s of CPU) and the sandbox's and runner's
start (about 1.5 s) are paid once per task instead of once per notebook.

Why this design (option (a) of issue 25, item 1) rather than a warm process per worker: a zygote outside the
sandbox would have to re-create bubblewrap's namespaces and mounts after each fork, and a sandbox that outlives
a task would let one student's notebooks meet another student's; one sandbox per task keeps bubblewrap as the
only boundary-maker and the task as the unit of trust (one student).  What stays per notebook, as before:

* **its own files**: ``/sandbox`` holds the current notebook and its probe inputs only; the next ones are put
  there after the runner has cleared the sandbox (every process of the notebook ended, ``/tmp`` and ``/dev/shm``
  emptied, the runner's and the zygote's limits and priority checked: see :mod:`~course_lib.grading.sandbox.turns`);
* **a fresh kernel**, forked from a zygote that never runs learner code;
* **its own time budget**: ``notebook_seconds`` from the moment the notebook is handed over; past it the whole
  sandbox is killed (that notebook timed out, as before) and the next notebook gets a fresh sandbox;
* **its own record and stderr**, returned as :func:`~course_lib.grading.task.bwrap.run_sandboxed` returns them,
  so the judge, :mod:`~course_lib.grading.task.ran` and nbgrader see what they saw;
* a notebook that kills its kernel gets a fresh kernel (the runner, as before); one that kills the runner or the
  sandbox, or leaves it changed, is "not graded" or graded on its record as before, and the next notebook gets a
  fresh sandbox.  Records, results and resume marks stay per (student, assignment).

``warm=False`` keeps the one sandbox but starts every kernel cold (the comparison in ``benchmarks/grading.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import select
import signal
import struct
import subprocess
import tempfile
import termios
import threading
import time
from pathlib import Path

from course_lib.grading.task.bwrap import (
    MAX_RECORD_BYTES,
    Limits,
    SandboxResult,
    _binds,
    _command,
    _prepare,
    run_sandboxed,
)
from course_lib.grading.task.uids import sandbox_uid
from course_lib.grading.task.view import grading_view

__all__ = ["SandboxSession", "current", "one_sandbox"]

_DONE = b'{"done": '  # the runner's line after each notebook (course_lib.grading.sandbox.turns)
_STDERR_KEPT = 1 << 16
_current = threading.local()  # a Dask worker may run several tasks at once, one per thread


def current() -> SandboxSession | None:
    """The session of the task running in this thread, if it asked for one."""
    return getattr(_current, "session", None)


@contextlib.contextmanager
def one_sandbox(hide: list[str], warm: bool = True):
    """Run the sandboxed notebooks of this block in one sandbox (see the module docstring)."""
    session, outer = SandboxSession(hide, warm), current()
    _current.session = session
    try:
        yield session
    finally:
        _current.session = outer
        session.close()


class SandboxSession:
    """The notebooks of one task, one after another in one sandbox (a fresh one after a notebook that broke it)."""

    def __init__(self, hide: list[str], warm: bool = True):
        self.hide = [Path(p).resolve() for p in hide]
        self.warm = warm
        self.starts = 0  # sandboxes started so far (one, unless a notebook broke one)
        self._sandbox: _Sandbox | None = None

    def covers(self, hide) -> bool:
        """Whether every folder to hide is inside one this session's sandbox hides."""
        return all(any(h == p or h in p.parents for h in self.hide) for p in map(lambda x: Path(x).resolve(), hide))

    def run(self, notebook_json: str, limits: Limits, hide=(), inputs_json: str = "{}") -> tuple[SandboxResult, bytes]:
        """As :func:`~course_lib.grading.task.bwrap.run_sandboxed`, in this session's sandbox."""
        if not self.covers(hide):  # a folder the sandbox does not hide: never reuse it for this notebook
            return run_sandboxed(notebook_json, limits, hide=list(hide), inputs_json=inputs_json)
        if self._sandbox is not None and self._sandbox.limits != limits:
            self._end()
        reused = self._sandbox is not None
        result, record = self._turn(notebook_json, limits, inputs_json)
        if reused and result.returncode is not None and not result.timed_out and not record:
            # the sandbox had ended before this notebook began (nothing of it ran): this notebook's turn in a fresh one
            result, record = self._turn(notebook_json, limits, inputs_json)
        return result, record

    def _turn(self, notebook_json: str, limits: Limits, inputs_json: str) -> tuple[SandboxResult, bytes]:
        if self._sandbox is None:
            self._sandbox = _Sandbox(limits, self.hide, self.warm)
            self.starts += 1
        result, record = self._sandbox.turn(notebook_json, inputs_json)
        if result.returncode is not None:  # it ended with this notebook: the next one gets a fresh sandbox
            self._end()
        return result, record

    def _end(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def close(self) -> None:
        self._end()


class _Sandbox:
    """One bubblewrap sandbox whose runner serves notebooks (``runner --serve``)."""

    def __init__(self, limits: Limits, hide: list[Path], warm: bool):
        self.limits, self.turns = limits, 0
        self._stack = contextlib.ExitStack()
        try:
            self._start(hide, warm)
        except BaseException:
            self._stack.close()  # the uid and the folder go back at once
            raise

    def _start(self, hide: list[Path], warm: bool) -> None:
        limits = self.limits
        root_user = os.geteuid() == 0
        uid = self._stack.enter_context(sandbox_uid() if root_user else contextlib.nullcontext(os.geteuid()))
        job = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="course-session-")))
        job.chmod(0o755)
        self.folder = job / "turn"  # /sandbox inside: the current notebook and its inputs, nothing else
        self.folder.mkdir(mode=0o755)
        self._put("notebook.ipynb", "{}")
        self._put("probe-inputs.json", "{}")
        binds = _binds(grading_view())
        staged: dict[Path, Path] = {}
        if root_user:
            (job / "stage").mkdir(mode=0o755)
            for i, source in enumerate(binds.values()):
                (job / "stage" / str(i)).mkdir()
                staged[source] = job / "stage" / str(i)
        sources = {path: staged[source] for path, source in binds.items()} if root_user else binds
        record_read, record_write = os.pipe()
        request_read, request_write = os.pipe()
        cmd = _command(
            self.folder / "notebook.ipynb",
            limits,
            hide,
            sources,
            record_write,
            self.folder / "probe-inputs.json",
            folder=True,
        )
        cmd += ["--serve", str(request_read)] + (["--warm-kernels"] if warm else [])
        try:
            self.process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_prepare(limits, uid, staged),
                start_new_session=True,
                pass_fds=(record_write, request_read),
                cwd=job,
            )
        finally:
            os.close(record_write)
            os.close(request_read)
        self._requests = os.fdopen(request_write, "w", encoding="utf-8")
        self._lines: queue.Queue = queue.Queue()
        self._stderr, self._stderr_total, self._stderr_lock = bytearray(), 0, threading.Lock()
        self._stderr_mark = 0  # where this notebook's stderr begins: after the last one's, at 0 for the first
        self._threads = [
            threading.Thread(target=self._read_record, args=(record_read,), daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _put(self, name: str, text: str) -> None:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _read_record(self, fd: int) -> None:
        """Each record line into the queue; past MAX_RECORD_BYTES in one notebook, the sandbox is stopped."""
        size = 0
        with os.fdopen(fd, "rb") as pipe:
            while line := pipe.readline(MAX_RECORD_BYTES + 1):
                if line.startswith(_DONE):
                    size = 0
                else:
                    size += len(line)
                    if size > MAX_RECORD_BYTES:
                        self._kill()
                        self._lines.put(line[: MAX_RECORD_BYTES - (size - len(line))])
                        break
                self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        """Read the sandbox's stderr to EOF, keeping its tail; reads happen under the lock only (see _drained)."""
        fd = self.process.stderr.fileno()
        while select.select([fd], [], [])[0]:
            with self._stderr_lock:
                if not self._keep(os.read(fd, 1 << 16)):
                    self.process.stderr.close()
                    break

    def _keep(self, chunk: bytes) -> int:
        self._stderr.extend(chunk)
        self._stderr_total += len(chunk)
        del self._stderr[:-_STDERR_KEPT]
        return len(chunk)

    def _drained(self) -> int:
        """The stderr read so far, with every byte already in the pipe: the runner says "done" only once every
        process of the notebook has ended, so nothing of it can come after, and nothing of it is left for the next."""
        with self._stderr_lock:
            with contextlib.suppress(OSError, ValueError):
                fd = self.process.stderr.fileno()
                while waiting := struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]:
                    self._keep(os.read(fd, waiting))
            return self._stderr_total

    def _stderr_since(self, total: int) -> str:
        new = min(self._stderr_total - total, len(self._stderr))
        return bytes(self._stderr[len(self._stderr) - new :]).decode("utf-8", "replace")[-4000:]

    def turn(self, notebook_json: str, inputs_json: str) -> tuple[SandboxResult, bytes]:
        """Hand one notebook to the runner and collect its record, within the notebook's time budget."""
        self.turns += 1
        self._put("notebook.ipynb", notebook_json)
        self._put("probe-inputs.json", inputs_json)
        # the first notebook's stderr includes the runner's start (an import error of the runner comes first)
        stderr_from, started = self._stderr_mark, time.monotonic()
        deadline = started + self.limits.notebook_seconds
        record, timed_out, ended = bytearray(), False, False
        try:
            self._requests.write(json.dumps({"turn": self.turns, "cell_timeout": self.limits.cell_seconds}) + "\n")
            self._requests.flush()
        except OSError:  # the runner is gone: whatever it wrote last is what there is
            pass
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                timed_out = True
                self._kill()
                break
            if line is None:
                ended = True
                break
            if line.startswith(_DONE):
                break
            record.extend(line)
        if timed_out or ended:
            self.process.wait()
            for thread in self._threads:
                thread.join(timeout=10)
        self._stderr_mark = self._drained()
        result = SandboxResult(
            self.process.returncode if (timed_out or ended) else None,
            time.monotonic() - started,
            timed_out,
            self._stderr_since(stderr_from),
        )
        return result, bytes(record[:MAX_RECORD_BYTES])

    def close(self) -> None:
        """Let the runner end (it ends the zygote), or kill the sandbox if it does not within 30 s."""
        with contextlib.suppress(OSError):
            self._requests.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._kill()
            self.process.wait()
        for thread in self._threads:
            thread.join(timeout=10)
        self._stack.close()
