"""Execute one notebook cell by cell and record what happened: the runner inside the grading sandbox.

``python -m course_lib.grading.sandbox.runner IN.ipynb --record-fd 3 --cell-timeout S`` runs every code cell
of IN with nbclient and writes, after each cell, one JSON line to file descriptor 3:
``{"index": i, "status": "ok" | "error" | "timeout" | "died", "outputs": [...]}`` (and ``{"event": ...}``
lines).  Descriptor 3 is a pipe to the grader, not inherited by the kernel.  Everything here runs beside
the learner's kernel and is therefore untrusted: the grader reads the record as data
(``course_lib.grading.task.judge``) and judges it itself.

A cell that runs past its limit is interrupted (SIGINT); if the kernel does not answer within
INTERRUPT_GRACE seconds (the cell ignores SIGINT, masks it, or is blocked in a C call), it is killed (SIGKILL,
which nothing can ignore) and replaced by a fresh one, the cells that had succeeded are replayed, and the run
goes on after the offending cell.  A kernel that dies (out of memory, ``os._exit``) is replaced the same way.
So an infinite loop or a crash costs the points that depend on that cell, not the whole notebook.

Whether a cell timed out is read from nbclient's time-out handler, never from the cell's outputs: an
interrupt the cell ignores leaves no output at all (once, every such cell and all after it were "ok").

``--warm-kernels``: the kernels are forked from a warm parent that has torch, matplotlib and ipykernel imported
already (:mod:`course_lib.grading.sandbox.zygote`): still one fresh kernel per notebook and per restart, without
paying their imports for each (a zygote that fails: kernels start the normal way, with an event saying so).
``--serve FD``: the notebook is run once per request line read from FD, the sandbox cleared between two
(:mod:`course_lib.grading.sandbox.turns`); with ``--warm-kernels`` that is how ``course grade`` runs a task's
notebooks, so that the zygote's start is paid once per task (``benchmarks/grading.py`` measures it; a runner of
one notebook pays it for that notebook alone, ``benchmarks/warm_kernels.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import os
import sys
import time
from pathlib import Path

# nbformat imports jsonschema, whose IRI format check imports rfc3987_syntax, which builds a Lark grammar on
# import: 0.9 s of this runner's 1.4 s start-up, once per graded notebook, for a check nbformat never asks
# for.  The format check is optional in jsonschema (an ImportError leaves it out).
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402 -- after the line above
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402

# bytes of output kept of one cell's run (a print in an endless loop stays small), and of a probe's answer
from course_lib.grading.limits import INTERRUPT_GRACE, MAX_CELL_OUTPUT, MAX_PROBE_OUTPUT  # noqa: E402
from course_lib.grading.sandbox.turns import cpu_seconds, serve  # noqa: E402
from course_lib.grading.sandbox.undumpable import make_undumpable  # noqa: E402
from course_lib.grading.sandbox.zygote import forgo, kernel_spec_metadata, warm_kernels  # noqa: E402

__all__ = ["run_notebook", "main"]

KERNEL_NAME = "course-python"


# how a lost cell is named: (what the cell did, the error's name)
_LOST = {
    "timeout": ("ran past its limit and the kernel did not respond", "CellTimeoutError"),
    "died": ("killed the kernel", "KernelDied"),
    "too deep": (
        f"sent a result nested more than {sys.getrecursionlimit()} levels deep, more than the grader reads",
        "ResultTooDeep",
    ),
}


class _KernelLost(Exception):
    def __init__(self, index: int, status: str):
        super().__init__(status)
        self.index, self.status = index, status


class Record:
    """The JSON-lines record written to the grader's pipe."""

    def __init__(self, fd: int):
        os.set_inheritable(fd, False)  # the kernel, started after this, must not hold the grader's pipe
        self._out = os.fdopen(fd, "w", encoding="utf-8")

    def cell(self, index: int, status: str, outputs) -> None:
        self._write({"index": index, "status": status, "outputs": outputs})

    def event(self, text: str) -> None:
        self._write({"event": text})

    def _write(self, item: dict) -> None:
        self._out.write(json.dumps(item) + "\n")
        self._out.flush()


class _BoundedClient(NotebookClient):
    """nbclient, keeping at most MAX_CELL_OUTPUT bytes of each cell run's output and noting the cut once.

    nbclient holds every output in memory until the cell ends; a learner's print in an endless loop would
    fill the runner's memory limit within the cell's time limit and lose the rest of the notebook.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._output_bytes: dict[str, int] = {}  # per cell run (its execute request's msg_id)
        self._cut: set[str] = set()

    timed_out = False  # set when nbclient's time-out fired (and interrupted the kernel) during the last cell

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        run = msg["parent_header"].get("msg_id")
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data") and run:
            used = self._output_bytes.get(run, 0) + len(json.dumps(msg.get("content", {})))
            self._output_bytes[run] = used
            probe = 0 <= cell_index < len(self.nb.cells) and self.nb.cells[cell_index].metadata.get("course_probe")
            limit = MAX_PROBE_OUTPUT if probe else MAX_CELL_OUTPUT
            if used > limit:
                if run not in self._cut:
                    self._cut.add(run)
                    outs.append(
                        nbformat.v4.new_output(
                            "stream",
                            name="stderr",
                            text=f"\n... the grader kept only the first {limit // 2**20} MB of this cell's output\n",
                        )
                    )
                return None
        return super().output(outs, msg, display_id, cell_index)


def _install_kernelspec(jupyter_path: Path, warm: bool = False) -> None:
    """A kernelspec for this very interpreter, so the learner's kernel is the course's environment; ``warm``:
    its kernels are forked by the zygote of :func:`course_lib.grading.sandbox.zygote.warm_kernels`."""
    spec_dir = jupyter_path / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "course",
        "language": "python",
        "metadata": kernel_spec_metadata() if warm else {},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


def _responsive(client: _BoundedClient, seconds: float = INTERRUPT_GRACE) -> bool:
    """Whether the kernel runs a ``pass`` within ``seconds`` (after an interrupt: whether the cell stopped)."""
    probe = nbformat.v4.new_code_cell("pass")
    saved = client.timeout
    client.timeout = seconds
    client.timed_out = False
    # nbclient stores the executed cell at its index: the probe gets a slot of its own (index -1 was the
    # notebook's last cell, which the probe then replaced).
    client.nb.cells.append(probe)
    try:
        client.execute_cell(probe, len(client.nb.cells) - 1)
        return not client.timed_out  # nbclient answers a time-out itself: the kernel did not
    except (CellTimeoutError, DeadKernelError, RuntimeError):
        return False
    finally:
        client.nb.cells.pop()
        client.timeout = saved


def run_notebook(nb, record: Record, cell_timeout: int, startup_timeout: int = 60) -> None:
    """Execute ``nb`` cell by cell, recording each code cell's status and outputs."""
    cells = nb.cells
    ok: set[int] = set()
    # nbclient interrupts on a time-out and answers for the kernel (no output); _BoundedClient notes that it
    # did.  "immediate": a kernel is killed, not asked to shut down (a busy one never answers).
    client = _BoundedClient(
        nb,
        timeout=cell_timeout,
        kernel_name=KERNEL_NAME,
        allow_errors=True,
        interrupt_on_timeout=True,
        startup_timeout=startup_timeout,
        shutdown_kernel="immediate",
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
    )
    stopped = nbformat.v4.new_output(
        "error",
        ename="CellTimeoutError",
        evalue=f"the cell ran longer than {cell_timeout} s and was stopped",
        traceback=[f"CellTimeoutError: the cell ran longer than {cell_timeout} s"],
    )
    start = 0
    while start < len(cells):
        try:
            with client.setup_kernel():
                if start:
                    _replay(client, cells, ok, start)
                for index in range(start, len(cells)):
                    cell = cells[index]
                    if cell.cell_type != "code":
                        continue
                    client.timed_out = False
                    try:
                        client.execute_cell(cell, index)
                    except DeadKernelError:
                        raise _KernelLost(index, "died")
                    except RecursionError:  # a message nested deeper than this runner parses: the cell's
                        raise _KernelLost(index, "too deep")  # doing, not the kernel's start
                    timed_out = client.timed_out
                    if timed_out:
                        cell.outputs = list(cell.get("outputs", [])) + [copy.deepcopy(stopped)]
                    outputs = cell["outputs"] = _coalesced(cell.get("outputs", []))
                    errored = any(o.get("output_type") == "error" for o in outputs)
                    if timed_out and not _responsive(client):
                        raise _KernelLost(index, "timeout")
                    if not (timed_out or errored):
                        ok.add(index)
                    record.cell(index, "timeout" if timed_out else "error" if errored else "ok", outputs)
            break
        except _KernelLost as lost:
            what, ename = _LOST[lost.status]
            error = nbformat.v4.new_output(
                "error",
                ename=ename,
                evalue=f"this cell {what}; a fresh kernel ran the cells before it again",
                traceback=[],
            )
            outputs = [o for o in cells[lost.index].get("outputs", []) if o.get("ename") != "CellTimeoutError"]
            if lost.status == "too deep":  # what was kept of it may be as deep: only the message stays
                outputs = []
            record.cell(lost.index, "error" if lost.status == "too deep" else lost.status, outputs + [error])
            record.event(f"cell {lost.index} {what}")
            start = lost.index + 1
        except RecursionError:  # nested data outside a cell's run (a replayed cell's): not a start failure
            record.event("a result nested too deeply for the grader to read stopped the notebook here")
            break
        except RuntimeError as error:  # the kernel could not start (or restart)
            if forgo(f"a forked kernel did not start ({error})"):
                continue  # the same cells again, in a kernel started the normal way
            record.event(f"the kernel could not start: {error}")
            break


def _coalesced(outputs: list) -> list:
    """``outputs`` with each run of consecutive stream outputs of one name joined into one.

    How a print is split into stream messages depends on when ipykernel's output thread flushes (on a loaded
    machine "9" and " []" of one print arrived apart), and a cell's record must not depend on the load (warm and
    cold kernels, two gradings of one class).  Not nbclient's ``coalesce_streams``: that one also moves stderr and
    rewrites \r and \b with a regex loop that a learner's output can make quadratic."""
    merged: list = []
    for name, run in itertools.groupby(outputs, key=_stream_name):
        run = list(run)
        if name is None or len(run) == 1:
            merged.extend(run)
        else:
            merged.append(nbformat.from_dict({**run[0], "text": "".join(o.get("text", "") for o in run)}))
    return merged


def _stream_name(output: dict) -> str | None:
    """A stream output's name (stdout, stderr); None for any other output."""
    return output.get("name") if output.get("output_type") == "stream" else None


def _replay(client: NotebookClient, cells, ok: set[int], stop: int) -> None:
    """Re-run the cells that succeeded before ``stop`` in the fresh kernel, discarding their outputs."""
    for index in range(stop):
        if index in ok and not cells[index].metadata.get("course_probe"):
            try:
                client.execute_cell(copy.deepcopy(cells[index]), index)
            except DeadKernelError:
                raise _KernelLost(index, "died")


def _run_one(record: Record, path: str, cell_timeout: int, warm: bool) -> None:
    """One notebook's record: which course_lib ran it (course_lib.grading.task.ran compares it with the
    grader's), then its cells."""
    record._write({"course_lib": str(Path(sys.modules["course_lib"].__file__).resolve().parent)})
    jupyter_path = Path(os.environ.get("COURSE_JUPYTER_PATH", "/tmp/jupyter"))
    _install_kernelspec(jupyter_path, warm=warm)
    os.environ["JUPYTER_PATH"] = str(jupyter_path)
    run_notebook(nbformat.read(path, as_version=4), record, cell_timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--record-fd", type=int, required=True)
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--warm-kernels", action="store_true", help="fork each kernel from a warm zygote")
    parser.add_argument(
        "--serve",
        type=int,
        metavar="FD",
        help="run NOTEBOOK once per request line read from FD (course_lib.grading.sandbox.turns)",
    )
    args = parser.parse_args(argv)
    make_undumpable()  # before any kernel starts: the kernel cannot ptrace this process or write its memory
    record = Record(args.record_fd)
    if args.serve is not None:
        return serve(
            record,
            args.serve,
            args.warm_kernels,
            lambda seconds: _run_one(record, args.notebook, seconds, args.warm_kernels),
        )
    started = time.monotonic()
    with warm_kernels(record.event) if args.warm_kernels else contextlib.nullcontext():
        _run_one(record, args.notebook, args.cell_timeout, args.warm_kernels)
    # the kernels and the zygote are reaped by now, so their CPU is in RUSAGE_CHILDREN (the grader cannot see it:
    # bubblewrap does not pass it up); benchmarks/grading.py reads it
    record.event(f"executed in {time.monotonic() - started:.1f} s (CPU {cpu_seconds():.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
