"""Does check_one_hot accept a correct one-hot encoding (with and without padding_idx) and name each typical
mistake?"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks.nb01_sequence_data import ONE_HOT
from tests.conftest import fails_with, stub

check_one_hot = ONE_HOT.check  # exercise 4 alone: the notebook grades it with 4b's check


def compare(ids, V, padding_idx=None):
    out = (ids[..., None] == torch.arange(V, device=ids.device)).float()
    return out if padding_idx is None else out * (ids != padding_idx)[..., None]


def zero_the_column(ids, V, padding_idx=None):
    """Zeroing column padding_idx instead of the padded rows: the same numbers (only padded positions had a 1 there)."""
    out = F.one_hot(ids, V).float()
    if padding_idx is not None:
        out[..., padding_idx] = 0.0
    return out


def eye_rows(ids, V, padding_idx=None):
    table = torch.eye(V, device=ids.device)
    if padding_idx is not None:
        table[padding_idx] = 0.0
    return table[ids]


@pytest.mark.parametrize("right", [compare, zero_the_column, eye_rows])
@pytest.mark.parametrize("hidden", [False, True])
def test_one_hot_accepts_correct(right, hidden):
    check_one_hot(right, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_hot_accepts_correct_on_other_seeds(seed):
    check_one_hot(compare, hidden=True, seed=seed)


def test_visible_cases_show_padding_0_another_padding_id_and_none():
    from course_lib.checks.nb01_sequence_data.one_hot import ONE_HOT

    for hidden in (False, True):
        pads = {c.get("padding_idx") for c in ONE_HOT.cases(0, hidden).values()}
        assert None in pads and 0 in pads and pads - {None, 0}


def unpad(out, ids, padding_idx):
    """A one-hot result with the padded positions zeroed (so that only its other mistake remains)."""
    return out if padding_idx is None else out * (ids != padding_idx)[..., None]


def ignores_padding(ids, V, padding_idx=None):
    return compare(ids, V)


def zero_as_none(ids, V, padding_idx=None):
    return compare(ids, V, padding_idx) if padding_idx else compare(ids, V)


def pads_with_zero(ids, V, padding_idx=None):
    return compare(ids, V) if padding_idx is None else compare(ids, V, 0)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(
            lambda ids, V, padding_idx=None: compare(ids, V, padding_idx).long(),
            "should return floats",
            id="integer dtype",
        ),
        pytest.param(
            lambda ids, V, padding_idx=None: compare(ids, V, padding_idx).double(),
            "the contract says float32",
            id="float64",
        ),
        pytest.param(lambda ids, V, padding_idx=None: compare(ids, V, padding_idx).T, "transposed", id="transposed"),
        pytest.param(
            lambda ids, V, padding_idx=None: F.one_hot(ids.clamp(max=V - 2), V - 1).float(),
            r"shape \(5, 3\)",
            id="V-1 columns",
        ),
        pytest.param(
            lambda ids, V, padding_idx=None: unpad((ids[..., None] == torch.arange(V)).float(), ids, padding_idx),
            r"meta device.*calls torch\.arange\(\.\.\.\) without device=",
            id="range made on the cpu",
        ),
        pytest.param(
            lambda ids, V, padding_idx=None: unpad(
                (ids[..., None] == torch.arange(1, V + 1)).float(), ids, padding_idx
            ),
            "How: shifted by one along V",
            id="ids off by one",
        ),
        pytest.param(
            ignores_padding, r"padding id 0 still have their 1.*nn.Embedding's documentation", id="padding ignored"
        ),
        pytest.param(
            zero_as_none,
            r"with padding_idx=0 the padding is ignored, while other padding ids work.*"
            r"Only None means no padding",
            id="padding_idx 0 taken for None",
        ),
        pytest.param(pads_with_zero, r"the rows of id 0 are zeroed, not those of padding_idx=3", id="pads with id 0"),
        pytest.param(
            lambda ids, V, padding_idx=None: compare(ids, V, padding_idx) * 0.5, r"times 0.5", id="unnamed: halved"
        ),
    ],
)
def test_one_hot_names_the_mistake(wrong, pattern):
    fails_with(check_one_hot, wrong, pattern)


def test_a_two_argument_one_hot_is_refused_on_padded_cases():
    """The contract has padding_idx: the old one_hot(ids, V) cannot pass the padded cases."""
    fails_with(check_one_hot, lambda ids, V: compare(ids, V), r"padding_idx")
