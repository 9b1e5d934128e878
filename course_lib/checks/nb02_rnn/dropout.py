"""Check of ``dropout``: inverted dropout by hand, in training and at evaluation.

    dropout(x, p, training):  training and p > 0:  y = m ⊙ x / (1 - p),  m_i ~ Bernoulli(1 - p) independently
                              otherwise:           y = x                (evaluation: the identity)

so that E[y] = x and evaluation needs no rescaling (Srivastava et al. 2014, "inverted" as PyTorch's
``nn.Dropout``).  The masks are random, so the check judges invariants on a large tensor: every entry is 0 or
x / (1 - p), the share of zeros is p within 6 standard deviations, the input is left alone; evaluation and p = 0
give x itself.  It names the wrong scalings (none, by 1 - p, by 1 / p), dropout left on at evaluation, and p read
as the keep probability.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import (
    as_tensor,
    assert_dtype,
    close,
    first_named_mistake,
    generator,
    show_difference,
    tensor,
    tolerance,
    visible_first,
)

__all__ = ["DROPOUT"]


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
    # the same call with a generator seeded alike: the same mask, if the mask is drawn from the generator passed
    again = fn(x.clone(), case["p"], case["training"], generator=torch.Generator().manual_seed(case["seed"]))
    return out, x, again  # x afterwards: was it changed in place?


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
        out, x_after, again = result_of(results, name, "dropout")
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
        dropped = got == 0
        if got.dim() >= 1 and got.shape[-1] > 1 and dropped.any() and (dropped.all(-1) | ~dropped.any(-1)).all():
            raise CheckFailure(
                f"{where}: every row is dropped or kept as a whole (one draw per row, broadcast along the last "
                f"axis): each entry must be dropped independently of the others, with a mask of x's shape."
            )
        if not torch.equal(got, as_tensor(again, f"dropout's output on '{name}', called again")):
            raise CheckFailure(
                f"{where}: two calls with generators seeded alike gave different masks: the mask is not drawn from "
                f"the generator passed (pass generator= to the function that draws it), so a seeded run cannot be "
                f"repeated."
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
                    "the kept entries are not scaled: with a share p of the units dropped, the expected value "
                    "of an entry is (1 - p) x, not x. What does E[dropout(x)] = x ask of the kept entries, and "
                    "what would evaluation then need?",
                    1.0,
                ),
                (
                    "the kept entries are multiplied by 1 - p: the expected value of an entry is then "
                    "(1 - p)^2 x, not x. Write E[dropout(x)] for a factor s on the kept entries: which s makes it x?",
                    1 - p,
                ),
                (
                    f"the kept entries are divided by p (x times 1 / p = {1 / p:.4g}): the expected value of an "
                    f"entry is then (1 - p) x / p, not x. Which share of the entries survives, and which factor "
                    f"does E[dropout(x)] = x ask for?",
                    1 / p,
                ),
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


DROPOUT = Exercise("dropout", "dropout", visible_first(_drop_cases), _drop_run, _drop_judge)
