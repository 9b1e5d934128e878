"""Exercise 1 of notebook 05: one GRU step, ``gru_cell(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)``.

x: (N, D), h_prev: (N, H), weight_ih: (3H, D), weight_hh: (3H, H), bias_ih and bias_hh: (3H,), gate order
r, z, n; returns h_t: (N, H) by the equations of :mod:`.variants` (those of ``nn.GRUCell``).

The oracle is ``nn.GRUCell`` loaded with the same weights.  A wrong answer is first matched against the
typical wrong formulas of :mod:`.variants` (the mistake is named), then located by the probe cases of :mod:`.probes` (gates saturated through their biases).

Reference: the PyTorch documentation of ``nn.GRUCell``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb05_gru.probes import PROBES, locate, saturate
from course_lib.checks.nb05_gru.variants import PARAM_NAMES, gru_variant, gru_weights, name_mistakes, param_tensors
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    generator,
    randn,
    show_difference,
    tolerance,
    visible_first,
)


def _cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    sizes = [
        ("N=3, D=4, H=5", 3, 4, 5, torch.float64, 0.5, "values"),
        ("float32, N=2, D=3, H=4", 2, 3, 4, torch.float32, 0.5, "dtype"),
    ]
    if hidden:
        sizes += [
            ("N=1, D=1, H=1", 1, 1, 1, torch.float64, 0.5, "values"),
            ("N=7, D=6, H=8", 7, 6, 8, torch.float64, 0.5, "values"),
            ("float32, N=4, D=3, H=6", 4, 3, 6, torch.float32, 0.5, "dtype"),
            ("large weights (saturated gates)", 5, 3, 4, torch.float64, 3.0, "values"),
        ]
    cases = {}
    for name, N, D, H, dtype, scale, kind in sizes:
        cases[name] = {
            "kind": kind,
            "x": randn(g, N, D, dtype=dtype),
            "h_prev": randn(g, N, H, dtype=dtype),
            **gru_weights(g, D, H, scale=scale, dtype=dtype),
        }
    N, D, H = (3, 2, 4) if hidden else (2, 3, 4)
    x, h_prev, weights = randn(g, N, D), randn(g, N, H), gru_weights(g, D, H)
    for name, gates in PROBES.items():  # one step, gates saturated through their biases: where a wrong step goes wrong
        cases[name] = {"kind": "values", "x": x, "h_prev": h_prev, **saturate(weights, gates)}
    return cases


def _cell_run(fn, case):
    x, h_prev = torch.from_numpy(case["x"]), torch.from_numpy(case["h_prev"])
    return fn(x, h_prev, *param_tensors(case))


def _reference_cell(case: dict[str, Any]) -> torch.Tensor:
    x, h_prev = torch.from_numpy(case["x"]), torch.from_numpy(case["h_prev"])
    D, H = x.shape[1], h_prev.shape[1]
    cell = nn.GRUCell(D, H, dtype=x.dtype)
    with torch.no_grad():
        for name, value in zip(PARAM_NAMES, param_tensors(case)):
            getattr(cell, name).copy_(value)
        return cell(x, h_prev)


def _cell_judge(cases, results):
    checked = []
    for name, case in cases.items():
        expected = _reference_cell(case)
        got = as_tensor(
            result_of(results, name, "gru_cell"), f"gru_cell(...) on case '{name}'", tuple(expected.shape), "(N, H)"
        )
        checked.append((name, case, expected, got))
    wrong = [item for item in checked if not close(item[3], item[2], item[2].dtype)]
    if wrong:
        _judge_wrong(checked, wrong[0])
    for name, case, expected, got in checked:
        assert_dtype(got, expected.dtype, f"gru_cell(...) on case '{name}'")


def _judge_wrong(checked, first_wrong) -> None:
    message = name_mistakes(
        [got for _, _, _, got in checked],
        lambda kwargs: [
            gru_variant(torch.from_numpy(c["x"]), torch.from_numpy(c["h_prev"]), *param_tensors(c), **kwargs)
            for _, c, _, _ in checked
        ],
    )
    name, case, expected, got = first_wrong
    if message:
        raise CheckFailure(f"gru_cell on case '{name}': {message}\n  {show_difference(got, expected)}")
    probes = {n: (gt, e, torch.from_numpy(c["h_prev"])) for n, c, e, gt in checked if n in PROBES}
    assert_close(
        got,
        expected,
        f"gru_cell(...) on case '{name}'",
        **tolerance(expected.dtype),
        hint=locate(probes)
        or "Compare each gate with the equations above the exercise (rows r, z, n of the stacked weights).",
    )


GRU_CELL = Exercise("gru_cell", "gru_cell", visible_first(_cell_cases), _cell_run, _cell_judge)
