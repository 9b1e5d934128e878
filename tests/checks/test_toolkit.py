"""Does the checks' toolkit compare, report and name mistakes as every check relies on it to?"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from course_lib.checks.core import CheckFailure, Exercise
from course_lib.checks.toolkit import (
    KINDS,
    TOLERANCES,
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    close_to_scale,
    first_named_mistake,
    generator,
    kinds,
    note,
    plain,
    randn,
    tensor,
    token_list,
    tolerance,
)


def test_generator_and_randn_are_seeded_and_drawn_in_float64():
    a = randn(generator(3), 2, 3, dtype=torch.float32)
    b = randn(generator(3), 2, 3)
    assert a.dtype == np.float32 and b.dtype == np.float64
    assert np.allclose(a, b.astype(np.float32))  # the same draw whatever the dtype tested
    assert not np.allclose(randn(generator(4), 2, 3), b)
    t = tensor(b)
    t += 1  # a copy: the case's data is untouched
    assert np.allclose(randn(generator(3), 2, 3), b)


def test_one_tolerance_table_rejects_float32_work_on_float64_inputs():
    x = torch.randn(50, generator=generator(0), dtype=torch.float64)
    assert close(x.float().double(), x.float())  # float32 results: float32 tolerance
    assert not close(x.float().double(), x)  # float32 work on float64 inputs is not float64 work
    assert close(x + 1e-13, x)
    assert tolerance("float32") == TOLERANCES[torch.float32]
    assert tolerance(torch.int64) == {"rtol": 0.0, "atol": 0.0}


def test_message_shows_first_differences_never_the_whole_expected_answer():
    expected = torch.arange(1.0, 101.0, dtype=torch.float64)
    got = expected + 1.0
    with pytest.raises(CheckFailure) as info:
        assert_close(got, expected, "out")
    message = str(info.value)
    assert "100 of 100 values differ" in message and "at (0,): expected 1, got 2, |diff| 1" in message
    assert "expected 4," not in message  # three differences at most
    small = torch.tensor([0.5, 0.25], dtype=torch.float64)
    with pytest.raises(CheckFailure) as info:
        assert_close(small + 1, small, "pair")
    assert str(info.value).count("expected 0.") == 1  # fewer than all: the answer is never printed whole


def test_message_names_float32_only_when_float32_reproduces_the_values_and_prints_digits_that_differ():
    x = torch.randn(4, 5, generator=generator(1), dtype=torch.float64)
    with pytest.raises(CheckFailure, match=r"(?s)Likely cause: float32") as info:
        assert_close(x.float().double(), x, "h")
    for expected, got in re.findall(r"expected (-?[0-9.e-]+), got (-?[0-9.e-]+)", str(info.value)):
        assert expected != got  # two numbers that differ never print the same
    with pytest.raises(CheckFailure, match="float32 precision"):
        assert_close(x * (1 + 5e-8), x, "h")
    wrong_in_float32 = (2 * x).float().double()  # a wrong formula, run in float32: float32 is not the cause
    with pytest.raises(CheckFailure) as info:
        assert_close(wrong_in_float32, x, "h")
    assert "float32" not in str(info.value)


def test_the_diagnosis_layer_locates_and_names_what_no_table_lists():
    g = generator(2)
    hs = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    cases = {
        "from time step t = 2 on": torch.cat([hs[:, :2], hs[:, 2:] + 1], 1),
        "only at the last time step": torch.cat([hs[:, :-1], hs[:, -1:] * 2], 1),
        "only in rows 1 of the batch": torch.stack([hs[0], hs[1] + 1, hs[2]]),
        "T = 5 times too large": hs * 5,
        "sign is flipped": -hs,
        "one step late": torch.cat([hs[:, :1] * 0, hs[:, :-1]], 1),
        "time is reversed": hs.flip(1),
    }
    for phrase, got in cases.items():
        with pytest.raises(CheckFailure) as info:
            assert_close(got, hs, "hs", letters="N T H", factors={"T": 5})
        assert phrase in str(info.value), (phrase, str(info.value))
    logits, b = torch.randn(2, 3, 6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    last_axis = {
        "softmax of the expected ones over the last axis": logits.softmax(-1),
        "log_softmax of the expected ones over the last axis": logits.log_softmax(-1),
        "every entry of the last axis is off by the same amount": logits + torch.randn(2, 3, 1, generator=g),
        "every position is off by the same vector along the last axis": logits - b,
        "your entry v holds what belongs to entry v + 1": torch.cat([logits[..., 1:], logits[..., :1] * 0], -1),
    }
    for phrase, got in last_axis.items():
        with pytest.raises(CheckFailure) as info:
            assert_close(got, logits, "logits", letters="N T V")
        assert phrase in str(info.value), (phrase, str(info.value))
    z = torch.randn(2, 8, generator=g, dtype=torch.float64)
    swapped = torch.cat([z[:, 2:4], z[:, :2], z[:, 4:]], 1)
    with pytest.raises(CheckFailure, match=r"(?s)Where: the values differ only in the i, f blocks.*How: the blocks"):
        assert_close(swapped, z, "dz", blocks=(1, "ifgo"))


def test_first_named_mistake_never_blames_a_right_answer():
    right = torch.ones(3, dtype=torch.float64)
    wrong = torch.zeros(3, dtype=torch.float64)
    mistakes = [("same as the reference here", right.clone()), ("zeros", wrong), ("never computed", None)]
    assert first_named_mistake(right, right, mistakes) is None  # right: nothing named
    assert first_named_mistake(wrong, right, mistakes) == "zeros"  # the mistake equal to the reference is skipped
    assert first_named_mistake(wrong + 5, right, mistakes) is None
    assert first_named_mistake(wrong, right, [("lazy", lambda: torch.zeros(3, dtype=torch.float64))]) == "lazy"


def test_notes_print_under_the_check_mark_and_kinds_are_listed(capsys):
    cases = lambda seed, hidden: {"a": {"kind": "values"}, "b": {"kind": "gradients"}}  # noqa: E731
    exercise = Exercise("demo", "demo", cases, lambda fn, case: fn(), lambda c, r: note("slow but right"))
    exercise.check(lambda: 1)
    printed = capsys.readouterr().out
    assert "✓ demo: 2 visible cases passed (gradients, values)" in printed and "note: slow but right" in printed
    assert kinds(cases(0, False)) <= set(KINDS)


def test_close_to_scale_is_relative_to_each_entry():
    expected = torch.tensor([1e-3, 1e3], dtype=torch.float64)
    assert close_to_scale(expected * (1 + 1e-7), expected, rtol=1e-6)
    assert not close_to_scale(expected * (1 + 1e-5), expected, rtol=1e-6)


def test_close_to_scale_accepts_exact_zeros_up_to_rounding():
    expected = torch.tensor([0.0, 2.0], dtype=torch.float64)
    assert close_to_scale(torch.tensor([1e-13, 2.0], dtype=torch.float64), expected, rtol=1e-9)
    assert not close_to_scale(torch.tensor([1e-9, 2.0], dtype=torch.float64), expected, rtol=1e-9)


def test_close_to_scale_rejects_other_shapes_and_non_finite_values():
    expected = torch.ones(2, 3, dtype=torch.float64)
    assert not close_to_scale(torch.ones(3, 2, dtype=torch.float64), expected, rtol=1e-6)
    assert not close_to_scale(torch.full((2, 3), float("nan"), dtype=torch.float64), expected, rtol=1e-6)
    assert not close_to_scale(torch.full((2, 3), float("inf"), dtype=torch.float64), expected, rtol=1e-6)


def test_plain_keeps_data_and_names_other_objects_in_the_messages():
    x = torch.ones(2, requires_grad=True) * 2
    sent = plain([x, ("a", 1), {1, 2}])
    assert not sent[0].requires_grad and sent[1] == ("a", 1) and sent[2] == {"object": "set"}
    with pytest.raises(CheckFailure, match="should be a tensor, but it is a set"):
        as_tensor(sent[2], "the result")
    with pytest.raises(CheckFailure, match="list of strings, but it is a set"):
        token_list(sent[2], "the result")
    assert token_list(("a", "b"), "the result") == ["a", "b"]
    with pytest.raises(CheckFailure, match="strings only, found 3"):
        token_list(["a", 3], "the result")


def test_assert_dtype_names_the_inputs_dtype():
    assert_dtype(torch.zeros(2, dtype=torch.float64), torch.float64, "h")
    with pytest.raises(CheckFailure, match="h has dtype torch.float32, but the inputs are torch.float64"):
        assert_dtype(torch.zeros(2), torch.float64, "h")
