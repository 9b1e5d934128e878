"""Check of ``rnn_forward``: the recurrence over a whole sequence, batch first.

    h_0 = h0,    h_t = tanh(x[:, t] W_xh^T + h_{t-1} W_hh^T + b_h),    t = 1..T
    x: (N, T, D), h0: (N, H) -> hs = (h_1, .., h_T): (N, T, H), h_last = h_T: (N, H)

The reference is ``nn.RNN(batch_first=True)`` on the same weights.  The named mistakes (h_0 among the
states, a state not carried from step to step, h0 ignored) are computed and compared with the result.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb02_rnn.recurrence import rnn_case, rnn_module
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_device_kept,
    assert_dtype,
    assert_gradients,
    close,
    differences,
    generator,
    gradients,
    name_mistake,
    on_meta,
    pair,
    randn,
    reaches_first_step,
    tensor,
    tolerance,
    visible_first,
)

__all__ = ["RNN_FORWARD", "check_rnn_forward"]


def _forward_cases(seed, hidden):
    """Kinds: ``values`` (hs and h_last against nn.RNN), ``gradients`` (of a loss of hs and h_last, to x, h0
    and every weight, against autograd through nn.RNN: the state must carry gradients through time) and
    ``device`` (the inputs on the meta device: what the function makes, hs included, follows x's device) and
    ``dtype`` (float32 inputs give float32 states)."""
    g = generator(seed)
    cases = {
        "N=2, T=5, D=3, H=4": rnn_case(g, N=2, D=3, H=4, T=5),
        "gradients, N=2, T=4, D=3, H=3": _gradient_case(rnn_case(g, N=2, D=3, H=3, T=4), g),
        "N=2, T=3, D=2, H=3, on the meta device": {**rnn_case(g, N=2, D=2, H=3, T=3), "kind": "device"},
        "float32, N=2, T=3, D=3, H=2": {**rnn_case(g, N=2, D=3, H=2, T=3, dtype=torch.float32), "kind": "dtype"},
    }
    if hidden:
        cases["N=1, T=1, D=2, H=3"] = rnn_case(g, N=1, D=2, H=3, T=1)
        cases["N=3, T=20, D=4, H=6"] = rnn_case(g, N=3, D=4, H=6, T=20)
        cases["N=4, T=3, D=5, H=5"] = rnn_case(g, N=4, D=5, H=5, T=3)
        cases["float32, N=2, T=7, D=3, H=2"] = {**rnn_case(g, N=2, D=3, H=2, T=7, dtype=torch.float32), "kind": "dtype"}
        cases["gradients, N=3, T=9, D=2, H=4"] = _gradient_case(rnn_case(g, N=3, D=2, H=4, T=9), g)
        cases["N=3, T=6, D=4, H=2, on the meta device"] = {**rnn_case(g, N=3, D=4, H=2, T=6), "kind": "device"}
    return cases


def _gradient_case(case: dict, g: torch.Generator) -> dict:
    """A case whose loss is sum(hs * w_hs) + sum(h_last * w_last): every output its own upstream gradient."""
    (N, T, _), H = case["x"].shape, case["h0"].shape[1]
    return {**case, "kind": "gradients", "upstream": [randn(g, N, T, H), randn(g, N, H)]}


_GRAD_NAMES = ("x", "h0", "W_xh", "W_hh", "b_h")


def _forward_run(fn, case):
    if case.get("kind") == "device":
        return on_meta(lambda: fn(*(tensor(case[k]).to("meta") for k in _GRAD_NAMES)))
    inputs = [tensor(case[k]) for k in _GRAD_NAMES]
    grads = case.get("kind") == "gradients"
    for leaf in inputs if grads else ():
        leaf.requires_grad_(True)
    out = fn(*inputs)
    out = tuple(out) if isinstance(out, (list, tuple)) else out
    if not grads:
        return out
    hs = out[0] if isinstance(out, tuple) and out and isinstance(out[0], torch.Tensor) else None
    through_time = reaches_first_step(hs[:, -1] if hs is not None and hs.dim() == 3 else None, inputs[0])
    outputs = list(out) if isinstance(out, tuple) and len(out) == 2 else []
    return {
        "value": out,
        "through_time": through_time,
        "grads": gradients(outputs, [tensor(u) for u in case["upstream"]], inputs),
    }


def _gradients_reference(case: dict, detach_state: bool = False) -> list[torch.Tensor]:
    """d loss / d (x, h0, W_xh, W_hh, b_h) by autograd through nn.RNNCell, step by step (with ``detach_state``,
    the state detached at every step: the mistake)."""
    inputs = [tensor(case[k]).requires_grad_(True) for k in _GRAD_NAMES]
    x, h0, W_xh, W_hh, b = inputs
    h, hs = h0, []
    for x_t in x.unbind(1):
        h_prev = h.detach() if detach_state else h
        h = torch.tanh(F.linear(x_t, W_xh, b) + F.linear(h_prev, W_hh))  # (N, H), values checked against nn.RNN
        hs.append(h)
    return gradients([torch.stack(hs, 1), h], [tensor(u) for u in case["upstream"]], inputs)


def _forward_judge(cases, results):
    for name, case in cases.items():
        if case.get("kind") == "device":
            continue  # judged last: a device case names only a device mistake
        if case.get("kind") == "gradients":
            found = result_of(results, name, "rnn_forward")
            if not isinstance(found, dict):
                raise CheckFailure(f"the check could not read rnn_forward's results on case '{name}'")
            _judge_values(name, case, {name: found["value"]})
            got = found.get("grads")
            got = list(got) if isinstance(got, (list, tuple)) and len(got) == 5 else [None] * 5
            assert_gradients(
                got,
                _gradients_reference(case),
                _GRAD_NAMES,
                f"rnn_forward (case '{name}')",
                detached=lambda: _gradients_reference(case, detach_state=True),
                through_time=found.get("through_time"),
            )
        else:
            _judge_values(name, case, results)
    for name in [name for name, case in cases.items() if case.get("kind") == "device"]:
        assert_device_kept(result_of(results, name, "rnn_forward"), f"rnn_forward (case '{name}')")


def _judge_values(name, case, results):
    x, h0, W_xh, W_hh, b = (tensor(case[k]) for k in ("x", "h0", "W_xh", "W_hh", "b_h"))
    (N, T, _), H = x.shape, h0.shape[1]
    hs_ref, last_ref = rnn_module(W_xh, W_hh, b)(x, h0[None])
    hs_ref, last_ref = hs_ref.detach(), last_ref[0].detach()
    hs, last = pair(result_of(results, name, "rnn_forward"), "rnn_forward", "hs, h_last")
    if isinstance(hs, np.ndarray) and hs.shape == (N, T + 1, H):
        raise CheckFailure(
            f"case '{name}': hs has shape {hs.shape}, expected (N, T, H) = {(N, T, H)}: you returned h_0 among "
            f"the states (off by one in time). hs[:, t] is the state after reading x[:, t]: h_1 .. h_T."
        )
    if isinstance(hs, np.ndarray) and hs.shape == (T, N, H) and T != N:
        raise CheckFailure(
            f"case '{name}': hs has shape {hs.shape} = (T, N, H), time first; return it batch "
            f"first, (N, T, H) = {(N, T, H)} (torch.stack(states, dim=1))."
        )
    hs = as_tensor(hs, f"hs on case '{name}'", (N, T, H), "(N, T, H)")
    last = as_tensor(last, f"h_last on case '{name}'", (N, H), "(N, H)")
    assert_dtype(hs, hs_ref.dtype, f"hs on case '{name}'")
    tol = tolerance(hs_ref.dtype)
    if not close(hs, hs_ref, **tol):
        shifted = torch.cat([h0[:, None], hs_ref[:, :-1]], dim=1)
        from_h0 = torch.tanh(F.linear(x, W_xh, b) + F.linear(h0, W_hh)[:, None])  # every step from h0
        from_zero = rnn_module(W_xh, W_hh, b)(x, torch.zeros_like(h0)[None])[0].detach()
        backwards = rnn_module(W_xh, W_hh, b)(x.flip(1), h0[None])[0].detach()
        backwards_message = (
            "time runs backwards: your states are those of reading x from its last step to its first. Step t "
            "reads x[:, t] after steps 0 .. t-1."
        )
        name_mistake(
            hs,
            hs_ref,
            [
                (
                    "you returned h_0 among the states (off by one in time): hs[:, 0] is h_0 and the final state is "
                    "missing. hs[:, t] must be the state after reading x[:, t].",
                    shifted,
                ),
                (
                    "the state is not carried from step to step: every step starts from h0. Step t must use the state of "
                    "step t-1 (h = rnn_cell(x[:, t], h, ...)).",
                    from_h0,
                ),
                ("h0 is ignored: the first step must start from the given h0, not from zeros.", from_zero),
                (backwards_message, backwards.flip(1)),  # read from the last step, stored at each step's place
                (backwards_message, backwards),  # ... or stored in the order it was read
            ],
            prefix=f"case '{name}': ",
            same=lambda a, b: close(a, b, **tol),
        )
        assert_close(
            hs,
            hs_ref,
            f"hs on case '{name}' (compared with nn.RNN(batch_first=True))",
            **tol,
            hint="Step t reads x[:, t] and the state step t-1 left (h0 before the first step), as §2's equation says.",
            letters="N T H",
        )
    if not close(last, last_ref, **tol):
        if close(last, h0, **tol):
            hint = " (it is h_0, the initial state)"
        elif T > 1 and close(last, hs_ref[:, 0], **tol):
            hint = " (it is h_1, the first state)"
        elif T > 1 and close(last, hs_ref[:, -2], **tol):
            hint = " (it is h_{T-1}, one step too early)"
        else:
            hint = ""
        detail = "" if hint else f"\n{differences(last, last_ref, **tol)}"
        raise CheckFailure(
            f"case '{name}': last is not the final state h_T = hs[:, -1]{hint}. The N-1 "
            f"output of an RNN is the state after the last step.{detail}"
        )


RNN_FORWARD = Exercise("rnn_forward", "rnn_forward", visible_first(_forward_cases), _forward_run, _forward_judge)

check_rnn_forward = RNN_FORWARD.check
