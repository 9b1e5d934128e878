"""Bonus exercise 4b of notebook 04: ``lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs)``, BPTT by hand.

The loss is L = sum_t <dhs[:, t], h_t>: ``dhs`` (N, T, H) is the gradient arriving at each h_t from above.
The learner runs the layer forward keeping every step's cache, then from t = T down to 1::

    dh = dhs[:, t] + dh_next,   (dx_t, dh_next, dc_next, dW_ih_t, dW_hh_t, db_t) = step_backward(dh, dc_next, cache_t)
    dW_ih += dW_ih_t,  dW_hh += dW_hh_t,  db += db_t          the weights are shared by every step

with dh_next = dc_next = 0 before the loop; after it, dh0 = dh_next and dc0 = dc_next.  Returns a dict with
keys ``dx`` (N, T, D), ``dh0``, ``dc0`` (N, H), ``dweight_ih`` (4H, D), ``dweight_hh`` (4H, H), ``dbias`` (4H,).

The reference is autograd through ``nn.LSTMCell`` step by step, float64, relative error <= 1e-8.  Probes
(no upstream gradient; one only on the first or the last state) and autograd through mistaken graphs name
the classic mistakes: the gradient from step t+1 not added to dh (h detached between steps), the cell
gradient not carried back through time (c detached: dc "forgets" to flow through f), the time loop run
forwards, weights assigned instead of accumulated, dh0/dc0 missing, and each one-step mistake of
:mod:`.lstm_step_backward` repeated at every step.

References: CS231n assignment 3 (``lstm_backward``); the Coursera sequence-models course (``lstm_backward``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.checks.compare import rel_error
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb04_lstm.backward import GRAD_ATOL, GRAD_RTOL, STEP_MISTAKES, leaf_tensors, same, step_graph
from course_lib.checks.nb04_lstm.lstm_step_backward import (
    grads_returned,
    name_order_mistake,
)
from course_lib.checks.toolkit import (
    assert_close,
    first_named_mistake,
    generator,
    randn,
    tensor,
    visible_first,
    which_differ,
)

LAYER_GRADS = ("dx", "dh0", "dc0", "dweight_ih", "dweight_hh", "dbias")
_WRT = ("x", "h0", "c0", "weight_ih", "weight_hh", "bias")
_DIAGNOSE = ("dbias", "dweight_ih", "dweight_hh", "dc0", "dh0", "dx")
_PROBES = {
    "probe: every upstream gradient zero": "zero",
    "probe: upstream gradient only on the first state": "first",
    "probe: upstream gradient only on the last state": "last",
}


def _layer_case(g: torch.Generator, N: int, T: int, D: int, H: int, upstream: str = "random") -> dict[str, Any]:
    dhs = randn(g, N, T, H)
    if upstream == "zero":
        dhs[:] = 0.0
    elif upstream == "first":
        dhs[:, 1:] = 0.0
    elif upstream == "last":
        dhs[:, :-1] = 0.0
    return {
        "x": randn(g, N, T, D),
        "h0": np.tanh(randn(g, N, H)),
        "c0": randn(g, N, H),
        "weight_ih": randn(g, 4 * H, D, scale=0.5),
        "weight_hh": randn(g, 4 * H, H, scale=0.5),
        "bias": randn(g, 4 * H, scale=0.5),
        "dhs": dhs,
    }


def _layer_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {"N=2, T=4, D=3, H=4": _layer_case(g, 2, 4, 3, 4)}
    for probe, kind in _PROBES.items():
        cases[probe] = _layer_case(g, 2, 4, 3, 4, kind)
    if hidden:
        cases["N=1, T=1, D=2, H=3"] = _layer_case(g, 1, 1, 2, 3)
        cases["N=3, T=9, D=4, H=2"] = _layer_case(g, 3, 9, 4, 2)
        for probe, kind in _PROBES.items():
            cases[probe + ", T=6, D=H=3"] = _layer_case(g, 3, 6, 3, 3, kind)
    return cases


def _layer_run(fn, case):
    inputs = {k: tensor(case[k]).clone() for k in (*_WRT, "dhs")}
    before = {k: v.clone() for k, v in inputs.items()}
    out = fn(*inputs.values())
    changed = [k for k in inputs if not torch.equal(inputs[k], before[k])]
    if isinstance(out, dict):
        out = {str(k): v for k, v in out.items()}
    return {"grads": out, "modified": changed}


def layer_reference(case: dict, variant: str = "correct", detach: str = "") -> dict[str, torch.Tensor]:
    """Gradients of L = sum_t <dhs[:, t], h_t> by autograd, through the right layer or a mistaken one.

    variant: a one-step mistake of :data:`STEP_MISTAKES`, made at every step ("correct": nn.LSTMCell).
    detach:  "h" or "c": that state detached where it enters steps 2..T (its gradient from step t+1 is lost).
    """
    x, h, c, weight_ih, weight_hh, bias = leaves = leaf_tensors(case, _WRT)
    states = []
    for t in range(x.shape[1]):
        h_in = h.detach() if detach == "h" and t > 0 else h
        c_in = c.detach() if detach == "c" and t > 0 else c
        h, c = step_graph(x[:, t], h_in, c_in, weight_ih, weight_hh, bias, variant=variant)
        states.append(h)
    loss = (torch.stack(states, dim=1) * tensor(case["dhs"])).sum()
    return dict(zip(LAYER_GRADS, (d.detach() for d in torch.autograd.grad(loss, leaves))))


def _first_step_only(case: dict) -> dict[str, torch.Tensor]:
    """The weight gradients of step 1 alone: what "=" instead of "+=" leaves after the backward loop."""
    x, h0, c0, weight_ih, weight_hh, bias = leaf_tensors(case, _WRT)
    dhs = tensor(case["dhs"])
    h_1, c_1 = step_graph(x[:, 0], h0, c0, weight_ih, weight_hh, bias)
    h, c = h1_in, c1_in = h_1.detach().requires_grad_(), c_1.detach().requires_grad_()
    later = h.new_zeros(())
    for t in range(1, x.shape[1]):  # steps 2..T, from step 1's outputs as leaves
        h, c = step_graph(x[:, t].detach(), h, c, weight_ih.detach(), weight_hh.detach(), bias.detach())
        later = later + (h * dhs[:, t]).sum()
    dh_1, dc_1 = torch.autograd.grad(later, [h1_in, c1_in])  # what steps 2..T send back into h_1 and c_1
    grads = torch.autograd.grad((h_1 * (dhs[:, 0] + dh_1)).sum() + (c_1 * dc_1).sum(), [weight_ih, weight_hh, bias])
    return dict(zip(("dweight_ih", "dweight_hh", "dbias"), grads))


def _layer_judge(cases, results):
    __tracebackhide__ = True
    grads, refs = {}, {}
    for name, case in cases.items():
        value = result_of(results, name, "lstm_backward")
        if isinstance(value, dict) and value.get("modified"):
            raise CheckFailure(
                f"lstm_backward modified its input {value['modified'][0]!r} in place (case '{name}'): "
                f"e.g. dh = dhs[:, t] followed by dh += ... writes into dhs: the running gradient "
                f"must be a new tensor, not a view of dhs."
            )
        (N, T, D), H = case["x"].shape, case["h0"].shape[1]
        shapes = {
            "dx": (N, T, D),
            "dh0": (N, H),
            "dc0": (N, H),
            "dweight_ih": (4 * H, D),
            "dweight_hh": (4 * H, H),
            "dbias": (4 * H,),
        }
        value = value["grads"] if isinstance(value, dict) and "grads" in value else value
        grads[name] = grads_returned(value, "lstm_backward", name, LAYER_GRADS, shapes)
        refs[name] = layer_reference(case)

    for name, case in cases.items():  # the probes, each isolating one mistake
        kind = next((k for p, k in _PROBES.items() if name.startswith(p)), None)
        got, ref, T = grads[name], refs[name], case["x"].shape[1]
        if kind == "zero" and any(float(g.abs().max()) != 0.0 for g in got.values() if g.numel()):
            raise CheckFailure(
                f"case '{name}': every upstream gradient is zero, so every gradient must be zero, but "
                f"{next(k for k in LAYER_GRADS if got[k].numel() and float(got[k].abs().max()) != 0)}"
                f" is not. The running gradients (of h and of c) are not started at zero before "
                f"the loop."
            )
        if kind == "first" and T > 1 and float(got["dx"][:, 1:].abs().max()) > 1e-12:
            raise CheckFailure(
                f"case '{name}': only h_1 receives an upstream gradient, so dx[:, t] must be zero for "
                f"t >= 2 (later inputs cannot change h_1), but it is not: the backward loop runs "
                f"forwards. It must run from t = T down to 1."
            )
        if (
            kind == "last"
            and T > 1
            and float(ref["dx"][:, :-1].abs().max()) > 1e-10
            and float(got["dx"][:, :-1].abs().max()) <= 1e-12
        ):
            raise CheckFailure(
                f"case '{name}': only h_T receives an upstream gradient, yet dx is zero before the "
                f"last step: the gradients flowing back from step t+1 (dh_next and dc_next) are not "
                f"passed on. Each step must receive what the step after it returned, beside its own upstream gradient."
            )

    for name, case in cases.items():
        got, ref = grads[name], refs[name]
        if all(same(got[k], ref[k]) for k in LAYER_GRADS):
            continue
        name_order_mistake(got, ref, name, "lstm_backward")
        variants = {
            "the gradient flowing back from step t+1 through h is not added: the gradient of h_t has two sources, "
            "the upstream gradient of step t and the dh_prev that step t+1 returned": layer_reference(case, detach="h"),
            "the cell gradient is not carried back through time: the dc_prev that step t+1 returned must be "
            "the dc_t given to step t; starting every step from dc_t = 0 cuts the cell path that makes the LSTM "
            "work": layer_reference(case, detach="c"),
        }
        variants.update(
            {f"{message} (at every step)": layer_reference(case, variant) for variant, message in STEP_MISTAKES.items()}
        )
        step1 = _first_step_only(case) if case["x"].shape[1] > 1 else {}
        wrong_keys = [key for key in _DIAGNOSE if not same(got[key], ref[key])]
        for key in wrong_keys:
            named = [(f"{key} is wrong: {message}.", wrong[key]) for message, wrong in variants.items()]
            named.append(
                (
                    f"{key} holds only step 1's share, the last step the backward loop visits: the weights are "
                    f"shared by every step, so accumulate their gradients (+=, not =).",
                    step1.get(key),
                )
            )
            message = first_named_mistake(got[key], ref[key], named, same=same)
            if message:
                raise CheckFailure(f"lstm_backward, case '{name}': {message}")
        for key, what in (("dh0", "h_0"), ("dc0", "c_0")):
            if not same(got[key], ref[key]) and float(got[key].abs().max()) == 0 and float(ref[key].abs().max()) > 0:
                raise CheckFailure(
                    f"case '{name}': {key} is zero. Return the gradient that step 1 sends back into "
                    f"{what}: after the loop, {key} = the running {'dh_next' if key == 'dh0' else 'dc_next'}."
                )
        for key in wrong_keys:
            assert_close(
                got[key],
                ref[key],
                f"{key} on case '{name}' (compared with autograd)",
                rtol=GRAD_RTOL,
                atol=GRAD_ATOL,
                hint=f"relative error {rel_error(got[key], ref[key]):.2e} > {GRAD_RTOL:g}.\n"
                + which_differ(
                    [k for k in LAYER_GRADS if k not in wrong_keys], [k for k in LAYER_GRADS if k in wrong_keys]
                )
                + " If check_lstm_step_backward passes, the step is right: look at what the loop carries from step "
                "t+1 to step t and what it returns after the loop.",
                **_STRUCTURE.get(key, {}),
            )


# the structure of each gradient, for the diagnosis layer: time steps of dx, gate blocks of the weights
_STRUCTURE = {
    "dx": {"letters": "N T D"},
    "dweight_ih": {"blocks": (0, "ifgo")},
    "dweight_hh": {"blocks": (0, "ifgo")},
    "dbias": {"blocks": (0, "ifgo")},
}

LSTM_BACKWARD = Exercise(
    "lstm_backward", "lstm_backward", visible_first(_layer_cases), _layer_run, _layer_judge, bonus=2.0
)
check_lstm_backward = LSTM_BACKWARD.check
