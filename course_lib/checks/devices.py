"""How a learner's function runs: on which device its tensors land, and which torch functions it calls.

- :func:`on_meta`, :func:`assert_device_kept`: the ``device`` kind of case: the learner's function run on inputs on
  the ``meta`` device (a stand-in for a GPU: tensors with a shape, a dtype and a device, no data) must return
  tensors on that device; a tensor made without ``device=`` is on the CPU and mixes devices.
- :class:`CountMatmuls`, :func:`is_time_step_index`: the matrix products and time-step reads a forward pass calls
  (a right answer written in a slow way gets a note).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.overrides import TorchFunctionMode

from course_lib.checks.core import CheckFailure

__all__ = [
    "DEVICE_ADVICE",
    "MATMULS",
    "SLOW_INDEXING_NOTE",
    "CountMatmuls",
    "assert_device_kept",
    "is_time_step_index",
    "on_meta",
]


def is_time_step_index(args: tuple) -> bool:
    """Whether ``args`` of a ``Tensor.__getitem__`` call (seen by a ``TorchFunctionMode``) read one time step of a
    (N, T, ·) tensor, ``xp[:, t]`` or ``xp[:, t, :]``: right, but each is its own autograd node, and T of them
    make the backward pass of a recurrent layer many times slower than ``xp.unbind(1)``."""
    if len(args) != 2 or not isinstance(args[0], torch.Tensor) or args[0].dim() != 3:
        return False
    index = args[1]
    return (
        isinstance(index, tuple)
        and len(index) in (2, 3)
        and index[0] == slice(None)
        and isinstance(index[1], int)
        and all(i == slice(None) for i in index[2:])
    )


# torch functions that multiply matrices, by name (x @ W.T reaches a TorchFunctionMode as "matmul")
MATMULS = frozenset(
    {
        "matmul",
        "__matmul__",
        "__rmatmul__",
        "mm",
        "addmm",
        "bmm",
        "baddbmm",
        "addbmm",
        "linear",
        "bilinear",
        "einsum",
        "mv",
        "addmv",
        "tensordot",
        "inner",
        "dot",
        "multi_dot",
        "chain_matmul",
    }
)


class CountMatmuls(TorchFunctionMode):
    """Counts the matrix products a learner's forward pass calls (x @ W.T, torch.addmm, F.linear, ...), the time
    steps it reads by indexing a (N, T, ·) tensor (``xp[:, t]``: :func:`is_time_step_index`), and the names of
    every torch function it calls (``"gru" in counter.called``: torch's own kernel did the work)."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.indexed = 0
        self.called: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        self.called.add(name)
        self.count += name in MATMULS
        self.indexed += name == "__getitem__" and is_time_step_index(args)
        return func(*args, **(kwargs or {}))


SLOW_INDEXING_NOTE = (
    "your layer reads the time steps as xp[:, t] inside the loop. It is right, but each xp[:, t] is its own "
    "autograd node, and the backward pass pays for all T of them (64-105x slower in notebook 04's section 5); "
    "iterate xp.unbind(1) instead: one node for all T slices."
)


# --------------------------------------------------------------------------------------------------
# Device: the function run on the meta device

# factories that make a tensor on the CPU unless told device= (the *_like and new_* ones take their input's device)
_FACTORIES = {"zeros", "ones", "empty", "full", "rand", "randn", "randint", "tensor", "as_tensor", "arange", "eye"}


class _Factories(TorchFunctionMode):
    """Records the tensor factories called without ``device=`` (``torch.zeros(N, H)``, ``torch.tensor(...)``)."""

    def __init__(self):
        super().__init__()
        self.without_device: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _FACTORIES and kwargs.get("device") is None and name not in self.without_device:
            self.without_device.append(name)
        return func(*args, **kwargs)


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_in(v)]
    return []


def on_meta(call: Callable[[], Any]) -> dict[str, Any]:
    """Run ``call`` -- the learner's function on inputs (and modules) moved to the ``meta`` device -- and report, as
    plain data for the judge, the devices of the tensors it returned or the error it raised, and the tensor
    factories it called without ``device=``.  Runs in the learner's kernel (a ``run`` step)."""
    mode = _Factories()
    try:
        with torch.no_grad(), mode:
            result = call()
    except Exception as error:
        if "meta" not in str(error).lower() and "device" not in str(error):  # "with Meta tensors": an op without
            # a meta kernel (torch.unique) proves nothing about devices and passes (assert_device_kept)
            raise  # not about devices (a stub's NotImplementedError, a bug): the learner's error, as in any case
        return {"error": f"{type(error).__name__}: {error}"[:300], "factories": list(mode.without_device)}
    return {"devices": [str(t.device) for t in _tensors_in(result)], "factories": list(mode.without_device)}


# errors that only a mix of devices raises; "Cannot copy out of meta tensor" also comes from reading data
# (.cpu(), .tolist()), so it counts only when a factory made a tensor without device=
_MIXED_DEVICES = (
    "is not on the expected device",
    "to be on the same device",
    "to be in the same device",  # index_add_, index_copy_: "expected to be in the same device, but got (self) cpu"
    "Expected all tensors",
)
_COPY_OUT = "Cannot copy out of meta tensor"

DEVICE_ADVICE = (
    "A tensor made without device= is on the CPU whatever the input's device (on a GPU this fails). Create new "
    "tensors on the input's device (device=x.device; x.new_zeros and torch.zeros_like take it from a tensor)."
)


def assert_device_kept(report: Any, what: str) -> None:
    """Judge an :func:`on_meta` report: raise a :class:`CheckFailure` when the function mixed devices (an error that
    only mixed devices raise, or a returned tensor not on the inputs' device).  An error that the meta device alone
    causes (``.item()`` reads data that meta tensors do not have) proves nothing and passes: the values cases judge
    the function."""
    __tracebackhide__ = True
    if not isinstance(report, dict):
        raise CheckFailure(f"{what}: unexpected result from the run on the meta device")
    made = [f"torch.{name}(...)" for name in report.get("factories") or []]
    made_text = f" (it calls {', '.join(made)} without device=)" if made else ""
    intro = f"{what}: with the inputs on another device (the meta device, which stands in for a GPU here)"
    error = report.get("error")
    if error is not None:
        if any(p in error for p in _MIXED_DEVICES) or (made and _COPY_OUT in error):
            raise CheckFailure(f"{intro}, it failed{made_text}: {error.rstrip('!. ')}. {DEVICE_ADVICE}")
        return
    wrong = [d for d in report.get("devices") or [] if d != "meta"]
    if wrong:
        raise CheckFailure(
            f"{intro}, it returned a tensor on {wrong[0]}, not on the inputs' device{made_text}. {DEVICE_ADVICE}"
        )
