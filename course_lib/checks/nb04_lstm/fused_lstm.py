"""Exercise 2b: ``FusedLSTM(D, H, forget_bias)``, the fused cell run over time as a layer.

Parameters ``weight_ih`` (4H, D) and ``weight_hh`` (4H, H), uniform in [-1/sqrt(H), 1/sqrt(H)] as in
``nn.LSTM``, and ``bias`` (4H,), zero but for the forget gate's block ``bias[H:2H] = forget_bias``.
``forward(x, state=None)`` with x (N, T, D), batch-first::

    xp = x weight_ih^T + bias                      # (N, T, 4H), one product for all steps
    h_t, c_t = fused_lstm_cell(xp[:, t-1], h_{t-1}, c_{t-1}, weight_hh)   for t = 1..T
    return out (N, T, H) with out[:, t-1] = h_t, (h_T, c_T)

from (h_0, c_0) = state, or zeros.  The reference is ``nn.LSTM`` with the same weights; the check counts
the matrix products of a forward pass (T + 1 when fused).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, LearnerError, result_of
from course_lib.checks.nb04_lstm.gates import GATE_ORDER, ROLE
from course_lib.checks.nb04_lstm.mistakes import role_permutations, swap_message_stacked, variant_step
from course_lib.checks.nb04_lstm.references import torch_layer
from course_lib.checks.references import holding
from course_lib.checks.toolkit import (
    SLOW_INDEXING_NOTE,
    CountMatmuls,
    as_tensor,
    assert_close,
    assert_device_kept,
    assert_gradients,
    close,
    first_named_mistake,
    generator,
    gradients,
    note,
    on_meta,
    randn,
    reaches_first_step,
    tensor,
    visible_first,
)


def _fused_lstm_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    """Kinds: ``values`` (state None), ``given state`` (h0, c0), ``no state`` (state None on a call after one
    with a state: a layer must not keep a previous call's state), ``gradients`` (every parameter, x, h0, c0),
    ``device`` (state None on the meta device: the zeros the layer makes follow x's device)."""
    g = generator(seed)
    settings = [
        (3, 6, 2, 4, 1.0, "values"),
        (2, 5, 3, 3, 0.5, "given state"),
        (2, 4, 2, 3, 1.0, "no state"),
        (2, 5, 3, 4, 1.0, "gradients"),
        (2, 3, 2, 3, 1.0, "device"),
    ]
    if hidden:
        settings += [
            (2, 9, 3, 5, 2.5, "given state"),
            (1, 1, 1, 1, 0.0, "values"),
            (4, 7, 4, 3, 1.0, "given state"),
            (3, 8, 2, 5, 2.0, "no state"),
            (1, 6, 4, 2, 0.0, "gradients"),
            (3, 4, 3, 2, 1.0, "device"),
        ]
    cases = {}
    for N, T, D, H, forget_bias, kind in settings:
        case = {
            "kind": kind,
            "N": N,
            "T": T,
            "D": D,
            "H": H,
            "forget_bias": forget_bias,
            "x": randn(g, N, T, D),
            "weight_ih": randn(g, 4 * H, D, scale=0.5),
            "weight_hh": randn(g, 4 * H, H, scale=0.5),
            "bias": randn(g, 4 * H, scale=0.5),
        }
        if kind in ("given state", "gradients"):
            case["h0"] = np.tanh(randn(g, N, H))
            case["c0"] = randn(g, N, H)
        if kind == "no state":  # the call before: another input, with a state the layer could keep
            case["before"] = {"x": randn(g, N, T, D), "h0": np.tanh(randn(g, N, H)), "c0": randn(g, N, H)}
        if kind == "gradients":  # loss = sum(out * w_out) + sum(h_T * w_h) + sum(c_T * w_c)
            case["upstream"] = [randn(g, N, T, H), randn(g, N, H), randn(g, N, H)]
        label = {
            "values": "",
            "given state": ", given (h0, c0)",
            "gradients": ", gradients",
            "no state": ", state=None after a call with a state",
            "device": ", state=None, on the meta device",
        }[kind]
        cases[f"N={N}, T={T}, D={D}, H={H}, forget_bias={forget_bias}{label}"] = case
    return cases


def _fused_lstm_run(cls, case):
    D, H = case["D"], case["H"]
    model = cls(D, H, forget_bias=case["forget_bias"])
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    found = {
        "parameters": {name: list(p.shape) for name, p in params.items()},
        "modules": sorted({type(m).__name__ for m in model.modules()}),
    }
    for name in ("weight_ih", "weight_hh", "bias"):
        if name in params:
            found[f"init_{name}"] = params[name]
    if any(
        found["parameters"].get(n) != s
        for n, s in (("weight_ih", [4 * H, D]), ("weight_hh", [4 * H, H]), ("bias", [4 * H]))
    ):
        return found
    with torch.no_grad():
        model.double()
        model.weight_ih.copy_(tensor(case["weight_ih"]))
        model.weight_hh.copy_(tensor(case["weight_hh"]))
        model.bias.copy_(tensor(case["bias"]))
    x = tensor(case["x"])
    if case["kind"] == "device":  # state None: the zeros the layer makes must be on x's device
        found["device"] = on_meta(lambda: model.to("meta")(x.to("meta")))
        return found
    state = (tensor(case["h0"]), tensor(case["c0"])) if "h0" in case else None
    if "before" in case:
        with torch.no_grad():
            model(tensor(case["before"]["x"]), (tensor(case["before"]["h0"]), tensor(case["before"]["c0"])))
    grads = case["kind"] == "gradients"
    if grads:
        x.requires_grad_(True)
        state = tuple(s.requires_grad_(True) for s in state)
    counter = CountMatmuls()
    with torch.set_grad_enabled(grads), counter:
        result = model(x) if state is None else model(x, state)
    found["matmuls"] = counter.count
    found["indexed"] = counter.indexed
    found["forward"] = result
    if grads:
        wrt = [model.weight_ih, model.weight_hh, model.bias, x, *state]
        outputs = _outputs(result)
        found["through_time"] = reaches_first_step(outputs[0][:, -1] if outputs else None, x)
        found["grads"] = gradients(outputs, [tensor(u) for u in case["upstream"]], wrt)
    return found


def _outputs(result) -> list:
    """out, h_T, c_T of a forward pass that returned (out, (h_T, c_T)); what is missing is left out."""
    if isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[1], (tuple, list)):
        return [result[0], *result[1]]
    return []


def _layer_variant(case, *, roles=None, carry_h=True, carry_c=True, state=True):
    """nn.LSTM-free re-run of the layer with one mistake, from the stacked weights (for naming mistakes)."""
    x = tensor(case["x"]).double()
    W_ih, W_hh, b = tensor(case["weight_ih"]), tensor(case["weight_hh"]), tensor(case["bias"])
    N, H = case["N"], case["H"]
    h0 = tensor(case["h0"]) if ("h0" in case and state) else torch.zeros(N, H, dtype=torch.float64)
    c0 = tensor(case["c0"]) if ("h0" in case and state) else torch.zeros(N, H, dtype=torch.float64)
    h, c, outs = h0, c0, []
    for t in range(case["T"]):
        z = x[:, t] @ W_ih.T + b + (h if carry_h else h0) @ W_hh.T
        blocks = dict(zip(GATE_ORDER, z.chunk(4, dim=1)))
        h, c = variant_step(blocks, h, c if carry_c else c0, roles=roles)
        outs.append(h)
    return torch.stack(outs, 1), h, c


def _fused_lstm_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        value = results.get(name)
        if isinstance(value, LearnerError) and value.type == "RuntimeError" and "dtype" in value.message:
            raise CheckFailure(
                f"FusedLSTM raised RuntimeError: {value.message} (case '{name}'). Hint: the check runs your layer "
                f"in float64 (model.double()); create the initial state with x.new_zeros(N, H) so that it has "
                f"x's dtype."
            )
        found = result_of(results, name, "FusedLSTM")
        if not isinstance(found, dict):
            raise CheckFailure(f"the check could not read FusedLSTM's results on case '{name}'")
        _judge_layer_parameters(name, case, found)
    on_cpu = {name: case for name, case in cases.items() if case["kind"] != "device"}
    for name, case in on_cpu.items():
        _judge_layer_forward(name, case, results[name])
    for name, case in on_cpu.items():
        if case["kind"] == "gradients":
            _judge_layer_gradients(name, case, results[name])
    for name in [name for name in cases if name not in on_cpu]:  # last: a device case names only a device mistake
        assert_device_kept(results[name].get("device"), f"FusedLSTM (case '{name}')")
    if any(results[n].get("indexed", 0) >= c["T"] > 1 for n, c in on_cpu.items()):
        return note(SLOW_INDEXING_NOTE)
    return None


_GRAD_NAMES = ("weight_ih", "weight_hh", "bias", "x", "h0", "c0")


def _layer_gradients_reference(case, detach_state: bool = False):
    """d loss / d (weight_ih, weight_hh, bias, x, h0, c0) by autograd through nn.LSTMCell, step by step; with
    ``detach_state`` the state is detached at every step (the mistake that stops gradients flowing in time)."""
    D, H = case["D"], case["H"]
    cell = holding(
        nn.LSTMCell(D, H, dtype=torch.float64),
        tensor(case["weight_ih"]),
        tensor(case["weight_hh"]),
        tensor(case["bias"]),
    )
    x, h, c = (tensor(case[k]).requires_grad_(True) for k in ("x", "h0", "c0"))
    inputs, outs = (x, h, c), []
    for x_t in x.unbind(1):
        if detach_state and outs:
            h, c = h.detach(), c.detach()
        h, c = cell(x_t, (h, c))
        outs.append(h)
    wrt = [cell.weight_ih, cell.weight_hh, cell.bias_ih, *inputs]
    return gradients([torch.stack(outs, 1), h, c], [tensor(u) for u in case["upstream"]], wrt)


def _judge_layer_gradients(name, case, found):
    __tracebackhide__ = True
    got = found.get("grads") or [None] * len(_GRAD_NAMES)
    reference = _layer_gradients_reference(case)
    assert_gradients(
        got,
        reference,
        _GRAD_NAMES,
        f"FusedLSTM (case '{name}')",
        detached=lambda: _layer_gradients_reference(case, detach_state=True),
        through_time=found.get("through_time"),
    )


def _judge_layer_parameters(name, case, found):
    __tracebackhide__ = True
    D, H, fb = case["D"], case["H"], case["forget_bias"]
    shapes = found["parameters"]
    if any(m in found["modules"] for m in ("LSTM", "LSTMCell", "RNNBase")):
        raise CheckFailure(
            "FusedLSTM contains an nn.LSTM / nn.LSTMCell: build it from the matrix products "
            "(that is the exercise), with the parameters weight_ih, weight_hh and bias."
        )
    for pname, shape, letters in (
        ("weight_ih", [4 * H, D], "(4H, D)"),
        ("weight_hh", [4 * H, H], "(4H, H)"),
        ("bias", [4 * H], "(4H,)"),
    ):
        if pname not in shapes:
            raise CheckFailure(
                f"FusedLSTM({D}, {H}) has no parameter named '{pname}' (it has {sorted(shapes) or 'none'}). "
                f"Create self.{pname} = nn.Parameter(...) of shape {letters} = {tuple(shape)}."
            )
        if shapes[pname] != shape:
            hint = " It looks transposed." if shapes[pname] == shape[::-1] else ""
            raise CheckFailure(
                f"FusedLSTM({D}, {H}).{pname} has shape {tuple(shapes[pname])}, expected "
                f"{letters} = {tuple(shape)}.{hint}"
            )
    bias = torch.from_numpy(found["init_bias"]).double()
    blocks = dict(zip(GATE_ORDER, bias.chunk(4)))
    if not torch.allclose(blocks["f"], torch.full((H,), float(fb), dtype=torch.float64)):
        filled = torch.full((H,), float(fb), dtype=torch.float64)
        where = [k for k in GATE_ORDER if k != "f" and fb != 0 and torch.allclose(blocks[k], filled)]
        if where:
            j = GATE_ORDER.index(where[0])
            hint = (
                f" The value is in the block of {ROLE[where[0]]} (rows {j}H:{j + 1}H); in PyTorch's order "
                f"i, f, g, o the forget gate is the second block, bias[H:2H]."
            )
        else:
            hint = " The forget gate is the second block, bias[H:2H] (order i, f, g, o)."
        raise CheckFailure(
            f"FusedLSTM({D}, {H}, forget_bias={fb}): the forget-gate bias bias[H:2H] should start at {fb}, got "
            f"{describe(blocks['f'])}.{hint}"
        )
    rest = torch.cat([blocks[k] for k in ("i", "g", "o")])
    if rest.abs().max() > 0:
        raise CheckFailure(
            f"FusedLSTM({D}, {H}, forget_bias={fb}): the biases of the other gates (i, g, o) should start at 0, "
            f"got {describe(rest)}. Only the forget gate's block bias[H:2H] is set to forget_bias."
        )
    bound = 1 / math.sqrt(H)
    for pname in ("weight_ih", "weight_hh"):
        w = torch.from_numpy(found[f"init_{pname}"]).double()
        if not torch.isfinite(w).all() or w.abs().max() > bound + 1e-6 or (w.numel() > 1 and float(w.std()) == 0.0):
            raise CheckFailure(
                f"FusedLSTM({D}, {H}).{pname} should start uniform in [-1/sqrt(H), 1/sqrt(H)] = "
                f"[{-bound:.3g}, {bound:.3g}] (as nn.LSTM does), got {describe(w)}. Hint: nn.init.uniform_."
            )


def _judge_layer_forward(name, case, found):
    __tracebackhide__ = True
    N, T, H = case["N"], case["T"], case["H"]
    value = found["forward"]
    what = f"FusedLSTM(...)(x) on case '{name}'"
    if not (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and isinstance(value[1], (tuple, list))
        and len(value[1]) == 2
    ):
        raise CheckFailure(f"{what} should return (out, (h_T, c_T)) as nn.LSTM does, got {describe(value)}")
    out = np.asarray(value[0]) if isinstance(value[0], np.ndarray) else value[0]
    if isinstance(out, np.ndarray) and out.shape == (T, N, H) and (T, N) != (N, T):
        raise CheckFailure(
            f"{what}: out has shape {out.shape} = (T, N, H); the course is batch-first: "
            f"out is (N, T, H) = {(N, T, H)}, out[:, t] is h_t. Stack the states along dim 1."
        )
    out = as_tensor(out, f"out of {what}", (N, T, H), "(N, T, H)")
    h_T = as_tensor(value[1][0], f"h_T of {what}", (N, H), "(N, H)")
    c_T = as_tensor(value[1][1], f"c_T of {what}", (N, H), "(N, H)")
    ref_out, ref_h, ref_c = torch_layer(
        tensor(case["x"]),
        tensor(case["weight_ih"]),
        tensor(case["weight_hh"]),
        tensor(case["bias"]),
        *((tensor(case["h0"]), tensor(case["c0"])) if "h0" in case else ()),
    )
    got = (out, h_T, c_T)
    ok = [close(a, b, torch.float64) for a, b in zip(got, (ref_out, ref_h, ref_c))]
    if not all(ok):
        variants = [
            (
                "the state is not carried from one step to the next: step t must start from (h_{t-1}, c_{t-1}) "
                "returned by step t-1",
                {"carry_h": False, "carry_c": False},
            ),
            (
                "h_t is carried from step to step but c_t is not: pass the new c_t on to the next step",
                {"carry_c": False},
            ),
            (
                "c_t is carried from step to step but h_t is not: the next step's h_prev is this step's h_t",
                {"carry_h": False},
            ),
            (
                "the initial state (h0, c0) passed to forward is ignored: start the loop from it when it is given",
                {"state": False},
            ),
        ] + [(swap_message_stacked(roles), {"roles": roles}) for roles in role_permutations()]
        named = [(message, functools.partial(_layer_variant, case, **kwargs)) for message, kwargs in variants]
        message = first_named_mistake(got, (ref_out, ref_h, ref_c), named, same=lambda a, b: close(a, b, torch.float64))
        if message:
            raise CheckFailure(f"FusedLSTM (case '{name}'): {message}.")
        if "before" in case:
            b = case["before"]
            _, kept_h, kept_c = torch_layer(
                tensor(b["x"]),
                tensor(case["weight_ih"]),
                tensor(case["weight_hh"]),
                tensor(case["bias"]),
                tensor(b["h0"]),
                tensor(b["c0"]),
            )
            x, w = tensor(case["x"]), (tensor(case["weight_ih"]), tensor(case["weight_hh"]), tensor(case["bias"]))
            for start, what_kept in (
                ((kept_h, kept_c), "the final state of the previous call"),
                ((tensor(b["h0"]), tensor(b["c0"])), "the state given to the previous call"),
            ):
                if all(close(a, r, torch.float64) for a, r in zip(got, torch_layer(x, *w, *start))):
                    raise CheckFailure(
                        f"{what}: with state=None the layer started from {what_kept}, not from zeros. A layer keeps "
                        f"no state between calls: state=None means zeros, every time (keep the state in a local "
                        f"variable of forward, not in self)."
                    )
        if ok[0] and close(h_T, ref_c, torch.float64) and close(c_T, ref_h, torch.float64):
            raise CheckFailure(f"{what}: the final state is (c_T, h_T); return (out, (h_T, c_T)).")
        if ok[0] and close(h_T, ref_out[:, 0], torch.float64):
            raise CheckFailure(f"{what}: h_T is the first step's state; return the last one, out[:, -1].")
        if ok[0] and not ok[2] and "c0" in case and close(c_T, tensor(case["c0"]), torch.float64):
            raise CheckFailure(f"{what}: c_T is the initial c0; return the cell state after the last step.")
        for value, ref, label in zip(got, (ref_out, ref_h, ref_c), ("out", "h_T", "c_T")):
            assert_close(
                value,
                ref,
                f"{label} of {what}",
                hint="Reference: nn.LSTM with weight_ih_l0 = weight_ih, "
                "weight_hh_l0 = weight_hh, bias_ih_l0 = bias, bias_hh_l0 = 0.",
                letters="N T H" if label == "out" else "N H",
            )
    count = found.get("matmuls", 0)
    if count > T + 2:
        per_step = "4 or more" if count >= 4 * T else "2"
        raise CheckFailure(
            f"FusedLSTM is correct but not fused (case '{name}'): its forward made {count} matrix products for "
            f"T={T} steps, about {per_step} per step. Project the inputs of all steps with one product before "
            f"the loop (x @ weight_ih.T + bias), then make one product per step, h @ weight_hh.T, for all four "
            f"gates: T + 1 products in all."
        )


FUSED_LSTM = Exercise("fused_lstm", "FusedLSTM", visible_first(_fused_lstm_cases), _fused_lstm_run, _fused_lstm_judge)
check_fused_lstm = FUSED_LSTM.check
