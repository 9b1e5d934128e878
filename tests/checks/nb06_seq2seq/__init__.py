"""Tests of ``course_lib.checks.nb06_seq2seq``, one file per exercise submodule.

Does each notebook-06 check accept a correct implementation and name the typical mistakes?  The correct
implementations here are written for the tests (not imported from the solution notebook), and some differ in
style from the notebook's on purpose (a greedy decoder that drops finished rows, a beam search over a flat
top-k), so a check is tested against more than one right answer.  Each file's table of mistakes starts with the
untouched learner stub, which must fail and say it is not implemented.
"""

import pytest

PAD, BOS, EOS = 0, 2, 3

# (hidden, seed) of the runs a right answer must pass: the notebook's visible cases, the hidden ones, and other
# seeds, because grading draws its own seeds and a right answer must pass whatever the cases are.
SEEDS = [
    pytest.param(False, None, id="visible"),
    pytest.param(True, None, id="hidden"),
    *(pytest.param(True, seed, id=f"seed={seed}") for seed in (1, 2, 3, 4, 11, 12, 13, 14, 15)),
]
