"""Checks for notebook 04 (LSTM): the seed's cell, the fused cell, the fused layer, gradient norms.

The equations (the seed article's notation; rows are examples, ``W`` is (out, in), applied as ``x @ W.T``)::

    i_t  = sigmoid(x_t W_xi^T + h_{t-1} W_hi^T + b_i)      input gate
    f_t  = sigmoid(x_t W_xf^T + h_{t-1} W_hf^T + b_f)      forget gate
    o_t  = sigmoid(x_t W_xo^T + h_{t-1} W_ho^T + b_o)      output gate
    c~_t = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c)         candidate cell state ("g" in PyTorch)
    c_t  = f_t * c_{t-1} + i_t * c~_t
    h_t  = o_t * tanh(c_t)

PyTorch stacks the four gates' weights row-wise in the order **i, f, g, o** (:data:`GATE_ORDER`):
``weight_ih = [W_xi; W_xf; W_xc; W_xo]`` (4H, D), ``weight_hh = [W_hi; W_hf; W_hc; W_ho]`` (4H, H).
Every reference below is ``nn.LSTMCell`` / ``nn.LSTM`` with weights copied in that order, or autograd.

Named mistakes are found the way the Coursera sequence-models tests do it: by comparing with the output
of the typical wrong formula (a swapped gate, a sigmoid on the candidate, the missing tanh on the cell
state, c_{t-1} where c_t belongs, ...), and by "probe" cases that switch all gates but one off through
their biases (a bias of -40 gives sigmoid = 0, +40 gives sigmoid = tanh = 1), so that a mismatch in a
probe points at the one gate left on.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from course_lib.checks.core import CheckFailure, Exercise, LearnerError, as_tensor, assert_close, describe, result_of
from course_lib.measure import state_grad_norms

__all__ = [
    "EXERCISES",
    "GATE_ORDER",
    "SEED_PARAMS",
    "stack_seed_params",
    "check_lstm_cell",
    "check_fused_lstm_cell",
    "check_fused_lstm",
    "check_lstm_state_grad_norms",
]

GATE_ORDER = ("i", "f", "g", "o")
"""PyTorch's row-block order of the stacked gate weights (``nn.LSTM``, ``nn.LSTMCell``)."""

SEED_PARAMS = {
    "i": ("W_xi", "W_hi", "b_i"),
    "f": ("W_xf", "W_hf", "b_f"),
    "g": ("W_xc", "W_hc", "b_c"),
    "o": ("W_xo", "W_ho", "b_o"),
}
"""The seed article's parameter names of each gate (the candidate c~_t is PyTorch's "g")."""

_ROLE = {"i": "the input gate i_t", "f": "the forget gate f_t", "g": "the candidate c~_t", "o": "the output gate o_t"}
_OWNER = {"i": "input gate's", "f": "forget gate's", "g": "candidate's", "o": "output gate's"}
_SAT = 40.0  # a bias this large switches a gate off (sigmoid -> 0) or fully on (sigmoid, tanh -> 1) in float64


def stack_seed_params(params: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The seed's per-gate parameters stacked in PyTorch's order: weight_ih (4H, D), weight_hh (4H, H), bias (4H,)."""
    weight_ih = torch.cat([params[SEED_PARAMS[k][0]] for k in GATE_ORDER])
    weight_hh = torch.cat([params[SEED_PARAMS[k][1]] for k in GATE_ORDER])
    bias = torch.cat([params[SEED_PARAMS[k][2]] for k in GATE_ORDER])
    return weight_ih, weight_hh, bias


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0, dtype=torch.float64) -> np.ndarray:
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype).numpy()


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a))


def _tol(dtype) -> dict[str, float]:
    return {"rtol": 1e-6, "atol": 1e-8} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}


def _close(got: torch.Tensor, expected: torch.Tensor, dtype) -> bool:
    tol = _tol(dtype)
    return tuple(got.shape) == tuple(expected.shape) and bool(
        torch.allclose(got.double(), expected.double(), rtol=tol["rtol"], atol=tol["atol"])
    )


# --------------------------------------------------------------------------------------------------
# References: torch's own modules with weights copied in the documented order


def _torch_cell(x, h, c, weight_ih, weight_hh, bias) -> tuple[torch.Tensor, torch.Tensor]:
    """nn.LSTMCell with the given stacked (i, f, g, o) weights; bias_hh is zero."""
    D, H = weight_ih.shape[1], weight_hh.shape[1]
    cell = nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(weight_ih)
        cell.weight_hh.copy_(weight_hh)
        cell.bias_ih.copy_(bias)
        cell.bias_hh.zero_()
        h_t, c_t = cell(x.double(), (h.double(), c.double()))
    return h_t, c_t


def _torch_layer(x, weight_ih, weight_hh, bias, h0=None, c0=None):
    """nn.LSTM (batch-first, one layer) with the given stacked weights: out (N, T, H), h_T, c_T (N, H)."""
    D, H = weight_ih.shape[1], weight_hh.shape[1]
    lstm = nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(weight_ih)
        lstm.weight_hh_l0.copy_(weight_hh)
        lstm.bias_ih_l0.copy_(bias)
        lstm.bias_hh_l0.zero_()
        state = None if h0 is None else (h0.double()[None], c0.double()[None])
        out, (h, c) = lstm(x.double(), state)
    return out, h[0], c[0]


# --------------------------------------------------------------------------------------------------
# The typical wrong formulas, written out so that a check can say which one a learner wrote


def _variant_step(blocks: dict[str, torch.Tensor], h_prev, c_prev, *, roles=None, g_act=torch.tanh,
                  gate_act=None, cell_act=torch.tanh, h_from_prev=False, forget_h=False, forget_after=False,
                  return_c_prev=False, swap_outputs=False):
    """One LSTM step from the pre-activations ``blocks`` (gate -> (N, H)), with one mistake switched on.

    roles: gate -> the block it is (wrongly) computed from, e.g. {"i": "f", "f": "i"}.
    """
    roles = roles or {}
    z = {k: blocks[roles.get(k, k)] for k in GATE_ORDER}
    act = {"i": torch.sigmoid, "f": torch.sigmoid, "o": torch.sigmoid, **(gate_act or {})}
    i, f, o = act["i"](z["i"]), act["f"](z["f"]), act["o"](z["o"])
    g = g_act(z["g"])
    if forget_after:
        c_t = f * (c_prev + i * g)
    else:
        c_t = f * (h_prev if forget_h else c_prev) + i * g
    h_t = o * cell_act(c_prev if h_from_prev else c_t)
    if return_c_prev:
        c_t = c_prev
    return (c_t, h_t) if swap_outputs else (h_t, c_t)


def _identity(z):
    return z


_SINGLE_MISTAKES: list[tuple[str, dict[str, Any]]] = [
    ("the candidate c~_t goes through a sigmoid; it uses tanh: c~_t = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c) "
     "(the three gates use sigmoid because they are fractions in (0, 1); the candidate is a value in (-1, 1))",
     {"g_act": torch.sigmoid}),
    ("the candidate c~_t has no tanh: c~_t = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c)", {"g_act": _identity}),
    ("the candidate c~_t goes through a ReLU; it uses tanh, so that what is written lies in (-1, 1)",
     {"g_act": torch.relu}),
] + [
    (f"{_ROLE[k]} goes through {name}; the three gates use sigmoid, so that they are fractions in (0, 1)",
     {"gate_act": {k: act}})
    for k in ("i", "f", "o") for name, act in (("tanh", torch.tanh), ("no activation", _identity))
] + [
    ("the tanh on the cell state is missing: h_t = o_t * tanh(c_t), not o_t * c_t", {"cell_act": _identity}),
    ("h_t is computed from c_{t-1} (the previous cell state) where the new c_t belongs: first "
     "c_t = f_t * c_{t-1} + i_t * c~_t, then h_t = o_t * tanh(c_t)", {"h_from_prev": True}),
    ("the forget gate multiplies h_{t-1}; it belongs to the previous cell state: c_t = f_t * c_{t-1} + i_t * c~_t",
     {"forget_h": True}),
    ("the forget gate is applied after writing, f_t * (c_{t-1} + i_t * c~_t); it scales only the old cell "
     "state: c_t = f_t * c_{t-1} + i_t * c~_t", {"forget_after": True}),
    ("the returned cell state is c_{t-1}: return the new c_t = f_t * c_{t-1} + i_t * c~_t", {"return_c_prev": True}),
    ("the two outputs are in the wrong order: return (h_t, c_t), you returned (c_t, h_t)", {"swap_outputs": True}),
]


def _role_permutations():
    """Every way of computing the four gates from the wrong blocks (except the right one)."""
    for perm in itertools.permutations(GATE_ORDER):
        roles = dict(zip(GATE_ORDER, perm))
        if any(k != v for k, v in roles.items()):
            yield {k: v for k, v in roles.items() if k != v}


def _swap_message_seed(roles: dict[str, str]) -> str:
    uses = "; ".join(f"{_ROLE[k][4:]} is computed with ({', '.join(SEED_PARAMS[v])})" for k, v in roles.items())
    if len(roles) == 2:
        a, b = roles
        head = f"{_ROLE[a]} and {_ROLE[b]} are swapped: "
    else:
        head = "the gates use each other's parameters: "
    return (head + uses + ". Each gate uses its own W_x?, W_h?, b_? (the names end in its letter; "
            "c for the candidate c~_t).")


def _swap_message_stacked(roles: dict[str, str]) -> str:
    read = {v: k for k, v in roles.items()}
    as_read = ", ".join(read.get(k, k) for k in GATE_ORDER)
    seed = " (the order in which the seed article lists the equations)" if as_read == "i, f, o, g" else ""
    return (f"the gate blocks are read in the wrong order: you used the blocks as {as_read}{seed}, but PyTorch "
            f"stacks them as i, f, g, o: z[:, 0:H] -> i, z[:, H:2H] -> f, z[:, 2H:3H] -> g (the candidate), "
            f"z[:, 3H:4H] -> o.")


def _term_swaps():
    """One term of one gate taken from another gate: e.g. f_t uses W_hi where W_hf belongs."""
    for gate, term, other in itertools.product(GATE_ORDER, range(3), GATE_ORDER):
        if gate != other:
            yield gate, term, other


# --------------------------------------------------------------------------------------------------
# Exercise 1: lstm_cell with the seed's parameter names


def _seed_params(g, D, H, dtype, saturate: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    params = {}
    for k in GATE_ORDER:
        wx, wh, b = SEED_PARAMS[k]
        params[wx] = _randn(g, H, D, scale=0.6, dtype=dtype)
        params[wh] = _randn(g, H, H, scale=0.6, dtype=dtype)
        bias = _randn(g, H, scale=0.5, dtype=torch.float64)
        if saturate and k in saturate:
            bias = bias + saturate[k]
        params[b] = bias.astype(params[wx].dtype)
    return params


# Which gates a probe switches off or fully on, so that only one gate is left free
_PROBES = {
    "i": ({"f": -_SAT, "g": _SAT, "o": _SAT}, "f_t = 0, c~_t = 1, o_t = 1, so c_t = i_t"),
    "f": ({"i": -_SAT, "o": _SAT}, "i_t = 0, o_t = 1, so c_t = f_t * c_{t-1}"),
    "g": ({"i": _SAT, "f": -_SAT, "o": _SAT}, "i_t = 1, f_t = 0, o_t = 1, so c_t = c~_t"),
    "o": ({"i": _SAT, "f": -_SAT, "g": _SAT}, "i_t = 1, f_t = 0, c~_t = 1, so c_t = 1 and h_t = o_t * tanh(1)"),
}


def _probe_name(k: str) -> str:
    return f"probe: only {_ROLE[k][4:]} on"


def _lstm_cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    shapes = [(2, 3, 4)] if not hidden else [(5, 1, 6), (1, 7, 2)]
    cases = {}
    for N, D, H in shapes:
        cases[f"random, N={N}, D={D}, H={H}"] = _cell_case(g, N, D, H, torch.float64)
    N, D, H = (2, 3, 4) if not hidden else (3, 2, 5)
    for k, (saturate, _) in _PROBES.items():
        cases[_probe_name(k)] = _cell_case(g, N, D, H, torch.float64, saturate)
    if hidden:
        cases["float32, N=4, D=3, H=3"] = _cell_case(g, 4, 3, 3, torch.float32)
        zero = _cell_case(g, 2, 3, 4, torch.float64)
        zero["h_prev"] = np.zeros_like(zero["h_prev"])
        zero["c_prev"] = np.zeros_like(zero["c_prev"])
        cases["zero state (the first step)"] = zero
    return cases


def _cell_case(g, N, D, H, dtype, saturate=None) -> dict[str, Any]:
    return {
        "x_t": _randn(g, N, D, dtype=dtype),
        "h_prev": np.tanh(_randn(g, N, H, dtype=dtype)),
        "c_prev": _randn(g, N, H, scale=1.5, dtype=dtype),
        "params": _seed_params(g, D, H, dtype, saturate),
    }


def _lstm_cell_run(fn, case):
    params = {k: _t(v) for k, v in case["params"].items()}
    return fn(_t(case["x_t"]), _t(case["h_prev"]), _t(case["c_prev"]), params)


def _seed_blocks(case, swap: tuple[str, int, str] | None = None) -> dict[str, torch.Tensor]:
    """Pre-activations of each gate from the seed's parameters; ``swap`` takes one term from another gate."""
    p = {k: _t(v).double() for k, v in case["params"].items()}
    x, h = _t(case["x_t"]).double(), _t(case["h_prev"]).double()
    blocks = {}
    for k in GATE_ORDER:
        names = list(SEED_PARAMS[k])
        if swap and swap[0] == k:
            names[swap[1]] = SEED_PARAMS[swap[2]][swap[1]]
        wx, wh, b = (p[n] for n in names)
        blocks[k] = x @ wx.T + h @ wh.T + b
    return blocks


def _cell_outputs(value: Any, what: str, N: int, H: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = (f"a tensor of shape {value.shape}" if isinstance(value, np.ndarray) else f"a {type(value).__name__}"
               + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""))
        raise CheckFailure(f"{what} should return a pair (h_t, c_t), got {got}")
    h = as_tensor(value[0], f"h_t returned by {what}", (N, H), "(N, H)")
    c = as_tensor(value[1], f"c_t returned by {what}", (N, H), "(N, H)")
    return h, c


def _judge_cell(cases, results, function: str, blocks_of: Callable, reference: Callable,
                swap_message: Callable, term_swaps: bool) -> None:
    """Shared judge of the two cells: reference, then named mistakes, then the probes, then a plain diff."""
    __tracebackhide__ = True
    got, expected = {}, {}
    for name, case in cases.items():
        N, H = case["h_prev"].shape
        got[name] = _cell_outputs(result_of(results, name, function), f"{function} on case '{name}'", N, H)
        expected[name] = reference(case)
    dtype = {name: _t(case["x_t"]).dtype for name, case in cases.items()}

    def matches(outputs_of) -> bool:
        return all(_close(got[n][j], outputs_of(n)[j], dtype[n]) for n in cases for j in (0, 1))

    if matches(lambda n: expected[n]):
        return
    # 1. a single typical mistake that explains every case
    prev = {n: (_t(c["h_prev"]).double(), _t(c["c_prev"]).double()) for n, c in cases.items()}
    blocks = {n: blocks_of(c) for n, c in cases.items()}
    for message, kwargs in _SINGLE_MISTAKES:
        if matches(lambda n: _variant_step(blocks[n], *prev[n], **kwargs)):
            raise CheckFailure(f"{function}: {message}.")
    for roles in _role_permutations():
        if matches(lambda n: _variant_step(blocks[n], *prev[n], roles=roles)):
            raise CheckFailure(f"{function}: {swap_message(roles)}")
    if term_swaps:
        for gate, term, other in _term_swaps():
            swapped = {n: blocks_of(c, (gate, term, other)) for n, c in cases.items()}
            if matches(lambda n: _variant_step(swapped[n], *prev[n])):
                right, used = SEED_PARAMS[gate][term], SEED_PARAMS[other][term]
                raise CheckFailure(f"{function}: {_ROLE[gate]} uses {used} where {right} belongs.")
        for gate in GATE_ORDER:
            stripped = {n: blocks_of(c, (gate, -1, None)) for n, c in cases.items()}
            if matches(lambda n: _variant_step(stripped[n], *prev[n])):
                raise CheckFailure(f"{function}: the bias {SEED_PARAMS[gate][2]} is missing from {_ROLE[gate]}.")
    # 2. the probes: with the other gates switched off, the pattern of failing probes points at a gate
    probes = [k for k in GATE_ORDER if _probe_name(k) in cases]
    c_fail = [k for k in probes if not _close(got[_probe_name(k)][1], expected[_probe_name(k)][1], torch.float64)]
    h_fail = [k for k in probes if not _close(got[_probe_name(k)][0], expected[_probe_name(k)][0], torch.float64)]
    if c_fail or h_fail:
        if c_fail == ["g"] or (set(c_fail) == {"i", "g", "o"} and "f" in probes):
            # the candidate is the only gate that does not matter when the input gate is shut (probe of f)
            gate, j, why = "g", 1, ""
        elif len(c_fail) == 1:
            gate, j, why = c_fail[0], 1, ""
        elif c_fail:
            gate, j = c_fail[0], 1
            why = (f" The probes of {', '.join(_ROLE[m][4:] for m in c_fail)} all fail, so more than one gate may be "
                   f"wrong; this is the first.")
        elif h_fail == ["o"]:
            gate, j, why = "o", 0, ""
        else:
            name = _probe_name(h_fail[0])
            raise CheckFailure(
                f"{function}: c_t is right in every probe but h_t is not: the problem is in h_t = o_t * tanh(c_t).\n"
                f"  expected h_t: {describe(expected[name][0])}\n  got      h_t: {describe(got[name][0])}"
            )
        name, what = _probe_name(gate), ("c_t" if j == 1 else "h_t")
        raise CheckFailure(
            f"{function}: problem in {_ROLE[gate]}. In case '{name}' the biases switch the other gates "
            f"({_PROBES[gate][1]}).{why}\n  expected {what}: {describe(expected[name][j])}\n  got      {what}: "
            f"{describe(got[name][j])}\nCheck the line that computes {_ROLE[gate][4:]}: its parameters, its "
            f"activation and where it enters c_t or h_t."
        )
    # 3. nothing recognised: the plain difference on the first failing case
    for name in cases:
        for j, what in ((1, "c_t"), (0, "h_t")):
            assert_close(got[name][j], expected[name][j].to(got[name][j].dtype), f"{what} on case '{name}'",
                         **_tol(dtype[name]),
                         hint="Compare your code with the equations in the docstring, line by line.")


def _seed_blocks_for_judge(case, swap=None):
    if swap is not None and swap[1] == -1:  # drop the bias of one gate
        blocks = _seed_blocks(case)
        blocks[swap[0]] = blocks[swap[0]] - _t(case["params"][SEED_PARAMS[swap[0]][2]]).double()
        return blocks
    return _seed_blocks(case, swap)


def _seed_reference(case):
    p = {k: _t(v).double() for k, v in case["params"].items()}
    return _torch_cell(_t(case["x_t"]), _t(case["h_prev"]), _t(case["c_prev"]), *stack_seed_params(p))


def _lstm_cell_judge(cases, results):
    __tracebackhide__ = True
    _judge_cell(cases, results, "lstm_cell", _seed_blocks_for_judge, _seed_reference, _swap_message_seed,
                term_swaps=True)


LSTM_CELL = Exercise("lstm_cell", "lstm_cell", _lstm_cell_cases, _lstm_cell_run, _lstm_cell_judge)
check_lstm_cell = LSTM_CELL.check


# --------------------------------------------------------------------------------------------------
# Exercise 2a: the fused cell, one matrix product for the four gates


def _fused_cell_case(g, N, D, H, dtype, saturate=None) -> dict[str, Any]:
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    weight_ih = 0.6 * torch.randn(4 * H, D, generator=g, dtype=torch.float64)
    bias = 0.5 * torch.randn(4 * H, generator=g, dtype=torch.float64)
    for k, shift in (saturate or {}).items():
        j = GATE_ORDER.index(k)
        bias[j * H:(j + 1) * H] += shift
    return {
        "x_t": x.to(dtype).numpy(),  # kept for the reference; the learner gets xp_t
        "xp_t": (x @ weight_ih.T + bias).to(dtype).numpy(),
        "h_prev": np.tanh(_randn(g, N, H, dtype=dtype)),
        "c_prev": _randn(g, N, H, scale=1.5, dtype=dtype),
        "weight_hh": _randn(g, 4 * H, H, scale=0.6, dtype=dtype),
        "weight_ih": weight_ih.numpy(),
        "bias": bias.numpy(),
    }


def _fused_cell_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    shapes = [(3, 2, 4)] if not hidden else [(6, 5, 3), (1, 2, 1)]
    cases = {f"random, N={N}, D={D}, H={H}": _fused_cell_case(g, N, D, H, torch.float64) for N, D, H in shapes}
    N, D, H = (3, 2, 4) if not hidden else (2, 3, 5)
    for k, (saturate, _) in _PROBES.items():
        cases[_probe_name(k)] = _fused_cell_case(g, N, D, H, torch.float64, saturate)
    if hidden:
        cases["float32, N=4, D=3, H=3"] = _fused_cell_case(g, 4, 3, 3, torch.float32)
    return cases


def _fused_cell_run(fn, case):
    return fn(_t(case["xp_t"]), _t(case["h_prev"]), _t(case["c_prev"]), _t(case["weight_hh"]))


def _stacked_blocks(case, swap=None) -> dict[str, torch.Tensor]:
    z = _t(case["xp_t"]).double() + _t(case["h_prev"]).double() @ _t(case["weight_hh"]).double().T
    return dict(zip(GATE_ORDER, z.chunk(4, dim=1)))


def _fused_reference(case):
    return _torch_cell(_t(case["x_t"]), _t(case["h_prev"]), _t(case["c_prev"]), _t(case["weight_ih"]),
                       _t(case["weight_hh"]).double(), _t(case["bias"]))


def _fused_cell_judge(cases, results):
    __tracebackhide__ = True
    for name in cases:
        value = results.get(name)
        if isinstance(value, LearnerError) and "shape" in value.message and value.type == "RuntimeError":
            raise CheckFailure(
                f"fused_lstm_cell raised RuntimeError: {value.message} (case '{name}'). Hint: weight_hh is "
                f"(4H, H), so the gates' product is h_prev @ weight_hh.T: (N, H) @ (H, 4H) -> (N, 4H), the "
                f"shape of xp_t."
            )
    _judge_cell(cases, results, "fused_lstm_cell", _stacked_blocks, _fused_reference, _swap_message_stacked,
                term_swaps=False)


FUSED_LSTM_CELL = Exercise("fused_lstm_cell", "fused_lstm_cell", _fused_cell_cases, _fused_cell_run,
                           _fused_cell_judge)
check_fused_lstm_cell = FUSED_LSTM_CELL.check


# --------------------------------------------------------------------------------------------------
# Exercise 2b: FusedLSTM, the layer over time (weights, forget-gate bias initialiser, forward)

_MATMULS = {"matmul", "__matmul__", "__rmatmul__", "mm", "addmm", "bmm", "baddbmm", "einsum", "linear",
            "tensordot", "mv", "addmv", "addbmm", "inner", "multi_dot", "chain_matmul", "dot"}


class _CountMatmuls(TorchFunctionMode):
    """Counts the matrix products a forward pass calls (x @ W.T, torch.addmm, F.linear, ...)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in _MATMULS:
            self.count += 1
        return func(*args, **(kwargs or {}))


def _fused_lstm_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    settings = [(3, 6, 2, 4, 1.0, False)] if not hidden else [
        (2, 9, 3, 5, 2.5, True), (1, 1, 1, 1, 0.0, False), (4, 7, 4, 3, 1.0, True)]
    cases = {}
    for N, T, D, H, forget_bias, with_state in settings:
        case = {
            "N": N, "T": T, "D": D, "H": H, "forget_bias": forget_bias,
            "x": _randn(g, N, T, D),
            "weight_ih": _randn(g, 4 * H, D, scale=0.5),
            "weight_hh": _randn(g, 4 * H, H, scale=0.5),
            "bias": _randn(g, 4 * H, scale=0.5),
        }
        if with_state:
            case["h0"] = np.tanh(_randn(g, N, H))
            case["c0"] = _randn(g, N, H)
        label = f"N={N}, T={T}, D={D}, H={H}, forget_bias={forget_bias}" + (", given (h0, c0)" if with_state else "")
        cases[label] = case
    return cases


def _fused_lstm_run(cls, case):
    D, H = case["D"], case["H"]
    model = cls(D, H, forget_bias=case["forget_bias"])
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    found = {"parameters": {name: list(p.shape) for name, p in params.items()},
             "modules": sorted({type(m).__name__ for m in model.modules()})}
    for name in ("weight_ih", "weight_hh", "bias"):
        if name in params:
            found[f"init_{name}"] = params[name]
    if any(found["parameters"].get(n) != s for n, s in
           (("weight_ih", [4 * H, D]), ("weight_hh", [4 * H, H]), ("bias", [4 * H]))):
        return found
    with torch.no_grad():
        model.double()
        model.weight_ih.copy_(_t(case["weight_ih"]))
        model.weight_hh.copy_(_t(case["weight_hh"]))
        model.bias.copy_(_t(case["bias"]))
    x = _t(case["x"])
    state = (_t(case["h0"]), _t(case["c0"])) if "h0" in case else None
    counter = _CountMatmuls()
    with counter:
        result = model(x) if state is None else model(x, state)
    found["matmuls"] = counter.count
    found["forward"] = result
    return found


def _layer_variant(case, *, roles=None, carry_h=True, carry_c=True, state=True):
    """nn.LSTM-free re-run of the layer with one mistake, from the stacked weights (for naming mistakes)."""
    x = _t(case["x"]).double()
    W_ih, W_hh, b = _t(case["weight_ih"]), _t(case["weight_hh"]), _t(case["bias"])
    N, H = case["N"], case["H"]
    h0 = _t(case["h0"]) if ("h0" in case and state) else torch.zeros(N, H, dtype=torch.float64)
    c0 = _t(case["c0"]) if ("h0" in case and state) else torch.zeros(N, H, dtype=torch.float64)
    h, c, outs = h0, c0, []
    for t in range(case["T"]):
        z = x[:, t] @ W_ih.T + b + (h if carry_h else h0) @ W_hh.T
        blocks = dict(zip(GATE_ORDER, z.chunk(4, dim=1)))
        h, c = _variant_step(blocks, h, c if carry_c else c0, roles=roles)
        outs.append(h)
    return torch.stack(outs, 1), h, c


def _fused_lstm_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        value = results.get(name)
        if isinstance(value, LearnerError) and value.type == "RuntimeError" and "dtype" in value.message:
            raise CheckFailure(
                f"FusedLSTM raised RuntimeError: {value.message} (case '{name}'). Hint: the check runs your layer "
                f"in float64 (model.double()); create the initial state with x.new_zeros(N, H) so that it has "
                f"x's dtype."
            )
        found = result_of(results, name, "FusedLSTM")
        if not isinstance(found, dict):
            raise CheckFailure(f"the check could not read FusedLSTM's results on case '{name}'")
        _judge_layer_parameters(name, case, found)
    for name, case in cases.items():
        _judge_layer_forward(name, case, results[name])


def _judge_layer_parameters(name, case, found):
    __tracebackhide__ = True
    D, H, fb = case["D"], case["H"], case["forget_bias"]
    shapes = found["parameters"]
    if any(m in found["modules"] for m in ("LSTM", "LSTMCell", "RNNBase")):
        raise CheckFailure("FusedLSTM contains an nn.LSTM / nn.LSTMCell: build it from the matrix products "
                           "(that is the exercise), with the parameters weight_ih, weight_hh and bias.")
    for pname, shape, letters in (("weight_ih", [4 * H, D], "(4H, D)"), ("weight_hh", [4 * H, H], "(4H, H)"),
                                  ("bias", [4 * H], "(4H,)")):
        if pname not in shapes:
            raise CheckFailure(
                f"FusedLSTM({D}, {H}) has no parameter named '{pname}' (it has {sorted(shapes) or 'none'}). "
                f"Create self.{pname} = nn.Parameter(...) of shape {letters} = {tuple(shape)}."
            )
        if shapes[pname] != shape:
            hint = " It looks transposed." if shapes[pname] == shape[::-1] else ""
            raise CheckFailure(f"FusedLSTM({D}, {H}).{pname} has shape {tuple(shapes[pname])}, expected "
                               f"{letters} = {tuple(shape)}.{hint}")
    bias = torch.from_numpy(found["init_bias"]).double()
    blocks = dict(zip(GATE_ORDER, bias.chunk(4)))
    if not torch.allclose(blocks["f"], torch.full((H,), float(fb), dtype=torch.float64)):
        filled = torch.full((H,), float(fb), dtype=torch.float64)
        where = [k for k in GATE_ORDER if k != "f" and fb != 0 and torch.allclose(blocks[k], filled)]
        if where:
            j = GATE_ORDER.index(where[0])
            hint = (f" The value is in the block of {_ROLE[where[0]]} (rows {j}H:{j + 1}H); in PyTorch's order "
                    f"i, f, g, o the forget gate is the second block, bias[H:2H].")
        else:
            hint = " The forget gate is the second block, bias[H:2H] (order i, f, g, o)."
        raise CheckFailure(
            f"FusedLSTM({D}, {H}, forget_bias={fb}): the forget-gate bias bias[H:2H] should start at {fb}, got "
            f"{describe(blocks['f'])}.{hint}"
        )
    rest = torch.cat([blocks[k] for k in ("i", "g", "o")])
    if rest.abs().max() > 0:
        raise CheckFailure(
            f"FusedLSTM({D}, {H}, forget_bias={fb}): the biases of the other gates (i, g, o) should start at 0, "
            f"got {describe(rest)}. Only the forget gate's block bias[H:2H] is set to forget_bias."
        )
    bound = 1 / math.sqrt(H)
    for pname in ("weight_ih", "weight_hh"):
        w = torch.from_numpy(found[f"init_{pname}"]).double()
        if not torch.isfinite(w).all() or w.abs().max() > bound + 1e-6 or (w.numel() > 1 and float(w.std()) == 0.0):
            raise CheckFailure(
                f"FusedLSTM({D}, {H}).{pname} should start uniform in [-1/sqrt(H), 1/sqrt(H)] = "
                f"[{-bound:.3g}, {bound:.3g}] (as nn.LSTM does), got {describe(w)}. Hint: nn.init.uniform_."
            )


def _judge_layer_forward(name, case, found):
    __tracebackhide__ = True
    N, T, H = case["N"], case["T"], case["H"]
    value = found["forward"]
    what = f"FusedLSTM(...)(x) on case '{name}'"
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[1], (tuple, list))
            and len(value[1]) == 2):
        raise CheckFailure(f"{what} should return (out, (h_T, c_T)) as nn.LSTM does, got {describe(value)}")
    out = np.asarray(value[0]) if isinstance(value[0], np.ndarray) else value[0]
    if isinstance(out, np.ndarray) and out.shape == (T, N, H) and (T, N) != (N, T):
        raise CheckFailure(f"{what}: out has shape {out.shape} = (T, N, H); the course is batch-first: "
                           f"out is (N, T, H) = {(N, T, H)}, out[:, t] is h_t. Stack the states along dim 1.")
    out = as_tensor(out, f"out of {what}", (N, T, H), "(N, T, H)")
    h_T = as_tensor(value[1][0], f"h_T of {what}", (N, H), "(N, H)")
    c_T = as_tensor(value[1][1], f"c_T of {what}", (N, H), "(N, H)")
    ref_out, ref_h, ref_c = _torch_layer(_t(case["x"]), _t(case["weight_ih"]), _t(case["weight_hh"]),
                                         _t(case["bias"]), *((_t(case["h0"]), _t(case["c0"])) if "h0" in case else ()))
    got = (out, h_T, c_T)
    ok = [_close(a, b, torch.float64) for a, b in zip(got, (ref_out, ref_h, ref_c))]
    if not all(ok):
        variants = [
            ("the state is not carried from one step to the next: step t must start from (h_{t-1}, c_{t-1}) "
             "returned by step t-1", {"carry_h": False, "carry_c": False}),
            ("h_t is carried from step to step but c_t is not: pass the new c_t on to the next step",
             {"carry_c": False}),
            ("c_t is carried from step to step but h_t is not: the next step's h_prev is this step's h_t",
             {"carry_h": False}),
            ("the initial state (h0, c0) passed to forward is ignored: start the loop from it when it is given",
             {"state": False}),
        ] + [(_swap_message_stacked(roles), {"roles": roles}) for roles in _role_permutations()]
        for message, kwargs in variants:
            if all(_close(a, b, torch.float64) for a, b in zip(got, _layer_variant(case, **kwargs))):
                raise CheckFailure(f"FusedLSTM (case '{name}'): {message}.")
        if ok[0] and _close(h_T, ref_c, torch.float64) and _close(c_T, ref_h, torch.float64):
            raise CheckFailure(f"{what}: the final state is (c_T, h_T); return (out, (h_T, c_T)).")
        if ok[0] and _close(h_T, ref_out[:, 0], torch.float64):
            raise CheckFailure(f"{what}: h_T is the first step's state; return the last one, out[:, -1].")
        if ok[0] and not ok[2] and "c0" in case and _close(c_T, _t(case["c0"]), torch.float64):
            raise CheckFailure(f"{what}: c_T is the initial c0; return the cell state after the last step.")
        for tensor, ref, label in zip(got, (ref_out, ref_h, ref_c), ("out", "h_T", "c_T")):
            assert_close(tensor, ref, f"{label} of {what}", hint="Reference: nn.LSTM with weight_ih_l0 = weight_ih, "
                         "weight_hh_l0 = weight_hh, bias_ih_l0 = bias, bias_hh_l0 = 0.")
    count = found.get("matmuls", 0)
    if count > T + 2:
        per_step = "4 or more" if count >= 4 * T else "2"
        raise CheckFailure(
            f"FusedLSTM is correct but not fused (case '{name}'): its forward made {count} matrix products for "
            f"T={T} steps, about {per_step} per step. Project the inputs of all steps with one product before "
            f"the loop (x @ weight_ih.T + bias), then make one product per step, h @ weight_hh.T, for all four "
            f"gates: T + 1 products in all."
        )


FUSED_LSTM = Exercise("fused_lstm", "FusedLSTM", _fused_lstm_cases, _fused_lstm_run, _fused_lstm_judge)
check_fused_lstm = FUSED_LSTM.check


# --------------------------------------------------------------------------------------------------
# Exercise 3: ||dL/dh_t|| of an LSTM, with course_lib.measure.state_grad_norms


def _grad_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    settings = [(3, 6, 2, 4, 1.0)] if not hidden else [(2, 12, 3, 5, 3.0), (4, 1, 2, 3, 1.0), (1, 9, 1, 2, 0.0)]
    cases = {}
    for N, T, D, H, forget_bias in settings:
        bias_ih = _randn(g, 4 * H, scale=0.3)
        bias_ih[H:2 * H] += forget_bias
        cases[f"N={N}, T={T}, D={D}, H={H}, forget bias {forget_bias}"] = {
            "N": N, "T": T, "D": D, "H": H,
            "x": _randn(g, N, T, D),
            "weight_ih": _randn(g, 4 * H, D, scale=0.7),
            "weight_hh": _randn(g, 4 * H, H, scale=0.7),
            "bias_ih": bias_ih,
            "bias_hh": _randn(g, 4 * H, scale=0.3),
            "v": _randn(g, H),
            "y": _randn(g, N),
        }
    return cases


def _lstm_module(case) -> nn.LSTM:
    lstm = nn.LSTM(case["D"], case["H"], batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(_t(case[name]))
    return lstm


def _loss_of_last(case) -> Callable[[torch.Tensor], torch.Tensor]:
    v, y, H = _t(case["v"]), _t(case["y"]), case["H"]

    def loss_of_last(h_T: torch.Tensor) -> torch.Tensor:
        """A squared error on the last state, like the adding problem's: mean((h_T v - y)^2)."""
        return ((h_T.reshape(-1, H) @ v - y) ** 2).mean()

    return loss_of_last


def _grad_run(fn, case):
    return fn(_lstm_module(case), _t(case["x"]), _loss_of_last(case))


def _restart_norms(case) -> torch.Tensor:
    """||dL/dh_t|| by restarting nn.LSTM from a leaf copy of h_t: the reference.

    Independent of stepping through time with a list of states: for each t, run nn.LSTM on x[:, :t], make
    h_t a leaf, run on from (leaf, c_t) over x[:, t:] and differentiate the loss with respect to the leaf
    (h_t reaches the loss only through the steps after t, or directly when t = T).
    """
    lstm, loss_of_last, x = _lstm_module(case), _loss_of_last(case), _t(case["x"])
    T = case["T"]
    norms = []
    for t in range(1, T + 1):
        with torch.no_grad():
            _, (h, c) = lstm(x[:, :t])
        leaf = h.clone().requires_grad_(True)
        h_T = lstm(x[:, t:], (leaf, c))[1][0] if t < T else leaf
        norms.append(float(torch.autograd.grad(loss_of_last(h_T[0]), leaf)[0].norm()))
    return torch.tensor(norms, dtype=torch.float64)


def _stepped_norms(case, wrt: str = "h", reset_c: bool = False) -> torch.Tensor:
    """The norms of a typical wrong measurement: of dL/dc_t, or with the cell state reset at every step."""
    lstm, loss_of_last, x = _lstm_module(case), _loss_of_last(case), _t(case["x"])
    zeros = torch.zeros(1, case["N"], case["H"], dtype=torch.float64)
    h, c, states = zeros, zeros, []
    for t in range(case["T"]):
        _, (h, c) = lstm(x[:, t:t + 1], (h, zeros if reset_c else c))
        states.append(h if wrt == "h" else c)
    return state_grad_norms(loss_of_last(h[0]), states)


def _grad_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        T = case["T"]
        value = result_of(results, name, "lstm_state_grad_norms")
        what = f"lstm_state_grad_norms on case '{name}'"
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.shape[0] in (T + 1, T - 1) and T > 1:
            hint = ("it includes h_0 (the initial state, which no step computed)" if value.shape[0] == T + 1
                    else "h_T (the last state, on which the loss is computed) is missing")
            raise CheckFailure(f"{what} returned {value.shape[0]} norms for T={T} steps: {hint}. "
                               f"Return ||dL/dh_t|| for t = 1..T, one per step.")
        got = as_tensor(value, what, (T,), "(T,)")
        expected = _restart_norms(case)
        if _close(got, expected, torch.float64):
            continue
        if T > 1 and _close(got, expected.flip(0), torch.float64):
            raise CheckFailure(f"{what}: the norms are in reverse order; entry t-1 is ||dL/dh_t||, h_1 first.")
        if T > 1 and float(got[:-1].abs().max()) == 0.0 and float(got[-1]) > 0:
            raise CheckFailure(
                f"{what}: every norm but the last is 0. You probably ran nn.LSTM once over the whole sequence "
                f"and took gradients with respect to slices of its output: the recurrence happens inside that one "
                f"call, so out[:, t] reaches the loss only through itself. Step through time, one call per step "
                f"(carrying (h, c)), and keep each h_t."
            )
        if float(got.abs().max()) == 0.0:
            raise CheckFailure(f"{what}: every norm is 0: the states you passed to state_grad_norms are not the ones "
                               f"the loss was computed from (detached, or copies made after the forward pass).")
        if _close(got, _stepped_norms(case, wrt="c"), torch.float64):
            raise CheckFailure(f"{what}: these are ||dL/dc_t|| (the cell states); the exercise asks for the hidden "
                               f"states h_t, the ones the next step's gates read.")
        if T > 1 and _close(got, _stepped_norms(case, reset_c=True), torch.float64):
            raise CheckFailure(f"{what}: the cell state is reset to zero at every step; carry (h, c) from one step "
                               f"to the next.")
        assert_close(got, expected, what, hint="Reference: autograd through nn.LSTM, restarted from a leaf copy of "
                     "h_t for every t. Hint: step nn.LSTM one time step at a time, carrying (h, c), and pass the "
                     "list of h_t to course_lib.measure.state_grad_norms.")


LSTM_STATE_GRAD_NORMS = Exercise("lstm_state_grad_norms", "lstm_state_grad_norms", _grad_cases, _grad_run, _grad_judge)
check_lstm_state_grad_norms = LSTM_STATE_GRAD_NORMS.check

EXERCISES = (LSTM_CELL, FUSED_LSTM_CELL, FUSED_LSTM, LSTM_STATE_GRAD_NORMS)
