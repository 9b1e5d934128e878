"""The typical wrong formulas, written out so that a check can say which one a learner wrote.

One step from the pre-activations z_k of each gate k, with one mistake switched on::

    i_t = sigmoid(z_i)   f_t = sigmoid(z_f)   o_t = sigmoid(z_o)   c~_t = tanh(z_g)
    c_t = f_t * c_{t-1} + i_t * c~_t
    h_t = o_t * tanh(c_t)

A mistake is a wrong activation (a sigmoid on c~_t, a tanh on a gate, no tanh on c_t), the wrong state in
a line (c_{t-1} in h_t, h_{t-1} in c_t), a wrong output (c_{t-1}, (c_t, h_t)), or gates computed from each
other's blocks or parameters; each comes with the message that names it.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch

from course_lib.checks.nb04_lstm.gates import GATE_ORDER, ROLE, SEED_PARAMS


def variant_step(
    blocks: dict[str, torch.Tensor],
    h_prev,
    c_prev,
    *,
    roles=None,
    g_act=torch.tanh,
    gate_act=None,
    cell_act=torch.tanh,
    h_from_prev=False,
    forget_h=False,
    forget_after=False,
    return_c_prev=False,
    swap_outputs=False,
):
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


SINGLE_MISTAKES: list[tuple[str, dict[str, Any]]] = (
    [
        (
            "the candidate c~_t goes through a sigmoid; it uses tanh: c~_t = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c) "
            "(the three gates use sigmoid because they are fractions in (0, 1); the candidate is a value in (-1, 1))",
            {"g_act": torch.sigmoid},
        ),
        ("the candidate c~_t has no tanh: c~_t = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c)", {"g_act": _identity}),
        (
            "the candidate c~_t goes through a ReLU; it uses tanh, so that what is written lies in (-1, 1)",
            {"g_act": torch.relu},
        ),
    ]
    + [
        (
            f"{ROLE[k]} goes through {name}; the three gates use sigmoid, so that they are fractions in (0, 1)",
            {"gate_act": {k: act}},
        )
        for k in ("i", "f", "o")
        for name, act in (("tanh", torch.tanh), ("no activation", _identity))
    ]
    + [
        ("the tanh on the cell state is missing: h_t = o_t * tanh(c_t), not o_t * c_t", {"cell_act": _identity}),
        (
            "h_t is computed from c_{t-1} (the previous cell state) where the new c_t belongs: first "
            "c_t = f_t * c_{t-1} + i_t * c~_t, then h_t = o_t * tanh(c_t)",
            {"h_from_prev": True},
        ),
        (
            "the forget gate multiplies h_{t-1}; it belongs to the previous cell state: c_t = f_t * c_{t-1} + i_t * c~_t",
            {"forget_h": True},
        ),
        (
            "the forget gate is applied after writing, f_t * (c_{t-1} + i_t * c~_t); it scales only the old cell "
            "state: c_t = f_t * c_{t-1} + i_t * c~_t",
            {"forget_after": True},
        ),
        (
            "the returned cell state is c_{t-1}: return the new c_t = f_t * c_{t-1} + i_t * c~_t",
            {"return_c_prev": True},
        ),
        ("the two outputs are in the wrong order: return (h_t, c_t), you returned (c_t, h_t)", {"swap_outputs": True}),
    ]
)


def role_permutations():
    """Every way of computing the four gates from the wrong blocks (except the right one)."""
    for perm in itertools.permutations(GATE_ORDER):
        roles = dict(zip(GATE_ORDER, perm))
        if any(k != v for k, v in roles.items()):
            yield {k: v for k, v in roles.items() if k != v}


def swap_message_seed(roles: dict[str, str]) -> str:
    uses = "; ".join(f"{ROLE[k][4:]} is computed with ({', '.join(SEED_PARAMS[v])})" for k, v in roles.items())
    if len(roles) == 2:
        a, b = roles
        head = f"{ROLE[a]} and {ROLE[b]} are swapped: "
    else:
        head = "the gates use each other's parameters: "
    return (
        head + uses + ". Each gate uses its own W_x?, W_h?, b_? (the names end in its letter; "
        "c for the candidate c~_t)."
    )


def swap_message_stacked(roles: dict[str, str]) -> str:
    read = {v: k for k, v in roles.items()}
    as_read = ", ".join(read.get(k, k) for k in GATE_ORDER)
    seed = " (the order in which the article lists the equations)" if as_read == "i, f, o, g" else ""
    return (
        f"the gate blocks are read in the wrong order: you used the blocks as {as_read}{seed}, but PyTorch "
        f"stacks them as i, f, g, o: z[:, 0:H] -> i, z[:, H:2H] -> f, z[:, 2H:3H] -> g (the candidate), "
        f"z[:, 3H:4H] -> o."
    )


def swapped_terms():
    """One term of one gate taken from another gate: e.g. f_t uses W_hi where W_hf belongs."""
    for gate, term, other in itertools.product(GATE_ORDER, range(3), GATE_ORDER):
        if gate != other:
            yield gate, term, other
