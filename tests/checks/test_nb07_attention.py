"""Does each notebook-07 check accept a correct implementation and name the typical attention mistakes?"""

from __future__ import annotations

import math
import re
import types

import pytest
import torch

from course_lib.checks.nb07_attention import (
    ATTENTION,
    ATTENTION_DECODER_STEP_ALONE,
    KEY_GATES,
    check_attention,
)
from tests.conftest import fails_with, stub

# exercise 2 grades key_gates with attention_decoder_step (test_exercise_2_checks_key_gates_with_the_step); the
# tests below name each one's mistakes with its own check alone
ATTENTION_DECODER_STEP = ATTENTION_DECODER_STEP_ALONE
check_key_gates = KEY_GATES.check
check_attention_decoder_step = ATTENTION_DECODER_STEP_ALONE.check
CHECKS = [check_attention, check_key_gates, check_attention_decoder_step]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


def scores_of(queries, keys, scale=None):
    """(N, T, S) scores queries . keys * scale (1 / sqrt(H) unless given)."""
    return queries @ keys.transpose(1, 2) * (1 / math.sqrt(queries.shape[-1]) if scale is None else scale)


def attention(queries, keys, mask):
    weights = torch.softmax(scores_of(queries, keys).masked_fill(~mask[:, None, :], -math.inf), dim=-1)
    return torch.bmm(weights, keys), weights


def with_weights(weights, keys):
    return weights @ keys, weights


@pytest.mark.parametrize("hidden", [False, True])
def test_attention_accepts_correct(hidden):
    check_attention(attention, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attention_accepts_correct_on_other_seeds(seed):
    ATTENTION.check(attention, hidden=True, seed=seed)


def test_attention_accepts_a_shift_by_the_largest_real_score():
    """A hand-written softmax is safe when its shift and its sum see the real positions only."""

    def right(queries, keys, mask):
        scores = scores_of(queries, keys)
        real = mask[:, None, :]
        shifted = scores - scores.masked_fill(~real, -math.inf).amax(-1, keepdim=True)
        e = shifted.masked_fill(~real, -math.inf).exp()
        return with_weights(e / e.sum(-1, keepdim=True), keys)

    check_attention(right, hidden=True)


def test_attention_names_padding_with_score_zero():
    def wrong(queries, keys, mask):
        return with_weights((scores_of(queries, keys) * mask[:, None, :]).softmax(-1), keys)

    fails_with(check_attention, wrong, "given the score 0")


def test_attention_names_padded_keys_zeroed():
    """Masking the keys' features gives padded keys the score 0: the same mistake, reached another way."""

    def wrong(queries, keys, mask):
        return attention(queries, keys * mask[..., None], torch.ones_like(mask))

    fails_with(check_attention, wrong, "given the score 0")


def test_attention_names_no_mask():
    def wrong(queries, keys, mask):
        return attention(queries, keys, torch.ones_like(mask))

    fails_with(check_attention, wrong, "mask is not used at all")


def test_attention_names_missing_scale():
    def wrong(queries, keys, mask):
        weights = scores_of(queries, keys, 1.0).masked_fill(~mask[:, None, :], -math.inf).softmax(-1)
        return with_weights(weights, keys)

    fails_with(check_attention, wrong, r"divided by nothing \(no scaling\)")


@pytest.mark.parametrize("factor", ["H", "sqrt(S)"])
def test_attention_names_the_wrong_scale(factor):
    def wrong(queries, keys, mask):
        H, S = queries.shape[-1], keys.shape[1]
        scale = 1 / H if factor == "H" else 1 / math.sqrt(S)
        weights = scores_of(queries, keys, scale).masked_fill(~mask[:, None, :], -math.inf).softmax(-1)
        return with_weights(weights, keys)

    fails_with(check_attention, wrong, rf"you divided by {re.escape(factor)}")


def test_attention_names_inverted_mask():
    def wrong(queries, keys, mask):
        return attention(queries, keys, ~mask)

    fails_with(check_attention, wrong, "mask is inverted")


def test_attention_names_the_unsafe_renormalisation():
    """exp(scores) * mask renormalised: right on ordinary scores, NaN where every real score underflows."""

    def wrong(queries, keys, mask):
        e = scores_of(queries, keys).exp() * mask[:, None, :]
        return with_weights(e / e.sum(-1, keepdim=True), keys)

    message = fails_with(check_attention, wrong, r"exp\(scores\) \* mask divided by its sum")
    assert "below -1e4" in message or "large scores" in message


def test_attention_names_a_shift_that_includes_the_padding():
    """Shifted by the largest score of the row, padding included: 0 / 0 where the padded scores are the largest."""

    def wrong(queries, keys, mask):
        scores = scores_of(queries, keys)
        e = (scores - scores.amax(-1, keepdim=True)).exp() * mask[:, None, :]
        return with_weights(e / e.sum(-1, keepdim=True), keys)

    fails_with(check_attention, wrong, "NaN or inf")


def test_attention_names_a_finite_fill():
    def wrong(queries, keys, mask):
        weights = scores_of(queries, keys).masked_fill(~mask[:, None, :], -1e4).softmax(-1)
        return with_weights(weights, keys)

    fails_with(check_attention, wrong, "every real score is at most")


def test_attention_names_the_mask_on_the_queries_axis():
    """The (N, S) mask broadcast as (N, T, 1): runs only where T = S (a visible case), and must be named there."""

    def wrong(queries, keys, mask):
        scores = scores_of(queries, keys)
        real = mask[:, :, None] if scores.shape[1] == scores.shape[2] else mask[:, None, :]
        return with_weights(scores.masked_fill(~real, -math.inf).softmax(-1), keys)

    fails_with(check_attention, wrong, "along the queries' axis")


def test_attention_names_the_mask_on_the_queries_axis_where_torch_cannot_broadcast_it():
    """The same mistake where T != S: torch raises its broadcast error, and the check names the mask's axis."""

    def wrong(queries, keys, mask):
        return with_weights(scores_of(queries, keys).masked_fill(~mask[:, :, None], -math.inf).softmax(-1), keys)

    message = fails_with(check_attention, wrong, r"mask was laid along the queries' axis T.*which axis")
    assert "T=3, S=4" in message


def test_attention_names_softmax_over_the_queries():
    def wrong(queries, keys, mask):
        weights = scores_of(queries, keys).masked_fill(~mask[:, None, :], -math.inf).softmax(1)
        return with_weights(weights, keys)

    fails_with(check_attention, wrong, r"over the queries \(dim 1, T\)")


def test_attention_names_softmax_over_batch():
    def wrong(queries, keys, mask):
        weights = scores_of(queries, keys).masked_fill(~mask[:, None, :], -math.inf).softmax(0)
        return with_weights(weights, keys)

    fails_with(check_attention, wrong, "over the batch")


def test_attention_names_padding_zeroed_after_the_softmax():
    def wrong(queries, keys, mask):
        return with_weights(scores_of(queries, keys).softmax(-1) * mask[:, None, :], keys)

    fails_with(check_attention, wrong, "zeroed after the softmax")


def test_attention_names_contexts_from_the_scores():
    def wrong(queries, keys, mask):
        _, weights = attention(queries, keys, mask)
        return (scores_of(queries, keys) * mask[:, None, :]) @ keys, weights

    fails_with(check_attention, wrong, "weighted by the scores, not by the weights")


def test_attention_names_unweighted_mean():
    def wrong(queries, keys, mask):
        _, weights = attention(queries, keys, mask)
        return keys.mean(1, keepdim=True).expand(-1, queries.shape[1], -1), weights

    fails_with(check_attention, wrong, "plain mean")


# ------------------------------------------------------------------------------------------------ key_gates
def key_gates(cell, keys):
    H = keys.shape[-1]
    return torch.nn.functional.linear(keys, cell.weight_ih[:, -H:], cell.bias_ih)


@pytest.mark.parametrize("hidden", [False, True])
def test_key_gates_accepts_correct(hidden):
    check_key_gates(key_gates, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_key_gates_accepts_correct_on_other_seeds(seed):
    KEY_GATES.check(key_gates, hidden=True, seed=seed)


def test_key_gates_names_the_embeddings_columns():
    def wrong(cell, keys):
        H = keys.shape[-1]
        return keys @ cell.weight_ih[:, :H].T + cell.bias_ih

    fails_with(check_key_gates, wrong, "first H columns of weight_ih")


def test_key_gates_names_the_missing_bias():
    def wrong(cell, keys):
        return key_gates(cell, keys) - cell.bias_ih

    fails_with(check_key_gates, wrong, "bias_ih is missing")


def test_key_gates_names_both_biases():
    def wrong(cell, keys):
        return key_gates(cell, keys) + cell.bias_hh

    fails_with(check_key_gates, wrong, "bias_hh is added as well")


def test_key_gates_names_the_fold_of_b_hr_and_b_hz():
    """bias_hh's r and z rows folded in: valid maths, but the contract keeps bias_hh for the step."""

    def wrong(cell, keys):
        H = keys.shape[-1]
        return key_gates(cell, keys) + torch.cat([cell.bias_hh[: 2 * H], cell.bias_hh.new_zeros(H)])

    fails_with(check_key_gates, wrong, r"r and z rows \(b_hr, b_hz\) were folded")


def test_key_gates_refuses_the_cells_forward():
    def wrong(cell, keys):
        return cell(torch.cat([torch.zeros(*keys.shape[:2], cell.input_size - keys.shape[-1]), keys], -1), None)

    fails_with(check_key_gates, wrong, r"not by calling cell\(\.\.\.\)")


# ------------------------------------------------------------------------------------------------ the step
def gru(cell, gi, h, rz_swapped=False):
    """nn.GRUCell's update from its input side ``gi`` (N, 3H) and its parameters."""
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    if rz_swapped:
        r, z = z, r
    n = torch.tanh(i_n + r * h_n)
    return torch.lerp(n, h, z)


def step_weights(h, keys, mask):
    return attention(h[:, None], keys, mask)[1][:, 0]  # (N, S)


def input_side(embedding, cell, y_prev, weights, gates_k, e_columns=None):
    E = embedding.embedding_dim
    W_e = cell.weight_ih[:, :E] if e_columns is None else e_columns
    return embedding(y_prev) @ W_e.T + torch.einsum("ns,nsg->ng", weights, gates_k)


def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    weights = step_weights(h, keys, mask)
    h_new = gru(cell, input_side(embedding, cell, y_prev, weights, gates_k), h)
    return out(h_new), h_new, weights


@pytest.mark.parametrize("hidden", [False, True])
def test_attention_decoder_step_accepts_correct(hidden):
    check_attention_decoder_step(attention_decoder_step, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attention_decoder_step_accepts_correct_on_other_seeds(seed):
    ATTENTION_DECODER_STEP.check(attention_decoder_step, hidden=True, seed=seed)


def test_attention_decoder_step_names_the_key_gates_ignored():
    """The context's gates recomputed from weight_ih at every step: right on the cell's own key gates, so only the
    case whose key gates come from other weights can tell; it is visible."""

    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        context, weights = attention(h[:, None], keys, mask)
        E = embedding.embedding_dim
        gi = embedding(y_prev) @ cell.weight_ih[:, :E].T + context[:, 0] @ cell.weight_ih[:, E:].T + cell.bias_ih
        h_new = gru(cell, gi, h)
        return out(h_new), h_new, weights[:, 0]

    fails_with(check_attention_decoder_step, wrong, "from gates_k")


def test_attention_decoder_step_names_bias_ih_twice():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        weights = step_weights(h, keys, mask)
        h_new = gru(cell, input_side(embedding, cell, y_prev, weights, gates_k) + cell.bias_ih, h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "bias_ih was added twice")


def test_attention_decoder_step_names_the_padded_key_gates_leaking():
    """The returned weights are right, but the gates are mixed with an unmasked softmax."""

    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        weights = step_weights(h, keys, mask)
        leaky = step_weights(h, keys, torch.ones_like(mask))
        h_new = gru(cell, input_side(embedding, cell, y_prev, leaky, gates_k), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "padded keys' gates leak")


def test_attention_decoder_step_names_unmasked_attention():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        return attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, torch.ones_like(mask))

    fails_with(check_attention_decoder_step, wrong, "padding gets attention weight")


def test_attention_decoder_step_names_mean_gates():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        weights = step_weights(h, keys, mask)
        E = embedding.embedding_dim
        h_new = gru(cell, embedding(y_prev) @ cell.weight_ih[:, :E].T + gates_k.mean(1), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "plain mean of the keys")


def test_attention_decoder_step_names_wrong_output():
    def wrong(*args):
        logits, h_new, weights = attention_decoder_step(*args)
        return logits.log_softmax(-1), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "logits on case")


def test_attention_decoder_step_names_logits_from_the_old_state():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        _, h_new, weights = attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask)
        return out(h), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "read out of the previous state h")


def test_attention_decoder_step_names_the_new_state_as_query():
    """Issue 23: querying with h_new (Luong's order) must be named, not reported as a difference of weights."""

    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        first = attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask)[1]
        weights = step_weights(first, keys, mask)  # the new state asks: the wrong query
        h_new = gru(cell, input_side(embedding, cell, y_prev, weights, gates_k), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "queried the attention with h_new instead of h")


def test_attention_decoder_step_hints_never_write_the_pair_backwards():
    """The hint said "weights, context = attention(...)" while attention returns (contexts, weights)."""

    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        logits, h_new, _ = attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask)
        return logits, h_new, step_weights(2 * h, keys, mask)  # masked, but not the weights the step used

    message = fails_with(check_attention_decoder_step, wrong, "weights on case")
    assert "weights, context" not in message


def test_attention_decoder_step_names_the_embedding_read_by_the_context_columns():
    """The column blocks swapped on the embedding's side (the cell's input read as [c_t; e])."""

    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        weights = step_weights(h, keys, mask)
        E = embedding.embedding_dim
        gi = input_side(embedding, cell, y_prev, weights, gates_k, e_columns=cell.weight_ih[:, -E:])
        h_new = gru(cell, gi, h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "last E columns of weight_ih")


def test_attention_decoder_step_names_the_gate_order():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        weights = step_weights(h, keys, mask)
        h_new = gru(cell, input_side(embedding, cell, y_prev, weights, gates_k), h, rz_swapped=True)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "r/z swapped")


def test_attention_decoder_step_names_the_next_steps_weights():
    """The context made with h, but the weights returned are those of the query h_new: another step's."""

    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        logits, h_new, _ = attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask)
        return logits, h_new, step_weights(h_new, keys, mask)

    fails_with(check_attention_decoder_step, wrong, "weights you return are another query's")


def test_attention_decoder_step_refuses_the_cells_forward():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        context, weights = attention(h[:, None], keys, mask)
        h_new = cell(torch.cat([embedding(y_prev), context[:, 0]], 1), h)
        return out(h_new), h_new, weights[:, 0]

    fails_with(check_attention_decoder_step, wrong, r"not by calling cell\(\.\.\.\)")


def with_attention(step, attend):
    """``step`` as a notebook whose ``attention`` (exercise 1) is ``attend`` would define it."""
    return types.FunctionType(step.__code__, {**step.__globals__, "attention": attend})


def calls_attention(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    """A right step that asks the notebook's ``attention`` for its weights."""
    weights = attention(h[:, None], keys, mask)[1][:, 0]
    h_new = gru(cell, input_side(embedding, cell, y_prev, weights, gates_k), h)
    return out(h_new), h_new, weights


def softmax_over_queries(queries, keys, mask):
    weights = scores_of(queries, keys).masked_fill(~mask[:, None, :], -math.inf).softmax(1)
    return with_weights(weights, keys)


def mask_on_queries_axis(queries, keys, mask):
    return with_weights(scores_of(queries, keys).masked_fill(~mask[:, :, None], -math.inf).softmax(-1), keys)


@pytest.mark.parametrize("broken", [softmax_over_queries, mask_on_queries_axis], ids=lambda f: f.__name__)
def test_attention_decoder_step_blames_a_wrong_attention_first(broken):
    """A right step on a wrong exercise 1: the check says so instead of blaming the step's query or weights."""
    message = fails_with(
        check_attention_decoder_step, with_attention(calls_attention, broken), r"your `attention` \(exercise 1\)"
    )
    assert "pass exercise 1's check first" in message


def test_attention_decoder_step_judges_the_step_when_its_attention_is_right():
    check_attention_decoder_step(with_attention(calls_attention, attention), hidden=True)


def test_attention_decoder_step_does_not_blame_an_attention_the_step_does_not_use():
    """A wrong ``attention`` in the notebook, but the step computes its weights itself and is right: ✓."""
    check_attention_decoder_step(with_attention(attention_decoder_step, softmax_over_queries), hidden=True)


def test_attention_decoder_step_names_b_hn_outside_the_reset_without_writing_the_formula():
    def wrong(embedding, cell, out, y_prev, h, keys, gates_k, mask):
        weights = step_weights(h, keys, mask)
        i_r, i_z, i_n = input_side(embedding, cell, y_prev, weights, gates_k).chunk(3, 1)
        H = h.shape[-1]
        h_r, h_z, h_n = (h @ cell.weight_hh.T).chunk(3, 1)
        b_r, b_z, b_n = cell.bias_hh.split(H)
        r, z = torch.sigmoid(i_r + h_r + b_r), torch.sigmoid(i_z + h_z + b_z)
        h_new = torch.lerp(torch.tanh(i_n + r * h_n + b_n), h, z)
        return out(h_new), h_new, weights

    message = fails_with(check_attention_decoder_step, wrong, r"b_hn is outside the reset product.*\?")
    assert "W_hn h_{t-1} + b_hn" not in message


def test_exercise_2_checks_key_gates_with_the_step():
    """The notebook's check_attention_decoder_step finds key_gates beside the step and checks it first."""
    from course_lib.checks.nb07_attention import check_attention_decoder_step as check_both

    namespace = {**calls_attention.__globals__, "key_gates": key_gates}
    step = types.FunctionType(calls_attention.__code__, namespace)
    check_both(step, hidden=True)
    namespace["key_gates"] = lambda cell, keys: keys @ cell.weight_ih[:, -keys.shape[-1] :].T  # no bias_ih
    fails_with(check_both, step, r"^key_gates: case '[^']* \[key_gates\]': bias_ih is missing")
    namespace["key_gates"] = key_gates
    fails_with(
        check_both,
        types.FunctionType(stub.__code__, namespace),
        r"^key_gates passed its cases; attention_decoder_step is not implemented",
    )
    del namespace["key_gates"]
    fails_with(
        check_both, step, r"^key_gates is not defined: the check of attention_decoder_step tests key_gates first"
    )
