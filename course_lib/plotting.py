"""The figures the notebooks draw: loss curves, series, heatmaps and log-scale norm curves.

The diagrams of the cells and of the encoder-decoder live in :mod:`course_lib.diagrams` and are re-exported here.

Each function draws on a given ``ax`` (or a new figure) and returns the axes, so notebooks can combine
them.  Chinese labels need a CJK font; :func:`cjk_font` finds one if installed and the plots fall back
to the English translation otherwise (no missing-glyph boxes).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager

from course_lib.diagrams import encoder_decoder_diagram, gru_cell_diagram, lstm_cell_diagram

__all__ = [
    "new_axes",
    "plot_losses",
    "plot_series",
    "heatmap",
    "plot_log_curves",
    "cjk_font",
    "lstm_cell_diagram",
    "gru_cell_diagram",
    "encoder_decoder_diagram",
]

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)


def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FAMILIES if name in installed), None)


def new_axes(ax: plt.Axes | None = None, figsize: tuple[float, float] = (6, 3.5)) -> plt.Axes:
    """``ax`` itself, or the axes of a new figure."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def plot_losses(
    curves: dict[str, Sequence[float]],
    ax: plt.Axes | None = None,
    title: str = "training loss",
    xlabel: str = "step",
    log: bool = False,
    baseline: float | None = None,
    baseline_label: str = "baseline",
) -> plt.Axes:
    """One line per named loss curve; an optional horizontal baseline (e.g. a trivial predictor)."""
    ax = new_axes(ax)
    for name, values in curves.items():
        ax.plot(_numpy(values), label=name)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label=baseline_label)
    if log:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel="loss")
    ax.legend()
    return ax


def plot_series(
    series: dict[str, Sequence[float]], ax: plt.Axes | None = None, title: str = "", xlabel: str = "t"
) -> plt.Axes:
    """Several series over time on one axes."""
    ax = new_axes(ax, (7, 3))
    for name, values in series.items():
        ax.plot(_numpy(values), label=name)
    ax.set(title=title, xlabel=xlabel)
    ax.legend()
    return ax


def heatmap(
    matrix,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    ax: plt.Axes | None = None,
    title: str = "",
    cmap: str = "viridis",
    colorbar: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> plt.Axes:
    """A matrix as an image, rows top to bottom, with optional tick labels (gates over time, attention)."""
    data = _numpy(matrix)
    ax = new_axes(ax, (max(4, 0.35 * data.shape[1] + 2), max(2.5, 0.35 * data.shape[0] + 1)))
    image = ax.imshow(data, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    font = cjk_font()
    for labels, set_ticks, set_labels, n in (
        (xlabels, ax.set_xticks, ax.set_xticklabels, data.shape[1]),
        (ylabels, ax.set_yticks, ax.set_yticklabels, data.shape[0]),
    ):
        if labels is not None:
            set_ticks(range(n))
            set_labels(list(labels), fontfamily=font) if font else set_labels(list(labels))
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    ax.set_title(title)
    return ax


def plot_log_curves(
    curves: dict[str, Sequence[float]],
    ax: plt.Axes | None = None,
    title: str = "",
    xlabel: str = "time step t",
    ylabel: str = "norm",
) -> plt.Axes:
    """Curves on a log y-axis (gradient norms over time); non-positive values are dropped, not plotted as -inf."""
    ax = new_axes(ax)
    for name, values in curves.items():
        y = _numpy(values)
        x = np.arange(1, len(y) + 1)
        keep = y > 0
        ax.plot(x[keep], y[keep], label=name)
    ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    return ax
