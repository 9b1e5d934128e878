"""Is a kernel forked from the warm zygote the same as a cold one, and as isolated from the notebook before it?"""

from __future__ import annotations

import json
import os
import threading

import nbformat
import pytest

import course_lib.grading.sandbox.zygote as zygote_module
import course_lib.grading.task.bwrap as bwrap
from course_lib.grading.sandbox.runner import Record, _install_kernelspec, run_notebook
from course_lib.grading.sandbox.zygote import warm_kernels
from tests.grading.conftest import needs_bwrap
from tests.grading.sandbox.test_sandbox_runner import BLOCKED_IN_C, IGNORES_SIGINT_AND_SIGTERM

# Every cell prints something a fresh kernel decides for itself; the last one says whether it was forked.
SAME_AS_COLD = [
    "import os, sys, threading, random\nimport torch\nprint(torch.get_default_dtype(), torch.get_num_threads())",
    "torch.manual_seed(0)\nprint(torch.randn(3, dtype=torch.float64).tolist())",
    "import matplotlib\nimport matplotlib.pyplot as plt\nprint(matplotlib.get_backend())\n"
    "plt.plot([1, 2, 3]); plt.show()",
    "print(sorted(k for k in globals() if not k.startswith('_')))",
    "print(os.getcwd(), os.environ['HOME'], os.environ['NBGRADER_EXECUTION'], sys.argv[1:2])",
    "1 / 0",
    "print(threading.active_count(), sorted(m for m in sys.modules if m.startswith('course_lib')))",
]
WHICH = "print('torch._dynamo' in sys.modules)"  # imported by the zygote, by no cell above


def _records(record: bytes) -> tuple[dict[int, dict], list[str]]:
    items = [json.loads(line) for line in record.decode().splitlines()]
    return {i["index"]: i for i in items if "index" in i}, [i["event"] for i in items if "event" in i]


def _run_sandboxed(cells: list[str], cold: bool, monkeypatch, cell_seconds: int = 60):
    runner = bwrap._runner
    if not cold:
        monkeypatch.setattr(bwrap, "_runner", lambda *args: runner(*args) + ["--warm-kernels"])
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    result, record = bwrap.run_sandboxed(
        nbformat.writes(nb), bwrap.Limits(notebook_seconds=300, cell_seconds=cell_seconds)
    )
    monkeypatch.setattr(bwrap, "_runner", runner)
    assert result.returncode == 0, result.stderr
    return _records(record)


def _text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell["outputs"])


@needs_bwrap
def test_a_warm_kernel_gives_the_same_record_as_a_cold_one(monkeypatch):
    cold, cold_events = _run_sandboxed([*SAME_AS_COLD, WHICH], cold=True, monkeypatch=monkeypatch)
    warm, warm_events = _run_sandboxed([*SAME_AS_COLD, WHICH], cold=False, monkeypatch=monkeypatch)
    assert _text(cold[len(SAME_AS_COLD)]) == "False\n" and _text(warm[len(SAME_AS_COLD)]) == "True\n"
    assert not any("cold" in event for event in warm_events), warm_events
    for index in range(len(SAME_AS_COLD)):
        assert warm[index]["status"] == cold[index]["status"], (index, warm[index], cold[index])
        assert warm[index]["outputs"] == cold[index]["outputs"], (index, warm[index], cold[index])
    assert [o["output_type"] for o in warm[2]["outputs"]] == ["stream", "display_data"]  # the figure came


PIPES_OF = """import os
def pipes(pid):
    found = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            found.add(os.readlink(f'/proc/{pid}/fd/{fd}'))
        except OSError:
            pass
    return {link for link in found if link.startswith('pipe:')}
def cmdline(pid):
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
        return f.read().split(b'\\0')
others = {int(p): cmdline(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()}
runner = next(p for p, c in others.items() if c[1:3] == [b'-m', b'course_lib.grading.sandbox.runner'])
zygote = next(p for p, c in others.items() if c[1:3] == [b'-m', b'course_lib.grading.sandbox.zygote'])
print(os.getppid() == runner)
"""
# what the kernel can reach of the runner's record pipe and the zygote's request pipe: nothing
REACH = """import errno
opened = []
for pid in (runner, zygote):
    try:
        fds = os.listdir(f'/proc/{pid}/fd')
    except OSError as error:
        print(pid == runner and 'runner' or 'zygote', 'fds unreadable', errno.errorcode[error.errno])
        continue
    for fd in fds:
        try:
            os.close(os.open(f'/proc/{pid}/fd/{fd}', os.O_WRONLY | os.O_NONBLOCK))
            opened.append((pid, fd))
        except OSError:
            pass
print('opened', opened)
print('own pipes', sorted(pipes(os.getpid())))"""


@needs_bwrap
def test_the_kernel_holds_neither_the_record_pipe_nor_the_zygotes_and_cannot_open_them(monkeypatch):
    cells, events = _run_sandboxed([PIPES_OF, REACH], cold=False, monkeypatch=monkeypatch)
    assert cells[0]["status"] == "ok", cells[0]
    assert _text(cells[0]) == "True\n", "the forked kernel is the runner's child, so the runner can wait for it"
    reach = _text(cells[1])
    assert "runner fds unreadable" in reach and "zygote fds unreadable" in reach, reach
    assert "opened []" in reach, reach
    # the kernel's own pipes are only what it made itself or shares as stdout/stderr with the runner
    assert cells[1]["status"] == "ok", cells[1]


# ---------------------------------------------------------------- two notebooks, one zygote


def _run_warm(notebooks: list[list[str]], cell_timeout: int, jupyter_path, monkeypatch, startup_timeout: int = 60):
    """Run each list of cells as a notebook, in sequence, with kernels from one zygote (no sandbox: the
    runner and the zygote are under test)."""
    _install_kernelspec(jupyter_path, warm=True)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    read_fd, write_fd = os.pipe()
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(read_fd, 65536), b"")), daemon=True)
    reader.start()
    record = Record(write_fd)
    try:
        with warm_kernels(record.event) as zygote:
            assert zygote is not None
            for cells in notebooks:
                nb = nbformat.v4.new_notebook()
                nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
                record.event("next notebook")
                run_notebook(nb, record, cell_timeout, startup_timeout)
    finally:
        record._out.close()
        reader.join(timeout=10)
        os.close(read_fd)
    runs, current = [], None
    for item in map(json.loads, b"".join(chunks).decode().splitlines()):
        if item.get("event") == "next notebook":
            current = ({}, [])
            runs.append(current)
        elif "index" in item:
            current[0][item["index"]] = item
        else:
            current[1].append(item["event"])
    return runs


MEDDLE = [
    "import threading, time, random, json, sys\nimport numpy as np\nimport torch\nimport course_lib\n"
    "secret = 42\ntorch.add = lambda *a, **k: 'patched'\njson.left_behind = True\ncourse_lib.marker = 'left behind'\n"
    "torch.manual_seed(0); random.seed(0); np.random.seed(0)\ntorch.set_default_dtype(torch.float64)\n"
    "torch.set_num_threads(3)\nstop = threading.Event()\n"
    "threading.Thread(target=lambda: stop.wait(), daemon=True).start()\nprint('meddled')",
]
LOOK = [
    "import threading, random, json, sys\nimport numpy as np\nimport torch\nimport course_lib\n"
    "print('secret' in globals(), torch.add(torch.ones(1), 1).tolist(), getattr(json, 'left_behind', None),"
    " getattr(course_lib, 'marker', None))\n"
    "print(torch.get_default_dtype(), torch.get_num_threads(), threading.active_count())",
    "print(torch.rand(2).tolist(), random.random(), float(np.random.rand()))",
]


@pytest.mark.slow
def test_nothing_one_notebook_does_is_visible_to_the_next_ones_kernel(tmp_path, monkeypatch):
    """Globals, a monkeypatched torch, module state, RNG seeds, default dtype, thread counts, a thread left
    running: the next notebook's kernel sees what a fresh one sees, and draws other random numbers."""
    (meddle, _), (first, first_events), (second, _) = _run_warm([MEDDLE, LOOK, LOOK], 60, tmp_path, monkeypatch)
    assert _text(meddle[0]) == "meddled\n", meddle
    looked = _text(first[0]).splitlines()
    assert looked[0] == "False [2.0] None None", looked
    dtype, threads, active = looked[1].split()
    assert dtype == "torch.float32" and threads == str(_cold_threads()), looked
    assert _text(second[0]) == _text(first[0]), "two warm kernels start alike"
    assert _text(first[1]) != _text(second[1]), "each kernel draws its own random numbers"
    seeded = "[0.49625658988952637, 0.7682217955589294] 0.8444218515250481"  # seed 0's first draws
    assert not _text(first[1]).startswith(seeded)
    assert not any("cold" in event for event in first_events), first_events


def _cold_threads() -> int:
    """torch's thread count in a fresh interpreter with this environment."""
    import subprocess
    import sys

    code = "import torch; print(torch.get_num_threads())"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


@pytest.mark.slow
def test_a_warm_kernel_that_ignores_the_interrupt_is_killed_and_replaced_by_another_warm_one(tmp_path, monkeypatch):
    ((cells, events),) = _run_warm(
        [["x = 41", IGNORES_SIGINT_AND_SIGTERM, "print(x + 1)", BLOCKED_IN_C, "print(x + 1)"]],
        3,
        tmp_path,
        monkeypatch,
    )
    for index in (1, 3):
        assert cells[index]["status"] == "timeout", (index, cells[index])
    for index in (2, 4):
        assert cells[index]["status"] == "ok" and _text(cells[index]) == "42\n", (index, cells[index])
    assert len([e for e in events if "did not respond" in e]) == 2, events
    assert not any("cold" in event for event in events), events


def test_without_a_zygote_kernels_start_cold_and_an_event_says_so(tmp_path, monkeypatch):
    import course_lib.grading.sandbox.zygote as zygote

    monkeypatch.setattr(zygote, "WARM_MODULES", ("no_such_module_for_the_zygote",))
    _install_kernelspec(tmp_path, warm=True)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    said: list[str] = []
    with warm_kernels(said.append) as started:
        assert started is None
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("import sys\nprint('torch._dynamo' in sys.modules)")]
        read_fd, write_fd = os.pipe()
        record = Record(write_fd)
        run_notebook(nb, record, 60)
        record._out.close()
        with os.fdopen(read_fd) as pipe:
            cells, _ = _records(pipe.read().encode())
    assert len(said) == 1 and "start cold" in said[0] and "no_such_module_for_the_zygote" in said[0], said
    assert cells[0]["status"] == "ok" and _text(cells[0]) == "False\n", cells


# ---------------------------------------------------------------- when forking is not safe, or a fork fails


def test_a_zygote_that_is_not_alone_after_its_imports_does_not_fork(monkeypatch):
    """A second thread (OpenBLAS's thread server, which numpy starts when allowed more than one BLAS thread) may
    hold a lock at the fork: the zygote refuses, and the runner is told why (it then starts kernels cold)."""
    as_started = zygote_module.SINGLE_THREADED
    monkeypatch.setattr(zygote_module, "SINGLE_THREADED", {"OPENBLAS_NUM_THREADS": "2"})
    with pytest.raises(RuntimeError, match=r"the zygote has 2 threads after its imports .*a fork could hang"):
        zygote_module.Zygote.start(modules=("numpy",))
    monkeypatch.setattr(zygote_module, "SINGLE_THREADED", as_started)
    zygote = zygote_module.Zygote.start(modules=("numpy",))  # one BLAS thread, as the runner starts it
    zygote.close()
    assert zygote.process.returncode == 0


@pytest.mark.slow
def test_a_forked_kernel_that_never_answers_is_replaced_by_a_cold_one(tmp_path, monkeypatch):
    """The notebook is not lost: its cells run in a kernel started the normal way, and so do the next ones."""
    forked = []

    def never_answers(self, argv, env, cwd, timeout=30):
        forked.append(os.posix_spawn("/bin/sleep", ["sleep", "600"], dict(os.environ)))
        return zygote_module.WarmKernel(forked[-1])

    monkeypatch.setattr(zygote_module.Zygote, "launch", never_answers)
    cells = ["import sys\nprint('torch._dynamo' in sys.modules)"]
    (first, events), (second, _) = _run_warm([cells, cells], 60, tmp_path, monkeypatch, startup_timeout=5)
    assert len(forked) == 1, "one failed fork, then the rest start cold"
    assert _text(first[0]) == "False\n" and _text(second[0]) == "False\n", (first, second)
    assert [e for e in events if "cold" in e] == [
        "warm kernels unavailable, kernels start cold: a forked kernel did not start "
        "(Kernel didn't respond in 5 seconds)"
    ], events
    with pytest.raises(ChildProcessError):  # killed and reaped with the kernel that never answered
        os.waitpid(forked[0], os.WNOHANG)
