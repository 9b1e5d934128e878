"""Exercise 3 of notebook 05: ``FusedGRU(D, H)``, a one-layer, batch-first GRU with a fused forward pass.

``FusedGRU(D, H)(x, h0=None) -> (out, h_T)`` with x: (N, T, D), h0: (N, H) or None (zeros), out: (N, T, H)
the state after every step and h_T: (N, H) the last; its four parameters are those of ``nn.GRUCell``:
weight_ih (3H, D), weight_hh (3H, H), bias_ih and bias_hh (3H,), gate order r, z, n.  Fused means::

    G_x = x @ weight_ih.T + bias_ih                  # (N, T, 3H): every step's input projection, one product
    G_h = h_{t-1} @ weight_hh.T + bias_hh            # (N, 3H): all three gates of step t, one product

so T steps need at most T + 1 matrix products: the learner's forward pass runs under a
``TorchFunctionMode`` (:class:`course_lib.checks.toolkit.CountMatmuls`) that counts them.  The oracle is
``nn.GRU`` (outputs, last state and, on hidden cases, the gradients of every weight); wrong outputs are matched against the typical
wrong formulas of :mod:`.variants`, applied step by step.

Reference: the PyTorch documentation of ``nn.GRU``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb05_gru.variants import PARAM_NAMES, gru_variant, gru_weights, name_mistakes, param_tensors
from course_lib.checks.toolkit import (
    SLOW_INDEXING_NOTE,
    CountMatmuls,
    as_tensor,
    assert_close,
    assert_device_kept,
    assert_gradients,
    close,
    generator,
    gradients,
    kind_of,
    note,
    on_meta,
    randn,
    reaches_first_step,
    show_difference,
    tolerance,
    visible_first,
)

_TORCH_GRU = {"gru", "gru_cell"}  # nn.GRU / nn.GRUCell's kernels: calling them would make the exercise moot


def _layer_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    """Kinds: ``given state`` (h0), ``values`` (h0=None), ``no state`` (h0=None on a call after one with h0: a
    layer keeps no state between calls), ``gradients`` (every parameter, x and h0, against nn.GRU), ``device``
    (h0=None on the meta device: the zeros the layer makes follow x's device); every case also checks the
    initialisation the docstring fixes (uniform in ±1/sqrt(H))."""
    g = generator(seed)
    sizes = [
        ("N=2, T=5, D=3, H=4, with h0", 2, 5, 3, 4, "given state", torch.float64),
        ("N=3, T=4, D=2, H=3, h0=None", 3, 4, 2, 3, "values", torch.float64),
        ("N=2, T=3, D=3, H=4, h0=None after a call with h0", 2, 3, 3, 4, "no state", torch.float64),
        ("gradients, N=2, T=4, D=3, H=4", 2, 4, 3, 4, "gradients", torch.float64),
        ("N=2, T=3, D=2, H=3, h0=None, on the meta device", 2, 3, 2, 3, "device", torch.float64),
    ]
    if hidden:
        sizes += [
            ("T=1", 4, 1, 3, 5, "given state", torch.float64),
            ("N=1, D=1, H=1, T=6", 1, 6, 1, 1, "given state", torch.float64),
            ("float32, N=8, T=30, D=5, H=16", 8, 30, 5, 16, "given state", torch.float32),
            ("N=4, T=6, D=2, H=5, h0=None after a call with h0", 4, 6, 2, 5, "no state", torch.float64),
            ("gradients, N=3, T=7, D=4, H=6", 3, 7, 4, 6, "gradients", torch.float64),
            ("N=3, T=5, D=4, H=2, h0=None, on the meta device", 3, 5, 4, 2, "device", torch.float64),
        ]
    cases = {}
    for name, N, T, D, H, kind, dtype in sizes:
        with_h0 = kind in ("given state", "gradients")
        case = {
            "kind": kind,
            "x": randn(g, N, T, D, dtype=dtype),
            "h0": randn(g, N, H, dtype=dtype) if with_h0 else None,
            **gru_weights(g, D, H, dtype=dtype),
            "grads": kind == "gradients",
            "seed": seed,
        }
        if kind == "no state":  # the call before, with a state the layer could keep
            case["before"] = {"x": randn(g, N, T, D, dtype=dtype), "h0": randn(g, N, H, dtype=dtype)}
        if kind == "gradients":  # the loss is sum(out * w_out) + sum(h_T * w_h): each output its own upstream
            case["w_out"] = randn(g, N, T, H, dtype=dtype)
            case["w_h"] = randn(g, N, H, dtype=dtype)
        cases[name] = case
    return cases


def _layer_run(cls, case):
    x = torch.from_numpy(case["x"])
    D, H = x.shape[2], case["weight_hh"].shape[1]
    state = torch.get_rng_state()
    try:  # the initialisation is drawn from a known seed, so that a verdict on it is reproducible
        torch.manual_seed(case.get("seed", 0))
        module = cls(D, H)
    finally:
        torch.set_rng_state(state)
    found = {name: list(p.shape) for name, p in module.named_parameters()}
    if any(found.get(name) != list(case[name].shape) for name in PARAM_NAMES):
        return {"parameters": found}
    params = dict(module.named_parameters())
    init = {name: params[name].detach().clone() for name in PARAM_NAMES}
    module = module.to(x.dtype)
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name in PARAM_NAMES:
            params[name].copy_(torch.from_numpy(case[name]))
    if case["kind"] == "device":  # h0=None: the zeros the layer makes must be on x's device
        return {"parameters": found, "device": on_meta(lambda: module.to("meta")(x.to("meta")))}
    h0 = None if case["h0"] is None else torch.from_numpy(case["h0"])
    if "before" in case:
        with torch.no_grad():
            module(torch.from_numpy(case["before"]["x"]), torch.from_numpy(case["before"]["h0"]))
    if case["grads"]:
        x.requires_grad_(True)
        h0.requires_grad_(True)
    with torch.set_grad_enabled(case["grads"]), CountMatmuls() as counter:
        value = module(x) if h0 is None else module(x, h0)
    result = {
        "parameters": found,
        "matmuls": counter.count,
        "torch_gru": bool(counter.called & _TORCH_GRU),
        "init": init,
        "indexed": counter.indexed,
    }
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        length = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
        result["returned"] = type(value).__name__ + length
        return result
    out, h_T = value
    result["out"], result["h_T"] = out, h_T
    if case["grads"]:
        result["through_time"] = reaches_first_step(out[:, -1] if isinstance(out, torch.Tensor) else None, x)
        upstream = [torch.from_numpy(case["w_out"]), torch.from_numpy(case["w_h"])]
        result["grads"] = gradients([out, h_T], upstream, [*(params[n] for n in PARAM_NAMES), x, h0])
    return result


def _reference_layer(case: dict[str, Any]):
    x = torch.from_numpy(case["x"])
    D, H = x.shape[2], case["weight_hh"].shape[1]
    gru = nn.GRU(D, H, batch_first=True, dtype=x.dtype)
    with torch.no_grad():
        for name, value in zip(PARAM_NAMES, param_tensors(case)):
            getattr(gru, name + "_l0").copy_(value)
    x.requires_grad_(case["grads"])
    h0 = None if case["h0"] is None else torch.from_numpy(case["h0"]).requires_grad_(case["grads"])
    out, h_n = gru(x, None if h0 is None else h0[None])  # h0: (1, N, H)
    grads = None
    if case["grads"]:
        upstream = [torch.from_numpy(case["w_out"]), torch.from_numpy(case["w_h"])]
        grads = gradients([out, h_n[0]], upstream, [*(getattr(gru, n + "_l0") for n in PARAM_NAMES), x, h0])
    return out.detach(), h_n[0].detach(), grads


def _layer_variant_outputs(case, kwargs) -> torch.Tensor:
    x = torch.from_numpy(case["x"])
    N, T = x.shape[:2]
    H = case["weight_hh"].shape[1]
    h = torch.zeros(N, H, dtype=x.dtype) if case["h0"] is None else torch.from_numpy(case["h0"])
    outs = []
    for x_t in x.unbind(1):
        h = gru_variant(x_t, h, *param_tensors(case), **kwargs)
        outs.append(h)
    return torch.stack(outs, 1)


def _layer_judge(cases, results):
    on_cpu = {name: case for name, case in cases.items() if kind_of(case) != "device"}
    checked = [_layer_outputs(name, case, result_of(results, name, "FusedGRU")) for name, case in on_cpu.items()]
    _judge_layer_values(checked)
    for item in checked:
        _judge_layer_structure(item)
        _judge_layer_gradients(item)
    for name in [name for name in cases if name not in on_cpu]:  # last: a device case names only a device mistake
        value = result_of(results, name, "FusedGRU")
        if not (isinstance(value, dict) and isinstance(value.get("parameters"), dict)):
            raise CheckFailure(f"unexpected result from FusedGRU on case '{name}'")
        _judge_parameters(value["parameters"], cases[name])
        assert_device_kept(value.get("device"), f"FusedGRU on case '{name}'")
    if any(item[2].get("indexed", 0) >= item[1]["x"].shape[1] > 1 for item in checked):
        return note(SLOW_INDEXING_NOTE)
    return None


def _layer_outputs(name, case, value):
    """Shapes and parameters first; returns (name, case, value, out, h_T, out_ref, h_ref, grads_ref)."""
    # the result crossed from the learner's kernel: check its form before reading it
    unexpected = CheckFailure(f"unexpected result from FusedGRU on case '{name}'")
    if not (isinstance(value, dict) and isinstance(value.get("parameters"), dict)):
        raise unexpected
    _judge_parameters(value["parameters"], case)
    if "init" in value:
        _judge_initialisation(value["init"], case)
    if not ("returned" in value or {"out", "h_T", "matmuls", "torch_gru"} <= value.keys()):
        raise unexpected
    if "returned" in value:
        raise CheckFailure(f"FusedGRU.forward should return a pair (out, h_T), but it returned a {value['returned']}")
    N, T, _ = case["x"].shape
    H = case["weight_hh"].shape[1]
    out, h_T = value["out"], value["h_T"]
    if isinstance(out, np.ndarray) and out.shape == (T, N, H) and T != N:
        raise CheckFailure(
            f"out has shape {(T, N, H)} = (T, N, H): the layer is batch-first, out[:, t] is h_t for "
            f"every example, so stack the states along dim 1 (shape (N, T, H))."
        )
    if isinstance(h_T, np.ndarray) and h_T.shape == (1, N, H):
        raise CheckFailure(
            f"h_T has shape (1, N, H) like nn.GRU's h_n (num_layers, N, H); this one-layer module "
            f"returns h_T of shape (N, H) = {(N, H)}."
        )
    out = as_tensor(out, f"out on case '{name}'", (N, T, H), "(N, T, H)")
    h_T = as_tensor(h_T, f"h_T on case '{name}'", (N, H), "(N, H)")
    return (name, case, value, out, h_T, *_reference_layer(case))


def _judge_layer_values(checked):
    """out against nn.GRU (naming a known wrong formula if one fits every case), then h_T."""
    wrong = [item for item in checked if not close(item[3], item[5], item[5].dtype)]
    if wrong:
        message = name_mistakes(
            [item[3] for item in checked], lambda kwargs: [_layer_variant_outputs(item[1], kwargs) for item in checked]
        )
        name, case, _, out, _, out_ref, _, _ = wrong[0]
        if message:
            raise CheckFailure(f"FusedGRU on case '{name}': {message}\n  out: {show_difference(out, out_ref)}")
        if "before" in case:
            kept = _reference_layer({**case, "x": case["before"]["x"], "h0": case["before"]["h0"], "grads": False})[1]
            for start, what in (
                (kept.numpy(), "the final state of the previous call"),
                (case["before"]["h0"], "the h0 given to the previous call"),
            ):
                out_from_start = _reference_layer({**case, "h0": start, "grads": False})[0]
                if close(out, out_from_start, out_from_start.dtype):
                    raise CheckFailure(
                        f"FusedGRU on case '{name}': with h0=None the layer started from {what}, not from zeros. A "
                        f"layer keeps no state between calls: h0=None means zeros, every time (keep the state in a "
                        f"local variable of forward, not in self)."
                    )
        first = next(t for t in range(out_ref.shape[1]) if not close(out[:, t], out_ref[:, t], out_ref[:, t].dtype))
        where = (
            " (the very first step: check h0, the input projection and the gates)."
            if first == 0
            else ": the first steps are right, so check how h_t is carried to the next step."
        )
        assert_close(
            out,
            out_ref,
            f"out on case '{name}'",
            **tolerance(out_ref.dtype),
            hint=f"Where: the first wrong step is t = {first}{where}",
            letters="N T H",
        )
    for name, _, _, out, h_T, out_ref, h_ref, _ in checked:
        if not close(h_T, h_ref, h_ref.dtype):
            hint = (
                " It equals out[:, 0]: return the *last* state."
                if close(h_T, out_ref[:, 0], out_ref[:, 0].dtype)
                else ""
            )
            assert_close(
                h_T,
                h_ref,
                f"h_T on case '{name}'",
                **tolerance(h_ref.dtype),
                hint=f"h_T is the state after the last step, out[:, -1].{hint}",
            )


def _judge_layer_structure(item):
    """Right numbers; now is it fused: no torch GRU kernel, at most T + 1 matrix products?"""
    name, _, value, _, _, out_ref, _, _ = item
    T = out_ref.shape[1]
    if value["torch_gru"]:
        raise CheckFailure(
            "FusedGRU calls nn.GRU or nn.GRUCell: compute the gates yourself from the four "
            "parameters (the point of the exercise is the fused computation)."
        )
    if value["matmuls"] > T + 1:
        per_step = value["matmuls"] / T
        if 1.5 <= per_step < 2.5:
            guess = "is the input projection inside the loop?"
        elif per_step >= 2.5:
            guess = "are the gates multiplied one at a time? Stack them."
        else:
            guess = "where do the extra ones come from?"
        raise CheckFailure(
            f"FusedGRU on case '{name}' (T={T}) ran {value['matmuls']} matrix products; a fused layer needs at most "
            f"T + 1 = {T + 1}: one for the input projection of all time steps (x @ weight_ih.T on the whole (N, T, D) "
            f"tensor, before the loop) and one per step for h_{{t-1}} @ weight_hh.T (all three gates at once). Yours "
            f"does about {per_step:.1f} per step: {guess}"
        )


def _judge_layer_gradients(item):
    name, _, value, _, _, _, _, grads_ref = item
    if grads_ref is None:
        return
    got = value.get("grads")
    got = list(got) if isinstance(got, (list, tuple)) and len(got) == len(grads_ref) else [None] * len(grads_ref)
    assert_gradients(
        got, grads_ref, (*PARAM_NAMES, "x", "h0"), f"FusedGRU on case '{name}'", through_time=value.get("through_time")
    )


def _judge_initialisation(found: dict[str, Any], case: dict[str, Any]) -> None:
    """The docstring fixes it: each of the four parameters uniform in [-1/sqrt(H), 1/sqrt(H)], as torch's."""
    H = case["weight_hh"].shape[1]
    bound = 1 / math.sqrt(H)
    for n in PARAM_NAMES:
        w = as_tensor(found.get(n), f"FusedGRU's initial {n}").double()
        spread = w.numel() < 12 or float(w.abs().max()) >= 0.3 * bound  # P(correct fails) < 0.3^12
        if (
            not torch.isfinite(w).all()
            or float(w.abs().max()) > bound + 1e-6
            or not spread
            or (w.numel() > 1 and float(w.std()) == 0.0)
            or (w.numel() >= 32 and float(w.min()) >= 0)  # P(uniform(-k, k) draws no negative) = 2^-32
        ):
            raise CheckFailure(
                f"FusedGRU(D, {H}).{n} should start uniform in [-1/sqrt(H), 1/sqrt(H)] = [{-bound:.3g}, {bound:.3g}], "
                f"as the docstring says (and nn.GRU does), got {describe(w)}. Hint: "
                f"nn.Parameter(torch.empty(...).uniform_(-k, k)) with k = 1 / sqrt(H), for the biases too."
            )


def _judge_parameters(found: dict[str, list[int]], case: dict[str, Any]) -> None:
    D, H = case["x"].shape[2], case["weight_hh"].shape[1]
    shape = {n: tuple(s) if isinstance(s, list) else s for n, s in found.items()}
    missing = [n for n in PARAM_NAMES if n not in found]
    if missing:
        have = ", ".join(f"{n} {s}" for n, s in shape.items()) or "none"
        raise CheckFailure(
            f"FusedGRU({D}, {H}) has no parameter named {missing[0]}. It needs four nn.Parameter attributes named "
            f"weight_ih (3H, D), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,) (the names of nn.GRUCell); "
            f"registered parameters found: {have}. Plain tensors are not parameters: wrap them in nn.Parameter."
        )
    for n in PARAM_NAMES:
        want = list(case[n].shape)
        if found[n] != want:
            hint = " It looks transposed: weights are (out, in), applied as x @ W.T." if found[n] == want[::-1] else ""
            raise CheckFailure(
                f"FusedGRU({D}, {H}).{n} has shape {shape[n]}, expected {tuple(want)} "
                f"(D = {D}, H = {H}: three gates r, z, n stacked, 3H = {3 * H} rows).{hint}"
            )


FUSED_GRU = Exercise("fused_gru", "FusedGRU", visible_first(_layer_cases), _layer_run, _layer_judge)
