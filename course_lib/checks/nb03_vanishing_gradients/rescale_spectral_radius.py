"""Check of ``rescale_spectral_radius`` (notebook 03): ``W`` rescaled so that its spectral radius, the largest
``|λ|`` over its eigenvalues, is ``rho``: ``W * (rho / max|eigvals(W)|)``.

The reference is ``torch.linalg.eigvals``.  A wrong answer is compared with ``W`` rescaled by each typical wrong
"radius" (:func:`_radius_mistakes`: the spectral norm, ``eigvalsh``, the real part, the Frobenius norm, the
ratio upside down), so the message can name the mistake.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import (
    as_tensor,
    close_to_scale,
    first_named_mistake,
    generator,
    show_difference,
    visible_first,
)


def _radius_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    randn = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    cases = {
        "random 4x4, rho=0.9": {"W": randn(4, 4).numpy(), "rho": 0.9},
        "random 6x6, rho=1.5": {"W": (randn(6, 6) / 3).numpy(), "rho": 1.5},
        # complex eigenvalues (0.1 ± 2i) and a negative one: the modulus, not the real part, makes the radius
        "rotation-like 2x2 (eigenvalues 0.1 ± 2i), rho=0.8": {"W": np.array([[0.1, -2.0], [2.0, 0.1]]), "rho": 0.8},
        "1x1 [[-2]], rho=0.6": {"kind": "edge", "W": np.array([[-2.0]]), "rho": 0.6},
        "float32 3x3, rho=0.7": {"kind": "dtype", "W": randn(3, 3).float().numpy(), "rho": 0.7},
    }
    if hidden:
        S = randn(5, 5)
        upper = torch.triu(randn(5, 5), 1) * 4 + torch.diag(torch.linspace(-0.9, 0.6, 5, dtype=torch.float64))
        bound = 1 / math.sqrt(32)  # nn.RNN's default init: U(-1/sqrt(H), 1/sqrt(H))
        cases.update(
            {
                "random 10x10, rho=1.0": {"W": randn(10, 10).numpy(), "rho": 1.0},
                "float32 8x8, rho=0.5": {"kind": "dtype", "W": randn(8, 8).float().numpy(), "rho": 0.5},
                "symmetric 5x5, rho=2.0": {"W": (S + S.T).numpy(), "rho": 2.0},
                "non-normal (triangular) 5x5, rho=1.0": {"W": upper.numpy(), "rho": 1.0},
                "rotation-like 2x2 (eigenvalues ±2i), rho=0.5": {"W": np.array([[0.1, -2.0], [2.0, 0.1]]), "rho": 0.5},
                "1x1 [[-3]], rho=0.7": {"kind": "edge", "W": np.array([[-3.0]]), "rho": 0.7},
                "nn.RNN default init 32x32, rho=1.0": {
                    "W": ((torch.rand(32, 32, generator=g, dtype=torch.float64) * 2 - 1) * bound).numpy(),
                    "rho": 1.0,
                },
            }
        )
    return cases


def _radius_run(fn, case):
    W = torch.from_numpy(case["W"])
    out = fn(W, case["rho"])
    is_complex = isinstance(out, torch.Tensor) and out.is_complex()
    return {"out": out.real if is_complex else out, "complex": is_complex, "W_after": W, "same_object": out is W}


def _radius_mistakes(W: torch.Tensor, rho: float) -> list[tuple[torch.Tensor, str]]:
    eig = torch.linalg.eigvals(W)
    sym = torch.linalg.eigvalsh(W)  # reads the lower triangle only, as if W were symmetric
    candidates = [
        (
            torch.linalg.matrix_norm(W, ord=2),
            "used the largest singular value (the spectral norm, matrix_norm(W, 2) or "
            "svdvals) instead of the largest |eigenvalue|; they differ unless W is "
            "symmetric (normal).",
        ),
        (
            sym.abs().max(),
            "torch.linalg.eigvalsh assumes a symmetric matrix, so it is wrong for non-symmetric W; use "
            "torch.linalg.eigvals, which returns complex eigenvalues, and their modulus.",
        ),
        (
            eig.real.abs().max(),
            "took the real part of the eigenvalues, not the largest |eigenvalue|: the spectral "
            "radius is the largest modulus |λ| = eigvals(W).abs().max(), and the eigenvalues of a "
            "non-symmetric W can be complex.",
        ),
        (
            eig.real.max(),
            "took the largest (real part of the) eigenvalue, not the largest |eigenvalue|: negative and "
            "complex eigenvalues count by their modulus.",
        ),
        (
            torch.linalg.matrix_norm(W),
            "divided by the Frobenius norm; the spectral radius is the largest |eigenvalue|.",
        ),
    ]
    out = [(W * (rho / float(r)), msg) for r, msg in candidates if float(r) != 0]
    radius = float(eig.abs().max())
    out.append((W * (radius / rho), "the ratio is upside down: multiply W by rho / (its spectral radius)."))
    return out


def _radius_judge(cases, results):
    for name, case in cases.items():
        res = result_of(results, name, "rescale_spectral_radius")
        W, rho = torch.from_numpy(case["W"]), case["rho"]
        if (
            not isinstance(res["W_after"], np.ndarray)
            or not np.array_equal(res["W_after"], case["W"])
            or res["same_object"]
        ):
            raise CheckFailure(
                f"case '{name}': rescale_spectral_radius modified its input W in place (e.g. W *= ... "
                f"or W.mul_(...)); return a new matrix, W * factor, and leave W as it was."
            )
        if res["complex"]:
            raise CheckFailure(
                f"case '{name}': the result is a complex tensor. torch.linalg.eigvals returns complex "
                f"numbers: take their modulus with .abs() before .max(), so the factor is real."
            )
        got = as_tensor(res["out"], f"rescale_spectral_radius on case '{name}'", tuple(W.shape), "like W")
        if got.dtype != W.dtype:
            raise CheckFailure(
                f"case '{name}': W is {W.dtype} but the result is {got.dtype}; keep W's dtype "
                f"(convert the factor with float(...))."
            )
        radius = float(torch.linalg.eigvals(W.double()).abs().max())
        expected = W.double() * (rho / radius)
        rtol = 1e-9 if W.dtype == torch.float64 else 1e-5
        if close_to_scale(got, expected, rtol):
            continue
        message = first_named_mistake(
            got,
            expected,
            [(m, w) for w, m in _radius_mistakes(W.double(), rho)],
            same=lambda a, b: close_to_scale(a, b, rtol),
        )
        if message:
            raise CheckFailure(f"case '{name}': {message}\n  {show_difference(got, expected)}")
        got_radius = (
            float(torch.linalg.eigvals(got.double()).abs().max()) if torch.isfinite(got).all() else float("nan")
        )
        factor = float((got.double() * W.double()).sum() / (W.double() ** 2).sum())
        if not close_to_scale(got.double(), factor * W.double(), 1e-6) or factor <= 0:
            raise CheckFailure(
                f"case '{name}': the result is not W times a positive number; keep the direction of W "
                f"and change only its scale (spectral radius of your result {got_radius:.6g}, wanted {rho})."
            )
        want = rho / radius
        cause, relative = "", abs(factor - want) / want
        if relative < 1e-4:  # close: say by how much, and the likely cause
            cause = f" They differ by {abs(factor - want):.2g} (relative {relative:.1e}; tolerance rtol={rtol:g}). " + (
                "That is float32 precision: part of the computation ran in float32 (a .float(), or torch.tensor(...) "
                "without dtype=); compute the radius from W in W's dtype."
                if W.dtype == torch.float64 and relative < 1e-5
                else "Check the order of operations and the dtype of each step."
            )
        raise CheckFailure(
            f"case '{name}': the spectral radius of your result is {got_radius:.6g}, expected {rho} "
            f"(W's own is {radius:.6g}, so the factor is rho / {radius:.6g} = {want:.6g}; "
            f"yours is {factor:.6g}).{cause}"
        )


RESCALE_SPECTRAL_RADIUS = Exercise(
    "rescale_spectral_radius", "rescale_spectral_radius", visible_first(_radius_cases), _radius_run, _radius_judge
)
