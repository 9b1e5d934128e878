"""Print the CPU each solution notebook costs in the grading sandbox, its kernel started cold vs forked warm.

    python benchmarks/warm_kernels.py [01_sequence_data ...] [--repeats 1] [--start-up]

Each notebook runs through :func:`course_lib.grading.task.bwrap.run_sandboxed` (bubblewrap, the grading
limits, the grading view of the checks) once as ``course grade`` runs it (cold kernels) and once with
``--warm-kernels`` (the zygote of :mod:`course_lib.grading.sandbox.zygote`).  The figure is the runner's own ``executed in ... (CPU ...)``
event: ``RUSAGE_SELF + RUSAGE_CHILDREN`` of the runner, so the kernel's and (warm) the zygote's CPU, not the
sandbox's start or bubblewrap.  CPU, not wall time, is the figure to read on a shared machine.

``--start-up`` runs, instead, a notebook that only imports what the notebooks import (torch, ``torch.optim``,
``torch._dynamo``, pyplot) and kills its kernel twice (``os._exit``): three kernels in one runner, what a
sandbox running several notebooks (or replacing dead kernels) starts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import course_lib.grading.task.bwrap as bwrap  # noqa: E402 -- after the sys.path line above

EXECUTED = re.compile(r"executed in ([\d.]+) s \(CPU ([\d.]+) s\)")


IMPORTS = "import torch, torch.optim, torch._dynamo\nimport matplotlib.pyplot as plt"
START_UP = [IMPORTS, "import os\nos._exit(1)", "x = 1", "import os\nos._exit(1)", "x = 2"]


def run(nb, cold: bool) -> tuple[float, float, list[str]]:
    """(wall, CPU) of the runner's execution, and the other events of the record."""
    runner = bwrap._runner
    if not cold:
        bwrap._runner = lambda *args: runner(*args) + ["--warm-kernels"]
    try:
        _, record = bwrap.run_sandboxed(nbformat.writes(nb), bwrap.Limits(notebook_seconds=900, cell_seconds=300))
    finally:
        bwrap._runner = runner
    events = [item["event"] for item in map(json.loads, record.decode().splitlines()) if "event" in item]
    found = [EXECUTED.match(e) for e in events if EXECUTED.match(e)]
    if not found:
        raise RuntimeError(f"no execution event in {events}")
    return float(found[0][1]), float(found[0][2]), [e for e in events if not EXECUTED.match(e)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=sorted(p.name for p in (ROOT / "solutions").iterdir()))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--start-up", action="store_true", help="three kernels of imports only, in one runner")
    args = parser.parse_args()
    if args.start_up:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in START_UP]
        notebooks = {"start-up, 3 kernels": nb}
    else:
        notebooks = {
            name: nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4) for name in args.assignments
        }
    totals = {"cold": 0.0, "warm": 0.0}
    print(f"{'notebook':<24} {'cold CPU s':>10} {'warm CPU s':>10} {'cold wall s':>11} {'warm wall s':>11}")
    for assignment, notebook in notebooks.items():
        for _ in range(args.repeats):
            cold_wall, cold_cpu, cold_events = run(notebook, cold=True)
            warm_wall, warm_cpu, warm_events = run(notebook, cold=False)
            totals["cold"] += cold_cpu
            totals["warm"] += warm_cpu
            print(
                f"{assignment:<24} {cold_cpu:>10.1f} {warm_cpu:>10.1f} {cold_wall:>11.1f} {warm_wall:>11.1f}",
                flush=True,
            )
            for event in cold_events + warm_events:
                print(f"  event: {event}")
    print(f"{'total':<24} {totals['cold']:>10.1f} {totals['warm']:>10.1f}")


if __name__ == "__main__":
    main()
