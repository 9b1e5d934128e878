"""Seeded case data for the notebook-04 checks, and the tolerance a result is compared with.

Names kept for the notebook-04 modules; each is the toolkit's (:mod:`course_lib.checks.toolkit`): cases are
drawn in float64 from a seeded ``torch.Generator`` (a few cases in float32), and compared with the toolkit's
one tolerance table.
"""

from __future__ import annotations

import torch

from course_lib.checks.toolkit import close, generator, randn, tensor, tolerance

_generator = generator
_randn = randn
_t = tensor
_tol = tolerance


def _close(got: torch.Tensor, expected: torch.Tensor, dtype) -> bool:
    return close(got, expected, dtype)
