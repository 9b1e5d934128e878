"""Companion package of the Sequence Modelling course.

Shape letters, fixed once for the whole course (docstrings write ``x: (N, T, D)``):

====  =====================================================
N     batch size (rows are examples: PyTorch's batch-first)
T     number of time steps (sequence length)
D     input features per time step
H     hidden units
V     vocabulary size
C     number of classes
L     number of stacked layers
====  =====================================================

Weights follow PyTorch: ``W`` has shape (out, in) and is applied to a batch of rows as
``x @ W.T``.  The article the course follows, "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence
Modeling in PyTorch" (AI Cyberspace), writes the same computation for one column vector as ``W @ x_t``.

Modules, each owning one thing:

- :mod:`course_lib.data`      vocabularies, windows, padding and the shipped data sets
- :mod:`course_lib.plotting`  the figures the notebooks draw
- :mod:`course_lib.training`  a small fit loop with a progress bar and a grading budget
- :mod:`course_lib.devices`   the device to compute on (CUDA when present, else CPU; ``COURSE_DEVICE`` overrides)
- :mod:`course_lib.checks`    one ``check_<exercise>`` per graded exercise
- :mod:`course_lib.article`   the article's systems rebuilt as it publishes them (demonstrations)
- :mod:`course_lib.grading`   sandboxed, trusted grading behind ``course grade``
- :mod:`course_lib.cli`       the ``course`` command
"""

__version__ = "0.1.0"

__all__ = ["__version__", "device"]


def device():
    """The device the notebooks compute on: see :func:`course_lib.devices.device` (imported lazily, so that
    ``import course_lib`` alone does not load torch)."""
    from course_lib.devices import device as chosen

    return chosen()
