"""Does each notebook-07 check accept a correct implementation and name the typical attention mistakes?"""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.checks.nb07_attention import (
    ATTENTION,
    ATTENTION_DECODER_STEP,
    check_attention,
    check_attention_decoder_step,
)
from tests.conftest import fails_with, stub


@pytest.mark.parametrize("check", [check_attention, check_attention_decoder_step], ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


def attention(query, keys, mask):
    scores = torch.bmm(keys, query[:, :, None])[..., 0] / math.sqrt(query.shape[-1])  # (N, S)
    weights = torch.softmax(scores.masked_fill(~mask, -math.inf), dim=1)
    return torch.bmm(weights[:, None, :], keys)[:, 0], weights


@pytest.mark.parametrize("hidden", [False, True])
def test_attention_accepts_correct(hidden):
    check_attention(attention, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attention_accepts_correct_on_other_seeds(seed):
    ATTENTION.check(attention, hidden=True, seed=seed)


def test_attention_names_padding_with_weight():
    def wrong(query, keys, mask):
        scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
        weights = (scores * mask).softmax(-1)  # masked scores of 0 still get exp(0)
        return torch.einsum("ns,nsh->nh", weights, keys), weights

    fails_with(check_attention, wrong, "padding gets attention weight")


def test_attention_names_missing_scale():
    def wrong(query, keys, mask):
        return attention(query * math.sqrt(query.shape[-1]), keys, mask)[0], attention(
            query * math.sqrt(query.shape[-1]), keys, mask
        )[1]

    fails_with(check_attention, wrong, "not scaled")


def test_attention_names_inverted_mask():
    def wrong(query, keys, mask):
        scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
        weights = scores.masked_fill(mask, -math.inf).softmax(-1)
        return torch.einsum("ns,nsh->nh", weights, keys), weights

    fails_with(check_attention, wrong, "mask is inverted")


def test_attention_names_unstable_softmax():
    def wrong(query, keys, mask):
        scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
        e = scores.exp() * mask
        weights = e / e.sum(-1, keepdim=True)
        return torch.einsum("ns,nsh->nh", weights, keys), weights

    fails_with(check_attention, wrong, "NaN or inf")


def test_attention_names_unweighted_mean():
    def wrong(query, keys, mask):
        return keys.mean(1), attention(query, keys, mask)[1]

    fails_with(check_attention, wrong, "plain mean")


def test_attention_names_softmax_over_batch():
    def wrong(query, keys, mask):
        scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
        weights = scores.masked_fill(~mask, -math.inf).softmax(0).nan_to_num(0.0)
        return torch.einsum("ns,nsh->nh", weights, keys), weights

    fails_with(check_attention, wrong, "over the batch")


def test_attention_names_padding_zeroed_after_the_softmax():
    def wrong(query, keys, mask):
        weights = torch.softmax(torch.einsum("nh,nsh->ns", query, keys) / keys.shape[-1] ** 0.5, dim=-1) * mask
        return torch.einsum("ns,nsh->nh", weights, keys), weights

    fails_with(check_attention, wrong, "zeroed after the softmax")


def gru(cell, x, h, rz_swapped=False, E_cols=None):
    """nn.GRUCell's step computed from its parameters (the checks hand over a cell whose forward raises)."""
    W_ih = cell.weight_ih if E_cols is None else E_cols(cell.weight_ih)
    i_r, i_z, i_n = (x @ W_ih.T + cell.bias_ih).chunk(3, 1)
    h_r, h_z, h_n = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    if rz_swapped:
        r, z = z, r
    n = torch.tanh(i_n + r * h_n)
    return torch.lerp(n, h, z)


def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    context, weights = attention(h, keys, mask)
    h_new = gru(cell, torch.cat([embedding(y_prev), context], 1), h)
    return out(h_new), h_new, weights


@pytest.mark.parametrize("hidden", [False, True])
def test_attention_decoder_step_accepts_correct(hidden):
    check_attention_decoder_step(attention_decoder_step, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attention_decoder_step_accepts_correct_on_other_seeds(seed):
    ATTENTION_DECODER_STEP.check(attention_decoder_step, hidden=True, seed=seed)


def test_attention_decoder_step_names_unmasked_attention():
    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        return attention_decoder_step(embedding, cell, out, y_prev, h, keys, torch.ones_like(mask))

    fails_with(check_attention_decoder_step, wrong, "padding gets attention weight")


def test_attention_decoder_step_names_mean_context():
    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        _, weights = attention(h, keys, mask)
        h_new = gru(cell, torch.cat([embedding(y_prev), keys.mean(1)], 1), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "plain mean of the keys")


def test_attention_decoder_step_names_wrong_output():
    def wrong(*args):
        logits, h_new, weights = attention_decoder_step(*args)
        return logits.log_softmax(-1), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "logits on case")


def test_attention_decoder_step_names_the_new_state_as_query():
    """Issue 23: querying with h_new (Luong's order) must be named, not reported as a difference of weights."""

    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        first_context, _ = attention(h, keys, mask)
        h_new = gru(cell, torch.cat([embedding(y_prev), first_context], 1), h)
        context, weights = attention(h_new, keys, mask)  # the new state asks: the wrong query
        h_new = gru(cell, torch.cat([embedding(y_prev), context], 1), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "queried the attention with h_new instead of h")


def test_attention_decoder_step_hints_never_write_the_pair_backwards():
    """The hint said "weights, context = attention(...)" while attention returns (context, weights)."""

    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        logits, h_new, _ = attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask)
        _, weights = attention(2 * h, keys, mask)  # masked, but not the weights the step used
        return logits, h_new, weights

    message = fails_with(check_attention_decoder_step, wrong, "weights on case")
    assert "weights, context" not in message


def test_attention_decoder_step_names_swapped_input_order():
    """The cell's input with the context first: the shapes agree (E + H either way), only the weights can tell."""

    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        context, weights = attention(h, keys, mask)
        h_new = gru(cell, torch.cat([context, embedding(y_prev)], 1), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "two parts of the cell's input are swapped")


def test_attention_decoder_step_names_the_embedding_read_by_the_context_columns():
    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        context, weights = attention(h, keys, mask)
        E = embedding.embedding_dim
        h_new = gru(
            cell, torch.cat([embedding(y_prev), context], 1), h, E_cols=lambda W: torch.cat([W[:, -E:], W[:, E:]], 1)
        )
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "last E columns of weight_ih")


def test_attention_decoder_step_names_the_gate_order():
    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        context, weights = attention(h, keys, mask)
        h_new = gru(cell, torch.cat([embedding(y_prev), context], 1), h, rz_swapped=True)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, "r/z swapped")


def test_attention_decoder_step_names_the_next_steps_weights():
    """The context made with h, but the weights returned are those of the query h_new: another step's."""

    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        logits, h_new, _ = attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask)
        return logits, h_new, attention(h_new, keys, mask)[1]

    fails_with(check_attention_decoder_step, wrong, "weights you return are another query's")


def test_attention_decoder_step_refuses_the_cells_forward():
    def wrong(embedding, cell, out, y_prev, h, keys, mask):
        context, weights = attention(h, keys, mask)
        h_new = cell(torch.cat([embedding(y_prev), context], 1), h)
        return out(h_new), h_new, weights

    fails_with(check_attention_decoder_step, wrong, r"not by calling cell\(\.\.\.\)")
