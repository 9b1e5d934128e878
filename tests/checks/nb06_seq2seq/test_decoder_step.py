"""Does ``check_decoder_step`` accept a decoder step computed from the cell's parameters, and name each typical
mistake (the GRU's gate order and reset, the column blocks of weight_ih, the biases, the state and the logits)?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb06_seq2seq import DECODER_STEP_ALONE
from tests.checks.nb06_seq2seq import SEEDS
from tests.conftest import fails_with, stub

check_decoder_step = (
    DECODER_STEP_ALONE.check
)  # decoder_step alone; with context_gates: test_exercise_2_checks_context_gates_with_decoder_step


def _gru(embedding, cell, y_prev, h, gates_c, *, e_cols=None, b_ih=0.0, b_hh=None, rz_swapped=False, reset="torch"):
    """A decoder step from the weights, with switches for the mistakes below (written for the tests)."""
    E = embedding.weight.shape[1]
    W_e = cell.weight_ih[:, :E] if e_cols is None else e_cols(cell.weight_ih, E)
    a = torch.addmm(gates_c + b_ih, embedding(y_prev), W_e.t())  # (N, 3H) input side
    b_hh = cell.bias_hh if b_hh is None else b_hh
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3, 0)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    a_r, a_z, a_n = a.chunk(3, 1)
    r = torch.sigmoid(a_r + h @ W_hr.t() + b_hr)
    z = torch.sigmoid(a_z + h @ W_hz.t() + b_hz)
    if rz_swapped:
        r, z = z, r
    if reset == "torch":
        n = torch.tanh(a_n + r * (h @ W_hn.t() + b_hn))
    elif reset == "outside_bias":
        n = torch.tanh(a_n + r * (h @ W_hn.t()) + b_hn)
    else:  # "before_matmul": Cho et al.'s
        n = torch.tanh(a_n + (r * h) @ W_hn.t() + b_hn)
    return torch.lerp(n, h, z)  # n + z (h - n)


def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c)
    return out(s), s


@pytest.mark.parametrize("hidden, seed", SEEDS)
def test_decoder_step_accepts_correct(hidden, seed):
    check_decoder_step(decoder_step, hidden=hidden, seed=seed)


def rz_swapped(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c, rz_swapped=True)
    return out(s), s


def reset_outside_bias(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c, reset="outside_bias")
    return out(s), s


def reset_on_state(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c, reset="before_matmul")
    return out(s), s


def context_columns_for_embedding(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c, e_cols=lambda W, E: W[:, W.shape[1] - E :])
    return out(s), s


def bias_ih_twice(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c, b_ih=cell.bias_ih)
    return out(s), s


def bias_hh_missing(embedding, cell, out, y_prev, h, gates_c):
    s = _gru(embedding, cell, y_prev, h, gates_c, b_hh=torch.zeros_like(cell.bias_hh))
    return out(s), s


def logits_from_old_state(embedding, cell, out, y_prev, h, gates_c):
    return out(h), decoder_step(embedding, cell, out, y_prev, h, gates_c)[1]


def softmax_applied(*args):
    logits, h = decoder_step(*args)
    return logits.softmax(-1), h


def old_state_returned(*args):
    return decoder_step(*args)[0], args[4]


def detached_state(*args):
    logits, h = decoder_step(*args)
    return logits, h.detach()


def calls_the_cell(embedding, cell, out, y_prev, h, gates_c):
    s = cell(torch.cat([embedding(y_prev), h], dim=1), h)
    return out(s), s


@pytest.mark.parametrize(
    "wrong, message, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched_stub"),
        pytest.param(rz_swapped, "r/z swapped", False, id="rz_swapped"),
        pytest.param(reset_outside_bias, "b_hn is outside the reset product", False, id="reset_outside_bias"),
        pytest.param(reset_on_state, "Cho et al. variant", False, id="reset_on_state"),
        pytest.param(
            context_columns_for_embedding, "last E columns of weight_ih", False, id="context_columns_for_embedding"
        ),
        pytest.param(bias_ih_twice, "bias_ih is added twice", False, id="bias_ih_twice"),
        pytest.param(bias_hh_missing, "bias_hh is missing", False, id="bias_hh_missing"),
        pytest.param(logits_from_old_state, "logits were computed from the old state", False, id="logits_old_state"),
        pytest.param(softmax_applied, "raw logits", False, id="softmax_applied"),
        pytest.param(old_state_returned, "h_new equals the old state h", False, id="old_state_returned"),
        pytest.param(detached_state, "detached from the graph", False, id="detached_state"),
        pytest.param(calls_the_cell, r"not by calling cell\(\.\.\.\)", False, id="calls_the_cell"),
    ],
)
def test_decoder_step_names_mistake(wrong, message, hidden):
    fails_with(check_decoder_step, wrong, message, hidden=hidden)


def test_decoder_step_names_b_hn_outside_the_reset_without_writing_the_formula():
    message = fails_with(check_decoder_step, reset_outside_bias, r"b_hn is outside the reset product.*\?")
    assert "W_hn h_{t-1} + b_hn" not in message


# ---------------------------------------------------------------- exercise 2: context_gates and decoder_step together


def context_gates(cell, context):
    """gates_c = weight_ih [0; c] + bias_ih (written for the tests): the part decoder_step's check finds beside it."""
    return torch.nn.functional.linear(
        torch.nn.functional.pad(context, (cell.weight_ih.shape[1] - context.shape[-1], 0)), cell.weight_ih, cell.bias_ih
    )


def test_exercise_2_checks_context_gates_with_decoder_step():
    """The notebook's check_decoder_step finds context_gates where decoder_step was defined and checks it first."""
    from course_lib.checks.nb06_seq2seq import check_decoder_step as check_both

    check_both(decoder_step, hidden=True)
    namespace = {"torch": torch, "_gru": _gru}
    exec(  # a notebook whose context_gates forgot bias_ih, and whose decoder_step is right
        "def context_gates(cell, context):\n"
        "    H = context.shape[-1]\n"
        "    return context @ cell.weight_ih[:, -H:].T\n"
        "def decoder_step(embedding, cell, out, y_prev, h, gates_c):\n"
        "    s = _gru(embedding, cell, y_prev, h, gates_c)\n"
        "    return out(s), s\n",
        namespace,
    )
    fails_with(
        check_both, namespace["decoder_step"], r"^context_gates: case '[^']* \[context_gates\]': bias_ih is missing"
    )
    exec("def decoder_step(embedding, cell, out, y_prev, h, gates_c):\n    raise NotImplementedError()\n", namespace)
    namespace["context_gates"] = context_gates  # 2a written, 2b not yet
    fails_with(
        check_both, namespace["decoder_step"], r"^context_gates passed its cases; decoder_step is not implemented"
    )
    del namespace["context_gates"]
    fails_with(
        check_both,
        namespace["decoder_step"],
        r"^context_gates is not defined: the check of decoder_step tests context_gates first",
    )
