"""Which device the notebooks compute on: a CUDA GPU when torch sees one, else the CPU.

``device()`` is what every notebook calls once (``DEVICE = device()``) and passes to ``.to(DEVICE)`` for its
models and batches, so the same notebook runs unchanged on a laptop CPU, a lab machine with a GPU or a cloud
notebook.  The environment variable ``COURSE_DEVICE`` overrides the choice: ``cpu`` (e.g. to compare timings,
or to keep grading on the CPU), ``cuda``, ``cuda:1``, ``mps``.  A device that is asked for but not present is an
error that says so, never a silent fall-back: a learner who set ``COURSE_DEVICE=cuda`` expects the GPU.

The checks do not depend on the device: what a learner's function returns is moved to the CPU before it is
encoded (:func:`course_lib.checks.core.encode_plain`), and the judge compares on the CPU in float64.

Reference: the PyTorch documentation, "CUDA semantics" (device-agnostic code: ``torch.device("cuda" if
torch.cuda.is_available() else "cpu")``).
"""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["ENV", "device", "to_device"]

ENV = "COURSE_DEVICE"


def device() -> torch.device:
    """``COURSE_DEVICE`` if set (checked to exist), else ``cuda`` when available, else ``cpu``."""
    requested = os.environ.get(ENV, "").strip()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(requested)
    except RuntimeError:
        raise ValueError(f"{ENV}={requested!r} is not a device torch knows; use cpu, cuda, cuda:N or mps") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{ENV}={requested!r}, but torch sees no CUDA GPU (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'none'}). Unset {ENV} or set it to cpu."
            )
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"{ENV}={requested!r}, but torch sees {torch.cuda.device_count()} CUDA GPU(s), numbered from 0."
            )
    elif chosen.type == "mps":
        if not torch.backends.mps.is_available():
            raise RuntimeError(
                f"{ENV}={requested!r}, but this torch has no usable Apple MPS device. Unset {ENV} or set it to cpu."
            )
    elif chosen.type != "cpu":
        raise ValueError(f"{ENV}={requested!r}: the course runs on cpu, cuda or mps, not {chosen.type}")
    return chosen


def to_device(value: Any, where: torch.device | str) -> Any:
    """``value`` with every tensor in it (in tuples, lists and dicts, nested) moved to ``where``."""
    if isinstance(value, torch.Tensor):
        return value.to(where)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple keeps its type
        return type(value)(*(to_device(v, where) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, where) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, where) for k, v in value.items()}
    return value
