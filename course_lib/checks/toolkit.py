"""The checks' toolkit: what every notebook's checks use to make cases, compare results and name mistakes.

One of each, so that the notebooks' checks agree with each other.  This module holds the seeded inputs and the
kinds of case, and gathers the names of the modules that do the rest, one purpose each (none imports this one):

- :mod:`.compare`: the one table of tolerances, :func:`close`, :func:`assert_close` and its message,
  :func:`sequence_differences`;
- :mod:`.diagnose`: where and how a wrong result differs (time steps, rows, gate blocks, positions; a constant
  factor, a sign, a transpose, a shift of one step), asked by every failing comparison before its fallback;
- :mod:`.coerce`: a learner's result as the contract's type (:func:`plain`, :func:`as_tensor`, :func:`pair`,
  :func:`number`, :func:`token_list`, :func:`assert_dtype`);
- :mod:`.mistakes`: :func:`first_named_mistake` (a mistake named only for a wrong answer), gradients against
  autograd (:func:`assert_gradients`);
- :mod:`.devices`: :func:`on_meta`, :func:`assert_device_kept`, :class:`CountMatmuls`.

Here: :func:`generator`, :func:`randn`, :func:`tensor` (seeded inputs as plain data, float64 unless told);
:data:`KINDS`, :func:`kind_of`, :func:`kinds` (every case carries a ``kind``: the promise of the docstring it tests;
hidden cases add seeds, shapes and dtypes, never a kind or a family of shapes the visible cases lack --
``tests/checks/test_registry.py`` enforces it); :func:`note` (a remark printed under the ✓, ignored by grading).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

from course_lib.checks.coerce import (
    InputModified,
    as_tensor,
    assert_dtype,
    call_keeping_inputs,
    number,
    pair,
    plain,
    token_list,
)
from course_lib.checks.compare import (
    TOLERANCES,
    assert_close,
    close,
    close_to_scale,
    describe,
    differences,
    rel_error,
    sequence_differences,
    show_difference,
    tolerance,
)
from course_lib.checks.core import CheckFailure
from course_lib.checks.devices import (
    DEVICE_ADVICE,
    MATMULS,
    SLOW_INDEXING_NOTE,
    CountMatmuls,
    assert_device_kept,
    is_time_step_index,
    on_meta,
)
from course_lib.checks.diagnose import diagnose, which_differ
from course_lib.checks.mistakes import (
    DETACHED_STATE,
    Mistake,
    assert_gradients,
    first_named_mistake,
    gradients,
    name_mistake,
    reaches_first_step,
)

__all__ = [
    "DETACHED_STATE",
    "DEVICE_ADVICE",
    "KINDS",
    "MATMULS",
    "SLOW_INDEXING_NOTE",
    "TOLERANCES",
    "CheckFailure",
    "CountMatmuls",
    "InputModified",
    "Mistake",
    "as_tensor",
    "assert_close",
    "assert_device_kept",
    "assert_dtype",
    "assert_gradients",
    "call_keeping_inputs",
    "close",
    "close_to_scale",
    "describe",
    "diagnose",
    "families",
    "differences",
    "first_named_mistake",
    "generator",
    "gradients",
    "is_time_step_index",
    "kind_of",
    "kinds",
    "name_mistake",
    "note",
    "number",
    "on_meta",
    "pair",
    "plain",
    "randn",
    "reaches_first_step",
    "rel_error",
    "sequence_differences",
    "show_difference",
    "tensor",
    "token_list",
    "tolerance",
    "visible_first",
    "which_differ",
]

# --------------------------------------------------------------------------------------------------
# Seeded inputs


def generator(seed: int) -> torch.Generator:
    """The one source of randomness of a check's cases: a CPU generator seeded with the check's seed."""
    return torch.Generator().manual_seed(int(seed))


def randn(g: torch.Generator, *shape: int, scale: float = 1.0, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """``scale * N(0, 1)`` of ``shape`` as a numpy array of ``dtype`` (drawn in float64, so a case's values do not
    depend on the dtype it is tested in)."""
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype).numpy()


def tensor(value: Any) -> torch.Tensor:
    """A case's plain data (a numpy array or a list) as a tensor of its own (a copy: the case stays intact)."""
    return torch.from_numpy(np.array(value))


# --------------------------------------------------------------------------------------------------
# Kinds of case, and notes

KINDS: dict[str, str] = {
    "values": "the outputs, against torch's own modules or an invariant",
    "dtype": "the inputs' dtype is kept (float64 in, float64 out)",
    "gradients": "gradients through time, to the initial state and to every parameter, against autograd",
    "given state": "an initial state passed in is used",
    "no state": "state None starts from zeros, also on a call after one that had a state",
    "initialisation": "the parameters a constructor makes, as its docstring fixes them",
    "pad id as a real token": "a real token equal to the pad id is kept (masks come from lengths, not equality)",
    "device": "outputs on the inputs' device: the function run on the meta device (a stand-in for a GPU)",
    "training": "the model learns: the loss falls below a target on a tiny set",
    "edge": "the contract's edge cases: length 1, batch of 1, T = 1, max_len = 1, empty results",
    "answer": "a written answer (a quiz) compared with the key",
    "memory": "no intermediate the contract rules out: the largest tensor the function allocates, recorded",
}


def families(case: Mapping[str, Any]) -> set[tuple]:
    """The shape families and argument values a case stands for -- what a learner who sees ✓ on the visible cases
    must have met: its kind, its dtype, the rank of each array (ids of any rank), a batch of 1 or a single time step
    (a size-1 first or second axis of an array of rank >= 2: N = 1, T = 1, one layer, H = 1), and the class of a pad
    id (the default 0, another id, a negative one such as -100)."""
    found: set[tuple] = {("kind", kind_of(case))}
    for key, value in case.items():
        if isinstance(value, np.ndarray):
            found.add(("rank", key, value.ndim))
            found.update(
                ("size 1", key, axis) for axis, size in enumerate(value.shape[:2]) if size == 1 and value.ndim >= 2
            )
        elif "pad" in key and isinstance(value, int) and not isinstance(value, bool):
            found.add(("pad id", key, "default" if value == 0 else "negative" if value < 0 else "another"))
        elif key == "dtype":
            found.add(("dtype", str(value)))
    return found


def visible_first(cases: Callable[[int, bool], dict[str, dict[str, Any]]]) -> Callable[[int, bool], dict]:
    """``cases`` whose visible set also holds, for every family (:func:`families`) only hidden cases have, the first
    hidden case of that family (made from the visible seed): hidden cases add seeds and values, never a shape family
    or an argument value the learner has not seen pass.  ``tests/checks/test_registry.py`` checks every exercise."""

    def with_families(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
        shown = cases(seed, hidden)
        if hidden:
            return shown
        seen = set().union(*(families(c) for c in shown.values() if isinstance(c, Mapping)))
        for name, case in cases(seed, True).items():
            if name not in shown and isinstance(case, Mapping) and not families(case) <= seen:
                shown[name] = case
                seen |= families(case)
        return shown

    with_families.__name__ = getattr(cases, "__name__", "cases")
    with_families.__doc__ = cases.__doc__
    return with_families


def kind_of(case: Mapping[str, Any]) -> str:
    """The kind of a case: its ``kind`` entry, ``values`` if it has none."""
    return str(case.get("kind", "values"))


def kinds(cases: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The kinds of case among ``cases`` (``{name: case}``)."""
    return {kind_of(case) for case in cases.values()}


def note(text: str) -> list[str]:
    """What a judge returns to print a note under the ✓ (a correct answer with a remark; no points lost)."""
    return [text]
