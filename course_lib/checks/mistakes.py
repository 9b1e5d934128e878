"""Naming mistakes, only for answers that are wrong; gradients against autograd.

- :func:`first_named_mistake`, :func:`name_mistake`: a typical mistake is named *only* for an answer that is not
  right (the guard is applied here, once, not in each check).
- :func:`gradients`, :func:`assert_gradients`, :func:`reaches_first_step`: gradients through time, to the initial
  state and to every parameter, against autograd; a state detached inside the time loop is named as such, and the
  message says which gradients are wrong and which are right.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from course_lib.checks.coerce import as_tensor
from course_lib.checks.compare import assert_close, close
from course_lib.checks.core import CheckFailure
from course_lib.checks.diagnose import which_differ

__all__ = [
    "DETACHED_STATE",
    "Mistake",
    "assert_gradients",
    "first_named_mistake",
    "gradients",
    "name_mistake",
    "reaches_first_step",
]

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
    letters: dict[str, str] | None = None,
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
    wrong = [n for g, n, e in zip(got_tensors, names, expected) if g is None or not close(g, e)]
    outputs = which_differ([n for n in names if n not in wrong], wrong)
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
            hint=(f"{outputs}\n" if outputs else "")
            + "The outputs are right but this gradient is not (autograd through torch's module is the "
            "reference): is a tensor modified in place after it was used, or the graph cut somewhere?",
            letters=(letters or {}).get(n),
        )


def _same_gradients(got: list[Any], expected: list[Any]) -> bool:
    """Equal where both exist; a missing gradient equals an all-zero one."""
    for g, e in zip(got, expected):
        g = torch.zeros_like(e) if g is None and e is not None else g
        e = torch.zeros_like(g) if e is None and g is not None else e
        if g is not None and not close(g, e):
            return False
    return True
