"""Record the article's sentiment pipeline for notebooks 04 and 05: writes ``article_pipeline.pt`` in course_lib/data/files/.

:func:`course_lib.article.pipeline.record_pipeline` runs ``run_pipeline`` (8 copies, 1000 epochs, seed 0, H = 4:
the article's SGD loop, one sentence at a time, on one thread) for SimpleRNN, SimpleLSTM and SimpleGRU and saves
each run's loss per epoch and copy, its accuracies on the three claim sets, its training seconds and its trained
weights; :func:`course_lib.article.pipeline.recorded_pipeline` reads them back.  About 20 s on a quiet 2-core machine.

Usage: python tools/record_article_pipeline.py [--epochs N] [--out DIR]     (--epochs 2 --out /tmp: test the script)
"""

from __future__ import annotations

import argparse
import pathlib

import torch

from course_lib.article import SimpleGRU, SimpleLSTM, SimpleRNN
from course_lib.article.pipeline import RECORDED, record_pipeline

FILES = pathlib.Path(__file__).resolve().parents[1] / "course_lib" / "data" / "files"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--out", type=pathlib.Path, default=FILES)
    args = parser.parse_args()
    torch.set_num_threads(1)
    record = record_pipeline((SimpleRNN, SimpleLSTM, SimpleGRU), args.out / RECORDED, epochs=args.epochs)
    for name, run in record["runs"].items():
        print(f"{name}: {run['seconds']:.1f} s, median loss at the last epoch {run['loss'][-1].median():.4f}")
    print(f"wrote {args.out / RECORDED}")


if __name__ == "__main__":
    main()
