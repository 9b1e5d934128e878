"""The article's sentiment pipeline run for several models at once, and the claims it makes about them.

"From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" says that "longer or
contradictory sentences expose the RNN's limitation", that its SimpleLSTM on "the same sentiment-analysis
pipeline" yields "higher accuracy on longer or contradictory sentences", and that its SimpleGRU "achieves
performance comparable to LSTM".  It shows no numbers for any of the three.  :func:`run_pipeline` trains
each model exactly as the article trains its SimpleRNN (six sentences, one-hot, H = 4, SGD lr 0.1 one
sentence at a time, 1000 epochs), K copies with different initial weights, and scores every copy on
the article's six sentences and on the longer and contradictory sentences built from its vocabulary
(:mod:`course_lib.data.sentiment`).  :func:`plot_pipeline` draws the loss curves and the accuracies.

Eight copies of 1000 epochs cost seconds per model (6000 SGD steps of a few dozen small operations each), so
notebooks 04 and 05 read the runs recorded by ``tools/record_article_pipeline.py`` (:func:`record_pipeline`:
``run_pipeline`` of each model with the defaults above, the loss curves, accuracies, seconds and trained weights
saved to ``files/article_pipeline.pt``) through :func:`recorded_pipeline`, and train live only when asked to.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import pathlib
import time

import matplotlib.pyplot as plt
import torch

from course_lib.article.classifiers import accuracy, train_article
from course_lib.data.sentiment import (
    ARTICLE_VOCAB,
    Example,
    article_contrast,
    article_pairs,
    article_sentiment,
)

__all__ = [
    "RECORDED",
    "PipelineRun",
    "claim_sets",
    "plot_pipeline",
    "record_pipeline",
    "recorded_pipeline",
    "run_pipeline",
]

RECORDED = "article_pipeline.pt"  # in course_lib/data/files/, written by tools/record_article_pipeline.py


def claim_sets() -> dict[str, list[Example]]:
    """The sentences each model is scored on: its training set, then the two kinds the article names."""
    return {
        "the six training sentences": article_sentiment(),
        "longer (two clauses, 4 words)": article_pairs(),
        "contradictory (A 但 B, 5 words)": article_contrast(),
    }


@dataclasses.dataclass
class PipelineRun:
    """One model class trained on the article's pipeline: loss (epochs, K), accuracy per set (K,), seconds."""

    name: str
    model: torch.nn.Module
    loss: torch.Tensor
    accuracy: dict[str, torch.Tensor]
    seconds: float
    recorded: bool = False  # True: read from files/article_pipeline.pt, trained (and timed) when it was recorded

    def summary(self) -> str:
        """One line per set: the mean accuracy of the K copies, and their range."""
        return "\n".join(
            f"  {self.name:<11}{name:<33} mean {acc.mean():4.0%}   copies {acc.min():4.0%} to {acc.max():4.0%}"
            for name, acc in self.accuracy.items()
        )


def _copies_of(model_class, hidden_dim: int, copies: int, generator: torch.Generator):
    """``copies`` models of ``model_class`` on the article's vocabulary, two classes (negative, positive)."""
    return model_class(len(ARTICLE_VOCAB), hidden_dim, 2, copies=copies, generator=generator)


def run_pipeline(model_class, copies: int = 8, epochs: int = 1000, seed: int = 0, hidden_dim: int = 4) -> PipelineRun:
    """Train ``copies`` models of ``model_class`` as the article trains its SimpleRNN; score them on :func:`claim_sets`."""
    model = _copies_of(model_class, hidden_dim, copies, torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    loss = train_article(model, article_sentiment(), epochs=epochs, lr=0.1)
    seconds = time.perf_counter() - start
    scores = {name: accuracy(model, examples) for name, examples in claim_sets().items()}
    return PipelineRun(model_class.__name__, model, loss, scores, seconds)


def record_pipeline(
    model_classes, path: pathlib.Path, copies: int = 8, epochs: int = 1000, seed: int = 0, hidden_dim: int = 4
) -> dict:
    """Run :func:`run_pipeline` for each of ``model_classes`` and save the runs (weights included) to ``path``."""
    runs = {}
    for model_class in model_classes:
        run = run_pipeline(model_class, copies=copies, epochs=epochs, seed=seed, hidden_dim=hidden_dim)
        runs[run.name] = {
            "loss": run.loss,
            "accuracy": run.accuracy,
            "seconds": run.seconds,
            "state": run.model.state_dict(),
        }
    record = {
        "copies": copies,
        "epochs": epochs,
        "seed": seed,
        "hidden_dim": hidden_dim,
        "torch": str(torch.__version__),
        "runs": runs,
    }
    torch.save(record, path)
    return record


def recorded_pipeline(model_class) -> PipelineRun:
    """The recorded ``run_pipeline(model_class)`` (8 copies, 1000 epochs, seed 0): what it returned, trained weights
    included, without spending the seconds of training (``seconds`` is the recording's).  Touches no random
    generator."""
    source = importlib.resources.files("course_lib.data").joinpath("files", RECORDED)
    with importlib.resources.as_file(source) as path:
        record = torch.load(path, weights_only=True)
    run = record["runs"][model_class.__name__]
    # initial weights from a generator of its own (torch's is left alone), then replaced by the recorded ones
    model = _copies_of(model_class, record["hidden_dim"], record["copies"], torch.Generator())
    model.load_state_dict(run["state"])
    model.eval()
    return PipelineRun(model_class.__name__, model, run["loss"], dict(run["accuracy"]), run["seconds"], recorded=True)


def plot_pipeline(runs: list[PipelineRun], title: str = "the article's pipeline") -> plt.Figure:
    """Left: training loss per epoch (median of the copies, band from best to worst).  Right: accuracy per set."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    sets = list(runs[0].accuracy)
    width = 0.8 / len(runs)
    for k, run in enumerate(runs):
        epochs = torch.arange(1, len(run.loss) + 1)
        left.fill_between(epochs, run.loss.min(dim=1).values, run.loss.max(dim=1).values, color=f"C{k}", alpha=0.2)
        left.plot(epochs, run.loss.median(dim=1).values, color=f"C{k}", label=run.name)
        means = [float(run.accuracy[s].mean()) for s in sets]
        low = [m - float(run.accuracy[s].min()) for m, s in zip(means, sets)]
        high = [float(run.accuracy[s].max()) - m for m, s in zip(means, sets)]
        positions = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(sets))]
        right.bar(positions, means, width, yerr=[low, high], color=f"C{k}", capsize=3, label=run.name)
    left.axhline(0.0007, color="0.5", ls=":", label="article's RNN loss at epoch 1000")
    left.set(xscale="log", yscale="log", xlabel="epoch", ylabel="NLL (mean over the six)", title=title)
    left.legend(fontsize=8)
    right.axhline(0.5, color="0.5", ls=":")
    right.set_xticks(range(len(sets)), [s.split(" (")[0] for s in sets])
    right.set(ylim=(0, 1.05), ylabel="accuracy (mean; bars: worst to best copy)", title="accuracy of each copy")
    right.legend(fontsize=8)
    return fig
