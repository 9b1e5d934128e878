"""Print how long each solution notebook takes to run top to bottom on this machine: wall and CPU seconds.

    python benchmarks/notebooks.py [--quick] [--skip] [--threads N] [--repeat N] [--cells N] [--markdown FILE] [NOTEBOOK_GLOB]

--quick runs with the grading budget (COURSE_QUICK=1), as `course grade` does.  Targets: notebook 01
<= 30 s, every other notebook <= 60 s (full budget, wall, a quiet 2-core machine).

CPU seconds are the kernel's: user + system time of the kernel process and of its children that it waited
for, read with psutil on the kernel's pid from this process (nothing is added to the notebook).  On a machine
shared with other jobs the wall time grows with the load.  The CPU time grows too, less: torch's two OpenMP
threads spin while they wait for each other, and spinning counts as CPU (under a load of 20 on 2 cores one
training step of notebook 02's live run cost 0.99 CPU s with two threads and 0.18 with one).  --threads 1 runs
the kernel with OMP_NUM_THREADS=1: its CPU seconds are then the work itself, about the wall time of a quiet
machine's single thread, an upper bound for two.

On a shared (virtual) machine the same notebook has measured 20 to 50 % apart from one run to the next, the CPU
seconds as well as the wall; --repeat N runs each notebook N times (one after the other) and prints every run
and their median, and the "steal %" column gives the share of the machine's CPU time the hypervisor gave to
other guests during the run (Linux's /proc/stat; "-" elsewhere).

--skip leaves out the cells the course marks ``{"course": {"grading": "skip"}}`` (as ``course grade`` does, see
course_lib.skippable), to measure what grading costs with the marks honoured.

--cells N prints, under each notebook, its N most expensive cells (index, nbgrader grade_id or first line,
wall, CPU, and its role under grading: a graded test cell, a cell a graded test reads names of (directly or
through other cells; course_lib.skippable.graded_dependencies), a cell the course marks skippable, or none); --cells 0 prints every
code cell.  --markdown FILE also writes those per-cell tables as Markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from course_lib.skippable import graded_dependencies, is_marked_skip

ROOT = Path(__file__).resolve().parents[1]
TARGET = {"01_sequence_data": 30.0}


def cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot, from /proc/stat; None where there is none."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal (guest is inside user)
    return ticks[7], sum(ticks)


def steal_percent(before: tuple[int, int] | None, after: tuple[int, int] | None) -> str:
    """The share of CPU time stolen by the hypervisor between two cpu_ticks() readings, formatted."""
    if before is None or after is None or after[1] == before[1]:
        return "-"
    return f"{100 * (after[0] - before[0]) / (after[1] - before[1]):.1f}"


def kernel_cpu_seconds(process: psutil.Process) -> float:
    """user + system seconds of ``process`` and of its waited-for children."""
    t = process.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


class ProfiledClient(NotebookClient):
    """A NotebookClient that records wall and kernel CPU seconds of every code cell (nbclient's cell hooks)."""

    def __init__(self, nb, **kwargs):
        super().__init__(nb, on_cell_execute=self._cell_starts, on_cell_executed=self._cell_ends, **kwargs)
        self.cell_costs: dict[int, tuple[float, float]] = {}
        self._kernel: psutil.Process | None = None
        self._started: tuple[float, float] = (0.0, 0.0)

    def kernel_process(self) -> psutil.Process:
        if self._kernel is None:
            self._kernel = psutil.Process(self.km.provisioner.process.pid)
        return self._kernel

    def cpu(self) -> float:
        return kernel_cpu_seconds(self.kernel_process())

    def _cell_starts(self, cell, cell_index, **_) -> None:
        self._started = (time.perf_counter(), self.cpu())

    def _cell_ends(self, cell, cell_index, **_) -> None:
        wall0, cpu0 = self._started
        self.cell_costs[cell_index] = (time.perf_counter() - wall0, self.cpu() - cpu0)


def cell_label(cell) -> str:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    label = f"[{grade_id}] {first}" if grade_id else first
    return label[:60].replace("|", "\\|")


def run(path: Path, skip: bool = False) -> tuple[float, float, ProfiledClient]:
    """Execute the notebook at ``path`` (in its folder); return (wall s, kernel CPU s, the client)."""
    nb = nbformat.read(path, as_version=4)
    client = ProfiledClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    with client.setup_kernel():
        cpu0 = client.cpu()  # the kernel's start-up (imports of ipykernel) is not the notebook's
        client.nb.metadata.pop("widgets", None)
        for index, cell in enumerate(client.nb.cells):
            if not (skip and is_marked_skip(cell)):
                client.execute_cell(cell, index)
        cpu = client.cpu() - cpu0
    return time.perf_counter() - started, cpu, client


def cell_table(path: Path, client: ProfiledClient, top: int) -> list[tuple[int, str, float, float, str]]:
    rows = []
    needed = graded_dependencies(client.nb)
    for index, (wall, cpu) in client.cell_costs.items():
        cell = client.nb.cells[index]
        role = (
            "graded test"
            if cell.metadata.get("nbgrader", {}).get("grade")
            else "a grade reads it"
            if index in needed
            else "skip under grading"
            if is_marked_skip(cell)
            else ""
        )
        rows.append((index, cell_label(cell), wall, cpu, role))
    rows.sort(key=lambda r: -r[3])
    return rows if top == 0 else rows[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", nargs="?", default="*")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", action="store_true", help="leave out the cells marked skippable under grading")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the kernel")
    parser.add_argument("--repeat", type=int, default=1, help="run each notebook N times; print each and the median")
    parser.add_argument("--cells", type=int, default=None, help="print the N most expensive cells (0: all)")
    parser.add_argument("--markdown", type=Path, default=None, help="write the per-cell tables to this file")
    args = parser.parse_args()
    if args.quick:
        os.environ["COURSE_QUICK"] = "1"
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the kernel inherits it; torch reads it at import
    mode = (
        ("quick" if args.quick else "full")
        + ("+skip" if args.skip else "")
        + (f" {args.threads}T" if args.threads else "")
    )
    print(
        f"{'notebook':<28}{'wall s':>9}{'CPU s':>9}{'target':>8}{'steal %':>9}  mode   "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    markdown = [f"# Notebook cost per cell ({mode} budget)\n"]
    for path in sorted((ROOT / "solutions").glob(f"{args.pattern}/*.ipynb")):
        target = TARGET.get(path.stem, 60.0)
        walls, cpus = [], []
        for attempt in range(1, args.repeat + 1):
            ticks = cpu_ticks()
            wall, cpu, client = run(path, args.skip)
            steal = steal_percent(ticks, cpu_ticks())
            walls.append(wall)
            cpus.append(cpu)
            name = path.stem if args.repeat == 1 else f"{path.stem} #{attempt}"
            print(f"{name:<28}{wall:>9.1f}{cpu:>9.1f}{target:>8.0f}{steal:>9}  {mode}", flush=True)
        if args.repeat > 1:
            median = f"{path.stem} median"
            print(
                f"{median:<28}{statistics.median(walls):>9.1f}{statistics.median(cpus):>9.1f}{target:>8.0f}", flush=True
            )
        if args.cells is not None or args.markdown:
            rows = cell_table(path, client, args.cells or 0)
            if args.cells is not None:
                for index, label, cell_wall, cell_cpu, course in rows:
                    print(f"    cell {index:>3}  {cell_wall:>6.1f} s {cell_cpu:>6.1f} CPU s  {label}  {course}")
            markdown += [
                f"\n## {path.stem}: {wall:.1f} s wall, {cpu:.1f} s CPU\n",
                "| cell | wall s | CPU s | role under grading | first line |",
                "|---:|---:|---:|---|---|",
            ]
            markdown += [f"| {i} | {w:.2f} | {c:.2f} | {k} | `{lab}` |" for i, lab, w, c, k in rows]
    if args.markdown:
        args.markdown.write_text("\n".join(markdown) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
