"""Does check_lstm_cell accept a correct cell and name each typical mistake?

The correct cell here is written for the tests (not imported from the solution notebook), so the check is
tested against an independent answer as well as against the solution run in tests/test_notebooks.py.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb04_lstm import GATE_ORDER, SEED_PARAMS, check_lstm_cell
from tests.conftest import fails_with, stub


def lstm_cell(
    x_t,
    h_prev,
    c_prev,
    p,
    *,
    g_act=torch.tanh,
    cell_act=torch.tanh,
    names=None,
    old_c_in_h=False,
    forget_h=False,
    swap_out=False,
    f_fn=lambda f: f,
    i_act=torch.sigmoid,
):
    """the article's equations; keyword arguments switch one typical mistake on."""
    names = names or {k: SEED_PARAMS[k] for k in GATE_ORDER}

    def pre(k):
        wx, wh, b = names[k]
        return x_t @ p[wx].T + h_prev @ p[wh].T + p[b]

    i, f, o = i_act(pre("i")), torch.sigmoid(pre("f")), torch.sigmoid(pre("o"))
    g = g_act(pre("g"))
    c_t = f_fn(f) * (h_prev if forget_h else c_prev) + i * g
    h_t = o * cell_act(c_prev if old_c_in_h else c_t)
    return (c_t, h_t) if swap_out else (h_t, c_t)


def with_mistake(**mistake):
    return lambda *args: lstm_cell(*args, **mistake)


def with_names(**gates):
    """the article's parameter names with some gates' names replaced."""
    return with_mistake(names={**{k: SEED_PARAMS[k] for k in GATE_ORDER}, **gates})


@pytest.mark.parametrize("hidden", [False, True])
def test_lstm_cell_accepts_correct(hidden):
    check_lstm_cell(lstm_cell, hidden=hidden)


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(
            with_names(i=SEED_PARAMS["f"], f=SEED_PARAMS["i"]),
            "the input gate i_t and the forget gate f_t are swapped",
            id="swapped_input_and_forget_gates",
        ),
        pytest.param(
            with_names(o=SEED_PARAMS["g"], g=SEED_PARAMS["o"]),
            r"the candidate c~_t and the output gate o_t are swapped",
            id="swapped_output_gate_and_candidate",
        ),
        pytest.param(
            with_mistake(g_act=torch.sigmoid), "candidate c~_t goes through a sigmoid", id="sigmoid_on_candidate"
        ),
        pytest.param(
            with_mistake(cell_act=lambda c: c), "tanh on the cell state is missing", id="missing_tanh_on_cell_state"
        ),
        # h_t = o_t * tanh(c_{t-1}): the cell state of the wrong time step
        pytest.param(
            with_mistake(old_c_in_h=True),
            r"c_\{t-1\}.*where the new c_t belongs",
            id="old_cell_state_where_new_belongs",
        ),
        pytest.param(
            with_mistake(forget_h=True), r"forget gate multiplies h_\{t-1\}", id="forget_gate_on_hidden_state"
        ),
        pytest.param(
            lambda x, h, c, p: (lstm_cell(x, h, c, p)[0], c),
            r"returned cell state is c_\{t-1\}",
            id="returned_old_cell_state",
        ),
        pytest.param(with_mistake(swap_out=True), r"return \(h_t, c_t\)", id="outputs_in_wrong_order"),
        # a typo in one name: the forget gate reads W_hi
        pytest.param(
            with_names(f=("W_xf", "W_hi", "b_f")), "forget gate f_t uses W_hi where W_hf belongs", id="one_wrong_weight"
        ),
        pytest.param(
            lambda x, h, c, p: lstm_cell(x, h, c, {**p, "b_o": torch.zeros_like(p["b_o"])}),
            "bias b_o is missing from the output gate",
            id="missing_bias",
        ),
        # a mistake no rule knows (the forget gate squared): the probe with only f_t on names the forget gate
        pytest.param(
            with_mistake(f_fn=lambda f: f * f), r"problem in the forget gate f_t", id="probe_points_at_the_wrong_gate"
        ),
        # a scaled tanh on the candidate: every probe that lets c~_t through fails, the forget gate's does not
        pytest.param(
            with_mistake(g_act=lambda z: torch.tanh(2 * z)),
            r"problem in the candidate c~_t.*only candidate c~_t on",
            id="probes_point_at_the_candidate",
        ),
        pytest.param(
            with_mistake(cell_act=torch.sigmoid),
            r"c_t is right in every probe but h_t is not",
            id="probes_point_at_the_output_line",
        ),
        pytest.param(with_mistake(i_act=torch.tanh), "input gate i_t goes through tanh", id="tanh_on_a_gate"),
        pytest.param(lambda *a: tuple(t.T for t in lstm_cell(*a)), r"h_t .* has shape \(4, 2\)", id="wrong_shape"),
    ],
)
def test_lstm_cell_names_the_mistake(wrong, pattern):
    fails_with(check_lstm_cell, wrong, pattern)
