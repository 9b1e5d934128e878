"""Does a cell that floods its output cost that cell only, and never the grader's memory?"""

from __future__ import annotations

import io
import json

import nbformat
import pytest

from course_lib.grading.sandbox.runner import MAX_CELL_OUTPUT
from course_lib.grading.task.bwrap import Limits, _keep_tail, run_sandboxed
from tests.grading.conftest import needs_bwrap

PRINT_FOREVER = "i = 0\nwhile True:\n    print('loss', i, 'x' * 200)\n    i += 1"
STDERR_FLOOD = "import os\nchunk = b'y' * 2**20\nfor _ in range(300):\n    os.write(2, chunk)"


@needs_bwrap
@pytest.mark.slow
def test_a_print_in_an_endless_loop_costs_that_cell_and_the_notebook_goes_on():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(PRINT_FOREVER),
        nbformat.v4.new_code_cell(STDERR_FLOOD),
        nbformat.v4.new_code_cell("print('after')"),
    ]
    result, record = run_sandboxed(nbformat.writes(nb), Limits(notebook_seconds=120, cell_seconds=6))
    cells = {item["index"]: item for item in map(json.loads, record.decode().splitlines()) if "index" in item}
    assert len(record) < 3 * MAX_CELL_OUTPUT, "the record holds what the runner kept, not the flood"
    assert cells[0]["status"] == "timeout" and "kept only the first 4 MB" in json.dumps(cells[0]["outputs"])
    assert "kept only the first 4 MB" in json.dumps(cells[1]["outputs"])
    assert cells[2]["status"] == "ok" and cells[2]["outputs"][0]["text"] == "after\n"
    assert len(result.stderr) <= 4000


DEEP_RESULT = """import sys
sys.setrecursionlimit(100_000)
from IPython.display import display
nested = 1
for _ in range(5000):
    nested = [nested]
display({"application/json": {"a": nested}, "text/plain": "deep"}, raw=True)"""


@needs_bwrap
def test_a_result_nested_5000_deep_costs_that_cell_and_is_named_as_such():
    """Once "the kernel could not start" and every later cell lost: the runner's JSON parser gave up."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 'before'"), nbformat.v4.new_code_cell(DEEP_RESULT)]
    nb.cells.append(nbformat.v4.new_code_cell("print(x)"))
    _, record = run_sandboxed(nbformat.writes(nb), Limits(notebook_seconds=120, cell_seconds=30))
    items = [json.loads(line) for line in record.decode().splitlines()]
    cells = {item["index"]: item for item in items if "index" in item}
    assert cells[1]["status"] == "error" and cells[1]["outputs"][0]["ename"] == "ResultTooDeep"
    assert "nested more than" in cells[1]["outputs"][0]["evalue"]
    assert cells[2]["status"] == "ok" and cells[2]["outputs"][0]["text"] == "before\n"  # replayed, then went on
    assert not any("could not start" in item.get("event", "") for item in items)


def test_the_sandboxs_stderr_is_read_to_the_end_keeping_only_its_tail():
    stream = io.BufferedReader(io.BytesIO(b"x" * 10 * 2**20 + b"the last words"))
    tail = bytearray()
    _keep_tail(stream, tail)
    assert len(tail) == 1 << 16 and tail.endswith(b"the last words")


# ---------------------------------------------------------------- time-outs that always win

IGNORES_SIGINT = """import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.05)"""
IGNORES_SIGINT_AND_SIGTERM = """import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    pass"""
BLOCKED_IN_C = """import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
read_end, write_end = os.pipe()
os.read(read_end, 1)  # blocks in the C library, with the interrupt masked"""
HONOURS_SIGINT = "while True:\n    pass"


def _run_direct(cells, cell_timeout, jupyter_path, monkeypatch):
    """Run ``cells`` with the runner itself (no sandbox: the runner's own time-out logic is under test)."""
    import os
    import threading

    from course_lib.grading.sandbox.runner import Record, _install_kernelspec, run_notebook

    _install_kernelspec(jupyter_path)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    read_fd, write_fd = os.pipe()
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(read_fd, 65536), b"")), daemon=True)
    reader.start()
    record = Record(write_fd)
    try:
        run_notebook(nb, record, cell_timeout)
    finally:
        record._out.close()
        reader.join(timeout=10)
        os.close(read_fd)
    items = [json.loads(line) for line in b"".join(chunks).decode().splitlines()]
    return {item["index"]: item for item in items if "index" in item}, [i["event"] for i in items if "event" in i]


@pytest.mark.slow
def test_a_cell_that_ignores_the_interrupt_or_blocks_it_costs_that_cell_only(tmp_path, monkeypatch):
    """SIGINT ignored, SIGINT and SIGTERM ignored, signals masked in a blocking read: each cell is stopped
    (interrupt, then the kernel is killed and replaced after a short grace) and the cells after it run."""
    cells, events = _run_direct(
        [
            "x = 41",
            IGNORES_SIGINT,
            "print(x + 1)",
            IGNORES_SIGINT_AND_SIGTERM,
            "print(x + 1)",
            BLOCKED_IN_C,
            "print(x + 1)",
            HONOURS_SIGINT,
            "print(x + 1)",
        ],
        cell_timeout=3,
        jupyter_path=tmp_path,
        monkeypatch=monkeypatch,
    )
    for index in (1, 3, 5, 7):
        assert cells[index]["status"] == "timeout", (index, cells[index])
        assert "CellTimeoutError" in json.dumps(cells[index]["outputs"])
    for index in (2, 4, 6, 8):
        assert cells[index]["status"] == "ok" and cells[index]["outputs"][0]["text"] == "42\n", (index, cells[index])
    replaced = [e for e in events if "did not respond" in e]
    assert len(replaced) == 3, events  # the loop that honours the interrupt keeps its kernel


def test_a_cells_prints_are_one_output_however_the_kernel_flushed_them(tmp_path, monkeypatch):
    """test_zygote once failed on a loaded machine: one print arrived as '9' and ' []\\n', two stream messages. The
    record joins a cell's consecutive stream outputs of one name, so it does not depend on when ipykernel flushed;
    here the flushes are forced between the parts (stderr between stdout's stays where it came)."""
    split = "import sys\nprint('a', end=''); sys.stdout.flush()\nprint('b'); sys.stdout.flush()\n"
    split += "print('e', file=sys.stderr); sys.stderr.flush()\nprint('c')"
    cells, _ = _run_direct([split], 60, tmp_path / "jupyter", monkeypatch)
    assert [(o["name"], o["text"]) for o in cells[0]["outputs"]] == [
        ("stdout", "ab\n"),
        ("stderr", "e\n"),
        ("stdout", "c\n"),
    ]
