"""Does check_one_hot accept a correct one-hot encoding and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import check_one_hot
from tests.conftest import fails_with, stub


@pytest.mark.parametrize("hidden", [False, True])
def test_one_hot_accepts_correct(hidden):
    check_one_hot(lambda ids, V: (ids[..., None] == torch.arange(V, device=ids.device)).float(), hidden=hidden)
    check_one_hot(lambda ids, V: F.one_hot(ids, V).float(), hidden=hidden)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(lambda ids, V: F.one_hot(ids, V), "should return floats", id="integer dtype"),
        pytest.param(lambda ids, V: F.one_hot(ids, V).double(), "the contract says float32", id="float64"),
        pytest.param(lambda ids, V: F.one_hot(ids, V).float().T, "transposed", id="transposed"),
        pytest.param(
            lambda ids, V: F.one_hot(ids.clamp(max=V - 2), V - 1).float(), r"shape \(5, 3\)", id="V-1 columns"
        ),
        pytest.param(
            lambda ids, V: (ids[..., None] == torch.arange(V)).float(),
            r"meta device.*calls torch\.arange\(\.\.\.\) without device=",
            id="range made on the cpu",
        ),
        pytest.param(
            lambda ids, V: (ids[..., None] == torch.arange(1, V + 1, device=ids.device)).float(),
            "How: shifted by one along V",
            id="ids off by one",
        ),
    ],
)
def test_one_hot_names_the_mistake(wrong, pattern):
    fails_with(check_one_hot, wrong, pattern)
