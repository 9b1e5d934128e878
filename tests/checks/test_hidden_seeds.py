"""Does every check accept the solution notebook's code on *any* hidden seed?

``course grade`` draws each student's hidden seed from the course secret, so a check is run on seeds no
other test ever chose.  A case generator that can, on an unlucky seed, make a correct answer look like a
named mistake (a batch with no padding, two "wrong" formulas that agree) costs a student points for right
code.  Here each solution notebook runs in a real kernel (quick training budget); then one extra cell
sends every exercise's function through the grading path -- run the cases, encode the results as plain
data, JSON, decode, judge -- on many seeds spread over the 31-bit range the grader draws from.

40 seeds per exercise run in CI; a rarer flake needs a wider sweep before a release:
``COURSE_HIDDEN_SEEDS=1000 pytest tests/checks/test_hidden_seeds.py``.
"""

from __future__ import annotations

import hashlib
import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.checks import checks_module
from course_lib.grading.task.judge import test_exercise as exercise_of  # renamed: pytest would collect test_*
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
SEEDS = int(os.environ.get("COURSE_HIDDEN_SEEDS", "40"))
# The seeds: fixed (a failure is reproducible), unrelated to the visible and default hidden seeds.
SEED_LIST = [
    int.from_bytes(hashlib.sha256(f"hidden-seed-{i}".encode()).digest()[:4], "big") & 0x7FFFFFFF for i in range(SEEDS)
]

SWEEP = """
import contextlib, io, json
from course_lib.checks import EXERCISES
from course_lib.checks.core import CheckFailure, decode_plain, encode_results, run_cases
failures = {{}}
for key in {keys!r}:
    spec = EXERCISES[key]
    for seed in {seeds!r}:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                results = run_cases(spec, globals()[spec.function], spec.cases(seed, True))
            results = decode_plain(json.loads(json.dumps(encode_results(results))))
            spec.judge(spec.cases(seed, True), results)
        except CheckFailure as failure:
            failures.setdefault(key, []).append([seed, str(failure)[:400]])
print(json.dumps(failures))
"""


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_check_on_many_hidden_seeds(assignment, monkeypatch):
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    module = checks_module(assignment)
    keys = [f"{module}.{name}" for name in map(exercise_of, nb.cells) if name]
    assert keys, f"{assignment} has no graded test cells"
    nb.cells = [c for c in nb.cells if c.cell_type == "code" and not exercise_of(c)]
    nb.cells.append(nbformat.v4.new_code_cell(SWEEP.format(keys=keys, seeds=SEED_LIST)))
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(
        nb, timeout=600 + 3 * SEEDS, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    failures = json.loads(printed.strip().splitlines()[-1])
    assert not failures, "a correct answer failed on a hidden seed:\n" + "\n".join(
        f"{key} seed {seed}: {message}" for key, found in failures.items() for seed, message in found[:3]
    )
