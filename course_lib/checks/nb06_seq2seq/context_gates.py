"""Check of ``context_gates``: the context's part of the decoder cell's input gates, once per sentence.

The decoder's cell reads x = [e(y_{t-1}); c] (E + H features, in that order: the order it was trained on), so
its input projection splits by column blocks (Cho et al. 2014, Bahdanau et al. 2015 write W e + C c):

    weight_ih x + bias_ih = W_e e(y_{t-1}) + (W_c c + bias_ih),    W_e = weight_ih[:, :E],  W_c = weight_ih[:, E:]

and the bracket is the same at every step of a sentence: ``gates_c = W_c c + bias_ih``, (N, 3H), rows in
weight_ih's gate order.  The reference is torch's linear map of the whole ``weight_ih`` applied to [0; c] (the
cell's own input projection with the embedding's part switched off), never the block itself.  Named mistakes:
the first H columns read as the context's, the bias missing, bias_hh's r and z rows folded in (valid maths,
but the contract keeps bias_hh for ``decoder_step``), bias_hh added to it or in its place, the result detached
from the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import DTYPES, WeightsOnlyGRUCell, decoder_weights, loaded
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_gradients,
    close,
    first_named_mistake,
    generator,
    gradients,
    plain,
    randn,
    tolerance,
    visible_first,
)

__all__ = ["CONTEXT_GATES", "gate_mistakes"]


def _cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    shapes = [("N=3, E=4, H=5", 3, 4, 5, "float32"), ("gradients, float64, N=2, E=3, H=4", 2, 3, 4, "float64")]
    if hidden:
        shapes += [
            ("float64, E == H", 4, 6, 6, "float64"),
            ("float64, E > H, one row", 1, 7, 3, "float64"),
            ("gradients, float64, N=3, E=2, H=5", 3, 2, 5, "float64"),
        ]
    cases = {}
    for name, N, E, H, dtype in shapes:
        cases[name] = {"weights": decoder_weights(g, 6, E, H), "context": np.tanh(randn(g, N, H)), "dtype": dtype}
        if name.startswith("gradients"):  # gates_c feeds every step's loss: it must stay in the graph
            cases[name].update(kind="gradients", d_gates=randn(g, N, 3 * H))
    return cases


def _cell(case) -> nn.GRUCell:
    E, H = case["weights"]["embedding.weight"].shape[1], case["weights"]["cell.weight_hh"].shape[1]
    (cell,) = loaded({"cell": WeightsOnlyGRUCell(E + H, H)}, {**case, "weights": _cell_weights(case)})
    return cell


def _cell_weights(case) -> dict[str, np.ndarray]:
    return {k: v for k, v in case["weights"].items() if k.startswith("cell.")}


def _run(fn, case):
    cell = _cell(case)
    context = torch.from_numpy(case["context"]).to(DTYPES[case["dtype"]])
    if case.get("kind") != "gradients":
        return plain(fn(cell, context))
    context.requires_grad_(True)
    gates = fn(cell, context)
    wrt = [context, cell.weight_ih, cell.bias_ih]
    return plain(gates), *plain(tuple(gradients([gates], [torch.from_numpy(case["d_gates"])], wrt)))


def _context_projection(weight_ih: torch.Tensor, bias_ih: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """weight_ih [0; c] + bias_ih, (N, 3H): the cell's input projection of an input whose embedding part is zero.
    Differentiable in all three; notebook 06's decoder_step check makes its cases' gates with it too."""
    E = weight_ih.shape[1] - context.shape[-1]
    return F.linear(F.pad(context, (E, 0)), weight_ih, bias_ih)


def _activated(gates: torch.Tensor) -> torch.Tensor:
    r_z, n = gates.split([2 * gates.shape[-1] // 3, gates.shape[-1] // 3], dim=-1)
    return torch.cat([torch.sigmoid(r_z), torch.tanh(n)], dim=-1)


def gate_mistakes(inputs: torch.Tensor, cell: nn.GRUCell, *, gates: str, read: str, step: str) -> list[tuple[str, Any]]:
    """The named wrong versions of a once-per-sentence part of the input gates, for ``inputs`` (..., H) read by the
    context's columns of ``cell.weight_ih``: 06's gates_c of the context (N, H), 07's key gates of the keys (N, S, H).

    ``gates``: what the learner returns ("gates_c"); ``read``: the inputs and a verb ("the context was"); ``step``:
    the function that adds the hidden side at every step.  Each message says what the output matches and why that is
    wrong here, or asks; none writes the right expression out."""
    W_ih, b_ih, W_hh, b_hh = (p.detach().double() for p in (cell.weight_ih, cell.bias_ih, cell.weight_hh, cell.bias_hh))
    inputs = inputs.double()
    H = inputs.shape[-1]
    expected = _context_projection(W_ih, b_ih, inputs)
    read_by_c = _context_projection(W_ih, torch.zeros_like(b_ih), inputs)  # the columns' product, no bias
    return (
        [
            (
                f"{read} multiplied by the first H columns of weight_ih. Which columns read the context, given the "
                "order the cell was trained on, [e(y_{t-1}); c]?",
                F.linear(inputs, W_ih[:, :H], b_ih),
            ),
            (f"bias_ih is missing: {gates} is the context's part of the input gates with bias_ih in it", read_by_c),
            (
                f"bias_hh's r and z rows (b_hr, b_hz) were folded into {gates} along with bias_ih: this contract "
                f"keeps all of bias_hh for {step}, which adds it whole at every step, and {gates} holds bias_ih only",
                expected + torch.cat([b_hh[: 2 * H], torch.zeros_like(b_hh[2 * H :])]),
            ),
            (
                "bias_hh is added as well: it belongs to the hidden side of the gates (inside the reset product for "
                f"the candidate n), which {step} adds at every step",
                expected + b_hh,
            ),
            (f"bias_hh is used where bias_ih goes: {gates} is on the input side of the cell", read_by_c + b_hh),
        ]
        + [
            (
                f"{read} multiplied by weight_hh, the matrix that reads the decoder's state s_{{t-1}}; the context is "
                "an input of the cell, read by columns of weight_ih",
                F.linear(inputs, W_hh, bias),
            )
            for bias in (b_ih, None)
        ]
        + [
            (
                f"{how} was applied: {gates} is a pre-activation, one part of the sums the gates' activations act on "
                "once the per-step parts are added",
                activated,
            )
            for how, activated in (
                ("the sigmoid", torch.sigmoid(expected)),
                ("an activation (sigmoid for r and z, tanh for n)", _activated(expected)),
            )
        ]
    )


def _judge(cases, results):
    for name, case in cases.items():
        cell = _cell(case).double()  # the weights exactly as the learner's cell holds them
        W_ih, b_ih, b_hh = (p.detach() for p in (cell.weight_ih, cell.bias_ih, cell.bias_hh))
        context = torch.from_numpy(case["context"]).double()
        N, H = context.shape
        expected = _context_projection(W_ih, b_ih, context)
        value = result_of(results, name, "context_gates")
        grads = None
        if case.get("kind") == "gradients" and isinstance(value, tuple) and len(value) == 4:
            value, grads = value[0], list(value[1:])
        got = as_tensor(value, f"gates_c on case '{name}'", (N, 3 * H), "(N, 3H)")
        wrong = gate_mistakes(context, cell, gates="gates_c", read="the context was", step="decoder_step")
        message = first_named_mistake(got, expected, wrong, same=lambda a, b: close(a, b, case["dtype"]))
        if message:
            raise CheckFailure(f"case '{name}': {message}.")
        assert_close(
            got.double(),
            expected,
            f"gates_c on case '{name}'",
            **tolerance(case["dtype"]),
            hint="gates_c: the part of the cell's input-side pre-activation that does not depend on y_{t-1}, "
            "bias_ih included, in weight_ih's row order.",
            letters="N H",
            blocks=(1, "rzn"),
        )
        if grads is not None:
            leaves = [
                context.clone().requires_grad_(True),
                W_ih.clone().requires_grad_(True),
                b_ih.clone().requires_grad_(True),
            ]
            upstream = [torch.from_numpy(case["d_gates"])]
            wanted = gradients([_context_projection(leaves[1], leaves[2], leaves[0])], upstream, leaves)
            assert_gradients(
                grads, wanted, ("context", "cell.weight_ih", "cell.bias_ih"), f"context_gates (case '{name}')"
            )


CONTEXT_GATES = Exercise("context_gates", "context_gates", visible_first(_cases), _run, _judge)
