"""Seeds for the notebook-03 check tests: correct answers and named mistakes are tried on several, because
grading draws its own."""

from __future__ import annotations

import pytest

from course_lib.checks import core

SEEDS = [0, 1, 7, 123, 20261126]
# (hidden, seed) of every run a correct answer must pass: the visible and hidden cases on the default seeds,
# then the hidden cases on each of SEEDS (seed None: the check's own default).
CORRECT_RUNS = [
    pytest.param(False, None, id="visible"),
    pytest.param(True, None, id="hidden"),
    *(pytest.param(True, seed, id=f"hidden seed {seed}") for seed in SEEDS),
]


@pytest.fixture(params=[None, *SEEDS[1:]], ids=lambda seed: "default seeds" if seed is None else f"seed {seed}")
def case_seeds(request, monkeypatch):
    """The seeds a check draws its cases from: the defaults, then ``VISIBLE_SEED = seed`` and
    ``HIDDEN_SEED = seed + 1`` for other seeds.

    Grading draws its own seeds: every mistake must be named whatever the seed, not only on the default one.
    """
    if request.param is not None:
        monkeypatch.setattr(core, "VISIBLE_SEED", request.param)
        monkeypatch.setattr(core, "HIDDEN_SEED", request.param + 1)
    return request.param
