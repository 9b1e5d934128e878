"""Exercise 2 of notebook 05: ``count_params(kind, input_size, hidden_size, num_layers=1, bias=True)``.

The number of parameters of ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``.  Layer ``l`` of a module with ``gates``
blocks (:data:`GATES`: RNN 1, GRU 3, LSTM 4) and hidden size H holds ``weight_ih_l{l}`` (gates·H, I_l),
``weight_hh_l{l}`` (gates·H, H) and, with ``bias=True``, ``bias_ih_l{l}`` and ``bias_hh_l{l}`` (gates·H,),
where the first layer reads the input and every layer above reads the state of the layer below::

    count = Σ_l [gates·H·(I_l + H) + 2·gates·H·bias],   I_0 = input_size, I_l = H for l ≥ 1

The oracle is ``sum(p.numel())`` of the torch module, built on the ``meta`` device so that large sizes
cost nothing.  A wrong count is matched against the typical wrong formulas (:func:`_count_formula`): one
bias vector instead of two, ``input_size`` for every stacked layer, a wrong gate multiplier, biases
counted with ``bias=False``, one layer only; the smallest set of them that fits every case is named.

Reference: the PyTorch documentation of ``nn.RNN``, ``nn.GRU`` and ``nn.LSTM`` (their parameter shapes).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import generator, visible_first

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


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
        g = generator(seed)
        for kind in ("RNN", "GRU", "LSTM"):
            for _ in range(3):
                I, H = (int(v) for v in torch.randint(1, 300, (2,), generator=g))
                L = int(torch.randint(1, 5, (1,), generator=g))
                bias = bool(torch.randint(0, 2, (1,), generator=g))
                specs.append((kind, I, H, L, bias))
        specs += [("LSTM", 1, 1, 1, True), ("RNN", 3, 3, 4, False), ("GRU", 512, 1024, 2, True)]
    return {
        f"{k}(input_size={I}, hidden_size={H}, num_layers={L}, bias={b})": {
            "layer": k,
            "input_size": I,
            "hidden_size": H,
            "num_layers": L,
            "bias": b,
        }
        for k, I, H, L, b in specs
    }


def _count_run(fn, case):
    value = fn(case["layer"], case["input_size"], case["hidden_size"], num_layers=case["num_layers"], bias=case["bias"])
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    return value


def _torch_layer(case: dict[str, Any]) -> nn.Module:
    module = getattr(nn, case["layer"])
    return module(
        case["input_size"], case["hidden_size"], num_layers=case["num_layers"], bias=case["bias"], device="meta"
    )


def _count_formula(case, *, one_bias=False, layer_input=False, gates=None, bias_ignored=False, one_layer=False):
    """The count by a (possibly wrong) formula; the reference is sum(p.numel()) of the torch module."""
    g = GATES[case["layer"]] if gates is None else gates
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
    kind = kind_cases[0][0]["layer"]
    flags = ("one_bias", "layer_input", "gates", "bias_ignored", "one_layer")
    for size in range(1, len(flags) + 1):
        for chosen in itertools.combinations(flags, size):
            for gates in [g for g in (1, 2, 3, 4) if g != GATES[kind]] if "gates" in chosen else [None]:
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
            raise CheckFailure(
                f"count_params should return an int (a number of parameters), got {describe(got)} on case {name}"
            )
        answers[name] = got
    for name, case in cases.items():
        module = _torch_layer(case)
        expected = sum(p.numel() for p in module.parameters())
        if answers[name] == expected:
            continue
        same_kind = [(c, answers[n]) for n, c in cases.items() if c["layer"] == case["layer"]]
        mistake = _count_mistake(same_kind)
        fewer = "more" if answers[name] < expected else "fewer"
        raise CheckFailure(
            f"count_params for nn.{name}: got {answers[name]}, but torch's layer has {fewer} parameters.\n"
            + (
                f"It looks like {mistake}."
                if mistake
                else "Compare your count with the parameter shapes in PyTorch's documentation of this layer "
                "(one weight matrix per input of each layer, one bias vector per weight matrix)."
            )
        )


COUNT_PARAMS = Exercise("count_params", "count_params", visible_first(_count_cases), _count_run, _count_judge)
