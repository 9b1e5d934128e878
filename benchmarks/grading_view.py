"""Print what the grading view costs: building it, its size, and importing the checks with it in a kernel.

    python benchmarks/grading_view.py [--repeats 5]

The view (course_lib/grading/task/view.py) is built once per course_lib digest and cached; every learner kernel
under ``course grade`` then imports ``course_lib.checks`` from it instead of from the real package.  The
import is timed in a fresh interpreter with a copy of course_lib whose ``checks`` is the view (what the
sandbox mounts), beside the same import of the real package.  Also printed: the probe's inputs (the cases
the grader makes for each notebook on two seeds) in seconds and bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import course_lib  # noqa: E402
from course_lib.checks import EXERCISES, MODULES  # noqa: E402
from course_lib.checks.core import HIDDEN_SEED, VISIBLE_SEED  # noqa: E402
from course_lib.grading.kernel.probe import probe_inputs  # noqa: E402
from course_lib.grading.task.view import audit, build_view  # noqa: E402

IMPORT = (
    "import time; t = time.perf_counter(); import course_lib.checks; print(time.perf_counter() - t); "
    "print(course_lib.checks.__file__)"
)


def _import_seconds(pythonpath: Path, repeats: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import numpy, torch; " + IMPORT  # torch and numpy first: the figure is the checks' own import
    seconds = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=pythonpath.parent
        )  # not the repository: its course_lib would come first
        took, where = out.stdout.split()
        assert Path(where).is_relative_to(pythonpath), f"imported {where}, not the copy under {pythonpath}"
        seconds.append(float(took))
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        view = Path(tmp) / "view" / "checks"
        started = time.perf_counter()
        build_view(view)
        built = time.perf_counter() - started
        started = time.perf_counter()
        audit(view)
        audited = time.perf_counter() - started
        size = sum(p.stat().st_size for p in view.rglob("*") if p.is_file())
        print(
            f"view: built and audited in {built:.2f} s (the audit alone {audited:.2f} s), "
            f"{size / 1024:.0f} KiB in {sum(1 for p in view.rglob('*') if p.is_file())} files"
        )

        shadow = Path(tmp) / "shadow"
        shutil.copytree(
            Path(course_lib.__file__).parent, shadow / "course_lib", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.rmtree(shadow / "course_lib" / "checks")
        shutil.copytree(view, shadow / "course_lib" / "checks")
        real = _import_seconds(ROOT, args.repeats)
        viewed = _import_seconds(shadow, args.repeats)
        print(
            f"import course_lib.checks (median of {args.repeats}): real {real * 1e3:.0f} ms, "
            f"grading view {viewed * 1e3:.0f} ms"
        )

    seeds = [(VISIBLE_SEED, False), (HIDDEN_SEED, True)]
    for module in MODULES:
        keys = [key for key in EXERCISES if key.startswith(f"{module}.")]
        started = time.perf_counter()
        text, _ = probe_inputs(keys, lambda exercise: seeds)
        print(
            f"probe inputs of {module}: {len(keys)} exercises, {time.perf_counter() - started:.2f} s, "
            f"{len(text) / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
