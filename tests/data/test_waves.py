"""Are the generated sine waves what their docstring says: the right shape, frequency and range?"""

import math

import pytest
import torch

from course_lib.data.waves import random_frequencies, sine_waves


def test_shape_and_values():
    y = sine_waves(torch.tensor([1.0, 2.5]), T=40)
    assert y.shape == (2, 40) and y.dtype == torch.float32
    t = torch.arange(40.0)
    assert torch.allclose(y[1], torch.sin(2 * math.pi * 2.5 * t / 40), atol=1e-6)


def test_whole_cycles_return_to_the_start():
    """f cycles per sequence: with f = 3 the wave crosses zero upwards 3 times in T steps."""
    y = sine_waves(torch.tensor([3.0]), T=300)[0]
    upward = ((y[:-1] < 0) & (y[1:] >= 0)).sum().item()
    assert upward == 2  # at t = T/3 and 2T/3; the first cycle starts at t = 0, before any sample


def test_random_frequencies_in_range_and_seeded():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    f = random_frequencies(1000, 1.0, 4.0, g1)
    assert f.min() >= 1.0 and f.max() <= 4.0 and torch.equal(f, random_frequencies(1000, 1.0, 4.0, g2))


@pytest.mark.parametrize("call", [lambda: sine_waves(torch.ones(1), 0), lambda: random_frequencies(3, 2.0, 1.0)])
def test_bad_arguments_are_named(call):
    with pytest.raises(ValueError):
        call()
