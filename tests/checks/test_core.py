"""Does the check machinery itself hold: plain data round trips, refuses malformed data, names errors?"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.checks.core import (
    CheckFailure,
    LearnerError,
    decode_plain,
    encode_plain,
    encode_results,
    result_of,
)
from course_lib.checks.toolkit import as_tensor, assert_close


def test_plain_data_round_trips_tensors_numbers_strings_and_containers():
    value = {
        "h": torch.arange(6, dtype=torch.float64).reshape(2, 3),
        "n": 3,
        "s": "好",
        "t": (1, [2.5, None]),
        "flag": True,
        "inf": float("inf"),
    }
    back = decode_plain(encode_plain(value))
    assert np.array_equal(back["h"], np.arange(6.0).reshape(2, 3)) and back["h"].dtype == np.float64
    assert back["n"] == 3 and back["s"] == "好" and back["t"] == (1, [2.5, None]) and back["inf"] == float("inf")


def test_results_that_cannot_cross_a_process_boundary_become_learner_errors():
    encoded = encode_results({"a": object(), "b": torch.ones(2)})
    back = decode_plain(encoded)
    assert isinstance(back["a"], LearnerError) and "cannot be checked" in back["a"].message
    assert np.array_equal(back["b"], np.ones(2, dtype=np.float32))


@pytest.mark.parametrize(
    "bad",
    [
        {"__ndarray__": "AAAA", "dtype": "float64", "shape": [3]},  # length does not match the shape
        {"__ndarray__": "AAAA", "dtype": "object", "shape": [1]},  # dtype not allowed
        {"__ndarray__": "!!", "dtype": "uint8", "shape": [1]},  # not base64
        {"__dict__": [[1]]},  # malformed entry
        {"unexpected": 1},
        {"__ndarray__": "", "dtype": "uint8", "shape": [-1]},
    ],
)
def test_malformed_plain_data_is_refused(bad):
    with pytest.raises(Exception):
        decode_plain(bad)


def test_oversized_results_are_refused():
    big = {"__ndarray__": "A" * (48 * 2**20), "dtype": "uint8", "shape": [36 * 2**20]}
    with pytest.raises(ValueError, match="too large"):
        decode_plain(big)


def test_a_result_too_large_to_check_is_named_before_it_is_encoded():
    huge = torch.zeros(5 * 2**20, dtype=torch.float64)  # 40 MB: a wrong broadcast, say
    loop = []
    loop.append(loop)
    results = decode_plain(encode_results({"small": torch.ones(3), "huge": (huge,), "loop": loop}))
    assert torch.equal(torch.from_numpy(results["small"]), torch.ones(3))
    assert isinstance(results["huge"], LearnerError) and "40 MB of tensors" in results["huge"].message
    assert isinstance(results["loop"], LearnerError) and "cannot be checked" in results["loop"].message


def test_result_of_names_what_the_learner_function_raised():
    with pytest.raises(CheckFailure, match="not implemented yet"):
        result_of({"c": LearnerError("NotImplementedError", "")}, "c", "f")
    with pytest.raises(CheckFailure, match="raised ValueError: bad shape"):
        result_of({"c": LearnerError("ValueError", "bad shape")}, "c", "f")


def test_a_refused_return_value_is_not_called_an_exception():
    back = decode_plain(encode_results({"a": object()}))
    with pytest.raises(CheckFailure, match="f raised nothing, but what it returned was refused") as failure:
        result_of(back, "a", "f")
    assert "raised TypeError" not in str(failure.value)


def test_as_tensor_names_shapes_and_transposes():
    with pytest.raises(CheckFailure, match=r"expected \(N, H\) = \(2, 3\). It looks transposed"):
        as_tensor(np.zeros((3, 2)), "h", (2, 3), "(N, H)")
    with pytest.raises(CheckFailure, match="should be a tensor, but it is a list"):
        as_tensor([1, 2], "h")


def test_assert_close_reports_error_index_and_tolerance():
    expected = torch.zeros(2, 2, dtype=torch.float64)
    got = expected.clone()
    got[1, 0] = 1.0
    with pytest.raises(
        CheckFailure, match=r"(?s)1 of 4 values differ \(tolerance rtol=1e-09.*at \(1, 0\): expected 0, got 1"
    ):
        assert_close(got, expected, "h_t")
    with pytest.raises(CheckFailure, match="NaN"):
        assert_close(torch.full((2,), float("nan")), torch.zeros(2), "h_t")
    assert_close(expected + 1e-12, expected, "h_t")
