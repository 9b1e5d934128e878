"""Train notebook 02's Tang-corpus models: writes ``tang_gru.pt`` and ``tang_curves.json`` in course_lib/data/files/.

The runs are :func:`course_lib.tang_runs.tang_runs` (memorise the 72 course poems, dropout on 1,000 poems,
the corpus model); the corpus model is saved in float16 with its vocabulary and how it was trained.
One CPU thread per process, seed 0; with ``--jobs 4`` (four processes) the shipped files took 51 minutes on a shared,
heavily loaded 2-core machine.

Usage: python tools/train_tang_gru.py [--epochs N] [--out DIR]     (--epochs 1 --out /tmp: test the script)
"""

from __future__ import annotations

import argparse
import json
import pathlib

import torch

from course_lib.charlm import CHECKPOINT, CURVES, save_checkpoint
from course_lib.data.tang import tang_vocab
from course_lib.tang_runs import tang_runs

FILES = pathlib.Path(__file__).resolve().parents[1] / "course_lib" / "data" / "files"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="override every run's number of epochs")
    parser.add_argument("--out", type=pathlib.Path, default=FILES)
    parser.add_argument("--jobs", type=int, default=1, help="run the four runs in this many processes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    curves, model = tang_runs(args.epochs, jobs=args.jobs)
    corpus = curves["corpus"]
    info = {
        "trained_by": "tools/train_tang_gru.py (course_lib.tang_runs)",
        "settings": curves["settings"]["corpus"],
        "epochs": corpus["epoch"][-1],
        "minutes": corpus["minutes"],
        "valid_ppl": corpus["valid"][-1],
        "test_ppl": corpus["test"],
        "torch": curves["torch"],
        "date": curves["date"],
    }
    save_checkpoint(model, tang_vocab(), info, args.out / CHECKPOINT)
    (args.out / CURVES).write_text(json.dumps(curves, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"wrote {args.out / CHECKPOINT} ({(args.out / CHECKPOINT).stat().st_size / 1e6:.2f} MB) and "
        f"{args.out / CURVES}; corpus model: valid ppl {info['valid_ppl']:.1f}, test ppl {info['test_ppl']:.1f}"
    )


if __name__ == "__main__":
    main()
