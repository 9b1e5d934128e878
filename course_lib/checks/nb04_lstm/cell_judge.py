"""The judge both cells share (exercise 1, ``lstm_cell``, and 2a, ``fused_lstm_cell``).

In order: the reference (:mod:`.references`); then a single typical mistake (:mod:`.mistakes`) that explains
every case; then the probes (:mod:`.gates`), whose pattern of failures points at one gate; then, when nothing
is recognised, the plain difference on the first failing case.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, result_of
from course_lib.checks.nb04_lstm.gates import GATE_ORDER, PROBES, ROLE, SEED_PARAMS, probe_name
from course_lib.checks.nb04_lstm.mistakes import SINGLE_MISTAKES, role_permutations, swapped_terms, variant_step
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    close,
    first_named_mistake,
    show_difference,
    tensor,
    tolerance,
)


def _cell_outputs(value: Any, what: str, N: int, H: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = (
            f"a tensor of shape {value.shape}"
            if isinstance(value, np.ndarray)
            else f"a {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        )
        raise CheckFailure(f"{what} should return a pair (h_t, c_t), got {got}")
    h = as_tensor(value[0], f"h_t returned by {what}", (N, H), "(N, H)")
    c = as_tensor(value[1], f"c_t returned by {what}", (N, H), "(N, H)")
    return h, c


def judge_cell(
    cases,
    results,
    function: str,
    blocks_of: Callable,
    reference: Callable,
    swap_message: Callable,
    term_swaps: bool,
    layouts: dict[str, Callable] | None = None,
) -> None:
    """Shared judge of the two cells: reference, then named mistakes, then the probes, then a plain diff.

    ``layouts``: message -> ``blocks(case)``, the gates split from the stacked pre-activations in a wrong layout
    (the fused cell's ``view(N, H, 4)``), tried before the other mistakes."""
    __tracebackhide__ = True
    got, expected = {}, {}
    for name, case in cases.items():
        N, H = case["h_prev"].shape
        got[name] = _cell_outputs(result_of(results, name, function), f"{function} on case '{name}'", N, H)
        expected[name] = reference(case)
    dtype = {name: tensor(case["x_t"]).dtype for name, case in cases.items()}

    def same(a: dict, b: dict) -> bool:  # {case: (h, c)}: every case explained
        return all(close(a[n][j], b[n][j], dtype[n]) for n in cases for j in (0, 1))

    # 1. a single typical mistake that explains every case (each computed only when the ones before fail)
    prev = {n: (tensor(c["h_prev"]).double(), tensor(c["c_prev"]).double()) for n, c in cases.items()}

    def outputs(blocks: dict, **kwargs) -> dict:
        return {n: variant_step(blocks[n], *prev[n], **kwargs) for n in cases}

    def mistakes():
        for message, wrong_blocks in (layouts or {}).items():
            yield message, outputs({n: wrong_blocks(c) for n, c in cases.items()})
        blocks = {n: blocks_of(c) for n, c in cases.items()}
        for message, kwargs in SINGLE_MISTAKES:
            yield f"{message}.", outputs(blocks, **kwargs)
        for roles in role_permutations():
            yield swap_message(roles), outputs(blocks, roles=roles)
        if term_swaps:
            for gate, term, other in swapped_terms():
                right, used = SEED_PARAMS[gate][term], SEED_PARAMS[other][term]
                swapped = {n: blocks_of(c, (gate, term, other)) for n, c in cases.items()}
                yield f"{ROLE[gate]} uses {used} where {right} belongs.", outputs(swapped)
            for gate in GATE_ORDER:
                stripped = {n: blocks_of(c, (gate, -1, None)) for n, c in cases.items()}
                yield f"the bias {SEED_PARAMS[gate][2]} is missing from {ROLE[gate]}.", outputs(stripped)

    message = first_named_mistake(got, expected, mistakes(), same=same)
    if message:
        raise CheckFailure(f"{function}: {message}")
    if same(got, expected):
        return
    # 2. the probes: with the other gates switched off, the pattern of failing probes points at a gate
    probes = [k for k in GATE_ORDER if probe_name(k) in cases]
    c_fail = [k for k in probes if not close(got[probe_name(k)][1], expected[probe_name(k)][1], torch.float64)]
    h_fail = [k for k in probes if not close(got[probe_name(k)][0], expected[probe_name(k)][0], torch.float64)]
    if c_fail or h_fail:
        if c_fail == ["g"] or (set(c_fail) == {"i", "g", "o"} and "f" in probes):
            # the candidate is the only gate that does not matter when the input gate is shut (probe of f)
            gate, j, why = "g", 1, ""
        elif len(c_fail) == 1:
            gate, j, why = c_fail[0], 1, ""
        elif c_fail:
            gate, j = c_fail[0], 1
            why = (
                f" The probes of {', '.join(ROLE[m][4:] for m in c_fail)} all fail, so more than one gate may be "
                f"wrong; this is the first."
            )
        elif h_fail == ["o"]:
            gate, j, why = "o", 0, ""
        else:
            name = probe_name(h_fail[0])
            raise CheckFailure(
                f"{function}: c_t is right in every probe but h_t is not: the problem is in h_t = o_t * tanh(c_t).\n"
                f"  h_t: {show_difference(got[name][0], expected[name][0])}"
            )
        name, what = probe_name(gate), ("c_t" if j == 1 else "h_t")
        raise CheckFailure(
            f"{function}: problem in {ROLE[gate]}. In case '{name}' the biases switch the other gates "
            f"({PROBES[gate][1]}).{why}\n  {what}: {show_difference(got[name][j], expected[name][j])}\n"
            f"Check the line that computes {ROLE[gate][4:]}: its parameters, its "
            f"activation and where it enters c_t or h_t."
        )
    # 3. nothing recognised: the plain difference on the first failing case
    for name in cases:
        for j, what in ((1, "c_t"), (0, "h_t")):
            assert_close(
                got[name][j],
                expected[name][j].to(got[name][j].dtype),
                f"{what} on case '{name}'",
                **tolerance(dtype[name]),
                hint="Compare your code with the equations in the docstring, line by line.",
            )
