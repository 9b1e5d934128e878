"""Print how long each solution notebook takes to run top to bottom on this machine.

    python benchmarks/notebooks.py [--quick] [NOTEBOOK_GLOB]

--quick runs with the grading budget (COURSE_QUICK=1), as `course grade` does.  Targets: notebook 01
<= 30 s, every other notebook <= 60 s (full budget, a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET = {"01_sequence_data": 30.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pattern", nargs="?", default="*")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        os.environ["COURSE_QUICK"] = "1"
    print(f"{'notebook':<28}{'seconds':>9}{'target':>8}  {'mode'}")
    worst = 0
    for path in sorted((ROOT / "solutions").glob(f"{args.pattern}/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        seconds = time.perf_counter() - started
        target = TARGET.get(path.stem, 60.0)
        worst |= seconds > target and not args.quick
        print(f"{path.stem:<28}{seconds:>9.1f}{target:>8.0f}  {'quick' if args.quick else 'full'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
