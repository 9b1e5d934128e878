"""Does the package ``course_lib.checks.nb03_vanishing_gradients`` (its ``__init__.py``) still export what the
single module did, and does every check reject the untouched learner stub?"""

from __future__ import annotations

import pytest

import course_lib.checks
from course_lib.checks import nb03_vanishing_gradients as nb03
from tests.conftest import fails_with, stub

ALL_CHECKS = [nb03.check_state_grad_norms_by_hand, nb03.check_rescale_spectral_radius, nb03.check_clip_grad_norm]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_untouched_stub_fails_and_says_not_implemented(check, hidden):
    fails_with(check, stub, "not implemented yet", hidden=hidden)


def test_public_names_are_the_module_s():
    assert nb03.__all__ == [
        "EXERCISES",
        "check_state_grad_norms_by_hand",
        "check_rescale_spectral_radius",
        "check_clip_grad_norm",
    ]
    assert nb03.EXERCISES == (nb03.STATE_GRAD_NORMS, nb03.RESCALE_SPECTRAL_RADIUS, nb03.CLIP_GRAD_NORM)
    assert [ex.check for ex in nb03.EXERCISES] == ALL_CHECKS


def test_registry_keys_are_the_module_s():
    keys = [key for key in course_lib.checks.EXERCISES if key.startswith("nb03_")]
    assert keys == [
        "nb03_vanishing_gradients.state_grad_norms_by_hand",
        "nb03_vanishing_gradients.rescale_spectral_radius",
        "nb03_vanishing_gradients.clip_grad_norm",
    ]
