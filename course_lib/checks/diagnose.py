"""The diagnosis layer: where a wrong result differs from the reference, and how -- for any mistake, listed or not.

Every comparison that fails (:func:`course_lib.checks.compare.assert_close`) asks :func:`diagnose` before it falls
back to the first differences.  It knows only the structure the check gives it, never the solution:

- ``letters``: one shape letter per dimension (``"N T H"``; ``_`` for a dimension not to describe).  ``T`` is time,
  ``N`` the batch rows; any other letter is named as it is.
- ``blocks``: ``(dim, names)``: a dimension that stacks equal blocks (an LSTM's gates ``i, f, g, o`` along 4H).
- ``factors``: ``{name: value}``: the constants a wrong reduction introduces (``{"T": 5, "N": 3}``,
  ``{"the number of real tokens": 11}``).
- ``regions``: ``{name: bool mask}`` broadcastable to the result (``{"padding positions": mask}``).

It returns lines that start with ``Where:`` (which time steps, rows, gate blocks or positions hold every difference)
or ``How:`` (every value off by a constant factor, the sign flipped, the transpose, shifted one step, time reversed,
the blocks in another order, all zeros).  Statements are about the learner's result; none prints an expected value.

:func:`which_differ` says which outputs of several are wrong and which are right.

Reference: ``torch.testing.assert_close``'s mismatch report (where and how much) -- here with the structure of the
exercise, so that the location reads in its own words.
"""

from __future__ import annotations

import itertools
from typing import Mapping, Sequence

import torch

__all__ = ["diagnose", "which_differ", "located"]

_REL = 1e-6  # how exactly a transform must reproduce the learner's values to be named


def located(text: str) -> bool:
    """Whether a message holds a statement of this layer."""
    return "Where:" in text or "How:" in text


def _same(a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float) -> bool:
    return tuple(a.shape) == tuple(b.shape) and bool(torch.allclose(a, b, rtol=max(rtol, _REL), atol=atol))


def _indices(items: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (", ..." if len(items) > limit else "")


def _time_steps(bad: list[int], size: int) -> str:
    if bad == [0]:
        return "only at the first time step (t = 0); every later step is right"
    if bad == [size - 1]:
        return f"only at the last time step (t = {size - 1}); every earlier step is right"
    if bad == list(range(bad[0], size)) and bad[0] > 0:
        return f"from time step t = {bad[0]} on; steps 0 to {bad[0] - 1} are right"
    if bad == list(range(0, bad[-1] + 1)):
        return f"at time steps 0 to {bad[-1]}; steps from {bad[-1] + 1} on are right"
    return f"only at time steps {_indices(bad)} (of {size})"


def _along(bad: torch.Tensor, dim: int) -> list[int]:
    other = [d for d in range(bad.dim()) if d != dim]
    per = bad.any(dim=other[0], keepdim=True) if other else bad
    for d in other[1:]:
        per = per.any(dim=d, keepdim=True)
    return per.reshape(-1).nonzero().reshape(-1).tolist()


def _where(
    bad: torch.Tensor, letters: list[str] | None, blocks: tuple[int, Sequence[str]] | None, regions
) -> list[str]:
    found: list[str] = []
    for dim in range(bad.dim()):
        size = bad.shape[dim]
        letter = letters[dim] if letters and dim < len(letters) else None
        if letter == "_" or size < 2:
            continue
        wrong = _along(bad, dim)
        if blocks is not None and blocks[0] % bad.dim() == dim and size % len(blocks[1]) == 0:
            width = size // len(blocks[1])
            names = [n for k, n in enumerate(blocks[1]) if any(k * width <= i < (k + 1) * width for i in wrong)]
            if 0 < len(names) < len(blocks[1]):
                right = [n for n in blocks[1] if n not in names]
                found.append(
                    f"only in the {', '.join(names)} block{'s' if len(names) > 1 else ''} "
                    f"(the {', '.join(right)} block{'s are' if len(right) > 1 else ' is'} right)"
                )
            continue
        if not wrong or len(wrong) == size:
            continue
        if letter == "T":
            found.append(_time_steps(wrong, size))
        elif letter == "N":
            found.append(f"only in rows {_indices(wrong)} of the batch (of {size}); the other rows are right")
        elif letter:
            found.append(f"only at {letter} = {_indices(wrong)} (of {size})")
        elif len(wrong) <= 2:
            found.append(f"only at index {_indices(wrong)} of dimension {dim} (of {size})")
    for name, mask in (regions or {}).items():
        mask = torch.as_tensor(mask, dtype=torch.bool)
        try:
            mask = mask.expand_as(bad)
        except RuntimeError:
            continue
        if not bool(mask.any()) or bool(mask.all()):
            continue
        if not bool((bad & ~mask).any()):
            found.append(f"only at the {name}; everywhere else the values are right")
        elif not bool((bad & mask).any()):
            found.append(f"everywhere except the {name}, which are right")
    return found


def _factor_name(c: float, factors: Mapping[str, float] | None) -> str | None:
    for name, value in (factors or {}).items():
        value = float(value)
        if value in (0.0, 1.0, -1.0):
            continue
        if abs(c - value) <= 1e-6 * abs(value):
            return f"{name} = {value:g} times too large (a sum where a mean belongs, or a division missing?)"
        if abs(c - 1 / value) <= 1e-6 / abs(value):
            return f"{name} = {value:g} times too small (a mean where a sum belongs, or an extra division by {name}?)"
    return None


def _how(
    g: torch.Tensor,
    e: torch.Tensor,
    letters: list[str] | None,
    blocks: tuple[int, Sequence[str]] | None,
    factors: Mapping[str, float] | None,
    rtol: float,
    atol: float,
) -> list[str]:
    if not g.numel() or not bool(e.abs().max() > 0):
        return []
    if bool(g.abs().max() <= atol):
        return ["every value you returned is 0"]
    if _same(g, -e, rtol, atol):
        return ["the sign is flipped: every value has the right size and the opposite sign"]
    c = float((g * e).sum() / (e * e).sum())
    if abs(c - 1) > 1e-6 and _same(g, c * e, rtol, atol):
        named = _factor_name(c, factors)
        return [f"every value is {named}" if named else f"every value is the expected one times {c:.6g}"]
    found: list[str] = _last_axis(g, e, rtol, atol)
    if found:
        return found
    if g.dim() >= 2 and g.shape[-1] == g.shape[-2] and _same(g, e.transpose(-1, -2), rtol, atol):
        found.append("it is the transpose of the expected matrix (rows and columns swapped)")
    if letters and "T" in letters and letters.index("T") < g.dim():
        dim = letters.index("T")
        size = g.shape[dim]
        if size >= 3:
            if _same(g.narrow(dim, 1, size - 1), e.narrow(dim, 0, size - 1), rtol, atol):
                found.append("shifted one step late: your step t holds what belongs to step t - 1")
            elif _same(g.narrow(dim, 0, size - 1), e.narrow(dim, 1, size - 1), rtol, atol):
                found.append("shifted one step early: your step t holds what belongs to step t + 1")
            elif _same(g, e.flip(dim), rtol, atol):
                found.append("time is reversed: your step t holds what belongs to step T - 1 - t")
    if letters and letters[-1] == "V" and g.shape[-1] >= 3:  # the vocabulary axis: an id off by one
        if _same(g[..., 1:], e[..., :-1], rtol, atol):
            found.append("shifted by one along V: your entry v holds what belongs to entry v - 1")
        elif _same(g[..., :-1], e[..., 1:], rtol, atol):
            found.append("shifted by one along V: your entry v holds what belongs to entry v + 1")
    if blocks is not None:
        dim, names = blocks[0] % g.dim(), list(blocks[1])
        if g.shape[dim] % len(names) == 0:
            parts_g, parts_e = g.chunk(len(names), dim), e.chunk(len(names), dim)
            for order in itertools.permutations(range(len(names))):
                if list(order) != list(range(len(names))) and all(
                    _same(parts_g[k], parts_e[j], rtol, atol) for k, j in enumerate(order)
                ):
                    found.append(
                        f"the blocks are right but in the wrong order: yours hold {', '.join(names[j] for j in order)} "
                        f"where the order is {', '.join(names)}"
                    )
                    break
    return found


def _last_axis(g: torch.Tensor, e: torch.Tensor, rtol: float, atol: float) -> list[str]:
    """A normalisation over the last axis (scores where probabilities belong, or the reverse), or a shift that is the
    same for every entry of it (one constant per position) or the same at every position (one vector: a bias)."""
    if g.dim() < 1 or g.shape[-1] < 2:
        return []
    if _same(g, torch.softmax(e, -1), rtol, atol):
        return [
            "your values are the softmax of the expected ones over the last axis: probabilities where raw scores belong"
        ]
    if _same(g, torch.log_softmax(e, -1), rtol, atol):
        return [
            "your values are the log_softmax of the expected ones over the last axis: log-probabilities where raw "
            "scores belong"
        ]
    d = g - e
    if _same(d, d.mean(-1, keepdim=True).expand_as(d), 1e-9, atol):
        return [
            "at each position every entry of the last axis is off by the same amount: a term that is one number per position"
        ]
    flat = d.reshape(-1, d.shape[-1])  # one row per position
    if g.dim() >= 2 and _same(flat, flat[:1].expand_as(flat), 1e-9, atol):
        return [
            "every position is off by the same vector along the last axis: a bias left out, added twice or "
            "taken from the wrong place"
        ]
    return []


def diagnose(
    got: torch.Tensor,
    expected: torch.Tensor,
    *,
    rtol: float,
    atol: float,
    letters: str | Sequence[str] | None = None,
    blocks: tuple[int, Sequence[str]] | None = None,
    factors: Mapping[str, float] | None = None,
    regions: Mapping[str, torch.Tensor] | None = None,
) -> list[str]:
    """``Where:`` and ``How:`` lines for a ``got`` of ``expected``'s shape that is not close to it (see the module)."""
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(expected.shape) or not got.numel():
        return []
    if not (got.dtype.is_floating_point or expected.dtype.is_floating_point):
        g, e = got.detach().double(), expected.detach().double()
    else:
        g, e = got.detach().double(), expected.detach().double()
    if not bool(torch.isfinite(g).all()):
        return []
    names = letters.split() if isinstance(letters, str) else list(letters) if letters else None
    if names is not None and len(names) != g.dim():
        names = None
    bad = ~torch.isclose(g, e, rtol=rtol, atol=atol)
    lines = [f"Where: the values differ {text}." for text in _where(bad, names, blocks, regions)]
    lines += [f"How: {text}." for text in _how(g, e, names, blocks, factors, rtol, atol)]
    return lines


def which_differ(right: Sequence[str], wrong: Sequence[str]) -> str:
    """``Where:`` which outputs of several are wrong and which are right (empty when all are wrong)."""
    if not wrong or not right:
        return ""
    verb = "is" if len(wrong) == 1 else "are"
    return f"Where: {', '.join(wrong)} {verb} wrong; {', '.join(right)} {'is' if len(right) == 1 else 'are'} right."
