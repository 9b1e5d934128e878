"""Check of ``tbptt``: truncated backpropagation through time.

The sequence is cut into chunks of k steps (the last may be shorter).  The carried state is detached at
the start of every chunk, so a gradient flows back at most k steps; each chunk's summed loss is
backpropagated, then (when an optimizer is given) ``optimizer.step()`` and ``optimizer.zero_grad()``.

The model step the check hands to tbptt:

    h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h),   y_hat = h_t W_hy^T,
    loss_t = 0.5 * mean over the batch of ||y_hat - y_t||^2

The reference is autograd on that schedule; each named mistake is the same schedule with one thing
changed (never detached, detached every step, chunks of k ± 1, the last chunk dropped, ...).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, LearnerError, result_of
from course_lib.checks.nb02_rnn.recurrence import rnn_case
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    close,
    differences,
    first_named_mistake,
    generator,
    tensor,
    visible_first,
)

__all__ = ["TBPTT", "check_tbptt"]

_TBPTT_PARAMS = ("W_xh", "W_hh", "b_h", "W_hy")


def _tbptt_step(P: dict[str, torch.Tensor], x_t, y_t, h):
    h = torch.tanh(F.linear(x_t, P["W_xh"], P["b_h"]) + F.linear(h, P["W_hh"]))
    loss = 0.5 * ((F.linear(h, P["W_hy"]) - y_t) ** 2).sum(dim=1).mean()
    return h, loss


def _tbptt_case(g, N, T, D, H, k, lr=0.0):
    case = rnn_case(g, N=N, D=D, H=H, T=T, scale=0.9)
    case["W_hy"] = (0.7 * torch.randn(2, H, generator=g, dtype=torch.float64)).numpy()
    case["y"] = torch.randn(N, T, 2, generator=g, dtype=torch.float64).numpy()
    return {**case, "k": k, "lr": lr}


def _tbptt_cases(seed, hidden):
    g = generator(seed)
    cases = {
        "T=12, k=4": _tbptt_case(g, 2, 12, 3, 4, 4),
        "T=10, k=4 (a shorter last chunk)": _tbptt_case(g, 2, 10, 3, 4, 4),
        "T=9, k=3, with an SGD optimizer": _tbptt_case(g, 2, 9, 3, 4, 3, lr=0.1),
        "T=4, k=6 (k > T: one chunk)": {**_tbptt_case(g, 2, 4, 2, 3, 6), "kind": "edge"},
    }
    if hidden:
        cases["T=7, k=7 (one chunk)"] = {**_tbptt_case(g, 3, 7, 2, 3, 7), "kind": "edge"}
        cases["T=5, k=1"] = {**_tbptt_case(g, 1, 5, 2, 3, 1), "kind": "edge"}
        cases["T=6, k=10 (k > T)"] = {**_tbptt_case(g, 2, 6, 3, 2, 10), "kind": "edge"}
        cases["T=20, k=6"] = _tbptt_case(g, 3, 20, 4, 5, 6)
        cases["T=11, k=4, with an SGD optimizer"] = _tbptt_case(g, 3, 11, 2, 4, 4, lr=0.05)
    return cases


def _tbptt_run(fn, case):
    P = {k: tensor(case[k]).clone().requires_grad_() for k in _TBPTT_PARAMS}
    calls = [0]

    def step(x_t, y_t, h):
        """One time step of the model: returns (h_t, loss_t)."""
        calls[0] += 1
        return _tbptt_step(P, x_t, y_t, h)

    steps = {"all": 0, "on cleared gradients": 0}

    class SGD(torch.optim.SGD):
        """torch's SGD, noting each step() and whether the gradients it applies were already cleared."""

        def step(self, closure=None):
            steps["all"] += 1
            steps["on cleared gradients"] += all(q.grad is None or not bool(q.grad.any()) for q in P.values())
            return super().step(closure)

    optimizer = SGD(list(P.values()), lr=case["lr"]) if case["lr"] else None
    out = fn(step, tensor(case["x"]), tensor(case["y"]), tensor(case["h0"]), case["k"], optimizer=optimizer)
    if not isinstance(out, (list, tuple)) or len(out) != 2:
        return {"returned": type(out).__name__ if not isinstance(out, (list, tuple)) else f"{len(out)} values"}
    h_T, loss = out
    if isinstance(loss, torch.Tensor) and loss.numel() == 1:
        loss = float(loss.detach())
    grads = {k: (None if p.grad is None else p.grad.detach()) for k, p in P.items()}
    return {
        "h_T": h_T,
        "h_T attached": isinstance(h_T, torch.Tensor) and h_T.requires_grad,
        "loss": loss,
        "calls": calls[0],
        "grads": grads,
        "steps": steps,
        "params": {k: p.detach() for k, p in P.items()},
    }


def _tbptt_reference(
    case, k, *, detach=True, backward_each=True, drop_tail=False, sgd=False, zero_grad=True, step_each=True
):
    """Truncated BPTT done right (the defaults) or with one mistake; returns grads or params, h_T, loss."""
    P = {name: tensor(case[name]).clone().requires_grad_() for name in _TBPTT_PARAMS}
    x, y, h = tensor(case["x"]), tensor(case["y"]), tensor(case["h0"])
    T = x.shape[1]
    acc = {name: torch.zeros_like(p) for name, p in P.items()}
    total, chunk_losses = 0.0, []
    for start in range(0, T, k):
        stop = min(start + k, T)
        if drop_tail and stop - start < k:
            break
        if detach:
            h = h.detach()
        loss = 0.0
        for t in range(start, stop):
            h, loss_t = _tbptt_step(P, x[:, t], y[:, t], h)
            loss = loss + loss_t
        chunk_losses.append(loss)
        total += float(loss.detach())
        if backward_each:
            grads = torch.autograd.grad(loss, list(P.values()), retain_graph=not detach)
            for name, g in zip(P, grads):
                acc[name] = acc[name] + g if (not sgd or not zero_grad or not step_each) else g
            if sgd and step_each:
                with torch.no_grad():
                    for name, p in P.items():
                        p -= case["lr"] * acc[name]
    if not backward_each:  # backward on the last chunk's loss only
        acc = dict(zip(P, torch.autograd.grad(chunk_losses[-1], list(P.values()))))
    if sgd and not step_each:
        with torch.no_grad():
            for name, p in P.items():
                p -= case["lr"] * acc[name]
    return {"grads": acc, "params": {n: p.detach() for n, p in P.items()}, "h_T": h.detach(), "loss": total}


def _tbptt_judge(cases, results):
    for name, case in cases.items():
        value = results.get(name)
        if isinstance(value, LearnerError) and "backward through the graph a second time" in value.message:
            raise CheckFailure(
                f"case '{name}': the state was never detached, so the second chunk's backward went back into the "
                f"first chunk's graph, which the first backward had already freed (RuntimeError: Trying to "
                f"backward through the graph a second time). The state a chunk starts from still "
                f"carries the graph of the previous chunk, so gradients flow past the chunk boundary: check where "
                f"the graph is cut between chunks."
            )
        if isinstance(value, LearnerError) and "does not require grad" in value.message:
            raise CheckFailure(
                f"case '{name}': a chunk's loss does not depend on the parameters (RuntimeError: element 0 of "
                f"tensors does not require grad): detach the carried state h, not the loss, and do not run "
                f"the steps under torch.no_grad()."
            )
        value = result_of(results, name, "tbptt")
        if "returned" in value:
            raise CheckFailure(f"tbptt should return a pair (h_T, total_loss), got {value['returned']}")
        x = case["x"]
        (N, T, _), H, k = x.shape, case["h0"].shape[1], case["k"]
        sgd = bool(case["lr"])
        ref = _tbptt_reference(case, k, sgd=sgd)
        if value["calls"] == T - T % k and T % k:
            raise CheckFailure(
                f"case '{name}': step was called {value['calls']} times for T = {T}: the last, shorter "
                f"chunk ({T % k} steps) is dropped; it must be trained too."
            )
        if value["calls"] != T:
            raise CheckFailure(
                f"case '{name}': step was called {value['calls']} times for T = {T} time steps with k = {k}; call it "
                f"once per time step, chunk after chunk (the last chunk may be shorter than k)."
            )
        key = "params" if sgd else "grads"
        missing = [n for n in _TBPTT_PARAMS if value["grads"][n] is None and not sgd]
        if missing:
            raise CheckFailure(
                f"case '{name}': no gradient reached {missing[0]}: call loss.backward() on each chunk's loss."
            )
        got = {
            n: as_tensor(value[key][n], f"{key}[{n}] on case '{name}'", tuple(ref[key][n].shape)) for n in _TBPTT_PARAMS
        }

        def matches(other):
            return all(close(got[n], other[key][n], rtol=1e-8, atol=1e-12) for n in _TBPTT_PARAMS)

        if not matches(ref):
            _tbptt_diagnose(case, name, got, key, ref, value.get("steps") or {})
        h_T = as_tensor(value["h_T"], f"h_T on case '{name}'", (N, H), "(N, H)")
        if value.get("h_T attached"):
            raise CheckFailure(
                f"case '{name}': h_T is returned still attached to the last chunk's graph (requires_grad is True); "
                f"the docstring promises it detached, so that a caller who carries it on into the next sequence "
                f"does not backpropagate into a graph that is already freed: return h.detach()."
            )
        if not close(h_T, ref["h_T"], rtol=1e-9, atol=1e-12):
            raise CheckFailure(
                f"case '{name}': the returned state is not h_T, the state after the last step: "
                f"{differences(h_T, ref['h_T'], rtol=1e-9, atol=1e-12)}"
            )
        loss = value["loss"]
        if not isinstance(loss, (int, float)) or abs(float(loss) - ref["loss"]) > 1e-8 * max(1.0, abs(ref["loss"])):
            raise CheckFailure(
                f"case '{name}': the returned loss should be the sum of every step's loss over all "
                f"chunks, as a float: expected {ref['loss']:.6g}, got {describe(loss)}."
            )


def _tbptt_diagnose(case, name, got, key, ref, steps):
    """Raise a CheckFailure naming the mistake whose gradients (or updated parameters) the learner's match."""
    T, k, sgd = case["x"].shape[1], case["k"], bool(case["lr"])
    variants = [
        (
            dict(k=T),
            "the state is never detached: the gradient flows back through every chunk (full "
            "BPTT): the state each chunk starts from still carries the previous chunk's graph, so gradients "
            "flow past the chunk boundary.",
        ),
        (
            dict(k=1),
            "the state is detached every step, so no gradient flows from one step to the "
            "previous one. Detach only at chunk boundaries, every k steps.",
        ),
        (dict(k=k + 1), f"the chunks have k + 1 = {k + 1} steps; they should have k = {k}."),
        (dict(k=max(k - 1, 1)), f"the chunks have k - 1 = {k - 1} steps; they should have k = {k}."),
        (dict(k=k, drop_tail=True), f"the last, shorter chunk ({T % k} steps) is dropped; it must be trained too."),
    ]
    if not sgd:
        variants.append(
            (
                dict(k=k, backward_each=False),
                "only the last chunk's loss was backpropagated: call loss.backward() inside the loop, once per chunk.",
            )
        )
    else:
        variants += [
            (
                dict(k=k, zero_grad=False),
                "the gradients of earlier chunks are not cleared: after optimizer.step(), call optimizer.zero_grad().",
            ),
            (
                dict(k=k, step_each=False),
                "the parameters are updated once at the end; call optimizer.step() after every chunk's backward.",
            ),
        ]

    def answer(kwargs: dict) -> Callable[[], dict | None]:
        """The learner's result under a mistake (computed only if needed); None where it does not apply."""

        def compute() -> dict | None:
            if kwargs.get("k") == k and len(kwargs) == 1:
                return None  # this chunk length is the right one here (k = T, or k = 1)
            try:
                return _tbptt_reference(case, sgd=sgd, **kwargs)[key]
            except RuntimeError:
                return None

        return compute

    def same(a: dict, b: dict) -> bool:
        return all(close(a[n], b[n], rtol=1e-8, atol=1e-12) for n in _TBPTT_PARAMS)

    message = first_named_mistake(got, ref[key], [(m, answer(kwargs)) for kwargs, m in variants], same=same)
    if message:
        raise CheckFailure(f"case '{name}': {message}")
    if sgd and all(close(got[n], tensor(case[n])) for n in _TBPTT_PARAMS):
        if steps.get("all") and steps.get("on cleared gradients") == steps.get("all"):
            raise CheckFailure(
                f"case '{name}': the parameters did not change: optimizer.step() was called {steps['all']} times, but "
                f"always on cleared gradients, so optimizer.zero_grad() runs between loss.backward() and "
                f"optimizer.step(). Per chunk the order is loss.backward(), optimizer.step(), optimizer.zero_grad()."
            )
        raise CheckFailure(
            f"case '{name}': the parameters did not change: call optimizer.step() after "
            f"each chunk's backward (when an optimizer is given)."
        )
    for n in _TBPTT_PARAMS:
        assert_close(
            got[n],
            ref[key][n],
            f"{key}[{n}] on case '{name}' (compared with autograd, the state detached every k = {k} steps)",
            rtol=1e-8,
            atol=1e-12,
            factors={"k (the chunk length)": k, "T": tensor(case["x"]).shape[1]},
        )


TBPTT = Exercise("tbptt", "tbptt", visible_first(_tbptt_cases), _tbptt_run, _tbptt_judge)

check_tbptt = TBPTT.check
