"""Print what judging one huge result costs the grader: peak memory (RSS) above the record itself, and time.

    python benchmarks/judge_memory.py [--mb 42]

A learner's probe answers with as much tensor data as the runner lets through (MAX_PROBE_OUTPUT of JSON:
about 32 MB of float32 in base64, split over the visible and the hidden run).  The record is written to a
file; a fresh process reads it (its baseline), then runs what the grader runs on it --
:func:`course_lib.grading.task.judge.merge_record` and :func:`judge_cell` -- and reports its peak RSS above the
baseline, as a multiple of the record's size.  Nothing is asserted: these are figures to compare.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXERCISE = "nb01_sequence_data.embedding_grad"


def _record(path: Path, megabytes: float, kind: str) -> None:
    import numpy as np

    from course_lib.checks import EXERCISES
    from course_lib.checks.core import HIDDEN_SEED, VISIBLE_SEED, encode_plain
    from course_lib.grading.kernel.probe import MIME

    spec = EXERCISES[EXERCISE]
    seeds = [(VISIBLE_SEED, False), (HIDDEN_SEED, True)]
    per_run = int(megabytes * 2**20 * 3 / 4 / len(seeds)) // 4  # float32 values whose base64 fills ``megabytes``
    runs = []
    for seed, hidden in seeds:
        first = next(iter(spec.cases(seed, hidden)))
        if kind == "array":
            huge = encode_plain(np.arange(per_run, dtype=np.float32))
        elif kind == "list":  # plain JSON numbers: "0.5, " is 5 characters of text, a 24-byte float and a pointer
            huge = {"__seq__": "list", "items": [0.5] * int(megabytes * 2**20 / len(seeds) / 5)}
        else:  # empty lists: "[], " is 4 characters of text and a 56-byte list plus a pointer
            huge = {"__seq__": "list", "items": [[]] * int(megabytes * 2**20 / len(seeds) / 4)}
        runs.append({"seed": seed, "hidden": hidden, "results": {"__dict__": [[first, huge]]}})
    item = {
        "index": 1,
        "status": "ok",
        "outputs": [{"output_type": "display_data", "data": {MIME: {"exercise": EXERCISE, "runs": runs}}}],
    }
    lines = [json.dumps({"index": 0, "status": "ok", "outputs": []}), json.dumps(item), json.dumps({"event": "done"})]
    path.write_bytes(("\n".join(lines) + "\n").encode())


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def _child(path: Path) -> None:
    import nbformat

    from course_lib.checks.core import HIDDEN_SEED, VISIBLE_SEED
    from course_lib.grading.task.judge import judge_cell, merge_record

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("probe")]
    record = path.read_bytes()
    baseline = _rss_mb()
    started = time.perf_counter()
    probes, _ = merge_record(nb, record, {1: EXERCISE})
    del record  # the preprocessor no longer needs it either
    verdict = judge_cell(
        "test_embedding_grad", EXERCISE, probes.get(1), [(VISIBLE_SEED, False), (HIDDEN_SEED, True)], ""
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "seconds": seconds, "verdict": verdict.message[:120]}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=42, help="megabytes of base64 tensor data in the probe's answer")
    parser.add_argument(
        "--kind",
        choices=["array", "list", "nested", "all"],
        default="all",
        help="the result as one base64 array, a JSON list of numbers, or of empty lists",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child))
        return 0
    for kind in ("array", "list", "nested") if args.kind == "all" else (args.kind,):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "record.jsonl"
            _record(path, args.mb, kind)
            size = path.stat().st_size / 2**20
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
        extra = figures["peak_mb"] - figures["baseline_mb"]
        print(
            f"{kind:6s} record: {size:.1f} MB; judging it: peak RSS {figures['peak_mb']:.0f} MB, {extra:.0f} MB above "
            f"the process holding the record ({extra / size:.1f}x the record), {figures['seconds']:.1f} s"
        )
        print(f"       verdict: {figures['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
