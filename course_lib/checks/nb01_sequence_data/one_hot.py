"""Check of ``one_hot``: ids ``(...)`` -> floats ``(..., V)`` with a single 1 per row, in column ``ids[t]``;
the reference is torch's ``F.one_hot``."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.devices import assert_device_kept, on_meta
from course_lib.checks.toolkit import as_tensor, assert_close, generator, visible_first

__all__ = ["ONE_HOT", "check_one_hot"]


def _one_hot_cases(seed, hidden):
    cases = {
        "ids (T,)": {"ids": np.array([0, 2, 1, 2, 3], dtype=np.int64), "V": 4},
        "V larger than any id": {"ids": np.array([1, 0, 1], dtype=np.int64), "V": 5},  # V is given, not max id + 1
        "ids on the meta device": {"ids": np.array([[2, 0], [1, 3]], dtype=np.int64), "V": 4, "kind": "device"},
    }
    if hidden:
        g = generator(seed)
        cases["batch (N, T)"] = {"ids": torch.randint(0, 7, (3, 5), generator=g).numpy(), "V": 7}
        cases["last id V-1"] = {"ids": np.array([9, 0], dtype=np.int64), "V": 10}
        cases["V larger than any id, hidden"] = {"ids": np.array([1, 1], dtype=np.int64), "V": 6}
        cases["a single id (0-d)"] = {"ids": np.array(2, dtype=np.int64), "V": 5}
    return cases


def _one_hot_run(fn, case):
    if case.get("kind") == "device":  # the docstring promises the ids' device: meta stands in for a GPU
        return on_meta(lambda: fn(torch.from_numpy(case["ids"]).to("meta"), case["V"]))
    return fn(torch.from_numpy(case["ids"]), case["V"])


def _one_hot_judge(cases, results):
    for name, case in cases.items():
        if case.get("kind") == "device":
            assert_device_kept(result_of(results, name, "one_hot"), f"one_hot (case '{name}')")
            continue
        ids = torch.from_numpy(case["ids"])
        expected = F.one_hot(ids, case["V"]).float()
        got = as_tensor(
            result_of(results, name, "one_hot"),
            f"one_hot(ids of shape {tuple(ids.shape)}, V={case['V']})",
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
        assert_close(
            got,
            expected,
            f"one_hot on case '{name}'",
            hint="Each row of the last axis has a single 1, in the column its id names.",
            letters=" ".join(["_"] * (got.dim() - 1) + ["V"]),
        )


ONE_HOT = Exercise("one_hot", "one_hot", visible_first(_one_hot_cases), _one_hot_run, _one_hot_judge)

check_one_hot = ONE_HOT.check
