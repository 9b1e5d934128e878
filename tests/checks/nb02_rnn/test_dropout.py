"""Does check_dropout accept inverted dropout, and name dropout left on at evaluation, the wrong scalings, a mask
drawn elsewhere than the generator passed and one draw per row?  (check_stacked_rnn_dropout: test_stacked_dropout.)"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb02_rnn import DROPOUT
from tests.checks.nb02_rnn._common import mistake
from tests.conftest import fails_with, stub

check_dropout = DROPOUT.check  # exercise 8 alone: the notebook grades it with exercise 9's check


def make_dropout(name: str = ""):
    """Inverted dropout written for the test, with one mistake switched on by ``name``."""

    def dropout(x, p, training, generator=None):
        if (not training and name != "left on at evaluation") or p == 0:
            return x * (1 - p) if name == "scaled at evaluation" and not training else x
        keep_p = p if name == "p is the keep probability" else 1 - p
        keep = torch.rand(x.shape, generator=generator, dtype=torch.float64) < keep_p  # (same shape as x)
        scale = {"not scaled": 1.0, "scaled by 1 - p": 1 - p, "scaled by 1 / p": 1 / p}.get(name, 1 / (1 - p))
        if name == "in place":
            return x.mul_(keep.to(x.dtype)).mul_(scale)
        return x * keep.to(x.dtype) * scale

    return dropout


@pytest.mark.parametrize("hidden", [False, True])
def test_dropout_accepts_inverted_dropout(hidden):
    check_dropout(make_dropout(), hidden=hidden)


def test_dropout_names_a_mask_not_drawn_from_the_generator_and_one_draw_per_row():
    """torch's F.dropout draws from the global generator whatever generator is passed: a seeded run of the
    notebook's experiment could not be repeated; one draw per row broadcast is not independent."""
    fails_with(
        check_dropout,
        lambda x, p, training, generator=None: torch.nn.functional.dropout(x, p, training),
        "not drawn from the generator passed",
    )

    def per_row(x, p, training, generator=None):
        if not training or p == 0:
            return x
        keep = torch.rand(x.shape[:-1] + (1,), generator=generator, dtype=torch.float64) < 1 - p
        return x * keep.to(x.dtype) / (1 - p)

    fails_with(check_dropout, per_row, "dropped or kept as a whole")


def test_dropout_accepts_a_bernoulli_mask():
    def bernoulli(x, p, training, generator=None):
        if not training:
            return x
        return x * torch.bernoulli(torch.full_like(x, 1 - p), generator=generator) / (1 - p)

    check_dropout(bernoulli, hidden=True)


def test_the_stub_is_not_implemented():
    fails_with(check_dropout, stub, "not implemented yet")


@pytest.mark.parametrize(
    "wrong, pattern, check",
    [
        mistake(make_dropout, "left on at evaluation", r"left on at evaluation", check_dropout),
        mistake(make_dropout, "scaled at evaluation", r"training=False you multiplied by 1 - p", check_dropout),
        mistake(make_dropout, "not scaled", r"kept entries are not scaled", check_dropout),
        mistake(make_dropout, "scaled by 1 - p", r"multiplied by 1 - p.*\(1 - p\)\^2 x, not x", check_dropout),
        mistake(make_dropout, "scaled by 1 / p", r"divided by p", check_dropout),
        mistake(make_dropout, "p is the keep probability", r"dropping a unit, not of keeping", check_dropout),
        mistake(make_dropout, "in place", r"changed in place", check_dropout),
    ],
)
def test_a_mistake_is_named(wrong, pattern, check):
    fails_with(check, wrong, pattern, hidden=True)
