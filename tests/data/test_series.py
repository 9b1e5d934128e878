"""Are the shipped series what their provenance says?"""

import math

import torch

from course_lib.data import air_passengers, noisy_sine
from course_lib.data.adding import BASELINE_MSE, adding_problem


def test_air_passengers_matches_box_and_jenkins_series_g():
    series = air_passengers()
    assert series.shape == (144,) and series[0] == 112 and series[-1] == 432
    assert math.isclose(float(series.mean()), 280.2986, abs_tol=1e-3)


def test_noisy_sine_is_seeded():
    assert torch.equal(noisy_sine(50, seed=3), noisy_sine(50, seed=3))
    assert not torch.equal(noisy_sine(50, seed=3), noisy_sine(50, seed=4))


def test_adding_problem_has_two_markers_one_per_half_and_the_stated_baseline():
    x, y = adding_problem(20000, 40, seed=1)
    markers = x[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :20].sum(1) == 1)
    assert torch.allclose(y, (x[..., 0] * markers).sum(1))
    assert abs(float(((y - 1) ** 2).mean()) - BASELINE_MSE) < 0.005
