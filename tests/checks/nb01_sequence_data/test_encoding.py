"""Do check_encode and check_decode accept a correct round trip and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import check_decode, check_encode
from tests.conftest import fails_with, stub


def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, stoi["<unk>"]) for t in tokens], dtype=torch.long)


def decode(ids, itos):
    return [itos[i] for i in ids.tolist() if itos[i] != "<pad>"]


@pytest.mark.parametrize("hidden", [False, True])
def test_encode_decode_accept_correct(hidden):
    check_encode(encode, hidden=hidden)
    check_decode(decode, hidden=hidden)


def unknown_mapped_to_pad(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, 0) for t in tokens])


def key_error_on_unknown(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi[t] for t in tokens])


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(unknown_mapped_to_pad, "not to '<pad>'", id="unknown mapped to pad"),
        pytest.param(key_error_on_unknown, "raised KeyError", id="KeyError on unknown"),
        pytest.param(
            lambda tokens, itos: encode(tokens, itos).tolist(),
            "should be a tensor, but it is a list",
            id="list instead of tensor",
        ),
    ],
)
def test_encode_names_the_mistake(wrong, pattern):
    fails_with(check_encode, wrong, pattern)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched stub"),
        pytest.param(lambda ids, itos: [itos[i] for i in ids.tolist()], "Drop the '<pad>' tokens", id="padding kept"),
        pytest.param(lambda ids, itos: [itos[i - 1] for i in ids.tolist() if i], "expected", id="off by one"),
    ],
)
def test_decode_names_the_mistake(wrong, pattern):
    fails_with(check_decode, wrong, pattern)
