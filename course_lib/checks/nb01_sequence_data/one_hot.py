"""Check of ``one_hot(ids, V, padding_idx=None)``: ids ``(...)`` -> floats ``(..., V)``.

The contract defines the one-hot vector as the derivative of the embedding lookup ``out = W[ids]`` of
``nn.Embedding(V, E, padding_idx=padding_idx)`` with respect to its weight ``W: (V, E)``::

    one_hot(ids, V, p)[..., v] = d out[..., e] / d W[v, e]        (the same for every e)

With ``padding_idx=None`` that is notebook 01's top equation, ``one_hot(i)_v = [v = i]``.  With a ``padding_idx`` the
documentation of ``nn.Embedding`` says its row gets no gradient, so a padded position's vector is all zeros -- which
the learner derives.  The reference is that derivative itself, taken by autograd through ``F.embedding`` (a
Jacobian), never a formula written here.  Named mistakes (each only for a wrong answer): the padding id left with
its 1, ``padding_idx = 0`` taken for "no padding" (``if padding_idx:``), the rows of id 0 zeroed instead of those of
``padding_idx``, integers or float64 instead of float32, a result transposed or shifted along V, and ``torch.arange``
made on the CPU for ids on another device.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.devices import assert_device_kept, on_meta
from course_lib.checks.mistakes import first_named_mistake
from course_lib.checks.toolkit import as_tensor, assert_close, close, generator, visible_first

__all__ = ["ONE_HOT"]


def _one_hot_cases(seed, hidden):
    cases = {
        "ids (T,)": {"ids": np.array([0, 2, 1, 2, 3], dtype=np.int64), "V": 4},
        "V larger than any id": {"ids": np.array([1, 0, 1], dtype=np.int64), "V": 5},  # V is given, not max id + 1
        "padding_idx=0, ids (N, T) padded with 0": {
            "ids": np.array([[3, 1, 2, 0], [2, 1, 0, 0]], dtype=np.int64),
            "V": 4,
            "padding_idx": 0,
        },
        "padding_idx=3, id 0 a real token": {
            "ids": np.array([0, 3, 2, 0, 3], dtype=np.int64),
            "V": 5,
            "padding_idx": 3,
        },
        "ids on the meta device": {
            "ids": np.array([[2, 0], [1, 3]], dtype=np.int64),
            "V": 4,
            "padding_idx": 0,
            "kind": "device",
        },
    }
    if hidden:
        g = generator(seed)
        cases["batch (N, T)"] = {"ids": torch.randint(0, 7, (3, 5), generator=g).numpy(), "V": 7}
        cases["last id V-1"] = {"ids": np.array([9, 0], dtype=np.int64), "V": 10}
        cases["V larger than any id, hidden"] = {"ids": np.array([1, 1], dtype=np.int64), "V": 6}
        cases["a single id (0-d)"] = {"ids": np.array(2, dtype=np.int64), "V": 5}
        cases["a single id (0-d), the padding id"] = {"ids": np.array(1, dtype=np.int64), "V": 3, "padding_idx": 1}
        ids = torch.randint(1, 6, (2, 3, 4), generator=g)
        ids[:, :, -1], ids[0, 0, 0] = 0, 4  # pads at the ends; 4 occurs
        cases["padding_idx=0, ids (N, T, K)"] = {"ids": ids.numpy(), "V": 6, "padding_idx": 0}
        ids = torch.randint(0, 8, (4, 6), generator=g)
        ids[:, 0], ids[1:, -2:] = 0, 5  # id 0 is a real token; 5 pads
        cases["padding_idx=5, id 0 a real token, hidden"] = {"ids": ids.numpy(), "V": 8, "padding_idx": 5}
        cases["padding_idx=2 absent from ids"] = {
            "ids": np.array([[0, 1], [3, 1]], dtype=np.int64),
            "V": 4,
            "padding_idx": 2,
        }
    return cases


def _one_hot_run(fn, case):
    padding_idx = case.get("padding_idx")

    def call(ids):  # the default padding_idx=None is used when the case has none
        return fn(ids, case["V"]) if padding_idx is None else fn(ids, case["V"], padding_idx=padding_idx)

    if case.get("kind") == "device":  # the docstring promises the ids' device: meta stands in for a GPU
        return on_meta(lambda: call(torch.from_numpy(case["ids"]).to("meta")))
    return call(torch.from_numpy(case["ids"]))


def _derivative(ids: torch.Tensor, V: int, padding_idx: int | None) -> torch.Tensor:
    """d out[..., 0] / d W[v, 0] of out = F.embedding(ids, W, padding_idx) for W: (V, 1), by autograd: (..., V)."""
    W = torch.zeros(V, 1, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(
        lambda w: F.embedding(ids, w, padding_idx=padding_idx)[..., 0], W, vectorize=True
    )
    return jacobian[..., 0].float()  # (..., V, 1) -> (..., V)


def _wrong_answers(ids: torch.Tensor, V: int, padding_idx: int | None, other_pads_right: bool) -> list:
    """The typical wrong one-hot vectors of a padded case, each as the tensor it gives (None: not applicable).

    ``other_pads_right``: the function was right on a case whose padding id is not 0, so a padding_idx of 0 that
    changes nothing is 0 taken for "no padding", not padding ignored altogether."""
    if padding_idx is None:
        return []
    plain = _derivative(ids, V, None)
    zero_as_none = (
        "with padding_idx=0 the padding is ignored, while other padding ids work: is 0 taken for 'no padding' "
        "somewhere (a test such as `if padding_idx:` is False for the id 0)? Only None means no padding"
    )
    ignored = (
        f"the positions of the padding id {padding_idx} still have their 1, as without padding_idx. Read what "
        "nn.Embedding's documentation says about padding_idx and the gradient, and what that makes the "
        "derivative d out / d W at those positions"
    )
    return [
        (zero_as_none if padding_idx == 0 and other_pads_right else ignored, plain),
        (
            f"the rows of id 0 are zeroed, not those of padding_idx={padding_idx}: the padding id is an argument, "
            "and 0 can be a real token",
            _derivative(ids, V, 0) if padding_idx != 0 else None,
        ),
    ]


def _right_on_other_pads(cases, results) -> bool:
    """Whether the function returned the right vectors on some case whose padding id is not 0."""
    for name, case in cases.items():
        if case.get("padding_idx") in (None, 0) or case.get("kind") == "device":
            continue
        value = results.get(name)
        ids = torch.from_numpy(case["ids"])
        expected = _derivative(ids, case["V"], case["padding_idx"])
        if isinstance(value, np.ndarray) and value.shape == tuple(expected.shape):
            if close(torch.from_numpy(value).double(), expected.double()):
                return True
    return False


def _one_hot_judge(cases, results):
    other_pads_right = _right_on_other_pads(cases, results)
    for name, case in cases.items():
        if case.get("kind") == "device":
            assert_device_kept(result_of(results, name, "one_hot"), f"one_hot (case '{name}')")
            continue
        ids, V, padding_idx = torch.from_numpy(case["ids"]), case["V"], case.get("padding_idx")
        expected = _derivative(ids, V, padding_idx)
        got = as_tensor(
            result_of(results, name, "one_hot"),
            f"one_hot(ids of shape {tuple(ids.shape)}, V={V}, padding_idx={padding_idx})",
            tuple(expected.shape),
            "(..., V)",
        )
        if not got.dtype.is_floating_point:
            raise CheckFailure(
                f"one_hot should return floats (so that one_hot @ W is a matrix product), got {got.dtype}"
            )
        if got.dtype != torch.float32:
            raise CheckFailure(
                f"one_hot on case '{name}' has dtype {got.dtype}; the contract says float32 (the dtype of "
                f"nn.Embedding's and nn.Linear's weights, so that one_hot @ W needs no conversion)"
            )
        message = first_named_mistake(got, expected, _wrong_answers(ids, V, padding_idx, other_pads_right), same=close)
        if message:
            raise CheckFailure(f"one_hot is wrong on case '{name}': {message}.")
        assert_close(
            got,
            expected,
            f"one_hot on case '{name}'",
            hint="Each position's vector is the derivative of its embedding with respect to the rows of W.",
            letters=" ".join(["_"] * (got.dim() - 1) + ["V"]),
            regions=None
            if padding_idx is None
            else {"padding positions": (ids == padding_idx)[..., None].expand_as(got)},
        )


ONE_HOT = Exercise("one_hot", "one_hot", visible_first(_one_hot_cases), _one_hot_run, _one_hot_judge)
