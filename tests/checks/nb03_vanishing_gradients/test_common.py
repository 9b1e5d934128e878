"""Do the helpers the notebook-03 checks share compare the way the judges rely on?"""

from __future__ import annotations

import torch

from course_lib.checks.nb03_vanishing_gradients._common import _close, _generator


def test_generator_is_seeded():
    assert torch.equal(torch.randn(3, generator=_generator(5)), torch.randn(3, generator=_generator(5)))


def test_close_is_relative_to_each_entry():
    expected = torch.tensor([1e-3, 1e3], dtype=torch.float64)
    assert _close(expected * (1 + 1e-7), expected, rtol=1e-6)
    assert not _close(expected * (1 + 1e-5), expected, rtol=1e-6)


def test_close_accepts_exact_zeros_up_to_rounding():
    expected = torch.tensor([0.0, 2.0], dtype=torch.float64)
    assert _close(torch.tensor([1e-13, 2.0], dtype=torch.float64), expected, rtol=1e-9)
    assert not _close(torch.tensor([1e-9, 2.0], dtype=torch.float64), expected, rtol=1e-9)


def test_close_rejects_other_shapes_and_non_finite_values():
    expected = torch.ones(2, 3, dtype=torch.float64)
    assert not _close(torch.ones(3, 2, dtype=torch.float64), expected, rtol=1e-6)
    assert not _close(torch.full((2, 3), float("nan"), dtype=torch.float64), expected, rtol=1e-6)
