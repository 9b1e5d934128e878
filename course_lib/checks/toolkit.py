"""The checks' toolkit: what every notebook's checks use to make cases, compare results and name mistakes.

One of each, so that the notebooks' checks agree with each other:

- :func:`generator`, :func:`randn`, :func:`tensor`: seeded inputs as plain data (float64 unless told), and back.
- :data:`TOLERANCES`, :func:`tolerance`: the one table of tolerances, by dtype.  float64 is tight enough
  that a float32 computation on float64 inputs fails (with a message that says so).
- :func:`sequence_differences`: where two sequences of tokens or ids differ (count, first positions).
- :func:`close`, :func:`assert_close`: the one comparison, and its failure message: the first differences
  (index, expected, got, ``|diff|``, tolerance) and the likely cause -- never the whole expected answer;
  :func:`close_to_scale` is :func:`close` at a relative tolerance of each entry (norms, spectral radii).
- :func:`plain`: what a ``run`` step returns, as data that crosses from the learner's kernel to the judge.
- :func:`as_tensor`, :func:`pair`, :func:`number`, :func:`token_list`, :func:`assert_dtype`: a learner's result
  coerced (or its dtype checked), or a message saying what it is.
- :func:`first_named_mistake`, :func:`name_mistake`: name a typical mistake *only* for an answer that is
  not right (the guard is applied here, once, not in each check).
- :data:`KINDS`, :func:`kind_of`, :func:`kinds`: every case carries a ``kind`` (``values``, ``gradients``,
  ``given state``...): the promise of the docstring it tests.  Hidden cases add seeds, shapes and dtypes,
  never a kind the visible cases lack (``tests/checks/test_registry.py`` enforces it).
- :func:`on_meta`, :func:`assert_device_kept`: the ``device`` kind of case: the learner's function run on inputs on
  the ``meta`` device (a stand-in for a GPU: tensors with a shape, a dtype and a device, no data) must return
  tensors on that device; a tensor made without ``device=`` is on the CPU and mixes devices.
- :func:`note`: a judge may return notes (a correct but slow pattern); the notebook prints them under the ✓,
  grading ignores them (no points lost).

The comparison is ``|got - expected| <= atol + rtol * |expected|`` elementwise (``torch.isclose``); CS231n's
``rel_error`` is reported beside it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence
from torch.overrides import TorchFunctionMode

from course_lib.checks import core
from course_lib.checks.core import CheckFailure, describe, rel_error

__all__ = [
    "KINDS",
    "TOLERANCES",
    "CheckFailure",
    "CountMatmuls",
    "MATMULS",
    "as_tensor",
    "assert_close",
    "assert_device_kept",
    "assert_dtype",
    "close",
    "close_to_scale",
    "differences",
    "sequence_differences",
    "show_difference",
    "assert_gradients",
    "SLOW_INDEXING_NOTE",
    "first_named_mistake",
    "generator",
    "gradients",
    "is_time_step_index",
    "reaches_first_step",
    "kind_of",
    "kinds",
    "name_mistake",
    "note",
    "number",
    "on_meta",
    "pair",
    "plain",
    "randn",
    "tensor",
    "token_list",
    "tolerance",
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
# Tolerances and the one comparison

TOLERANCES: dict[torch.dtype, dict[str, float]] = {
    torch.float64: {"rtol": 1e-9, "atol": 1e-11},
    torch.float32: {"rtol": 1e-4, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-3},
    torch.bfloat16: {"rtol": 2e-2, "atol": 1e-2},
}


def tolerance(dtype: torch.dtype | str | None) -> dict[str, float]:
    """``{"rtol", "atol"}`` for results of ``dtype`` (a name like ``"float32"`` works too; integers: exact)."""
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if dtype is None or dtype in TOLERANCES:
        return dict(TOLERANCES[dtype or torch.float64])
    return {"rtol": 0.0, "atol": 0.0}


def _coarser(a: torch.dtype, b: torch.dtype) -> torch.dtype:
    """The less precise of two dtypes (whose tolerance a comparison between them uses)."""
    order = [torch.float64, torch.float32, torch.bfloat16, torch.float16]
    ranks = [order.index(d) if d in order else -1 for d in (a, b)]
    return order[max(ranks)] if max(ranks) >= 0 else a


def _tol(got: torch.Tensor, expected: torch.Tensor, dtype, rtol, atol) -> tuple[float, float]:
    base = tolerance(dtype if dtype is not None else _coarser(got.dtype, expected.dtype))
    return (base["rtol"] if rtol is None else rtol), (base["atol"] if atol is None else atol)


def close(
    got: Any,
    expected: Any,
    dtype: torch.dtype | str | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> bool:
    """True if ``got`` has ``expected``'s shape and every value within the tolerance of ``dtype`` (by default the
    less precise dtype of the two); tuples and lists are compared item by item, numbers as 0-d tensors."""
    if isinstance(expected, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(expected)
            and all(close(a, b, dtype, rtol=rtol, atol=atol) for a, b in zip(got, expected))
        )
    got, expected = _as_compared(got), _as_compared(expected)
    if got is None or expected is None or tuple(got.shape) != tuple(expected.shape):
        return False
    r, a = _tol(got, expected, dtype, rtol, atol)
    return bool(torch.allclose(got.double(), expected.double(), rtol=r, atol=a))


def close_to_scale(got: Any, expected: Any, rtol: float) -> bool:
    """:func:`close` at ``rtol`` relative to each entry, with an absolute floor of 1e-12 times the largest entry (so
    an exact zero may come back as rounding noise); for quantities whose entries span orders of magnitude."""
    got_t, expected_t = _as_compared(got), _as_compared(expected)
    if got_t is None or expected_t is None or not bool(torch.isfinite(got_t).all()):
        return False
    atol = 1e-12 * max(1.0, float(expected_t.double().abs().max())) if expected_t.numel() else 0.0
    return close(got_t, expected_t, rtol=rtol, atol=atol)


def _as_compared(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return torch.from_numpy(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    return None


def assert_close(
    got: torch.Tensor,
    expected: torch.Tensor,
    what: str,
    *,
    dtype: torch.dtype | str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    hint: str = "",
) -> None:
    """Raise a :class:`CheckFailure` naming ``what`` unless ``got`` matches ``expected`` (see :func:`close`).

    The message shows the first differences (index, expected, got, ``|diff|``, tolerance) -- not the expected
    tensor -- and, where expected and got print the same digits, the likely cause (float32, order of operations).
    """
    __tracebackhide__ = True
    hint = f"\n{hint}" if hint else ""
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailure(f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}.{hint}")
    if got.dtype.is_floating_point != expected.dtype.is_floating_point and expected.dtype != torch.bool:
        raise CheckFailure(f"{what} has dtype {got.dtype}, expected {expected.dtype}.{hint}")
    if got.dtype.is_floating_point and not torch.isfinite(got).all():
        raise CheckFailure(f"{what} contains NaN or inf: {describe(got)}.{hint}")
    r, a = _tol(got, expected, dtype, rtol, atol)
    if torch.allclose(got.double(), expected.double(), rtol=r, atol=a):
        return
    raise CheckFailure(f"{what} is wrong: {differences(got, expected, rtol=r, atol=a)}{hint}")


def differences(got: torch.Tensor, expected: torch.Tensor, *, rtol: float, atol: float, limit: int = 3) -> str:
    """Where ``got`` and ``expected`` differ: the count, the first few (index, expected, got, |diff|, tolerance),
    the max relative error and, when the printed digits agree, the likely cause.  Never every expected value:
    at most ``limit`` of them, and fewer than all when there are several."""
    g, e = got.detach().double(), expected.detach().double()
    bad = ~torch.isclose(g, e, rtol=rtol, atol=atol)
    count, total = int(bad.sum()), g.numel()
    where = bad.nonzero().tolist()[: min(limit, max(total - 1, 1))]
    rows, same_digits = [], True
    for index in where:
        ev, gv = float(e[tuple(index)]), float(g[tuple(index)])
        same_digits &= f"{ev:.6g}" == f"{gv:.6g}"
        at = f"at {tuple(index)}: " if g.dim() else ""
        shown = (
            f"got {gv:.10g}, |diff| {abs(gv - ev):.2g}"
            if total == 1
            else f"expected {ev:.6g}, got {gv:.6g}, |diff| {abs(gv - ev):.2g}"
        )
        rows.append(f"  {at}{shown} > tolerance {atol + rtol * abs(ev):.2g}")
    head = f"{count} of {total} values differ" if total > 1 else "the value differs"
    text = (
        f"{head} (tolerance rtol={rtol:g}, atol={atol:g}: |got - expected| <= atol + rtol * |expected|; "
        f"max relative error {rel_error(g, e):.2e})" + (":\n" + "\n".join(rows) if rows else ".")
    )
    cause = _likely_cause(got, expected, rel_error(g, e), same_digits)
    return text + (f"\n  {cause}" if cause else "")


def show_difference(got: Any, expected: Any, dtype: torch.dtype | str | None = None) -> str:
    """The first differences between ``got`` and ``expected`` (see :func:`differences`) at the tolerance of the
    dtypes, for a message that has already named the mistake: what a learner can compare, not the answer."""
    got_t, expected_t = _as_compared(got), _as_compared(expected)
    if got_t is None or expected_t is None or tuple(got_t.shape) != tuple(expected_t.shape):
        return f"got {describe(got)}"
    r, a = _tol(got_t, expected_t, dtype, None, None)
    return differences(got_t, expected_t, rtol=r, atol=a)


def sequence_differences(got: Any, expected: Any, limit: int = 3) -> str:
    """Where two sequences of tokens or ids differ -- lists, or integer or bool tensors of one shape: the count and
    the first few positions (index, expected, got), or the lengths (shapes) when they differ.  Never every expected
    item: at most ``limit`` of them, and fewer than all when there are several."""
    if isinstance(got, torch.Tensor) or isinstance(expected, torch.Tensor):
        g, e = torch.as_tensor(got).detach(), torch.as_tensor(expected).detach()
        if tuple(g.shape) != tuple(e.shape):
            return f"shape {tuple(g.shape)}, expected {tuple(e.shape)}"
        where = (g != e).nonzero().tolist()
        pairs = [(tuple(i) if len(i) != 1 else i[0], e[tuple(i)].item(), g[tuple(i)].item()) for i in where]
        total = g.numel()
    else:
        g, e = list(got), list(expected)
        if len(g) != len(e):
            first = next((i for i, (a, b) in enumerate(zip(g, e)) if a != b), min(len(g), len(e)))
            at = (
                f"; at position {first}: expected {e[first]!r}, got {g[first]!r}" if first < min(len(g), len(e)) else ""
            )
            return f"length {len(g)}, expected {len(e)}{at}"
        pairs = [(i, b, a) for i, (a, b) in enumerate(zip(g, e)) if a != b]
        total = len(g)
    if not pairs:
        return "no difference"
    shown = pairs[: min(limit, max(total - 1, 1))]
    rows = "; ".join(f"at {i}: expected {ev!r}, got {gv!r}" for i, ev, gv in shown)
    return f"{len(pairs)} of {total} differ ({rows}{'; ...' if len(pairs) > len(shown) else ''})"


def _likely_cause(got: torch.Tensor, expected: torch.Tensor, error: float, same_digits: bool) -> str:
    if expected.dtype == torch.float64 and got.dtype == torch.float64 and got.numel():
        g = got.detach()
        if torch.equal(g.float().double(), g) and not torch.equal(expected.float().double(), expected):
            return (
                "Likely cause: float32. Every value you returned is exactly a float32 number: the computation ran "
                "in float32 and was cast to float64 at the end. Keep the inputs' dtype throughout (no .float(); "
                "make new tensors with x.new_zeros(...) or dtype=x.dtype)."
            )
    if expected.dtype == torch.float64 and 1e-10 <= error < 3e-7:
        return (
            "Likely cause: the difference is at float32 precision (about 1e-7). Part of the computation may run "
            "in float32 while the inputs are float64: a tensor made without dtype= (torch.zeros(...), "
            "torch.tensor(...), torch.randn(...)), a .float(), or float32 parameters. Make new tensors with "
            "x.new_zeros(...) or dtype=x.dtype."
        )
    if same_digits or error < 1e-10:
        return (
            "Likely cause: rounding. The values agree to the digits shown, so the formula is right up to the "
            "order of operations; compute in the inputs' dtype and avoid subtracting nearly equal numbers."
        )
    if error < 1e-3:
        return "The difference is small but real: a term is slightly off (a constant, an epsilon, a scale factor?)."
    return ""


# --------------------------------------------------------------------------------------------------
# Reading a learner's result


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
    return core.as_tensor(value, what, shape, letters)


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


# --------------------------------------------------------------------------------------------------
# Naming mistakes, only for answers that are wrong

Mistake = tuple[str, Any]  # (message, the wrong answer, or a function of no arguments that computes it)


def first_named_mistake(
    got: Any, reference: Any, mistakes: Iterable[Mistake], same: Callable[[Any, Any], bool] = close
) -> str | None:
    """The message of the first mistake whose answer ``got`` equals, or None.

    The guard every check needs is applied here: nothing is named when ``got`` equals ``reference`` (a right
    answer is never blamed), nor for a mistake that gives the right answer on this case.  A mistake's answer
    may be a function of no arguments: it is computed only when needed; ``None`` (not applicable) is skipped.
    """
    if same(got, reference):
        return None
    for message, wrong in mistakes:
        wrong = wrong() if callable(wrong) else wrong
        if wrong is not None and same(got, wrong) and not same(wrong, reference):
            return message
    return None


def name_mistake(
    got: Any, reference: Any, mistakes: Iterable[Mistake], prefix: str = "", same: Callable[[Any, Any], bool] = close
) -> None:
    """Raise ``CheckFailure(prefix + message)`` for :func:`first_named_mistake`, if it finds one."""
    __tracebackhide__ = True
    message = first_named_mistake(got, reference, mistakes, same)
    if message:
        raise CheckFailure(prefix + message)


# --------------------------------------------------------------------------------------------------
# Gradients: through time, to the initial state and to every parameter


def gradients(outputs: list[Any], upstream: list[torch.Tensor], wrt: list[torch.Tensor]) -> list[Any]:
    """d/d``wrt`` of ``loss = sum_k sum(outputs[k] * upstream[k])`` by autograd (every output gets its own
    random upstream gradient, so no output's gradient can hide another's); None for what the loss does not
    reach.  Runs in the learner's kernel on the learner's outputs, and in the judge on torch's."""
    if len(outputs) != len(upstream) or not all(isinstance(o, torch.Tensor) for o in outputs):
        return [None] * len(wrt)
    if any(tuple(o.shape) != tuple(u.shape) for o, u in zip(outputs, upstream)):
        return [None] * len(wrt)
    loss = sum((o * u.to(o.dtype)).sum() for o, u in zip(outputs, upstream))
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        return [None] * len(wrt)
    grads = torch.autograd.grad(loss, wrt, allow_unused=True)
    return [None if g is None else g.detach() for g in grads]


def reaches_first_step(last: Any, x: torch.Tensor) -> bool | None:
    """Does the last time step's output depend on the first step's input ``x[:, 0]`` through the graph (as it
    must when the state carries gradients through time)?  None when it cannot be told (no graph, T = 1)."""
    if not (isinstance(last, torch.Tensor) and last.requires_grad and x.requires_grad) or x.dim() < 2:
        return None
    if x.shape[1] < 2:
        return None
    (g,) = torch.autograd.grad(last.sum(), [x], allow_unused=True, retain_graph=True)
    if g is None or not bool(g[:, -1].abs().sum() > 0):
        return None  # the last output does not depend on the last input either: the graph is cut elsewhere
    return bool(g[:, 0].abs().sum() > 0)


DETACHED_STATE = (
    "the values are right but the gradients are not those of backpropagation through time: they are what you get "
    "when the state is detached inside the time loop (h.detach(), h.data, torch.tensor(h), .item() or .numpy() of "
    "the state), so no gradient flows from step t back to step t-1. Keep the state in the graph from step to step."
)


def assert_gradients(
    got: list[Any],
    expected: list[torch.Tensor],
    names: tuple[str, ...],
    what: str,
    detached: Callable[[], list[torch.Tensor]] | list[Callable[[], list[torch.Tensor]]] | None = None,
    through_time: bool | None = None,
) -> None:
    """Each gradient in ``got`` against autograd's ``expected``, in the order of ``names``.

    A wrong result is named as a state detached inside the time loop when ``through_time`` is False (the learner's
    last output does not depend on the first input: :func:`reaches_first_step`), or when it equals ``detached()``
    (or one of a list of them), the gradients of the same computation with the state detached at every step.  A missing gradient is named
    with what cuts a graph.
    """
    __tracebackhide__ = True
    if all(g is None for g in got):
        raise CheckFailure(
            f"{what}: no gradient reaches any input or parameter: the outputs are not connected to the graph. "
            f"Build them with torch operations from the inputs and parameters (no torch.no_grad(), .detach(), "
            f".data, .item(), .numpy() or torch.tensor(...) of intermediate values)."
        )
    got_tensors = [
        as_tensor(g, f"the gradient with respect to {n}", tuple(e.shape)) if g is not None else None
        for g, n, e in zip(got, names, expected)
    ]
    if through_time is False and not _same_gradients(got_tensors, list(expected)):
        raise CheckFailure(f"{what}: {DETACHED_STATE}")
    variants = detached if isinstance(detached, (list, tuple)) else [detached] if detached is not None else []
    if variants and not _same_gradients(got_tensors, list(expected)):
        for variant in variants:  # the detach before or after the step, say
            reference = variant()
            if _same_gradients(got_tensors, reference) and not _same_gradients(list(expected), reference):
                raise CheckFailure(f"{what}: {DETACHED_STATE}")
    for g, n, e in zip(got_tensors, names, expected):
        if g is None:
            raise CheckFailure(
                f"{what}: no gradient reaches {n}: the loss does not depend on it through the graph. Is the state "
                f"detached somewhere (h.detach(), .data), or {n} replaced by a copy (torch.tensor({n}), {n}.clone() "
                f"under torch.no_grad())?"
            )
        assert_close(
            g,
            e,
            f"{what}: the gradient with respect to {n}",
            hint="The outputs are right but this gradient is not (autograd through torch's module is the "
            "reference): is a tensor modified in place after it was used, or the graph cut somewhere?",
        )


def _same_gradients(got: list[Any], expected: list[Any]) -> bool:
    """Equal where both exist; a missing gradient equals an all-zero one."""
    for g, e in zip(got, expected):
        g = torch.zeros_like(e) if g is None and e is not None else g
        e = torch.zeros_like(g) if e is None and g is not None else e
        if g is not None and not close(g, e):
            return False
    return True


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
}


def kind_of(case: Mapping[str, Any]) -> str:
    """The kind of a case: its ``kind`` entry, ``values`` if it has none."""
    return str(case.get("kind", "values"))


def kinds(cases: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The kinds of case among ``cases`` (``{name: case}``)."""
    return {kind_of(case) for case in cases.values()}


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
        if "meta" not in str(error) and "device" not in str(error):
            raise  # not about devices (a stub's NotImplementedError, a bug): the learner's error, as in any case
        return {"error": f"{type(error).__name__}: {error}"[:300], "factories": list(mode.without_device)}
    return {"devices": [str(t.device) for t in _tensors_in(result)], "factories": list(mode.without_device)}


# errors that only a mix of devices raises; "Cannot copy out of meta tensor" also comes from reading data
# (.cpu(), .tolist()), so it counts only when a factory made a tensor without device=
_MIXED_DEVICES = ("is not on the expected device", "to be on the same device", "Expected all tensors")
_COPY_OUT = "Cannot copy out of meta tensor"

DEVICE_ADVICE = (
    "A tensor made without device= is on the CPU whatever the input's device (on a GPU this fails). Create new "
    "tensors on the input's device (device=x.device): torch.zeros(N, H, dtype=x.dtype, device=x.device), "
    "x.new_zeros(N, H) or torch.zeros_like(h)."
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


def note(text: str) -> list[str]:
    """What a judge returns to print a note under the ✓ (a correct answer with a remark; no points lost)."""
    return [text]
