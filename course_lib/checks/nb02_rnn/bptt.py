"""Check of ``rnn_backward``: backpropagation through time (BPTT) by hand.

The loss is L = sum_t <dhs[:, t], h_t>: dhs[:, t] is the gradient of L with respect to h_t that arrives
from above (from y_t), not the gradient that flows back through h_{t+1}.  Per step, from t = T down to 1:

    dh_t = dhs[:, t] + dh_next               dh_next = da_{t+1} W_hh, zero before the loop
    da_t = dh_t ⊙ (1 - h_t²)                 tanh' from the stored state h_t
    dW_xh += da_t^T x_t,   dW_hh += da_t^T h_{t-1},   db_h += sum over the batch of da_t
    dx_t = da_t W_xh,      dh_next = da_t W_hh;       after the loop, dh0 = dh_next

The reference is autograd through ``nn.RNNCell`` in float64, relative error <= ``BPTT_RTOL`` = 1e-8
(CS231n's ``rel_error``).  Probes (no upstream gradient, or one only on the first or the last state) and
autograd on modified graphs (a detached state, a tanh without its derivative) name the classic mistakes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from course_lib.checks.compare import rel_error
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb02_rnn.recurrence import cell_module, rnn_case, rnn_module
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    first_named_mistake,
    generator,
    tensor,
    visible_first,
    which_differ,
)

__all__ = ["BPTT_RTOL", "RNN_BACKWARD", "check_rnn_backward"]

BPTT_RTOL = 1e-8  # the stated tolerance of the BPTT check (relative error, float64)
_GRAD_NAMES = ("dx", "dh0", "dW_xh", "dW_hh", "db_h")

_BPTT_PROBES = {
    "probe: every upstream gradient zero": "zero",
    "probe: upstream gradient only on the first state": "first",
    "probe: upstream gradient only on the last state": "last",
}


def _bptt_case(g: torch.Generator, N: int, T: int, D: int, H: int, upstream: str = "random") -> dict:
    case = rnn_case(g, N=N, D=D, H=H, T=T)
    x, h0, W_xh, W_hh, b = (tensor(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    hs = rnn_module(W_xh, W_hh, b)(x, h0[None])[0].detach()
    dhs = torch.randn(N, T, H, generator=g, dtype=torch.float64)
    if upstream == "zero":
        dhs.zero_()
    elif upstream == "first":
        dhs[:, 1:] = 0
    elif upstream == "last":
        dhs[:, :-1] = 0
    return {**case, "hs": hs.numpy(), "dhs": dhs.numpy()}


def _backward_cases(seed, hidden):
    g = generator(seed)
    cases = {"N=2, T=4, D=3, H=5": _bptt_case(g, 2, 4, 3, 5)}
    for probe, kind in _BPTT_PROBES.items():
        cases[probe] = _bptt_case(g, 2, 4, 3, 5, kind)
    if hidden:
        cases["N=1, T=1, D=2, H=3"] = _bptt_case(g, 1, 1, 2, 3)
        cases["N=3, T=9, D=4, H=4"] = _bptt_case(g, 3, 9, 4, 4)
        cases["N=4, T=15, D=5, H=3"] = _bptt_case(g, 4, 15, 5, 3)
        for probe, kind in _BPTT_PROBES.items():
            cases[probe + ", T=7, D=H=3"] = _bptt_case(g, 3, 7, 3, 3, kind)
    return cases


def _backward_run(fn, case):
    inputs = {k: tensor(case[k]).clone() for k in ("x", "h0", "W_xh", "W_hh", "b_h", "hs", "dhs")}
    before = {k: v.clone() for k, v in inputs.items()}
    out = fn(*inputs.values())
    changed = [k for k in inputs if not torch.equal(inputs[k], before[k])]
    if isinstance(out, dict):
        out = {str(k): v for k, v in out.items()}
    elif isinstance(out, (list, tuple)):
        out = tuple(out)
    return {"grads": out, "modified": changed}


def _bptt_reference(case: dict, variant: str = "correct") -> dict[str, torch.Tensor]:
    """Gradients of L = sum(hs * dhs) by autograd, for the right graph or a mistaken one.

    variant "correct":  the RNN itself (nn.RNNCell, step by step).
    variant "local":    the state entering steps 2..T detached: what BPTT computes when it forgets to add
                        the gradient flowing back from step t+1.
    variant "no_tanh":  tanh's derivative replaced by 1 (forward values unchanged).
    Also returns "dh1": dL/dh_1 (the total gradient on the first state) and "da": dL/da_t, (N, T, H).
    """
    x, h0, W_xh, W_hh, b = (tensor(case[k]).clone().requires_grad_() for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    dhs = tensor(case["dhs"])
    cell = cell_module(W_xh.detach(), W_hh.detach(), b.detach())
    weights = {"weight_ih": W_xh, "weight_hh": W_hh, "bias_ih": b, "bias_hh": torch.zeros_like(b)}
    h, states, pre = h0, [], []
    for t in range(x.shape[1]):
        h_in = h.detach() if variant == "local" and t > 0 else h
        a = F.linear(x[:, t], W_xh, b) + F.linear(h_in, W_hh)
        if variant == "no_tanh":
            h = a + (torch.tanh(a) - a).detach()
        else:
            h = functional_call(cell, weights, (x[:, t], h_in))
        states.append(h)
        pre.append(a)
    loss = (torch.stack(states, dim=1) * dhs).sum()
    grads = torch.autograd.grad(loss, [x, h0, W_xh, W_hh, b], retain_graph=True)
    out = dict(zip(_GRAD_NAMES, (g.detach() for g in grads)))
    dh = torch.autograd.grad(loss, states, retain_graph=True)
    out["dh1"] = dh[0].detach()
    out["da"] = torch.stack([d * (1 - s.detach() ** 2) for d, s in zip(dh, states)], dim=1)  # (N, T, H)
    return out


def _bptt_grads(value: Any, name: str, shapes: dict[str, tuple]) -> dict[str, torch.Tensor]:
    if isinstance(value, tuple) and len(value) == len(_GRAD_NAMES):
        raise CheckFailure(
            f"rnn_backward should return a dict with keys {list(_GRAD_NAMES)}, not a tuple: "
            f"return {{'dx': dx, 'dh0': dh0, 'dW_xh': dW_xh, 'dW_hh': dW_hh, 'db_h': db_h}}"
        )
    if not isinstance(value, dict):
        raise CheckFailure(
            f"rnn_backward should return a dict with keys {list(_GRAD_NAMES)}, got {type(value).__name__}"
        )
    if value.get("dh0") is None:
        raise CheckFailure(
            "rnn_backward returned no dh0 (the gradient flowing into the initial state). After "
            "the loop over time, the gradient that step 1 sends back is dh0: return it as 'dh0'."
        )
    missing = [k for k in _GRAD_NAMES if k not in value or value[k] is None]
    if missing:
        raise CheckFailure(f"rnn_backward returned no {missing[0]!r}; return a dict with keys {list(_GRAD_NAMES)}")
    grads = {}
    for key in _GRAD_NAMES:
        hint = " (sum over the batch and over time)" if key.startswith(("dW", "db")) else ""
        got = value[key]
        if isinstance(got, np.ndarray) and key == "db_h" and got.ndim == 2 and got.shape[1:] == shapes[key]:
            raise CheckFailure(f"db_h has shape {got.shape}, expected {shapes[key]}: sum it over the batch too.")
        grads[key] = as_tensor(got, f"{key} on case '{name}'{hint}", shapes[key])
        assert_dtype(grads[key], torch.float64, f"{key} on case '{name}'")
    return grads


def _all_zero(tensors) -> bool:
    return all(float(t.abs().max()) == 0.0 if t.numel() else True for t in tensors)


def _same_gradient(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """Equal up to rounding (rtol 1e-8): a named mistake reproduces a gradient exactly."""
    return close(got, expected, rtol=1e-8, atol=1e-12)


def _backward_judge(cases, results):
    # 1. What came back, and whether the inputs were left alone.
    grads, refs = {}, {}
    for name, case in cases.items():
        value = result_of(results, name, "rnn_backward")
        if isinstance(value, dict) and value.get("modified"):
            which = value["modified"][0]
            raise CheckFailure(
                f"rnn_backward modified its input {which!r} in place (case '{name}'): e.g. dh = dhs[:, t] "
                f"followed by dh += ... writes into dhs: the running gradient must be a new tensor, not a view of dhs."
            )
        x = case["x"]
        (N, T, D), H = x.shape, case["h0"].shape[1]
        shapes = {"dx": (N, T, D), "dh0": (N, H), "dW_xh": (H, D), "dW_hh": (H, H), "db_h": (H,)}
        grads[name] = _bptt_grads(value["grads"] if isinstance(value, dict) else value, name, shapes)
        refs[name] = _bptt_reference(case)

    # 2. Probes: each isolates one classic mistake.
    for name, case in cases.items():
        kind = next((k for p, k in _BPTT_PROBES.items() if name.startswith(p)), None)
        got, ref = grads[name], refs[name]
        T = case["x"].shape[1]
        if kind == "zero" and not _all_zero(got.values()):
            raise CheckFailure(
                f"case '{name}': every upstream gradient dhs is zero, so every gradient must be zero, but "
                f"{next(k for k in _GRAD_NAMES if not _all_zero([got[k]]))} is not. The running gradient "
                f"dh_next is not started at zero before the loop."
            )
        if kind == "first" and T > 1 and float(got["dx"][:, 1:].abs().max()) > 1e-12:
            raise CheckFailure(
                f"case '{name}': only h_1 receives an upstream gradient, so dx[:, t] must be zero for t >= 2 "
                f"(later inputs cannot change h_1), but it is not: the time loop runs forward. BPTT runs from "
                f"t = T down to 1, passing the gradient back to earlier steps."
            )
        if kind == "last" and T > 1:
            reached = float(ref["dx"][:, :-1].abs().max()) > 1e-10
            if reached and float(got["dx"][:, :-1].abs().max()) <= 1e-12:
                raise CheckFailure(
                    f"case '{name}': only h_T receives an upstream gradient, yet dx is zero before the last step: "
                    f"the gradient flowing back from step t+1 is not added. h_t feeds step t+1 as well as its own "
                    f"output: which two gradients meet at h_t?"
                )
        if kind == "last" and close(got["db_h"], 2 * ref["db_h"], rtol=1e-8, atol=1e-12):
            raise CheckFailure(
                f"case '{name}': every gradient is twice the right value: the last step's upstream gradient is "
                f"counted twice. The running gradient dh_next is not started at zero (it started at "
                f"dhs[:, -1]); start it at zero and add dhs[:, t] inside the loop."
            )

    # 3. Every case against autograd, naming the mistakes whose results we can compute.
    for name, case in cases.items():
        got, ref = grads[name], refs[name]
        ok = {k: close(got[k], ref[k], rtol=BPTT_RTOL, atol=1e-12) for k in _GRAD_NAMES}
        if all(ok.values()):
            continue
        if not ok["dh0"]:
            if _all_zero([got["dh0"]]) and not _all_zero([ref["dh0"]]):
                raise CheckFailure(
                    f"case '{name}': dh0 is zero. Return the gradient that flows out of step 1 into h_0: h_0 enters "
                    f"the loss only through step 1's pre-activation, like every h_{{t-1}} through step t's."
                )
            if close(got["dh0"], ref["dh1"], rtol=1e-8, atol=1e-12):
                raise CheckFailure(
                    f"case '{name}': dh0 is the gradient with respect to h_1 (returned dh at t = 1), not h_0. "
                    f"Pass it back through step 1 once more, as the loop does for every earlier state."
                )
        local = _bptt_reference(case, "local")
        no_tanh = _bptt_reference(case, "no_tanh")
        hs = tensor(case["hs"])
        wrong_dW_hh = torch.einsum("nth,ntk->hk", ref["da"], hs)  # pairs da_t with h_t instead of h_{t-1}
        da1, T = ref["da"][:, 0], hs.shape[1]
        step1 = {"dW_xh": da1.T @ tensor(case["x"])[:, 0], "dW_hh": da1.T @ tensor(case["h0"]), "db_h": da1.sum(0)}
        for key in _GRAD_NAMES:
            if ok[key]:
                continue
            named = [
                (
                    f"{key} is what BPTT gives when the gradient flowing back from step t+1 is not added: h_t reaches "
                    f"the loss through its own output and through step t+1, and only the first is counted.",
                    local[key],
                ),
                (
                    f"{key} misses tanh's derivative: da_t = dh_t * (1 - h_t ** 2) before multiplying by the weights.",
                    no_tanh[key],
                ),
                (
                    "dW_hh pairs da_t with h_t; it must pair it with h_{t-1}, the state that entered step t (h0 at "
                    "t = 1): dW_hh += da_t.T @ h_prev.",
                    wrong_dW_hh if key == "dW_hh" else None,
                ),
                (
                    f"{key} holds only the contribution of step 1, the last step the backward loop visits: the "
                    f"weights are shared by all steps, so accumulate their gradients (+=, not =).",
                    step1.get(key) if T > 1 else None,
                ),
            ]
            message = first_named_mistake(got[key], ref[key], named, same=_same_gradient)
            if message:
                raise CheckFailure(f"case '{name}': {message}")
            assert_close(
                got[key],
                ref[key],
                f"{key} on case '{name}' (compared with autograd)",
                rtol=BPTT_RTOL,
                atol=1e-12,
                hint=f"relative error {rel_error(got[key], ref[key]):.2e} > {BPTT_RTOL:g}.\n"
                + which_differ([k for k in _GRAD_NAMES if ok[k]], [k for k in _GRAD_NAMES if not ok[k]]),
                letters=_LETTERS.get(key),
            )


# the shape letters of each gradient, for the diagnosis layer (T: which time steps are wrong)
_LETTERS = {"dx": "N T D", "dh0": "N H"}

RNN_BACKWARD = Exercise("rnn_backward", "rnn_backward", visible_first(_backward_cases), _backward_run, _backward_judge)

check_rnn_backward = RNN_BACKWARD.check
