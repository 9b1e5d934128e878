"""Print the article's poem model trained as published (one SGD step per window) next to the batched run.

    python benchmarks/article_poem.py [--epochs 500]

"From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" trains its two-layer
(24 -> 12) character RNN with one SGD step per 10-character window: 86 windows x 500 epochs = 43,000 steps
on the four prefix poems, too slow for notebook 02's budget.  The notebook moves all windows in one step on
the *sum* of their losses.  This script runs both and prints the mean window loss every 100 epochs, the
seconds each took, and the four continuations, as published and reading each prefix character once.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_lib.article import TwoLayerRNN, build_data, generate, train_poem_rnn
from course_lib.data.poems import PREFIXES, poem_by_prefix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500)
    args = parser.parse_args()
    text = "".join(poem_by_prefix(prefix).text for prefix in PREFIXES)
    chars = sorted(set(text))
    inputs, targets = build_data(text, 10, chars)
    print(f"{len(text)} characters, V = {len(chars)}, {len(inputs)} windows of 10, {args.epochs} epochs")
    for label, batch_size in (("one window per step (the article)", 1), ("all windows per step, summed", len(inputs))):
        model = TwoLayerRNN(len(chars), 24, 12, generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        loss = train_poem_rnn(model, inputs, targets, epochs=args.epochs, lr=0.015, batch_size=batch_size)
        seconds = time.perf_counter() - start
        every = range(99, args.epochs, 100)
        print(
            f"\n{label}: {seconds:.1f} s; loss at epochs {[e + 1 for e in every]}: "
            f"{' '.join(f'{loss[e]:.4f}' for e in every)}"
        )
        for prefix in PREFIXES:
            print(
                f"  {prefix}: {generate(model, prefix, chars)}   read once: "
                f"{generate(model, prefix, chars, as_published=False)}"
            )


if __name__ == "__main__":
    main()
