"""CPU seconds of making a notebook of markdown tables inert, with the grader's budget and without one.

``python benchmarks/inert_budget.py --mb 20`` builds a notebook of ``--mb`` MB of markdown tables (60 KB cells),
runs :func:`course_lib.grading.task.inert.make_inert` on it with the default :class:`~course_lib.grading.task.inert.Budget`
and, with ``--unbounded``, with a budget large enough to check everything (what grading did before the budget).
"""

from __future__ import annotations

import argparse
import time

import nbformat

from course_lib.grading.task.inert import Budget, make_inert


def tables(megabytes: float):
    cell = "| a | b | c | d |\n|---|---|---|---|\n" + "".join(f"| {i} | x{i} | **y** | `z` |\n" for i in range(2000))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(cell) for _ in range(int(megabytes * 2**20 / len(cell)))]
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--unbounded", action="store_true", help="also time checking everything")
    args = parser.parse_args()
    budgets = [("budget", Budget())]
    if args.unbounded:
        budgets.append(("unbounded", Budget(max_bytes=2**40, max_piece=2**40, max_seconds=float("inf"))))
    for name, budget in budgets:
        nb = tables(args.mb)
        started = time.process_time()
        changes = make_inert(nb, budget)
        print(f"{args.mb:g} MB, {name}: {time.process_time() - started:.1f} s CPU; {changes[-1] if changes else ''}")


if __name__ == "__main__":
    main()
