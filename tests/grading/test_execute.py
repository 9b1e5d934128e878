"""Does a cell that floods its output cost that cell only, and never the grader's memory?"""

from __future__ import annotations

import io
import json

import nbformat
import pytest

from course_lib.grading.execute import MAX_CELL_OUTPUT
from course_lib.grading.sandbox import Limits, _keep_tail, run_sandboxed
from tests.grading.conftest import needs_bwrap

PRINT_FOREVER = "i = 0\nwhile True:\n    print('loss', i, 'x' * 200)\n    i += 1"
STDERR_FLOOD = "import os\nchunk = b'y' * 2**20\nfor _ in range(300):\n    os.write(2, chunk)"


@needs_bwrap
@pytest.mark.slow
def test_a_print_in_an_endless_loop_costs_that_cell_and_the_notebook_goes_on():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(PRINT_FOREVER), nbformat.v4.new_code_cell(STDERR_FLOOD),
                nbformat.v4.new_code_cell("print('after')")]
    result, record = run_sandboxed(nbformat.writes(nb), Limits(notebook_seconds=120, cell_seconds=6))
    cells = {item["index"]: item for item in map(json.loads, record.decode().splitlines()) if "index" in item}
    assert len(record) < 3 * MAX_CELL_OUTPUT, "the record holds what the runner kept, not the flood"
    assert cells[0]["status"] == "error" and "kept only the first 4 MB" in json.dumps(cells[0]["outputs"])
    assert "kept only the first 4 MB" in json.dumps(cells[1]["outputs"])
    assert cells[2]["status"] == "ok" and cells[2]["outputs"][0]["text"] == "after\n"
    assert len(result.stderr) <= 4000


def test_the_sandboxs_stderr_is_read_to_the_end_keeping_only_its_tail():
    stream = io.BufferedReader(io.BytesIO(b"x" * 10 * 2**20 + b"the last words"))
    tail = bytearray()
    _keep_tail(stream, tail)
    assert len(tail) == 1 << 16 and tail.endswith(b"the last words")
