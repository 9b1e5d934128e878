"""Checks for notebook 05 (GRU): a GRU cell, parameter counts of recurrent layers, a fused GRU layer.

The oracle is always torch's own module: ``nn.GRUCell`` for the cell, ``nn.GRU`` for the layer (outputs,
last state and, on hidden cases, the gradients of every weight), and ``sum(p.numel())`` of ``nn.RNN``,
``nn.GRU`` and ``nn.LSTM`` (built on the ``meta`` device, so large sizes cost nothing) for the counts.

Gate order of the stacked weights (PyTorch's, documented in ``torch.nn.GRU``): rows ``0:H`` reset
``r``, ``H:2H`` update ``z``, ``2H:3H`` candidate ``n``::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

When a result is wrong, the judges try the typical wrong formulas one at a time (:func:`gru_variant`):
the reset applied before the matmul (Cho et al. 2014, the seed article), ``b_hn`` outside the reset,
no reset at all, ``(1 - z)`` on the wrong term, ``r`` and ``z`` swapped; for counts, one bias vector
instead of two, ``input_size`` for every stacked layer, a wrong gate multiplier, biases counted with
``bias=False``, one layer only.  The first formula that reproduces every case is named.  For the fused
layer the learner's kernel also counts the matrix products its forward pass calls (a ``TorchFunctionMode``):
a fused layer needs at most T + 1 for T steps.

References: Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
Machine Translation" (2014); the PyTorch documentation of ``nn.GRU`` / ``nn.GRUCell``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from course_lib.checks.core import CheckFailure, Exercise, as_tensor, assert_close, describe, result_of

__all__ = ["EXERCISES", "GATE_ORDER", "gru_variant", "check_gru_cell", "check_count_params", "check_fused_gru"]

GATE_ORDER = ("r", "z", "n")  # rows 0:H, H:2H, 2H:3H of weight_ih, weight_hh, bias_ih, bias_hh
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0, dtype=torch.float64) -> np.ndarray:
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype).numpy()


def _gru_weights(g: torch.Generator, D: int, H: int, scale: float = 0.5, dtype=torch.float64) -> dict[str, np.ndarray]:
    return {
        "weight_ih": _randn(g, 3 * H, D, scale=scale, dtype=dtype),
        "weight_hh": _randn(g, 3 * H, H, scale=scale, dtype=dtype),
        "bias_ih": _randn(g, 3 * H, scale=scale, dtype=dtype),
        "bias_hh": _randn(g, 3 * H, scale=scale, dtype=dtype),
    }


def _tensors(case: dict[str, Any], names=_PARAM_NAMES) -> list[torch.Tensor]:
    return [torch.from_numpy(case[name]) for name in names]


def _tolerances(dtype: torch.dtype) -> dict[str, float]:
    return {"rtol": 1e-6, "atol": 1e-8} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}


# ------------------------------------------------------------------------------------- typical mistakes

# candidate-gate variants, then the two switches that can come on top of any of them
_CANDIDATES = ("torch", "cho", "bhn_outside", "no_reset")
_MISTAKES = {
    "cho": (
        "this is the Cho et al. variant of the GRU (the seed article's formula): you applied the reset gate to "
        "h_{t-1} *before* the matmul, n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn). It is a valid GRU, "
        "but not PyTorch's: nn.GRUCell applies the reset *after* the matmul, n_t = tanh(W_in x_t + b_in + r_t ⊙ "
        "(W_hn h_{t-1} + b_hn)), so that one matmul h_{t-1} @ weight_hh.T serves all three gates."
    ),
    "bhn_outside": (
        "b_hn is outside the reset product: you computed r_t ⊙ (W_hn h_{t-1}) + b_hn, PyTorch computes "
        "r_t ⊙ (W_hn h_{t-1} + b_hn) (the whole hidden projection of the candidate, bias included, is reset)."
    ),
    "no_reset": (
        "the reset gate is never applied: n_t must use r_t ⊙ (W_hn h_{t-1} + b_hn), not W_hn h_{t-1} + b_hn."
    ),
    "swap_update": (
        "(1 - z) is on the wrong term: you computed h_t = z_t ⊙ n_t + (1 - z_t) ⊙ h_{t-1}. PyTorch (and Cho et "
        "al.) use h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}: z_t close to 1 *keeps* the old state. (Some texts use "
        "your convention; it is the same model with z replaced by 1 - z, but not with torch's weights.)"
    ),
    "swap_rz": (
        "r/z swapped: the reset and update gates are exchanged. The stacked weights are in the order r, z, n, so rows "
        "0:H of weight_ih, weight_hh, bias_ih and bias_hh belong to r_t, rows H:2H to z_t and rows 2H:3H to n_t."
    ),
}


def gru_variant(x, h, weight_ih, weight_hh, bias_ih, bias_hh, candidate="torch", swap_update=False, swap_rz=False):
    """One GRU step by a chosen formula: the right one (``candidate="torch"``) or a typical wrong one.

    x: (N, D), h: (N, H), weight_ih: (3H, D), weight_hh: (3H, H), biases (3H,), gate order r, z, n.
    candidate: "torch"       n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
               "cho"         n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)     (Cho et al. 2014)
               "bhn_outside" n = tanh(W_in x + b_in + r ⊙ (W_hn h) + b_hn)
               "no_reset"    n = tanh(W_in x + b_in + W_hn h + b_hn)
    swap_update: h' = z ⊙ n + (1 - z) ⊙ h instead of (1 - z) ⊙ n + z ⊙ h.
    swap_rz:     r read from the z rows and z from the r rows.
    Used to *name* mistakes; the reference itself is always nn.GRUCell / nn.GRU.
    """
    H = h.shape[-1]
    gi = x @ weight_ih.T + bias_ih  # (N, 3H)
    W_hr, W_hz, W_hn = weight_hh[:H], weight_hh[H : 2 * H], weight_hh[2 * H :]
    b_hr, b_hz, b_hn = bias_hh[:H], bias_hh[H : 2 * H], bias_hh[2 * H :]
    r = torch.sigmoid(gi[:, :H] + h @ W_hr.T + b_hr)
    z = torch.sigmoid(gi[:, H : 2 * H] + h @ W_hz.T + b_hz)
    if swap_rz:
        r, z = z, r
    if candidate == "torch":
        hidden = r * (h @ W_hn.T + b_hn)
    elif candidate == "cho":
        hidden = (r * h) @ W_hn.T + b_hn
    elif candidate == "bhn_outside":
        hidden = r * (h @ W_hn.T) + b_hn
    elif candidate == "no_reset":
        hidden = h @ W_hn.T + b_hn
    else:
        raise ValueError(f"unknown candidate {candidate!r}")
    n = torch.tanh(gi[:, 2 * H :] + hidden)
    return z * n + (1 - z) * h if swap_update else (1 - z) * n + z * h


def _variants():
    """Every combination of the named mistakes, fewest mistakes first (the right formula excluded)."""
    combos = []
    for candidate, swap_update, swap_rz in itertools.product(_CANDIDATES, (False, True), (False, True)):
        names = ([candidate] if candidate != "torch" else []) + (["swap_update"] if swap_update else []) + (
            ["swap_rz"] if swap_rz else [])
        if names:
            combos.append((names, {"candidate": candidate, "swap_update": swap_update, "swap_rz": swap_rz}))
    return sorted(combos, key=lambda item: len(item[0]))


def _name_mistakes(got: list[torch.Tensor], variant_of) -> str | None:
    """The message for the first combination of mistakes whose formula reproduces every case.

    got:        what the learner returned, one tensor per case.
    variant_of: ``variant_of(kwargs)`` -> the outputs of :func:`gru_variant` with ``kwargs``, same cases, same order.
    """
    for names, kwargs in _variants():
        predicted = variant_of(kwargs)
        if all(p.shape == g.shape and torch.allclose(g.double(), p.double(), rtol=1e-4, atol=1e-6)
               for g, p in zip(got, predicted)):
            if len(names) == 1:
                return _MISTAKES[names[0]]
            return "several mistakes together:\n" + "\n".join(f"  - {_MISTAKES[n]}" for n in names)
    return None


# ------------------------------------------------------------------------------------- 1. GRU cell


def _cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    sizes = [("N=3, D=4, H=5", 3, 4, 5, torch.float64, 0.5)]
    if hidden:
        sizes += [
            ("N=1, D=1, H=1", 1, 1, 1, torch.float64, 0.5),
            ("N=7, D=6, H=8", 7, 6, 8, torch.float64, 0.5),
            ("float32, N=4, D=3, H=6", 4, 3, 6, torch.float32, 0.5),
            ("large weights (saturated gates)", 5, 3, 4, torch.float64, 3.0),
        ]
    cases = {}
    for name, N, D, H, dtype, scale in sizes:
        cases[name] = {
            "x": _randn(g, N, D, dtype=dtype),
            "h_prev": _randn(g, N, H, dtype=dtype),
            **_gru_weights(g, D, H, scale=scale, dtype=dtype),
        }
    return cases


def _cell_run(fn, case):
    x, h_prev = torch.from_numpy(case["x"]), torch.from_numpy(case["h_prev"])
    return fn(x, h_prev, *_tensors(case))


def _reference_cell(case: dict[str, Any]) -> torch.Tensor:
    x, h_prev = torch.from_numpy(case["x"]), torch.from_numpy(case["h_prev"])
    D, H = x.shape[1], h_prev.shape[1]
    cell = nn.GRUCell(D, H, dtype=x.dtype)
    with torch.no_grad():
        for name, value in zip(_PARAM_NAMES, _tensors(case)):
            getattr(cell, name).copy_(value)
        return cell(x, h_prev)


def _cell_judge(cases, results):
    checked = []
    for name, case in cases.items():
        expected = _reference_cell(case)
        got = as_tensor(result_of(results, name, "gru_cell"), f"gru_cell(...) on case '{name}'",
                        tuple(expected.shape), "(N, H)")
        checked.append((name, case, expected, got))
    wrong = [item for item in checked if not _close(item[3], item[2])]
    if not wrong:
        return
    message = _name_mistakes(
        [got for _, _, _, got in checked],
        lambda kwargs: [gru_variant(torch.from_numpy(c["x"]), torch.from_numpy(c["h_prev"]), *_tensors(c), **kwargs)
                        for _, c, _, _ in checked],
    )
    name, case, expected, got = wrong[0]
    if message:
        raise CheckFailure(f"gru_cell on case '{name}': {message}\n  expected {describe(expected)}\n"
                           f"  got      {describe(got)}")
    assert_close(got, expected, f"gru_cell(...) on case '{name}'", **_tolerances(expected.dtype),
                 hint="Hint: split the stacked weights with .chunk(3) in the order r, z, n; r and z use sigmoid, n "
                      "uses tanh; compare each gate with the equations above the exercise.")


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    tol = _tolerances(expected.dtype)
    return bool(torch.isfinite(got).all()) and torch.allclose(got.double(), expected.double(), **tol)


GRU_CELL = Exercise("gru_cell", "gru_cell", _cell_cases, _cell_run, _cell_judge)


# ------------------------------------------------------------------------------------- 2. parameter counts


def _count_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    specs = [
        ("RNN", 10, 20, 1, True),
        ("GRU", 10, 20, 1, True),
        ("LSTM", 10, 20, 1, True),
        ("GRU", 8, 16, 2, True),
        ("LSTM", 8, 16, 3, True),
        ("GRU", 5, 7, 1, False),
    ]
    if hidden:
        g = _generator(seed)
        for kind in ("RNN", "GRU", "LSTM"):
            for _ in range(3):
                I, H = (int(v) for v in torch.randint(1, 300, (2,), generator=g))
                L = int(torch.randint(1, 5, (1,), generator=g))
                bias = bool(torch.randint(0, 2, (1,), generator=g))
                specs.append((kind, I, H, L, bias))
        specs += [("LSTM", 1, 1, 1, True), ("RNN", 3, 3, 4, False), ("GRU", 512, 1024, 2, True)]
    return {f"{k}(input_size={I}, hidden_size={H}, num_layers={L}, bias={b})": {
        "kind": k, "input_size": I, "hidden_size": H, "num_layers": L, "bias": b} for k, I, H, L, b in specs}


def _count_run(fn, case):
    value = fn(case["kind"], case["input_size"], case["hidden_size"], num_layers=case["num_layers"], bias=case["bias"])
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    return value


def _torch_layer(case: dict[str, Any]) -> nn.Module:
    module = getattr(nn, case["kind"])
    return module(case["input_size"], case["hidden_size"], num_layers=case["num_layers"], bias=case["bias"],
                  device="meta")


def _count_formula(case, *, one_bias=False, layer_input=False, gates=None, bias_ignored=False, one_layer=False):
    """The count by a (possibly wrong) formula; the reference is sum(p.numel()) of the torch module."""
    g = GATES[case["kind"]] if gates is None else gates
    I, H, L = case["input_size"], case["hidden_size"], case["num_layers"]
    total = 0
    for layer in range(1 if one_layer else L):
        inputs = I if (layer == 0 or layer_input) else H
        total += g * H * (inputs + H)
        if case["bias"] or bias_ignored:
            total += g * H * (1 if one_bias else 2)
    return total


_COUNT_MISTAKES = {
    "one_bias": "you counted one bias vector per layer, but torch has two, bias_ih and bias_hh (one bias instead "
                "of two: W_ih x + b_ih + W_hh h + b_hh), each of size gates × H",
    "layer_input": "every layer after the first reads the hidden state of the layer below, so its weight_ih has "
                   "shape (gates × H, H), not (gates × H, input_size): you used input_size for every layer (wrong "
                   "layer input size)",
    "gates": "the number of gate blocks is wrong (wrong gate multiplier): an RNN layer has one block (the tanh "
             "layer), a GRU 3 blocks (r, z, n), an LSTM 4 (i, f, g, o); each block has its own W_ih, W_hh and biases",
    "bias_ignored": "with bias=False there are no bias vectors at all, but your count includes them",
    "one_layer": "num_layers stacks that many layers, each with its own weights; your count is that of one layer",
}


def _count_mistake(kind_cases: list[tuple[dict, int]]) -> str | None:
    """Find the smallest set of count mistakes that reproduces every (case, got) pair of one kind."""
    kind = kind_cases[0][0]["kind"]
    flags = ("one_bias", "layer_input", "gates", "bias_ignored", "one_layer")
    for size in range(1, len(flags) + 1):
        for chosen in itertools.combinations(flags, size):
            for gates in ([g for g in (1, 2, 3, 4) if g != GATES[kind]] if "gates" in chosen else [None]):
                kwargs = {f: True for f in chosen if f != "gates"}
                if all(_count_formula(c, gates=gates, **kwargs) == got for c, got in kind_cases):
                    parts = []
                    for f in chosen:
                        text = _COUNT_MISTAKES[f]
                        if f == "gates":
                            text += f" (your count fits {gates} block{'s' if gates > 1 else ''} for a {kind})"
                        parts.append(text)
                    return "; and ".join(parts)
    return None


def _count_judge(cases, results):
    answers = {}
    for name, case in cases.items():
        got = result_of(results, name, "count_params")
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if isinstance(got, bool) or not isinstance(got, int):
            raise CheckFailure(f"count_params should return an int (a number of parameters), got {describe(got)} "
                               f"on case {name}")
        answers[name] = got
    for name, case in cases.items():
        module = _torch_layer(case)
        expected = sum(p.numel() for p in module.parameters())
        if answers[name] == expected:
            continue
        same_kind = [(c, answers[n]) for n, c in cases.items() if c["kind"] == case["kind"]]
        mistake = _count_mistake(same_kind)
        shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in module.named_parameters())
        raise CheckFailure(
            f"count_params for nn.{name}: expected {expected}, got {answers[name]}.\n"
            + (f"It looks like {mistake}.\n" if mistake else "")
            + f"torch's parameters: {shapes}."
        )


COUNT_PARAMS = Exercise("count_params", "count_params", _count_cases, _count_run, _count_judge)


# ------------------------------------------------------------------------------------- 3. fused GRU layer

# torch functions that multiply matrices, by name (x @ W.T reaches the mode as "matmul")
_MATMULS = {"matmul", "__matmul__", "__rmatmul__", "mm", "addmm", "bmm", "baddbmm", "addbmm", "linear", "einsum",
            "mv", "addmv", "tensordot", "inner", "dot", "multi_dot", "chain_matmul", "bilinear"}
_TORCH_GRU = {"gru", "gru_cell"}  # nn.GRU / nn.GRUCell's kernels


class _CountMatmuls(TorchFunctionMode):
    """Counts the torch calls that multiply matrices while a learner's forward pass runs (and notes any call to
    torch's own GRU kernels, which would make the exercise moot)."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.torch_gru = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        self.count += name in _MATMULS
        self.torch_gru |= name in _TORCH_GRU
        return func(*args, **(kwargs or {}))


def _layer_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    sizes = [("N=2, T=5, D=3, H=4, with h0", 2, 5, 3, 4, True, torch.float64, False),
             ("N=3, T=4, D=2, H=3, h0=None", 3, 4, 2, 3, False, torch.float64, False)]
    if hidden:
        sizes += [
            ("T=1", 4, 1, 3, 5, True, torch.float64, False),
            ("N=1, D=1, H=1, T=6", 1, 6, 1, 1, True, torch.float64, False),
            ("float32, N=8, T=30, D=5, H=16", 8, 30, 5, 16, True, torch.float32, False),
            ("gradients, N=3, T=7, D=4, H=6", 3, 7, 4, 6, True, torch.float64, True),
        ]
    cases = {}
    for name, N, T, D, H, with_h0, dtype, grads in sizes:
        case = {"x": _randn(g, N, T, D, dtype=dtype), "h0": _randn(g, N, H, dtype=dtype) if with_h0 else None,
                **_gru_weights(g, D, H, dtype=dtype), "grads": grads}
        if grads:  # the loss is sum(out * w_out) + sum(h_T * w_h): every output gets its own upstream gradient
            case["w_out"] = _randn(g, N, T, H, dtype=dtype)
            case["w_h"] = _randn(g, N, H, dtype=dtype)
        cases[name] = case
    return cases


def _layer_run(cls, case):
    x = torch.from_numpy(case["x"])
    D, H = x.shape[2], case["weight_hh"].shape[1]
    module = cls(D, H)
    found = {name: list(p.shape) for name, p in module.named_parameters()}
    if any(found.get(name) != list(case[name].shape) for name in _PARAM_NAMES):
        return {"parameters": found}
    module = module.to(x.dtype)
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name in _PARAM_NAMES:
            params[name].copy_(torch.from_numpy(case[name]))
    h0 = None if case["h0"] is None else torch.from_numpy(case["h0"])
    with torch.set_grad_enabled(case["grads"]), _CountMatmuls() as counter:
        value = module(x) if h0 is None else module(x, h0)
    result = {"parameters": found, "matmuls": counter.count, "torch_gru": counter.torch_gru}
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        length = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
        result["returned"] = type(value).__name__ + length
        return result
    out, h_T = value
    result["out"], result["h_T"] = out, h_T
    if case["grads"]:
        loss = (out * torch.from_numpy(case["w_out"])).sum() + (h_T * torch.from_numpy(case["w_h"])).sum()
        weights = [params[n] for n in _PARAM_NAMES]
        grads = torch.autograd.grad(loss, weights, allow_unused=True) if loss.requires_grad else [None] * 4
        result["grads"] = list(grads)
    return result


def _reference_layer(case: dict[str, Any]):
    x = torch.from_numpy(case["x"])
    D, H = x.shape[2], case["weight_hh"].shape[1]
    gru = nn.GRU(D, H, batch_first=True, dtype=x.dtype)
    with torch.no_grad():
        for name, value in zip(_PARAM_NAMES, _tensors(case)):
            getattr(gru, name + "_l0").copy_(value)
    h0 = None if case["h0"] is None else torch.from_numpy(case["h0"])[None]  # (1, N, H)
    out, h_n = gru(x, h0)
    grads = None
    if case["grads"]:
        loss = (out * torch.from_numpy(case["w_out"])).sum() + (h_n[0] * torch.from_numpy(case["w_h"])).sum()
        grads = torch.autograd.grad(loss, [getattr(gru, n + "_l0") for n in _PARAM_NAMES])
    return out.detach(), h_n[0].detach(), grads


def _layer_variant_outputs(case, kwargs) -> torch.Tensor:
    x = torch.from_numpy(case["x"])
    N, T = x.shape[:2]
    H = case["weight_hh"].shape[1]
    h = torch.zeros(N, H, dtype=x.dtype) if case["h0"] is None else torch.from_numpy(case["h0"])
    outs = []
    for x_t in x.unbind(1):
        h = gru_variant(x_t, h, *_tensors(case), **kwargs)
        outs.append(h)
    return torch.stack(outs, 1)


def _layer_judge(cases, results):
    checked = [_layer_outputs(name, case, result_of(results, name, "FusedGRU")) for name, case in cases.items()]
    _judge_layer_values(checked)
    for item in checked:
        _judge_layer_structure(item)
        _judge_layer_gradients(item)


def _layer_outputs(name, case, value):
    """Shapes and parameters first; returns (name, case, value, out, h_T, out_ref, h_ref, grads_ref)."""
    # the result crossed from the learner's kernel: check its form before reading it
    unexpected = CheckFailure(f"unexpected result from FusedGRU on case '{name}'")
    if not (isinstance(value, dict) and isinstance(value.get("parameters"), dict)):
        raise unexpected
    _judge_parameters(value["parameters"], case)
    if not ("returned" in value or {"out", "h_T", "matmuls", "torch_gru"} <= value.keys()):
        raise unexpected
    if "returned" in value:
        raise CheckFailure(f"FusedGRU.forward should return a pair (out, h_T), but it returned a {value['returned']}")
    N, T, _ = case["x"].shape
    H = case["weight_hh"].shape[1]
    out, h_T = value["out"], value["h_T"]
    if isinstance(out, np.ndarray) and out.shape == (T, N, H) and T != N:
        raise CheckFailure(f"out has shape {(T, N, H)} = (T, N, H): the layer is batch-first, out[:, t] is h_t for "
                           f"every example, so stack the states along dim 1 (shape (N, T, H)).")
    if isinstance(h_T, np.ndarray) and h_T.shape == (1, N, H):
        raise CheckFailure(f"h_T has shape (1, N, H) like nn.GRU's h_n (num_layers, N, H); this one-layer module "
                           f"returns h_T of shape (N, H) = {(N, H)}.")
    out = as_tensor(out, f"out on case '{name}'", (N, T, H), "(N, T, H)")
    h_T = as_tensor(h_T, f"h_T on case '{name}'", (N, H), "(N, H)")
    return (name, case, value, out, h_T, *_reference_layer(case))


def _judge_layer_values(checked):
    """out against nn.GRU (naming a known wrong formula if one fits every case), then h_T."""
    wrong = [item for item in checked if not _close(item[3], item[5])]
    if wrong:
        message = _name_mistakes([item[3] for item in checked],
                                 lambda kwargs: [_layer_variant_outputs(item[1], kwargs) for item in checked])
        name, case, _, out, _, out_ref, _, _ = wrong[0]
        if message:
            raise CheckFailure(f"FusedGRU on case '{name}': {message}\n  expected out {describe(out_ref)}\n"
                               f"  got          {describe(out)}")
        first = next(t for t in range(out_ref.shape[1]) if not _close(out[:, t], out_ref[:, t]))
        where = (" (the very first step: check h0, the input projection and the gates)." if first == 0
                 else ": the first steps are right, so check how h_t is carried to the next step.")
        assert_close(out, out_ref, f"out on case '{name}'", **_tolerances(out_ref.dtype),
                     hint=f"The first wrong step is t = {first}{where}")
    for name, _, _, out, h_T, out_ref, h_ref, _ in checked:
        if not _close(h_T, h_ref):
            hint = " It equals out[:, 0]: return the *last* state." if _close(h_T, out_ref[:, 0]) else ""
            assert_close(h_T, h_ref, f"h_T on case '{name}'", **_tolerances(h_ref.dtype),
                         hint=f"h_T is the state after the last step, out[:, -1].{hint}")


def _judge_layer_structure(item):
    """Right numbers; now is it fused: no torch GRU kernel, at most T + 1 matrix products?"""
    name, _, value, _, _, out_ref, _, _ = item
    T = out_ref.shape[1]
    if value["torch_gru"]:
        raise CheckFailure("FusedGRU calls nn.GRU or nn.GRUCell: compute the gates yourself from the four "
                           "parameters (the point of the exercise is the fused computation).")
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
    for param, g_ref, g in zip(_PARAM_NAMES, grads_ref, value["grads"]):
        if g is None:
            raise CheckFailure(f"no gradient reaches {param}: the forward pass must build the output from the "
                               f"parameters with torch operations (no .detach(), .item(), .numpy(), torch.no_grad() "
                               f"or torch.tensor(...) of intermediate values).")
        assert_close(as_tensor(g, f"gradient of {param}", tuple(g_ref.shape)), g_ref,
                     f"gradient of {param} on case '{name}'", **_tolerances(g_ref.dtype),
                     hint="The outputs are right but the gradients are not: does the forward pass modify a tensor "
                          "in place after using it, or cut the graph somewhere?")


def _judge_parameters(found: dict[str, list[int]], case: dict[str, Any]) -> None:
    D, H = case["x"].shape[2], case["weight_hh"].shape[1]
    shape = {n: tuple(s) if isinstance(s, list) else s for n, s in found.items()}
    missing = [n for n in _PARAM_NAMES if n not in found]
    if missing:
        have = ", ".join(f"{n} {s}" for n, s in shape.items()) or "none"
        raise CheckFailure(
            f"FusedGRU({D}, {H}) has no parameter named {missing[0]}. It needs four nn.Parameter attributes named "
            f"weight_ih (3H, D), weight_hh (3H, H), bias_ih (3H,), bias_hh (3H,) (the names of nn.GRUCell); "
            f"registered parameters found: {have}. Plain tensors are not parameters: wrap them in nn.Parameter."
        )
    for n in _PARAM_NAMES:
        want = list(case[n].shape)
        if found[n] != want:
            hint = " It looks transposed: weights are (out, in), applied as x @ W.T." if found[n] == want[::-1] else ""
            raise CheckFailure(f"FusedGRU({D}, {H}).{n} has shape {shape[n]}, expected {tuple(want)} "
                               f"(D = {D}, H = {H}: three gates r, z, n stacked, 3H = {3 * H} rows).{hint}")


FUSED_GRU = Exercise("fused_gru", "FusedGRU", _layer_cases, _layer_run, _layer_judge)


EXERCISES = (GRU_CELL, COUNT_PARAMS, FUSED_GRU)

check_gru_cell = GRU_CELL.check
check_count_params = COUNT_PARAMS.check
check_fused_gru = FUSED_GRU.check
