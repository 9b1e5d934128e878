"""Warm kernels: the learner's kernel forked from a process that has torch, matplotlib and ipykernel imported.

A cold kernel spends about 3 s of CPU on the same imports every time (Python, torch, matplotlib,
``torch._dynamo`` and sympy behind the first optimizer, ipykernel).  Here a *zygote*, started by the runner
(``python -m course_lib.grading.sandbox.zygote REQUESTS REPLIES``, beside it in the sandbox, before any event
loop or zmq context exists), imports them once and then waits for launch requests on a pipe; it never runs
learner code.  Each request forks a fresh kernel: one kernel per notebook and per restart, as before, in the
same sandbox, so isolation is that of a new process (``tests/grading/sandbox/test_zygote.py``).

The fork is a double fork.  The runner is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): when the
intermediate process exits, the kernel is re-parented to the runner, which then waits for it like for a
process it started itself (:class:`WarmKernel`, what jupyter_client's provisioner expects of a ``Popen``), and
whose ``RUSAGE_CHILDREN`` therefore holds the kernel's CPU (``benchmarks/grading.py`` reads it).

What the kernel child does before it becomes ``python -m ipykernel_launcher -f CONNECTION``: a session of its
own (interrupts and kills go to its process group), the signal dispositions and mask of a fresh interpreter,
the kernel spec's environment, working folder and argv, no descriptor but 0-2 (the zygote's pipes: the kernel
cannot send launch requests), a fresh seed for every generator a fresh process seeds from the OS (Python's
``random``, torch's default generator, numpy's global one: forked, every kernel would draw the same numbers),
and no ``course_lib`` module in ``sys.modules`` (the notebook imports its own).  What stays shared and is not
reset: the string-hash seed (``PYTHONHASHSEED``), fixed at interpreter start.

:class:`WarmProvisioner` is the jupyter_client kernel provisioner (a ``LocalProvisioner``) that asks the
zygote instead of starting ``Popen``; when there is no zygote, or it does not answer, it starts the kernel
the normal way and says so through the ``on_cold`` callback given to :func:`warm_kernels`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# jupyter_client is imported by ipykernel anyway, in the zygote as in the runner
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from course_lib.grading.sandbox.undumpable import PR_SET_DUMPABLE, make_undumpable

__all__ = [
    "PROVISIONER",
    "SINGLE_THREADED",
    "WarmKernel",
    "WarmProvisioner",
    "Zygote",
    "forgo",
    "warm_kernels",
    "zygote_main",
]

PROVISIONER = "course-warm-kernel"  # the provisioner's name in the kernel spec's metadata
_MPL_INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel puts in MPLBACKEND when unset
# what every notebook imports: the zygote's cost, paid once per runner instead of once per kernel
WARM_MODULES = ("torch", "torch.optim", "torch._dynamo", "matplotlib.pyplot", "ipykernel.kernelapp")
_PR_SET_CHILD_SUBREAPER = 36
# A fork copies one thread: a lock another thread held at that moment stays locked in the child for ever.  Of the
# imports above only numpy's OpenBLAS starts a thread (its thread server, at import); with one BLAS thread it
# starts none, and the zygote checks that it is alone before it forks (_alone).  The kernels' torch is unaffected.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1"}


def _prctl(option: int, value: int) -> None:
    if ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value}): {os.strerror(ctypes.get_errno())}")


# ---------------------------------------------------------------- the runner's side


class WarmKernel:
    """A forked kernel, re-parented to this (subreaper) process: the part of ``subprocess.Popen`` that
    jupyter_client's ``LocalProvisioner`` uses (``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def _reap(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # reaped elsewhere: gone, status unknown
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reap(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)  # waitpid has no time-out; a blocking one would hang nbclient's event loop
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # never signal a pid that may have been reused
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    """The warm parent: started here, asked for kernels over a pipe."""

    def __init__(self, process: subprocess.Popen, requests: int, replies: int):
        self.process = process
        self._requests = os.fdopen(requests, "w", encoding="utf-8")
        self._replies = os.fdopen(replies, "r", encoding="utf-8")

    @classmethod
    def start(cls, modules: tuple[str, ...] | None = None, timeout: float = 120) -> Zygote:
        """Start the zygote and wait until it has imported ``modules`` (default :data:`WARM_MODULES`);
        OSError or RuntimeError if it fails."""
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        # Not dumpable: a process of the same uid (the kernel) can then not open /proc/<this>/fd/<the request
        # pipe> and write launch requests itself (the zygote does the same for its end).
        make_undumpable()
        request_read, request_write = os.pipe()  # os.pipe()'s ends are not inheritable: only pass_fds go
        reply_read, reply_write = os.pipe()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(request_read), str(reply_write), *(modules or WARM_MODULES)],
                stdin=subprocess.DEVNULL,
                pass_fds=(request_read, reply_write),
                env={**os.environ, **SINGLE_THREADED},
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        zygote = cls(process, request_write, reply_read)
        ready = zygote._reply(timeout)
        if ready.get("ready") is not True:
            zygote.close()
            raise RuntimeError(f"the zygote did not start: {ready.get('error', ready)}")
        return zygote

    def _reply(self, timeout: float) -> dict:
        import select

        if not select.select([self._replies], [], [], timeout)[0]:
            return {"error": f"no answer within {timeout} s"}
        line = self._replies.readline()
        return json.loads(line) if line else {"error": "it exited"}

    def launch(self, argv: list[str], env: dict[str, str], cwd: str, timeout: float = 30) -> WarmKernel:
        """Fork a kernel that runs ``argv`` (``python -m ipykernel_launcher ...``) with ``env`` in ``cwd``."""
        try:
            self._requests.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
            self._requests.flush()
        except OSError as error:  # BrokenPipeError: the zygote is gone
            raise RuntimeError(f"the zygote is gone ({error})") from None
        reply = self._reply(timeout)
        if "pid" not in reply:
            raise RuntimeError(f"the zygote could not fork a kernel: {reply.get('error', reply)}")
        return WarmKernel(reply["pid"])

    def close(self) -> None:
        """End the zygote and reap it (its CPU then counts in this process's ``RUSAGE_CHILDREN``)."""
        for stream in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_current: dict = {"zygote": None, "on_cold": None}


@contextlib.contextmanager
def warm_kernels(on_cold=lambda reason: None):
    """Start a zygote for the kernels started inside this block; ``on_cold(reason)`` when a kernel starts the
    normal way instead (the zygote could not start, or could not fork).  Yields the zygote, or None."""
    try:
        zygote = Zygote.start()
    except (OSError, RuntimeError, ValueError) as error:
        zygote = None
        on_cold(f"warm kernels unavailable, kernels start cold: {error}")
    _register()
    _current.update(zygote=zygote, on_cold=on_cold)
    try:
        yield zygote
    finally:
        _current.update(zygote=None, on_cold=None)
        if zygote is not None:
            zygote.close()


def forgo(reason: str) -> bool:
    """Start the rest of this block's kernels cold, after a warm kernel failed to start (``on_cold(reason)``);
    False when they start cold already (the caller then has nothing to retry)."""
    if _current["zygote"] is None:
        return False
    _current["zygote"] = None
    if _current["on_cold"]:
        _current["on_cold"](f"warm kernels unavailable, kernels start cold: {reason}")
    return True


def kernel_spec_metadata() -> dict:
    """What a kernel spec's ``metadata`` says to have its kernels started by :class:`WarmProvisioner`."""
    return {"kernel_provisioner": {"provisioner_name": PROVISIONER}}


def _register() -> None:
    """Make :data:`PROVISIONER` known to jupyter_client without an installed entry point (its factory looks
    a name up in this cache first)."""
    from importlib.metadata import EntryPoint

    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    KernelProvisionerFactory.instance().provisioners[PROVISIONER] = EntryPoint(
        name=PROVISIONER, value=f"{__name__}:WarmProvisioner", group=KernelProvisionerFactory.GROUP_NAME
    )


class WarmProvisioner(LocalProvisioner):
    """``LocalProvisioner`` whose kernel is forked by the zygote (else started the normal way)."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        zygote = _current["zygote"]
        if zygote is None:
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or Path.cwd())
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it: the kernel ends with us
        try:
            self.process = zygote.launch(cmd, env, cwd)
        except RuntimeError as error:
            forgo(str(error))  # one failure is enough: the rest of the run starts cold
            return await super().launch_kernel(cmd, **kwargs)
        self.pid = self.pgid = self.process.pid  # the kernel leads a session of its own
        self.cwd = cwd
        return self.connection_info


# ---------------------------------------------------------------- the zygote's side


def zygote_main(requests_fd: int, replies_fd: int, modules: list[str]) -> None:
    """Import ``modules``, then fork one kernel per request line until the pipe closes."""
    replies = os.fdopen(replies_fd, "w", encoding="utf-8")
    try:
        make_undumpable()  # see Zygote.start
        os.environ.setdefault("MPLBACKEND", _MPL_INLINE)  # as ipykernel would, before matplotlib reads it
        for module in modules:
            __import__(module)
        _alone()
    except Exception as error:  # noqa: BLE001 -- reported to the runner, which starts kernels cold
        replies.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
        return
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    with os.fdopen(requests_fd, "r", encoding="utf-8") as requests:
        for line in requests:
            try:
                reply = {"pid": _fork_kernel(json.loads(line), (requests_fd, replies_fd))}
            except Exception as error:  # noqa: BLE001 -- this kernel starts cold instead
                reply = {"error": f"{type(error).__name__}: {error}"}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()


def _alone() -> None:
    """RuntimeError unless this process has a single thread (see :data:`SINGLE_THREADED`): the runner then
    starts its kernels cold instead of forking from a process whose other thread may hold a lock."""
    threads = os.listdir("/proc/self/task")
    if len(threads) > 1:
        names = sorted(Path(f"/proc/self/task/{t}/comm").read_text().strip() for t in threads)
        raise RuntimeError(f"the zygote has {len(threads)} threads after its imports ({names}): a fork could hang")


def _fork_kernel(request: dict, pipes: tuple[int, int]) -> int:
    """Fork, fork again, and return the grandchild's pid once its parent has exited (so that it belongs
    to the runner by now)."""
    argv = request["argv"]
    if argv[1:3] != ["-m", "ipykernel_launcher"]:
        raise ValueError(f"not an ipykernel command line: {argv[:3]}")
    pid_read, pid_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        code = 1
        try:
            os.close(pid_read)
            kernel = os.fork()
            if kernel == 0:
                os.close(pid_write)
                _become_kernel(request, pipes, os.getppid())  # never returns
            os.write(pid_write, str(kernel).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(pid_write)
    with os.fdopen(pid_read, "rb") as read:
        text = read.read()
    os.waitpid(middle, 0)
    if not text:
        raise RuntimeError("the fork failed")
    return int(text)


def _become_kernel(request: dict, pipes: tuple[int, int], middle: int) -> None:
    """In the forked child: become a fresh ``python -m ipykernel_launcher ...`` (see the module docstring)."""
    code = 1
    try:
        while os.getppid() == middle:  # until the runner is the parent: ipykernel's poller reads it at start
            time.sleep(0.001)
        os.setsid()
        _prctl(PR_SET_DUMPABLE, 1)  # as after an exec: the kernel's /proc entries are its own again
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a fresh interpreter's dispositions
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in pipes:
            os.close(fd)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # nothing of the zygote's: no way to ask it for anything
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("MPLBACKEND", _MPL_INLINE)
        os.chdir(request["cwd"])
        _fresh_generators()
        for name in [m for m in sys.modules if m == "course_lib" or m.startswith("course_lib.")]:
            del sys.modules[name]
        from importlib.util import find_spec

        from ipykernel import kernelapp

        sys.argv = [find_spec("ipykernel_launcher").origin, *request["argv"][3:]]  # as ``python -m`` sets it
        # ipykernel reads one setting from the environment when it is imported (in the zygote, without it):
        # the parent whose exit ends the kernel
        kernelapp.IPKernelApp.launch_instance(parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    except BaseException:  # noqa: BLE001 -- as a crashing interpreter would: the traceback, then exit 1
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        atexit._run_exitfuncs()  # what the interpreter runs at exit, then leave without the zygote's frames
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _fresh_generators() -> None:
    """Seed from the OS every global generator a fresh process seeds from the OS."""
    import random

    import torch

    random.seed()
    torch.seed()
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()


if __name__ == "__main__":
    # as ipykernel_launcher does: the folder it was started from is not on the kernel's path
    if sys.path[0] == "" or Path(sys.path[0]) == Path.cwd():
        del sys.path[0]
    zygote_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
