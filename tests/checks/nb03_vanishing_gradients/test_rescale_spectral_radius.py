"""Does ``check_rescale_spectral_radius`` accept a correct rescaling and name the typical mistakes?

The correct implementation is written here, independently of the solution notebook.  Each mistake is the
one-line slip a learner makes; its case asserts that the check's message names it.  Correct answers and
mistakes are also run on several seeds, because grading uses secret seeds.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb03_vanishing_gradients import RESCALE_SPECTRAL_RADIUS, check_rescale_spectral_radius
from tests.checks.nb03_vanishing_gradients.conftest import SEEDS
from tests.conftest import fails_with


def rescale(W, rho):
    return W * (rho / torch.linalg.eigvals(W).abs().max()).to(W.dtype)


@pytest.mark.parametrize("hidden", [False, True])
def test_accepts_correct(hidden):
    check_rescale_spectral_radius(rescale, hidden=hidden)


@pytest.mark.parametrize("seed", SEEDS)
def test_accepts_correct_on_other_seeds(seed):
    RESCALE_SPECTRAL_RADIUS.check(
        lambda W, rho: rho * W / float(torch.linalg.eigvals(W).abs().max()), hidden=True, seed=seed
    )


# ------------------------------------------------------------------------------------------- named mistakes


def in_place_change(W, rho):
    W *= rho / torch.linalg.eigvals(W).abs().max()
    return W


def in_place_change_returning_a_copy(W, rho):
    W.mul_(rho / torch.linalg.eigvals(W).abs().max())
    return W.clone()


def complex_result(W, rho):
    eig = torch.linalg.eigvals(W)
    return W * rho / eig[eig.abs().argmax()]


def lost_direction(W, rho):
    Q, _ = torch.linalg.qr(W)
    return rho * Q


MISTAKES = [  # (the learner's function, a pattern its failure message must match, on hidden cases?)
    pytest.param(
        lambda W, rho: W * rho / torch.linalg.matrix_norm(W, ord=2), "largest singular value", False, id="spectral_norm"
    ),
    pytest.param(in_place_change, "modified its input W in place", False, id="in_place_change"),
    pytest.param(
        in_place_change_returning_a_copy, "modified its input W in place", False, id="in_place_change_returning_a_copy"
    ),
    pytest.param(
        lambda W, rho: W * rho / torch.linalg.eigvalsh(W).abs().max(),
        "wrong for non-symmetric",
        False,
        id="symmetric_only_eigvalsh",
    ),
    pytest.param(lambda W, rho: W * rho / torch.linalg.eigvals(W).real.abs().max(), "real part", False, id="real_part"),
    pytest.param(complex_result, "complex", False, id="complex_result"),
    pytest.param(
        lambda W, rho: W * rho / torch.linalg.eigvals(W).real.max(),
        r"largest \|eigenvalue\|",
        False,
        id="signed_largest_eigenvalue",
    ),
    pytest.param(lambda W, rho: rescale(W, rho).double(), "keep W's dtype", False, id="dtype_change"),
    pytest.param(lost_direction, "not W times a positive number", False, id="lost_direction"),
]


@pytest.mark.parametrize("wrong, pattern, hidden", MISTAKES)
def test_names_mistake(wrong, pattern, hidden, case_seeds):
    fails_with(check_rescale_spectral_radius, wrong, pattern, hidden=hidden)
