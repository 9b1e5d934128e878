"""Do the checks catch every mistake of the independent blind suite, and accept every correct alternative in it?

The suite (``tests/checks/blind/``, see its README) was written from the notebooks' text only.  Every case runs
through the visible check and the grading path on the hidden seed (a mistake that seed does not show gets the two
other seeds of ``benchmarks/blind.py``, which also says how well each message names or locates the mistake).  Slow: a few minutes.
"""

from __future__ import annotations

import importlib

import pytest

from benchmarks.blind import exercise_for, graded, secret_seeds, visible

pytestmark = pytest.mark.slow

CASES = [case for n in range(1, 8) for case in importlib.import_module(f"tests.checks.blind.nb0{n}").CASES] + [
    {**case, "suite": "s4"}  # blind suite 4: the exercises added or changed in issue 23 (01, 05 exercise 5, 06)
    for n in ("01", "05", "06")
    for case in importlib.import_module(f"tests.checks.blind.suite4.nb{n}").CASES
]

# Mistakes no check can see on this machine, each with its reason.
NOT_CAUGHT = {
    ("01_sequence_data", "one_hot", "uses_F_one_hot"): "numerically right; breaks a rule of the text only",
    ("04_lstm", "FusedLSTM", "projection_inside_loop"): "numerically right; 2T products instead of T + 1",
    ("05_gru", "FusedGRU", "three_hidden_products"): "numerically right; 3T + 1 products",
    ("03_vanishing_gradients", "clip_grad_norm", "rebinds_grad"): "right values; only the .grad's identity differs",
    ("05_gru", "count_params", "returns_float"): "an integral float is accepted on purpose (test_count_params)",
    ("06_seq2seq", "sequence_accuracy", "returns_tensors"): "0-d tensors get a note under the ✓, not a failure",
    ("01_sequence_data", "oov_rate", "tensor_result"): "a 0-d tensor is read as the number it holds, on purpose",
}


def _id(case) -> str:
    return f"{case.get('suite', 's1')}-{case['notebook'][:4]}-{case['exercise']}-{case['kind']}-{case['name']}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_blind_case(case):
    spec = exercise_for(case["notebook"], case["exercise"])
    seeds = secret_seeds(3)  # HIDDEN_SEED first; the others only for a mistake it does not show
    seen, hidden = visible(spec, case["fn"]), graded(spec, case["fn"], seeds[0])
    key = (case["notebook"], case["exercise"], case["name"])
    if case["kind"] == "correct":
        assert seen is None and hidden is None, f"{case['what']}: rejected:\n{seen or hidden}"
    elif key in NOT_CAUGHT:
        pytest.xfail(NOT_CAUGHT[key])
    else:
        for seed in seeds[1:]:
            hidden = hidden if seen is not None or hidden is not None else graded(spec, case["fn"], seed)
        assert seen is not None or hidden is not None, f"{case['what']}: not caught"
        assert "[check crashed]" not in (seen or hidden), seen or hidden
