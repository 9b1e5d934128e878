"""What every notebook-06 check shares: the special token ids, seeded random inputs, the learner's result as
plain data and back, and the tolerance of each dtype.

A result crosses from the learner's kernel to the judge as plain data (:func:`_plain`); the judge turns it
back into tensors with a message that names what is off (:func:`_tensor`, :func:`_pair`, :func:`_number`).
A float32 result is compared at rtol 1e-4, atol 1e-5; a float64 one at rtol 1e-7, atol 1e-9 (:func:`_tolerance`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import PackedSequence

from course_lib.checks.core import CheckFailure, as_tensor
from course_lib.checks.toolkit import close, generator, number, pair, randn, tolerance
from course_lib.data.vocab import BOS, EOS, PAD, SPECIALS, UNK

PAD_ID, UNK_ID, BOS_ID, EOS_ID = (SPECIALS.index(t) for t in (PAD, UNK, BOS, EOS))
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


_generator = generator  # the toolkit's
_randn = randn
_pair = pair
_number = number


def _plain(value: Any) -> Any:
    """What the learner returned, as data that can cross to the judge; other objects become their type name."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, PackedSequence):  # a tuple too, but not one of results
        return {"object": "PackedSequence"}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return value
    return {"object": type(value).__name__}


def _tensor(value: Any, what: str, shape: tuple[int, ...] | None = None, letters: str = "") -> torch.Tensor:
    __tracebackhide__ = True
    if isinstance(value, dict) and "object" in value:
        hint = " Unpack it with pad_packed_sequence." if value["object"] == "PackedSequence" else ""
        raise CheckFailure(f"{what} should be a tensor, but it is a {value['object']}.{hint}")
    return as_tensor(value, what, shape, letters)


def _tolerance(got: torch.Tensor) -> dict[str, float]:
    return tolerance(got.dtype if got.dtype.is_floating_point else torch.float64)


def _close(got: torch.Tensor, expected: torch.Tensor, tol: dict[str, float] | None = None) -> bool:
    """Same shape and close, with the tolerance of ``got``'s dtype unless ``tol`` is given."""
    tol = tol or _tolerance(got)
    return close(got, expected, **tol)


def _loaded(modules: dict[str, nn.Module], case) -> tuple[nn.Module, ...]:
    """The modules with the case's weights ('module.parameter' -> array) copied in, in the case's dtype."""
    with torch.no_grad():
        for key, value in case["weights"].items():
            module, name = key.split(".")
            getattr(modules[module], name).copy_(torch.from_numpy(value))
    return tuple(m.to(_DTYPES[case["dtype"]]) for m in modules.values())


def _with_eos(g: torch.Generator, N: int, T: int, V: int, min_len: int = 1, mixed: bool = False) -> torch.Tensor:
    """N target rows of random content ending in <eos> and padded to T.  ``mixed``: the first row fills all T
    steps and the last is at most half as long, so padding is present and rows differ in length whatever the
    seed (the masked-loss mistakes only show on such a batch)."""
    lengths = torch.randint(min_len, T + 1, (N,), generator=g)
    if mixed:
        lengths[0], lengths[-1] = T, min(int(lengths[-1]), max(T // 2, 1))
    seqs = torch.randint(4, V, (N, T), generator=g)
    for row, n in enumerate(lengths.tolist()):
        seqs[row, n - 1] = EOS_ID
        seqs[row, n:] = PAD_ID
    return seqs
