"""Checks of ``dropout`` (inverted dropout, by hand) and ``stacked_rnn_dropout`` (where it goes in a recurrent model).

    dropout(x, p, training):  training and p > 0:  y = m ⊙ x / (1 - p),  m_i ~ Bernoulli(1 - p) independently
                              otherwise:           y = x                (evaluation: the identity)

so that E[y] = x and evaluation needs no rescaling (Srivastava et al. 2014, "inverted" as PyTorch's
``nn.Dropout``).  The masks are random, so the check judges invariants on a large tensor: every entry is 0 or
x / (1 - p), the share of zeros is p within 6 standard deviations, the input is left alone; evaluation and p = 0
give x itself.  It names the wrong scalings (none, by 1 - p, by 1 / p), dropout left on at evaluation, and p read
as the keep probability.

    stacked_rnn_dropout(x, layers, training, drop):  a stack of tanh RNN layers started from zeros, with
        drop on every non-recurrent connection -- the input of each layer, the last layer's output --
        and never on h_{t-1} -> h_t (Zaremba, Sutskever & Vinyals 2014); no drop at all when not training.

The check's ``drop`` is deterministic: a fixed mask of (row, unit), about 30 % dropped and the rest scaled by
1 / 0.7, so that the same tensor is dropped the same way whether it is passed whole (N, T, H) or one step (N, H)
at a time.  The reference is ``nn.RNN`` (one module per
layer, the weights copied) with that drop around each layer; every typical misplacement is computed by a
hand-written loop and named: the recurrent connection (dropped at the step's input or carried forward dropped, the
same with a fixed mask), a connection left out, dropout left on at evaluation.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb02_rnn.recurrence import rnn_module
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
)

__all__ = ["DROPOUT", "RNN_DROPOUT", "check_dropout", "check_stacked_rnn_dropout"]


# --------------------------------------------------------------------------------------------------
# dropout(x, p, training, generator)


def _drop_case(g: torch.Generator, shape: tuple[int, ...], p: float, training: bool, dtype=torch.float64) -> dict:
    x = 1.0 + torch.rand(*shape, generator=g, dtype=torch.float64)  # in [1, 2): no entry is 0 before dropout
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    return {"x": x.to(dtype).numpy(), "p": p, "training": training, "seed": seed}


def _drop_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {
        "training, p = 0.3, x (40, 50)": _drop_case(g, (40, 50), 0.3, True),
        "evaluation, p = 0.3": _drop_case(g, (40, 50), 0.3, False),
        "training, p = 0": _drop_case(g, (8, 9), 0.0, True),
        "float32, training, p = 0.5": {**_drop_case(g, (30, 40), 0.5, True, torch.float32), "kind": "dtype"},
    }
    if hidden:
        cases["training, p = 0.1, x (10, 20, 12)"] = _drop_case(g, (10, 20, 12), 0.1, True)
        cases["training, p = 0.8, x (60, 40)"] = _drop_case(g, (60, 40), 0.8, True)
        cases["evaluation, p = 0.8"] = _drop_case(g, (20, 30), 0.8, False)
        cases["float32, evaluation, p = 0.5"] = {**_drop_case(g, (6, 7), 0.5, False, torch.float32), "kind": "dtype"}
    return cases


def _drop_run(fn, case):
    x = tensor(case["x"])
    out = fn(x, case["p"], case["training"], generator=torch.Generator().manual_seed(case["seed"]))
    return out, x  # x afterwards: was it changed in place?


def _scaled_by(got: torch.Tensor, x: torch.Tensor) -> float | None:
    """The one factor s with got = s x on every kept (non-zero) entry, or None."""
    kept = got != 0
    if not bool(kept.any()):
        return None
    ratios = got[kept].double() / x[kept].double()
    s = float(ratios.median())
    return s if close(ratios, torch.full_like(ratios, s), rtol=1e-5, atol=1e-7) else None


def _drop_judge(cases, results):
    for name, case in cases.items():
        x, p, training = tensor(case["x"]), case["p"], case["training"]
        out, x_after = result_of(results, name, "dropout")
        got = as_tensor(out, f"dropout's output on '{name}'")
        where = f"case '{name}'"
        if tuple(got.shape) != tuple(x.shape):
            raise CheckFailure(f"{where}: the output has shape {tuple(got.shape)}, the input {tuple(x.shape)}.")
        assert_dtype(got, x.dtype, f"dropout's output on '{name}'")
        if not torch.equal(as_tensor(x_after, "x"), x):
            raise CheckFailure(
                f"{where}: the input x was changed in place. Return a new tensor: the caller (a layer's output, "
                f"which autograd still needs) keeps its values."
            )
        zeros = float((got == 0).double().mean())
        scale = _scaled_by(got, x)
        if not training or p == 0:
            if close(got, x, **tolerance(x.dtype)):
                continue
            if not training and zeros > 0:
                raise CheckFailure(
                    f"{where}: dropout is left on at evaluation ({zeros:.0%} of the entries are zero with "
                    f"training=False). At evaluation (model.eval()) dropout is the identity: every unit is there."
                )
            if scale is not None and math.isclose(scale, 1 - p, rel_tol=1e-4):
                raise CheckFailure(
                    f"{where}: with training=False you multiplied by 1 - p = {1 - p:g}. That is the rule of the "
                    f"original dropout, which scales at test time; inverted dropout scales the kept units while "
                    f"training, so that evaluation is the identity."
                )
            raise CheckFailure(f"{where}: expected x itself. {show_difference(got, x, x.dtype)}")
        n = got.numel()
        if zeros == 0 and scale is not None:
            raise CheckFailure(
                f"{where}: no entry was dropped (every entry is x times {scale:.4g}). While training, set each entry "
                f"to zero with probability p = {p:g}, independently."
            )
        sigma = math.sqrt(p * (1 - p) / n)
        if abs(zeros - p) > 6 * sigma + 1 / n:
            swapped = abs(zeros - (1 - p)) <= 6 * sigma + 1 / n
            raise CheckFailure(
                f"{where}: {zeros:.1%} of the {n} entries are zero, but p = {p:g} should drop about {p:.0%} "
                f"(within {6 * sigma:.1%})."
                + (" p is the probability of dropping a unit, not of keeping it." if swapped else "")
            )
        if scale is None:
            raise CheckFailure(
                f"{where}: the kept entries are not x times one common factor. Each entry is either 0 or x scaled "
                f"by one factor that keeps the expected value of the entry equal to x."
            )
        named = first_named_mistake(
            scale,
            1 / (1 - p),
            [
                (
                    "the kept entries are not scaled. Dropping a share p of the units lowers the expected value "
                    "of each entry to (1 - p) x: scale the kept ones so that it stays x (then evaluation needs "
                    "no change).",
                    1.0,
                ),
                (
                    "the kept entries are multiplied by 1 - p, which makes the expected value (1 - p)^2 x: "
                    "they must be scaled *up*, so that the expected value stays x.",
                    1 - p,
                ),
                ("the kept entries are divided by p; the kept share is 1 - p, not p.", 1 / p),
            ],
            same=lambda a, b: math.isclose(a, b, rel_tol=1e-4),
        )
        if named:
            raise CheckFailure(f"{where}: {named}")
        if not math.isclose(scale, 1 / (1 - p), rel_tol=1e-4):
            raise CheckFailure(
                f"{where}: the kept entries are x times {scale:.6g}; that factor does not keep the expected value "
                f"of an entry equal to x when a share p = {p:g} is dropped."
            )


DROPOUT = Exercise("dropout", "dropout", _drop_cases, _drop_run, _drop_judge)

check_dropout = DROPOUT.check


# --------------------------------------------------------------------------------------------------
# stacked_rnn_dropout(x, layers, training, drop)


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
    for W_xh, W_hh, b_h in layers:
        out = drop(rnn_module(W_xh, W_hh, b_h)(out)[0].detach())  # (N, T, H)
    return out


def _by_hand(x, layers, *, inputs=True, between=True, output=True, recurrent=False, carried=False) -> torch.Tensor:
    """A stack with the drop placed by flags: what each typical misplacement computes."""
    out = _fixed_drop(x) if inputs else x
    for index, (W_xh, W_hh, b_h) in enumerate(layers):
        h, states = x.new_zeros(x.shape[0], W_hh.shape[0]), []
        for x_t in out.unbind(1):
            h = torch.tanh(x_t @ W_xh.T + (_fixed_drop(h) if recurrent else h) @ W_hh.T + b_h)  # (N, H)
            h = _fixed_drop(h) if carried else h
            states.append(h)
        out = torch.stack(states, dim=1)  # (N, T, H)
        last = index == len(layers) - 1
        if not carried and ((between and not last) or (output and last)):
            out = _fixed_drop(out)
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
        (
            "the last layer's output is not dropped: the read-out's input is a non-recurrent connection too.",
            lambda: _by_hand(x, layers, output=False),
        ),
        (
            "the input x of the first layer (the embedded characters) is not dropped: it is a non-recurrent "
            "connection too.",
            lambda: _by_hand(x, layers, inputs=False),
        ),
        (
            "the connections between stacked layers are not dropped: each layer's output feeds the next one "
            "through a non-recurrent connection.",
            (lambda: _by_hand(x, layers, between=False)) if len(layers) > 1 else None,
        ),
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


RNN_DROPOUT = Exercise("stacked_rnn_dropout", "stacked_rnn_dropout", _stack_cases, _stack_run, _stack_judge)

check_stacked_rnn_dropout = RNN_DROPOUT.check
