"""A learner's result read as what the contract promises, or a message that says what it is instead.

- :func:`plain`: what a ``run`` step returns, as data that crosses from the learner's kernel to the judge.
- :func:`as_tensor`, :func:`pair`, :func:`number`, :func:`token_list`: a result coerced, or a message naming it.
- :func:`assert_dtype`: the dtype the *case* fixes (never the one the learner's result happens to have).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure

__all__ = ["InputModified", "as_tensor", "assert_dtype", "call_keeping_inputs", "number", "pair", "plain", "token_list"]


class InputModified(Exception):
    """Raised in a ``run`` step when the learner's function wrote into one of its inputs (a caller's tensor)."""


def call_keeping_inputs(fn, names, inputs):
    """``fn(*inputs)``; raises :class:`InputModified` naming the inputs it changed in place (``xp_t.addmm_(...)``,
    ``h += ...``): the caller's tensors must come back as they went in."""
    before = [t.clone() for t in inputs]
    result = fn(*inputs)
    changed = [n for n, t, b in zip(names, inputs, before) if not torch.equal(t, b)]
    if changed:
        raise InputModified(
            f"it changed its input {', '.join(changed)} in place (an in-place operation such as x.add_(...), "
            f"x.addmm_(...) or x += ... on a tensor it was given): the caller's tensors must stay as they were; "
            f"compute into a new tensor instead"
        )
    return result


def plain(value: Any) -> Any:
    """What the learner's function returned, as data a ``run`` step can hand to the judge: tensors detached,
    lists and tuples as tuples (item by item), numbers, strings and arrays as they are, any other object as
    ``{"object": its type name}`` (which :func:`as_tensor` and :func:`token_list` name in their messages)."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, PackedSequence):  # a tuple too, but not one of results
        return {"object": "PackedSequence"}
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return value
    return {"object": type(value).__name__}


def _object_name(value: Any) -> str | None:
    """The type name :func:`plain` recorded for an object that is not data, or None."""
    if isinstance(value, dict) and set(value) == {"object"} and isinstance(value["object"], str):
        return value["object"]
    return None


def as_tensor(value: Any, what: str, shape: tuple[int, ...] | None = None, letters: str = "") -> torch.Tensor:
    """``value`` as a tensor of ``shape``; otherwise a message naming ``what`` and both shapes (an object that
    :func:`plain` could not send is named by its type; a ``PackedSequence`` with the way to unpack it)."""
    __tracebackhide__ = True
    name = _object_name(value)
    if name is not None:
        hint = " Unpack it with pad_packed_sequence." if name == "PackedSequence" else ""
        raise CheckFailure(f"{what} should be a tensor, but it is a {name}.{hint}")
    return _as_tensor(value, what, shape, letters)


def token_list(value: Any, what: str) -> list[str]:
    """``value`` (a list or tuple of strings) as a list; otherwise a message naming ``what``."""
    __tracebackhide__ = True
    name = _object_name(value)
    if name is not None or isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{what} should be a list of strings, but it is a {name or type(value).__name__}")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise CheckFailure(f"{what} should contain strings only, found {bad[0]!r}")
    return list(value)


def assert_dtype(got: torch.Tensor, expected: torch.dtype, what: str) -> None:
    """Raise a :class:`CheckFailure` unless ``got`` kept the inputs' dtype ``expected``."""
    __tracebackhide__ = True
    if got.dtype != expected:
        raise CheckFailure(
            f"{what} has dtype {got.dtype}, but the inputs are {expected}. Keep the inputs' dtype: create new "
            f"tensors with torch.zeros_like(...) or dtype=x.dtype, not with torch.zeros(...) alone."
        )


def pair(value: Any, function: str, names: str) -> tuple:
    """``value`` as a pair; otherwise a message saying ``function`` should return ``(names)``."""
    __tracebackhide__ = True
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        got = f"a {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (list, tuple)) else "")
        raise CheckFailure(f"{function} should return a pair ({names}), got {got}")
    return tuple(value)


def number(value: Any, what: str) -> float:
    """``value`` (a Python number or a one-element array) as a float; otherwise a message naming ``what``."""
    __tracebackhide__ = True
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckFailure(f"{what} should be a number (a float, or a 0-d tensor), got {describe(value)}")
    return float(value)


def _as_tensor(value: Any, what: str, shape: tuple[int, ...] | None = None, letters: str = "") -> torch.Tensor:
    """``value`` as a tensor of ``shape``; otherwise a message naming ``what`` and both shapes."""
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray):
        raise CheckFailure(f"{what} should be a tensor, but it is a {_type_name(value)}")
    tensor = torch.from_numpy(value)
    if shape is not None and tuple(tensor.shape) != tuple(shape):
        letters = f" {letters} =" if letters else ""
        hint = ""
        if tensor.dim() == len(shape) and tuple(reversed(tensor.shape)) == tuple(shape):
            hint = " It looks transposed."
        raise CheckFailure(f"{what} has shape {tuple(tensor.shape)}, expected{letters} {tuple(shape)}.{hint}")
    return tensor


def _type_name(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__
