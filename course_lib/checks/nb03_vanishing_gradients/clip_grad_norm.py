"""Check of ``clip_grad_norm`` (notebook 03): gradient-norm clipping (Pascanu et al. 2013), as
``torch.nn.utils.clip_grad_norm_`` does it.

One total norm over all gradients, ``total = sqrt(sum over parameters of ||g||²)``; when ``total > max_norm``
every gradient is scaled in place by the same factor ``max_norm / total``; parameters without gradient
(``p.grad is None``) are skipped, and the total norm before clipping is returned.  The reference is
``torch.nn.utils.clip_grad_norm_`` on a copy of the same parameters; a wrong answer is compared with the typical
wrong ones (per-parameter clipping, a missing square root, clipping under the norm, ...) to name the mistake.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, LearnerError, result_of
from course_lib.checks.toolkit import assert_close, close_to_scale, generator, visible_first


def _params_case(
    g: torch.Generator,
    shapes,
    grad_scale: float,
    max_norm: float,
    none_at=(),
    zero_at=(),
    generator: bool = False,
    dtype=torch.float64,
) -> dict[str, Any]:
    values = [torch.randn(*s, generator=g, dtype=dtype).numpy() for s in shapes]
    grads = []
    for i, s in enumerate(shapes):
        grad = grad_scale * torch.randn(*s, generator=g, dtype=dtype)
        grads.append(None if i in none_at else (grad * 0 if i in zero_at or grad_scale == 0 else grad).numpy())
    return {"values": values, "grads": grads, "max_norm": max_norm, "generator": generator}


def _clip_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {
        "total norm above max_norm (clip), parameters as a generator": _params_case(
            g, [(4, 3), (4,), (2, 4)], 2.0, 1.0, generator=True
        ),
        "total norm below max_norm (leave alone)": _params_case(g, [(3, 3), (3,)], 0.1, 5.0),
        "a parameter without gradient (grad None)": _params_case(g, [(2, 3), (5,), (3,)], 1.0, 0.5, none_at=(1,)),
        "all gradients zero (total norm 0)": {**_params_case(g, [(2, 2), (3,)], 0.0, 1.0), "kind": "edge"},
    }
    if hidden:
        cases.update(
            {
                "many parameters, max_norm=0.25": _params_case(
                    g, [(6, 5), (6,), (6, 6), (6,), (1, 6), (1,)], 1.5, 0.25, generator=True
                ),
                "all gradients zero": {**_params_case(g, [(3, 2), (2,)], 0.0, 1.0), "kind": "edge"},
                "one zero gradient among others": _params_case(g, [(4,), (2, 2)], 3.0, 1.0, zero_at=(0,)),
                "float32, huge gradients": _params_case(g, [(8, 8), (8,)], 1e4, 5.0, dtype=torch.float32),
                "below max_norm with a None gradient": _params_case(g, [(3,), (3, 3)], 0.05, 10.0, none_at=(0,)),
            }
        )
    return cases


def _build_params(case: dict[str, Any]) -> list[nn.Parameter]:
    params = []
    for value, grad in zip(case["values"], case["grads"]):
        p = nn.Parameter(torch.from_numpy(np.array(value)))  # np.array copies: the case itself never changes
        if grad is not None:
            p.grad = torch.from_numpy(np.array(grad))
        params.append(p)
    return params


def _clip_run(fn, case):
    params = _build_params(case)
    total = fn((p for p in params) if case["generator"] else list(params), case["max_norm"])
    return {
        "total": total.detach() if isinstance(total, torch.Tensor) else total,
        "grads": [None if p.grad is None else p.grad.detach() for p in params],
        "values": [p.detach() for p in params],
    }


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        return float(value.reshape(()))
    return None


def _clip_judge(cases, results):
    for name, case in cases.items():
        value = results.get(name)
        if isinstance(value, LearnerError) and "NoneType" in value.message:
            raise CheckFailure(
                f"case '{name}': clip_grad_norm raised {value.type}: {value.message}. A parameter "
                f"without gradient (p.grad is None, e.g. unused or frozen) must be skipped, as "
                f"clip_grad_norm_ does."
            )
        if isinstance(value, LearnerError) and value.type == "ZeroDivisionError":
            raise CheckFailure(
                f"case '{name}': division by zero. When the total norm is 0 (or below max_norm) there "
                f"is nothing to clip: scale only if total_norm > max_norm."
            )
        res = result_of(results, name, "clip_grad_norm")
        max_norm = case["max_norm"]
        params = _build_params(case)
        originals = [None if p.grad is None else p.grad.clone() for p in params]
        total_ref = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        clipped = total_ref > max_norm
        where = f"case '{name}' (total norm {total_ref:.4g}, max_norm {max_norm})"
        tol = 1e-9 if params[0].dtype == torch.float64 else 1e-5  # for the total norm
        gtol = 1e-5 if params[0].dtype == torch.float64 else 1e-4  # clip_grad_norm_ divides by total + 1e-6

        for i, (got, value0) in enumerate(zip(res["values"], case["values"])):
            if not np.array_equal(got, value0):
                raise CheckFailure(
                    f"{where}: parameter {i} itself changed. Only the gradients p.grad are scaled in "
                    f"place; the parameters (p.data) must stay as they are."
                )
        for i, (got, ref) in enumerate(zip(res["grads"], originals)):
            if ref is None and got is not None:
                raise CheckFailure(
                    f"{where}: parameter {i} had no gradient (grad None) and now has one; leave it None."
                )
            if ref is not None and got is None:
                raise CheckFailure(f"{where}: the gradient of parameter {i} became None; scale it in place instead.")

        total = _as_number(res["total"])
        if total is None:
            raise CheckFailure(
                f"{where}: clip_grad_norm should return the total norm (a float or a 0-d tensor) as "
                f"clip_grad_norm_ does, but it returned {describe(res['total'])}."
            )
        squares = sum(float((g.double() ** 2).sum()) for g in originals if g is not None)
        if not math.isclose(total, total_ref, rel_tol=tol, abs_tol=1e-12):
            if total_ref > 0 and math.isclose(total, squares, rel_tol=tol) and not math.isclose(squares, total_ref):
                raise CheckFailure(
                    f"{where}: returned {total:.6g}, the sum of squares: forgot the square root "
                    f"(total norm = sqrt(sum over parameters of ||g||²))."
                )
            if clipped and math.isclose(total, max_norm, rel_tol=1e-5):
                raise CheckFailure(
                    f"{where}: returned the norm after clipping ({total:.6g}); return the total norm "
                    f"before clipping, {total_ref:.6g}, as clip_grad_norm_ does (it tells you how "
                    f"large the gradient really was)."
                )
            per_param = sum(float(g.double().norm()) for g in originals if g is not None)
            if math.isclose(total, per_param, rel_tol=tol):
                raise CheckFailure(
                    f"{where}: returned {total:.6g}, the sum of the parameters' norms; the total norm "
                    f"is the norm of all gradients together: sqrt(sum of ||g||²) = {total_ref:.6g}."
                )
            raise CheckFailure(f"{where}: returned total norm {total:.6g}, expected {total_ref:.6g}.")

        got_grads = [None if g is None else torch.from_numpy(g) for g in res["grads"]]
        expected = [g for g in (p.grad for p in params) if g is not None]
        got_list = [g for g in got_grads if g is not None]
        if all(close_to_scale(g, e, gtol) for g, e in zip(got_list, expected)):
            continue
        if any(not torch.isfinite(g).all() for g in got_list):
            raise CheckFailure(
                f"{where}: the gradients contain NaN or inf. Division by zero? When the total norm is 0 "
                f"nothing is clipped: scale only if total_norm > max_norm."
            )
        orig = [g for g in originals if g is not None]
        same = lambda cands: all(close_to_scale(g, c, gtol) for g, c in zip(got_list, cands))  # noqa: E731
        per_param = [g * min(1.0, max_norm / float(g.norm())) if float(g.norm()) > 0 else g for g in orig]
        if same(per_param):
            raise CheckFailure(
                f"{where}: clipped each parameter separately to max_norm; clip globally: one total norm "
                f"over all gradients together, and one factor max_norm / total_norm for all of them."
            )
        if squares > 0 and same([g * (max_norm / squares) for g in orig]):
            raise CheckFailure(
                f"{where}: the gradients were scaled by max_norm / (sum of squares): forgot the square "
                f"root when computing the total norm."
            )
        if not clipped and total_ref > 0 and same([g * (max_norm / total_ref) for g in orig]):
            raise CheckFailure(
                f"{where}: clipping when under the norm: the total norm was already below max_norm, so "
                f"the gradients must stay as they are (you scaled them up to max_norm)."
            )
        if clipped and same(orig):
            hint = (
                " parameters may be a generator (model.parameters()), which is empty the second time you loop "
                "over it: the loop that scales the gradients saw no parameters."
                if case["generator"]
                else ""
            )
            raise CheckFailure(
                f"{where}: the gradients were not scaled although the total norm is above max_norm.{hint}"
            )
        for i, (g, e) in enumerate(zip(got_list, expected)):
            assert_close(
                g,
                e,
                f"the gradient of parameter {i} on {where}",
                rtol=gtol,
                atol=1e-12,
                hint="Hint: every gradient is multiplied by the same factor max_norm / total_norm "
                "(only when total_norm > max_norm).",
            )


CLIP_GRAD_NORM = Exercise("clip_grad_norm", "clip_grad_norm", visible_first(_clip_cases), _clip_run, _clip_judge)
