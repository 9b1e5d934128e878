"""Comparing a learner's result with the reference: the one table of tolerances, the one comparison and its message.

- :data:`TOLERANCES`, :func:`tolerance`: by dtype.  float64 is tight enough that a float32 computation on float64
  inputs fails (with a message that says so only when the reference at float32 precision gives the learner's values).
- :func:`close`, :func:`assert_close`: ``|got - expected| <= atol + rtol * |expected|`` elementwise (``torch.isclose``);
  CS231n's :func:`rel_error` is reported beside it.  A failure first asks the diagnosis layer
  (:func:`course_lib.checks.diagnose.diagnose`: where and how the values differ), then shows the first differences
  (index, expected, got, ``|diff|``, tolerance) -- never the whole expected answer.
- :func:`sequence_differences`: where two sequences of tokens or ids differ; :func:`describe`: a short rendering.

References: CS231n's ``rel_error``; ``torch.testing.assert_close``'s mismatch report.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from course_lib.checks.core import CheckFailure
from course_lib.checks.diagnose import diagnose

__all__ = [
    "TOLERANCES",
    "assert_close",
    "close",
    "close_to_scale",
    "describe",
    "differences",
    "rel_error",
    "sequence_differences",
    "show_difference",
    "tolerance",
]

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
    letters: str | Sequence[str] | None = None,
    blocks: tuple[int, Sequence[str]] | None = None,
    factors: Mapping[str, float] | None = None,
    regions: Mapping[str, Any] | None = None,
) -> None:
    """Raise a :class:`CheckFailure` naming ``what`` unless ``got`` matches ``expected`` (see :func:`close`).

    ``dtype``: the dtype whose tolerance applies -- the case's (never the learner's result's); by default the less
    precise of the two.  ``letters``, ``blocks``, ``factors``, ``regions``: the structure the diagnosis layer
    reads (:func:`course_lib.checks.diagnose.diagnose`): its ``Where:`` / ``How:`` lines come first, then the first
    differences (index, expected, got, ``|diff|``, tolerance) -- not the expected tensor -- and the likely cause.
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
    found = diagnose(got, expected, rtol=r, atol=a, letters=letters, blocks=blocks, factors=factors, regions=regions)
    lines = "".join(f"\n{line}" for line in found)  # where and how first: they say more than the figures
    raise CheckFailure(f"{what} is wrong:{lines or ''} {differences(got, expected, rtol=r, atol=a)}{hint}")


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
        digits = 6 if f"{ev:.6g}" != f"{gv:.6g}" else 12  # enough digits that the two never print the same
        same_digits &= digits == 12
        at = f"at {tuple(index)}: " if g.dim() else ""
        shown = (
            f"got {gv:.10g}, |diff| {abs(gv - ev):.2g}"
            if total == 1
            else f"expected {ev:.{digits}g}, got {gv:.{digits}g}, |diff| {abs(gv - ev):.2g}"
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
        f32 = TOLERANCES[torch.float32]
        if (
            torch.equal(g.float().double(), g)
            and not torch.equal(expected.float().double(), expected)
            and bool(torch.allclose(g, expected.double(), rtol=f32["rtol"], atol=f32["atol"]))
        ):  # the reference at float32 precision gives the learner's values: only then is float32 the cause
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


def rel_error(got: torch.Tensor, expected: torch.Tensor) -> float:
    """max |got - expected| / max(1e-8, |got| + |expected|), as in CS231n."""
    got, expected = got.double(), expected.double()
    den = (got.abs() + expected.abs()).clamp_min(1e-8)
    return float(((got - expected).abs() / den).max()) if got.numel() else 0.0


def describe(value: Any, limit: int = 6) -> str:
    """A short, readable rendering: shape, dtype and the first few values."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().reshape(-1)[:limit].tolist()
        text = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat)
        more = ", ..." if value.numel() > limit else ""
        return f"tensor of shape {tuple(value.shape)}, {value.dtype}: [{text}{more}]"
    if isinstance(value, np.ndarray):
        return describe(torch.from_numpy(value), limit)
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."
