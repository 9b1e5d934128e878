# ruff: noqa: F811, F841
# Copied from the independent blind suite (written from the learner notebooks' text only), reformatted by ruff; see README.md.
"""Blind suite for notebook 07_attention: realistic wrong and correct-alternative implementations."""

import math

import torch
import torch.nn.functional as F

NB = "07_attention"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
CASES = []


def case(exercise, kind, name, what):
    def deco(fn):
        CASES.append(dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn))
        return fn

    return deco


# The contracts of 07's attention (T queries at once) and attention_decoder_step (reads the context's gates from
# key_gates) changed after this suite was written (issue 23). The cases below are the blind suite's ideas carried
# over to those contracts by the course's authors (not blind): each keeps its mistake, with the query's axis T added
# and the step's context gates mixed from the key gates.
def _attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)
    return torch.einsum("nts,nsh->nth", weights, keys), weights


# ---------------------------------------------------------------- attention
@case(
    "attention", "correct", "bmm", "torch.bmm for scores and context; masked_fill with -inf; softmax on the last axis."
)
def attention(queries, keys, mask):
    H = queries.shape[-1]
    scores = torch.bmm(queries, keys.transpose(1, 2)) / H**0.5
    weights = F.softmax(scores.masked_fill(mask.logical_not().unsqueeze(1), float("-inf")), dim=-1)
    contexts = torch.bmm(weights, keys)
    return contexts, weights


@case(
    "attention",
    "correct",
    "manual_stable_softmax",
    "Broadcast product and sum; a hand-written stable softmax with torch.where for the mask.",
)
def attention(queries, keys, mask):
    scores = (queries[:, :, None, :] * keys[:, None, :, :]).sum(-1) / math.sqrt(keys.shape[-1])
    neg = torch.finfo(scores.dtype).min
    real = mask[:, None, :]
    masked = torch.where(real, scores, torch.full_like(scores, neg))
    e = torch.exp(masked - masked.max(dim=-1, keepdim=True).values) * real
    weights = e / e.sum(-1, keepdim=True)
    return (weights[..., None] * keys[:, None]).sum(2), weights


@case(
    "attention",
    "correct",
    "sdpa_plus_weights",
    "Weights by einsum + masked softmax; the context from F.scaled_dot_product_attention with the same mask.",
)
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) * (1.0 / math.sqrt(queries.shape[-1]))
    weights = scores.masked_fill(~mask[:, None], float("-inf")).softmax(-1)
    contexts = F.scaled_dot_product_attention(queries, keys, keys, attn_mask=mask[:, None])
    return contexts, weights


@case("attention", "mistake", "no_scaling", "I forgot to divide the scores by sqrt(H).")
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys)
    w = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), -1)
    return torch.einsum("nts,nsh->nth", w, keys), w


@case("attention", "mistake", "scale_by_H", "I divided the scores by H instead of sqrt(H).")
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / queries.shape[-1]
    w = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), -1)
    return torch.einsum("nts,nsh->nth", w, keys), w


@case(
    "attention",
    "mistake",
    "mask_after_softmax",
    "I softmax over all positions and then multiply the weights by the mask (no renormalisation).",
)
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    w = torch.softmax(scores, -1) * mask[:, None]
    return torch.einsum("nts,nsh->nth", w, keys), w


@case(
    "attention", "mistake", "fill_zero", "I set the masked scores to 0 instead of -inf, so padding still gets weight."
)
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask[:, None], 0.0), -1)
    return torch.einsum("nts,nsh->nth", w, keys), w


@case("attention", "mistake", "softmax_dim0", "I took the softmax over dim 0 (the batch).")
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), dim=0)
    w = torch.nan_to_num(w)
    return torch.einsum("nts,nsh->nth", w, keys), w


@case("attention", "mistake", "mask_inverted", "I filled -inf where mask is True (I read the mask as 'is padding').")
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    w = torch.softmax(scores.masked_fill(mask[:, None], float("-inf")), -1)
    return torch.einsum("nts,nsh->nth", w, keys), w


@case(
    "attention", "mistake", "context_mean_over_S", "I averaged the weighted keys over S (mean) instead of summing them."
)
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), -1)
    return (w[..., None] * keys[:, None]).mean(2), w


@case("attention", "mistake", "float32_cast", "I compute the scores with query.float() and keys.float().")
def attention(queries, keys, mask):
    q, k = queries.float(), keys.float()
    scores = torch.einsum("nth,nsh->nts", q, k) / math.sqrt(q.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), -1)
    return torch.einsum("nts,nsh->nth", w, k), w


@case(
    "attention",
    "mistake",
    "large_negative_fill_float16",
    "I fill the mask with -1e4 (a 'large negative' from fp16 code), which leaves tiny weights on padding when scores are big.",
)
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(queries.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask[:, None], -1e4), -1)
    return torch.einsum("nts,nsh->nth", w, keys), w


@case("attention", "mistake", "scale_by_sqrt_S", "I scaled by sqrt(S), the number of keys, instead of sqrt(H).")
def attention(queries, keys, mask):
    scores = torch.einsum("nth,nsh->nts", queries, keys) / math.sqrt(keys.shape[1])
    w = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), -1)
    return torch.einsum("nts,nsh->nth", w, keys), w


# ---------------------------------------------------------------- attention_decoder_step
# Exercise 2 computes the step from the cell's parameters (calling the cell raises; issue 23) and, since issue 23's
# second round, takes the context's part of its input gates from key_gates (gates_k = W_c k_j + b_ih per key). The
# blind cases below are the blind suite's ideas carried over to that contract by the course's authors (not blind):
# each keeps its mistake, with the cell's call replaced by the same step computed from its weights and the key gates.
def _cell_from_gates(cell, e, weights, gates_k, h, order=("e", "c")):
    """nn.GRUCell([e; c_t], h) by its documented equations (gate order r, z, n; the reset inside the hidden part),
    the context's part of the input gates mixed from the key gates with this step's weights (N, S).
    ``order=("c", "e")``: the embedding read as if the cell's input were [c_t; e] (its last E columns)."""
    E = e.shape[1]
    W_e = cell.weight_ih[:, :E] if order == ("e", "c") else cell.weight_ih[:, -E:]
    gi = F.linear(e, W_e) + torch.einsum("ns,nsg->ng", weights, gates_k)
    gh = F.linear(h, cell.weight_hh, cell.bias_hh)
    H = h.shape[1]
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1 - z) * n + z * h


def _step_weights(query, keys, mask):
    return _attention(query[:, None], keys, mask)[1][:, 0]


@case(
    "attention_decoder_step",
    "correct",
    "helper_then_cell",
    "Calls a correct attention helper with the previous state, then the cell and the read-out.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    weights = _step_weights(h, keys, mask)
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h)
    return out(h_new), h_new, weights


@case(
    "attention_decoder_step",
    "correct",
    "inline_bmm",
    "Inlines the attention with bmm and where; F.linear for the logits.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    scores = torch.bmm(keys, h[:, :, None])[:, :, 0] / math.sqrt(h.shape[1])
    weights = torch.softmax(torch.where(mask, scores, torch.full_like(scores, float("-inf"))), dim=1)
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h)
    return F.linear(h_new, out.weight, out.bias), h_new, weights


@case(
    "attention_decoder_step",
    "mistake",
    "query_is_new_state",
    "I run the cell first (with the old context) and attend with h_new (Luong style).",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    w_old = _step_weights(h, keys, mask)
    h_new = _cell_from_gates(cell, embedding(y_prev), w_old, gates_k, h)
    weights = _step_weights(h_new, keys, mask)
    return out(h_new), h_new, weights


@case("attention_decoder_step", "mistake", "cat_order_swapped", "I concatenated [context, embedding].")
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    weights = _step_weights(h, keys, mask)
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h, order=("c", "e"))
    return out(h_new), h_new, weights


@case(
    "attention_decoder_step",
    "mistake",
    "logits_from_old_state",
    "I read the logits out of h (the old state) instead of h_new.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    weights = _step_weights(h, keys, mask)
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h)
    return out(h), h_new, weights


@case(
    "attention_decoder_step",
    "mistake",
    "mean_of_keys",
    "I used the mean of the real keys as the context (no attention weights).",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    m = mask.to(keys.dtype)
    weights = m / m.sum(1, keepdim=True)
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h)
    return out(h_new), h_new, weights


@case("attention_decoder_step", "mistake", "returns_order", "I return (logits, weights, h_new).")
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    weights = _step_weights(h, keys, mask)
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h)
    return out(h_new), weights, h_new


@case(
    "attention_decoder_step",
    "mistake",
    "mask_ignored",
    "I call attention without the mask (all positions real), so padding gets weight.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    weights = _step_weights(h, keys, torch.ones_like(mask))
    h_new = _cell_from_gates(cell, embedding(y_prev), weights, gates_k, h)
    return out(h_new), h_new, weights


@case("attention_decoder_step", "mistake", "embedding_as_query", "I use the embedding of y_prev as the query.")
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, gates_k, mask):
    e = embedding(y_prev)
    q = e if e.shape[-1] == keys.shape[-1] else F.pad(e, (0, keys.shape[-1] - e.shape[-1]))[:, : keys.shape[-1]]
    weights = _step_weights(q, keys, mask)
    h_new = _cell_from_gates(cell, e, weights, gates_k, h)
    return out(h_new), h_new, weights
