"""Bonus exercise 4a of notebook 04: ``lstm_step_backward(dh_t, dc_t, cache) -> grads``, one step by hand.

``dh_t`` and ``dc_t`` (N, H) are the gradients of the loss with respect to h_t and c_t that arrive from above
and from step t+1; ``cache`` is what the forward step kept: ``x`` (N, D), ``h_prev``, ``c_prev``, the gates
after their activations ``i``, ``f``, ``g``, ``o`` and ``c`` = c_t (N, H), ``weight_ih`` (4H, D) and
``weight_hh`` (4H, H), gates stacked i, f, g, o.  The backward step::

    dc    = dc_t + dh_t ⊙ o ⊙ (1 - tanh(c_t)²)                    the two ways c_t reaches the loss
    do    = dh_t ⊙ tanh(c_t)
    di    = dc ⊙ g,   dg = dc ⊙ i,   df = dc ⊙ c_{t-1},   dc_prev = dc ⊙ f
    dz    = [di ⊙ i(1-i), df ⊙ f(1-f), dg ⊙ (1-g²), do ⊙ o(1-o)]   (N, 4H), PyTorch's order i, f, g, o
    dx    = dz W_ih,   dh_prev = dz W_hh,   dW_ih = dz^T x,   dW_hh = dz^T h_{t-1},   db = sum_n dz

returned as a dict with keys ``dx, dh_prev, dc_prev, dweight_ih, dweight_hh, dbias``.  The reference is
autograd through ``nn.LSTMCell`` in float64 (relative error <= 1e-8).  Probes (an upstream gradient on h_t
only, or on c_t only) and autograd through graphs with one derivative switched off (:mod:`.backward`) name
the classic mistakes: a forgotten tanh'(c_t), dc_t ignored, dc_prev without f, a missing sigmoid' or
tanh'(z_g), the blocks of dz in the wrong gate order.

References: CS231n assignment 3 (``lstm_step_backward``); the Coursera sequence-models course
(``lstm_cell_backward``); the PyTorch documentation of ``nn.LSTMCell``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from course_lib.checks.coerce import call_keeping_inputs
from course_lib.checks.compare import rel_error
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb04_lstm.backward import (
    GRAD_ATOL,
    GRAD_RTOL,
    STEP_MISTAKES,
    gates_of,
    leaf_tensors,
    order_message,
    permuted_blocks,
    same,
    step_graph,
    wrong_orders,
)
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    first_named_mistake,
    generator,
    randn,
    tensor,
    visible_first,
    which_differ,
)

STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dweight_ih", "dweight_hh", "dbias")
_WRT = ("x", "h_prev", "c_prev", "weight_ih", "weight_hh", "bias")
_CACHE = ("x", "h_prev", "c_prev", "i", "f", "g", "o", "c", "weight_ih", "weight_hh")
# the keys in the order a mismatch is diagnosed: the most specific first (a gate order shows in dbias)
_DIAGNOSE = ("dbias", "dweight_ih", "dweight_hh", "dc_prev", "dh_prev", "dx")


def _step_case(g: torch.Generator, N: int, D: int, H: int, upstream: str = "both") -> dict[str, Any]:
    x, weight_ih = randn(g, N, D), randn(g, 4 * H, D, scale=0.5)
    h_prev, c_prev = np.tanh(randn(g, N, H)), randn(g, N, H)
    weight_hh, bias = randn(g, 4 * H, H, scale=0.5), randn(g, 4 * H, scale=0.5)
    gates = gates_of(*map(tensor, (x, h_prev, weight_ih, weight_hh, bias)))
    c = gates["f"] * c_prev + gates["i"] * gates["g"]
    dh_t, dc_t = randn(g, N, H), randn(g, N, H)
    if upstream == "h only":
        dc_t = np.zeros_like(dc_t)
    elif upstream == "c only":
        dh_t = np.zeros_like(dh_t)
    return {
        "x": x,
        "h_prev": h_prev,
        "c_prev": c_prev,
        **gates,
        "c": c,
        "weight_ih": weight_ih,
        "weight_hh": weight_hh,
        "bias": bias,
        "dh_t": dh_t,
        "dc_t": dc_t,
    }


def _step_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {
        "N=2, D=3, H=4": _step_case(g, 2, 3, 4),
        "probe: upstream gradient on h_t only (dc_t = 0)": _step_case(g, 2, 3, 4, "h only"),
        "probe: upstream gradient on c_t only (dh_t = 0)": _step_case(g, 2, 3, 4, "c only"),
    }
    if hidden:
        cases["N=1, D=4, H=2"] = _step_case(g, 1, 4, 2)
        cases["N=5, D=1, H=6"] = _step_case(g, 5, 1, 6)
        cases["probe: dc_t = 0, N=3, D=2, H=3"] = _step_case(g, 3, 2, 3, "h only")
        cases["probe: dh_t = 0, N=3, D=2, H=3"] = _step_case(g, 3, 2, 3, "c only")
    return cases


def _step_run(fn, case):
    cache = {k: tensor(case[k]) for k in _CACHE}
    names, inputs = ["dh_t", "dc_t", *(f"cache['{k}']" for k in cache)], [tensor(case["dh_t"]), tensor(case["dc_t"])]
    out = call_keeping_inputs(  # lstm_backward hands the same caches to every step: they must stay intact
        lambda dh_t, dc_t, *values: fn(dh_t, dc_t, dict(zip(cache, values))), names, [*inputs, *cache.values()]
    )
    return {str(k): v for k, v in out.items()} if isinstance(out, dict) else out


def step_reference(case: dict, variant: str = "correct", dc_t: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """Gradients of L = <dh_t, h_t> + <dc_t, c_t> by autograd, through the right step or a mistaken one."""
    leaves = leaf_tensors(case, _WRT)
    h_t, c_t = step_graph(*leaves, variant=variant)
    dc = tensor(case["dc_t"] if dc_t is None else dc_t)
    loss = (h_t * tensor(case["dh_t"])).sum() + (c_t * dc).sum()
    return dict(zip(STEP_GRADS, (d.detach() for d in torch.autograd.grad(loss, leaves))))


def grads_returned(
    value: Any, function: str, name: str, keys: tuple[str, ...], shapes: dict
) -> dict[str, torch.Tensor]:
    """The learner's dict of gradients as float64 tensors of the right shapes, or a message naming what is off."""
    if not isinstance(value, dict):
        raise CheckFailure(f"{function} should return a dict with keys {list(keys)}, got {type(value).__name__}")
    missing = [k for k in keys if value.get(k) is None]
    if missing:
        raise CheckFailure(
            f"{function} returned no {missing[0]!r} on case '{name}': return a dict with keys {list(keys)}"
        )
    grads = {}
    for key in keys:
        got = value[key]
        if key == "dbias" and isinstance(got, np.ndarray) and got.ndim == 2 and got.shape[1:] == shapes[key]:
            raise CheckFailure(
                f"dbias has shape {got.shape} on case '{name}', expected {shapes[key]}: the bias is "
                f"shared by every example, so sum dz over the batch (dz.sum(0))."
            )
        grads[key] = as_tensor(got, f"{key} returned by {function} on case '{name}'", shapes[key])
        if grads[key].dtype != torch.float64:
            raise CheckFailure(
                f"{key} on case '{name}' has dtype {grads[key].dtype}, but the inputs are float64: "
                f"make new tensors with torch.zeros_like(...) or dtype=x.dtype."
            )
    return grads


def name_order_mistake(got: dict, ref: dict, name: str, function: str) -> None:
    """Raise if the weight gradients hold the right blocks in a wrong gate order."""
    __tracebackhide__ = True
    for key in ("dbias", "dweight_ih", "dweight_hh"):
        orders = [
            (order_message(order), functools.partial(permuted_blocks, ref[key], order)) for order in wrong_orders()
        ]
        message = first_named_mistake(got[key], ref[key], orders, same=same)
        if message:
            raise CheckFailure(f"{function}, case '{name}': {key}: {message}.")


def _step_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        (N, D), H = case["x"].shape, case["h_prev"].shape[1]
        shapes = {
            "dx": (N, D),
            "dh_prev": (N, H),
            "dc_prev": (N, H),
            "dweight_ih": (4 * H, D),
            "dweight_hh": (4 * H, H),
            "dbias": (4 * H,),
        }
        got = grads_returned(
            result_of(results, name, "lstm_step_backward"), "lstm_step_backward", name, STEP_GRADS, shapes
        )
        ref = step_reference(case)
        if all(same(got[k], ref[k]) for k in STEP_GRADS):
            continue
        name_order_mistake(got, ref, name, "lstm_step_backward")
        variants = {message: step_reference(case, variant) for variant, message in STEP_MISTAKES.items()}
        variants[
            "dc_t (the gradient arriving from step t+1 through the cell state) is ignored: the cell state's "
            "gradient has two sources, dc_t and the path through h_t"
        ] = step_reference(case, dc_t=np.zeros_like(case["dc_t"]))
        f, dc_t = tensor(case["f"]), tensor(case["dc_t"])
        only_upstream = (
            "dc_prev is built from dc_t alone: it misses the gradient that reaches c_t through h_t = o ⊙ "
            "tanh(c_t); add that path to the cell state's gradient before passing it back through f.",
            dc_t * f,
        )
        for key in _DIAGNOSE:
            if same(got[key], ref[key]):
                continue
            named = [(f"{key} is wrong: {message}.", wrong[key]) for message, wrong in variants.items()]
            message = first_named_mistake(
                got[key], ref[key], named + ([only_upstream] if key == "dc_prev" else []), same=same
            )
            if message:
                raise CheckFailure(f"lstm_step_backward, case '{name}': {message}")
            assert_close(
                got[key],
                ref[key],
                f"{key} on case '{name}' (compared with autograd)",
                rtol=GRAD_RTOL,
                atol=GRAD_ATOL,
                hint=f"relative error {rel_error(got[key], ref[key]):.2e} > {GRAD_RTOL:g}.\n"
                + which_differ(
                    [k for k in STEP_GRADS if same(got[k], ref[k])], [k for k in STEP_GRADS if not same(got[k], ref[k])]
                )
                + " A gate block that is wrong in dbias points at that gate's line of dz; dc_prev wrong alone points "
                "at dc or f.",
                blocks=(0, "ifgo") if key in ("dbias", "dweight_ih", "dweight_hh") else None,
            )


LSTM_STEP_BACKWARD = Exercise(
    "lstm_step_backward", "lstm_step_backward", visible_first(_step_cases), _step_run, _step_judge, bonus=2.0
)
check_lstm_step_backward = LSTM_STEP_BACKWARD.check
