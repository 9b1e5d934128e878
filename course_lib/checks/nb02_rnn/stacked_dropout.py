"""Check of ``stacked_rnn_dropout``: where dropout goes in a recurrent model, and when.

    stacked_rnn_dropout(x, layers, training, drop):  a stack of tanh RNN layers started from zeros, with
        drop on every non-recurrent connection -- the input of each layer, the last layer's output --
        and never on h_{t-1} -> h_t (Zaremba, Sutskever & Vinyals 2014); no drop at all when not training.

The check's ``drop`` is deterministic: a fixed mask of (row, unit), about 30 % dropped and the rest scaled by
1 / 0.7, so that the same tensor is dropped the same way whether it is passed whole (N, T, H) or one step (N, H)
at a time.  The reference is ``nn.RNN`` (one module per layer, the weights copied) with that drop around each
layer; every typical misplacement is computed by stepping ``nn.RNNCell`` with the drop misplaced, and named: the recurrent connection (dropped at the step's input or carried forward dropped, the
same with a fixed mask), a connection left out, dropout left on at evaluation.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb02_rnn.recurrence import cell_module, rnn_module
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    first_named_mistake,
    generator,
    show_difference,
    tensor,
    tolerance,
    visible_first,
)

__all__ = ["RNN_DROPOUT", "check_stacked_rnn_dropout"]


def _fixed_drop(t: torch.Tensor) -> torch.Tensor:
    """The check's drop: a fixed mask of (row n, unit j), about 30 % dropped, the kept scaled by 1 / 0.7.

    It depends on positions, not values, so a tensor is dropped alike whole (N, T, H) or one step (N, H) at a time,
    in float32 as in float64.
    """
    n = torch.arange(t.shape[0]).reshape(-1, *([1] * (t.dim() - 1)))  # (N, 1, ..., 1)
    j = torch.arange(t.shape[-1])  # (H,)
    dropped = (7 * n + 3 * j + 1) % 10 < 3  # (N, 1, ..., H)
    return torch.where(dropped, torch.zeros_like(t), t / 0.7)


def _stack_case(g: torch.Generator, N: int, T: int, D: int, H: int, L: int, training: bool, dtype=torch.float64):
    x = torch.randn(N, T, D, generator=g, dtype=torch.float64)
    layers = []
    for layer in range(L):
        fan_in = D if layer == 0 else H
        layers.append(
            [
                (0.8 * torch.randn(H, fan_in, generator=g, dtype=torch.float64)).to(dtype).numpy(),
                (0.8 * torch.randn(H, H, generator=g, dtype=torch.float64)).to(dtype).numpy(),
                (0.3 * torch.randn(H, generator=g, dtype=torch.float64)).to(dtype).numpy(),
            ]
        )
    return {"x": x.to(dtype).numpy(), "layers": layers, "training": training}


def _stack_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {
        "training, 2 layers, N=2, T=5, D=3, H=4": _stack_case(g, 2, 5, 3, 4, 2, True),
        "evaluation, 2 layers, N=2, T=5, D=3, H=4": _stack_case(g, 2, 5, 3, 4, 2, False),
        "training, 1 layer, N=3, T=4, D=2, H=3": _stack_case(g, 3, 4, 2, 3, 1, True),
        "float32, training, 2 layers": {**_stack_case(g, 2, 4, 3, 4, 2, True, torch.float32), "kind": "dtype"},
    }
    if hidden:
        cases["training, 3 layers, N=4, T=7, D=5, H=6"] = _stack_case(g, 4, 7, 5, 6, 3, True)
        cases["evaluation, 3 layers, N=1, T=3, D=2, H=5"] = _stack_case(g, 1, 3, 2, 5, 3, False)
        cases["float32, training, 3 layers"] = {**_stack_case(g, 3, 6, 2, 4, 3, True, torch.float32), "kind": "dtype"}
    return cases


def _stack_run(fn, case):
    layers = [tuple(tensor(w) for w in layer) for layer in case["layers"]]
    return fn(tensor(case["x"]), layers, case["training"], _fixed_drop)


def _by_torch(x: torch.Tensor, layers, training: bool) -> torch.Tensor:
    """The reference: nn.RNN layer after layer, with the drop on each layer's input and on the last output."""
    drop = _fixed_drop if training else (lambda t: t)
    out = drop(x)
    for layer in layers:  # (W_xh, W_hh, b_h)
        out = drop(rnn_module(*layer)(out)[0].detach())  # (N, T, H)
    return out


def _by_hand(x, layers, *, inputs=True, between=True, output=True, recurrent=False, carried=False) -> torch.Tensor:
    """A stack with the drop placed by flags: what each typical misplacement computes."""
    out = _fixed_drop(x) if inputs else x
    for index, layer in enumerate(layers):
        cell, h, states = cell_module(*layer), None, []
        for x_t in out.unbind(1):
            h = cell(x_t, None if h is None else _fixed_drop(h) if recurrent else h).detach()  # (N, H)
            h = _fixed_drop(h) if carried else h
            states.append(h)
        out = torch.stack(states, dim=1)  # (N, T, H)
        last = index == len(layers) - 1
        if not carried and ((between and not last) or (output and last)):
            out = _fixed_drop(out)
    return out


_CONNECTIONS = {  # flag of _by_hand: the non-recurrent connection it drops, in the notebook's words
    "inputs": "the input x of the first layer",
    "between": "the connections between stacked layers",
    "output": "the last layer's output",
}


def _left_out(x, layers) -> list[tuple[str, Any]]:
    """(message, what it returns) for every set of non-recurrent connections left undropped, one first.

    A learner who drops one connection only (the layers' inputs, say) leaves two out at once; each set is named
    by its connections, never as "no dropout at all" or as a generic difference."""
    flags = [f for f in _CONNECTIONS if f != "between" or len(layers) > 1]
    out = []
    for size in range(1, len(flags)):
        for left in itertools.combinations(flags, size):
            names = [_CONNECTIONS[f] for f in left]
            where = names[0] if size == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            verb = "is" if left in (("inputs",), ("output",)) else "are"
            out.append(
                (
                    f"{where} {verb} not dropped: each arrow that goes up or out is a non-recurrent connection, "
                    f"where dropout belongs.",
                    functools.partial(_by_hand, x, layers, **{f: False for f in left}),
                )
            )
    return out


def _misplacements(x, layers, training: bool) -> list[tuple[str, Any]]:
    """(message, what the mistake returns) for each typical misplacement, for first_named_mistake."""
    recurrent = (
        "dropout reaches the recurrent connection h_{t-1} -> h_t: step t is fed a dropped h_{t-1} (dropped there, or "
        "a dropped h_t carried forward instead of the one the cell computed). A fresh mask at every step erases part "
        "of the memory at each of the T steps. Keep the undropped state for the recurrence; drop only what goes up "
        "(into a layer) and out (to the read-out)."
    )
    if not training:
        left_on = "dropout is left on at evaluation (training=False): evaluation (model.eval()) uses every unit."
        return [
            (left_on, lambda: _by_hand(x, layers)),
            (
                left_on + " It is also on the recurrent connection, where it never belongs.",
                lambda: _by_hand(x, layers, recurrent=True),
            ),
        ]
    return [
        (recurrent, lambda: _by_hand(x, layers, recurrent=True)),
        (
            "only the recurrent connection is dropped: move the dropout to the non-recurrent connections.",
            lambda: _by_hand(x, layers, inputs=False, between=False, output=False, recurrent=True),
        ),
        *_left_out(x, layers),
        (
            "no dropout at all while training (training=True): call drop on the non-recurrent connections.",
            lambda: _by_torch(x, layers, False),
        ),
    ]


def _stack_judge(cases, results):
    for name, case in cases.items():
        x = tensor(case["x"])
        layers = [tuple(tensor(w) for w in layer) for layer in case["layers"]]
        expected = _by_torch(x, layers, case["training"])
        got = as_tensor(result_of(results, name, "stacked_rnn_dropout"), f"the output on '{name}'")
        if tuple(got.shape) == tuple(expected.shape) and got.dtype.is_floating_point:
            named = _misplacements(x, layers, case["training"])
            message = first_named_mistake(got, expected, named, same=lambda a, b: close(a, b, **tolerance(x.dtype)))
            if message:
                raise CheckFailure(f"case '{name}': {message}\n  {show_difference(got, expected, x.dtype)}")
        assert_dtype(got, expected.dtype, f"the output on '{name}'")
        assert_close(
            got,
            expected,
            f"the output on '{name}' (compared with nn.RNN layer by layer, the check's drop around each layer)",
            **tolerance(expected.dtype),
            hint="Each layer starts from h_0 = 0; drop every non-recurrent connection, never h_{t-1} -> h_t; "
            "no drop when training is False.",
        )


RNN_DROPOUT = Exercise(
    "stacked_rnn_dropout", "stacked_rnn_dropout", visible_first(_stack_cases), _stack_run, _stack_judge
)

check_stacked_rnn_dropout = RNN_DROPOUT.check
