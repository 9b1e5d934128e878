"""Do the plotting helpers draw what they are given, on a headless backend?"""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_lib.plotting import heatmap, plot_log_curves, plot_losses, plot_series  # noqa: E402


def test_each_helper_returns_axes_with_one_line_per_curve():
    ax = plot_losses({"a": [3, 2, 1], "b": torch.tensor([2.0, 1.0])}, baseline=0.5)
    assert len(ax.lines) == 3
    assert len(plot_series({"s": np.arange(5)}).lines) == 1


def test_log_curves_drop_non_positive_values():
    ax = plot_log_curves({"n": [1.0, 0.0, 0.1]})
    assert ax.get_yscale() == "log" and len(ax.lines[0].get_xdata()) == 2


def test_heatmap_labels_rows_and_columns():
    ax = heatmap(torch.rand(3, 4), xlabels=list("abcd"), ylabels=["i", "f", "o"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
