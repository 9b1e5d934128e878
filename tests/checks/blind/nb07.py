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


def _attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.einsum("ns,nsh->nh", weights, keys), weights


# ---------------------------------------------------------------- attention
@case(
    "attention", "correct", "bmm", "torch.bmm for scores and context; masked_fill with -inf; softmax on the last axis."
)
def attention(query, keys, mask):
    H = query.shape[-1]
    scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2) / H**0.5
    weights = F.softmax(scores.masked_fill(mask.logical_not(), float("-inf")), dim=-1)
    context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)
    return context, weights


@case(
    "attention",
    "correct",
    "manual_stable_softmax",
    "Broadcast product and sum; a hand-written stable softmax with torch.where for the mask.",
)
def attention(query, keys, mask):
    scores = (keys * query[:, None, :]).sum(-1) / math.sqrt(keys.shape[-1])
    neg = torch.finfo(scores.dtype).min
    masked = torch.where(mask, scores, torch.full_like(scores, neg))
    e = torch.exp(masked - masked.max(dim=-1, keepdim=True).values) * mask
    weights = e / e.sum(-1, keepdim=True)
    return (weights[..., None] * keys).sum(1), weights


@case(
    "attention",
    "correct",
    "sdpa_plus_weights",
    "Weights by einsum + masked softmax; the context from F.scaled_dot_product_attention with the same mask.",
)
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) * (1.0 / math.sqrt(query.shape[-1]))
    weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    context = F.scaled_dot_product_attention(query[:, None], keys, keys, attn_mask=mask[:, None])[:, 0]
    return context, weights


@case("attention", "mistake", "no_scaling", "I forgot to divide the scores by sqrt(H).")
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys)
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    return torch.einsum("ns,nsh->nh", w, keys), w


@case("attention", "mistake", "scale_by_H", "I divided the scores by H instead of sqrt(H).")
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / query.shape[-1]
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    return torch.einsum("ns,nsh->nh", w, keys), w


@case(
    "attention",
    "mistake",
    "mask_after_softmax",
    "I softmax over all positions and then multiply the weights by the mask (no renormalisation).",
)
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    w = torch.softmax(scores, -1) * mask
    return torch.einsum("ns,nsh->nh", w, keys), w


@case(
    "attention", "mistake", "fill_zero", "I set the masked scores to 0 instead of -inf, so padding still gets weight."
)
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask, 0.0), -1)
    return torch.einsum("ns,nsh->nh", w, keys), w


@case("attention", "mistake", "softmax_dim0", "I took the softmax over dim 0 (the batch).")
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=0)
    w = torch.nan_to_num(w)
    return torch.einsum("ns,nsh->nh", w, keys), w


@case("attention", "mistake", "mask_inverted", "I filled -inf where mask is True (I read the mask as 'is padding').")
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    w = torch.softmax(scores.masked_fill(mask, float("-inf")), -1)
    return torch.einsum("ns,nsh->nh", w, keys), w


@case(
    "attention", "mistake", "context_mean_over_S", "I averaged the weighted keys over S (mean) instead of summing them."
)
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    return (w[..., None] * keys).mean(1), w


@case("attention", "mistake", "float32_cast", "I compute the scores with query.float() and keys.float().")
def attention(query, keys, mask):
    q, k = query.float(), keys.float()
    scores = torch.einsum("nh,nsh->ns", q, k) / math.sqrt(q.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    return torch.einsum("ns,nsh->nh", w, k), w


@case(
    "attention",
    "mistake",
    "large_negative_fill_float16",
    "I fill the mask with -1e4 (a 'large negative' from fp16 code), which leaves tiny weights on padding when scores are big.",
)
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(query.shape[-1])
    w = torch.softmax(scores.masked_fill(~mask, -1e4), -1)
    return torch.einsum("ns,nsh->nh", w, keys), w


@case("attention", "mistake", "scale_by_sqrt_S", "I scaled by sqrt(S), the number of keys, instead of sqrt(H).")
def attention(query, keys, mask):
    scores = torch.einsum("nh,nsh->ns", query, keys) / math.sqrt(keys.shape[1])
    w = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
    return torch.einsum("ns,nsh->nh", w, keys), w


# ---------------------------------------------------------------- attention_decoder_step
# Exercise 2 now computes the step from the cell's parameters (calling the cell raises; issue 23). The blind cases
# below are the blind suite's ideas carried over to that contract by the course's authors (not blind): each keeps
# its mistake, with the cell's call replaced by the same step computed from its weights.
def _cell_from_weights(cell, x, h):
    """nn.GRUCell(x, h) by its documented equations (gate order r, z, n; the reset inside the hidden part)."""
    gi = F.linear(x, cell.weight_ih, cell.bias_ih)
    gh = F.linear(h, cell.weight_hh, cell.bias_hh)
    H = h.shape[1]
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1 - z) * n + z * h


@case(
    "attention_decoder_step",
    "correct",
    "helper_then_cell",
    "Calls a correct attention helper with the previous state, then the cell and the read-out.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    context, weights = _attention(h, keys, mask)
    h_new = _cell_from_weights(cell, torch.cat([embedding(y_prev), context], dim=-1), h)
    return out(h_new), h_new, weights


@case(
    "attention_decoder_step",
    "correct",
    "inline_bmm",
    "Inlines the attention with bmm and where; F.linear for the logits.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    scores = torch.bmm(keys, h[:, :, None])[:, :, 0] / math.sqrt(h.shape[1])
    weights = torch.softmax(torch.where(mask, scores, torch.full_like(scores, float("-inf"))), dim=1)
    context = torch.bmm(weights[:, None, :], keys)[:, 0]
    h_new = _cell_from_weights(cell, torch.cat((embedding(y_prev), context), 1), h)
    return F.linear(h_new, out.weight, out.bias), h_new, weights


@case(
    "attention_decoder_step",
    "mistake",
    "query_is_new_state",
    "I run the cell first (with the old context) and attend with h_new (Luong style).",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    c_old, _ = _attention(h, keys, mask)
    h_new = _cell_from_weights(cell, torch.cat([embedding(y_prev), c_old], -1), h)
    _, weights = _attention(h_new, keys, mask)
    return out(h_new), h_new, weights


@case("attention_decoder_step", "mistake", "cat_order_swapped", "I concatenated [context, embedding].")
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    context, weights = _attention(h, keys, mask)
    h_new = _cell_from_weights(cell, torch.cat([context, embedding(y_prev)], -1), h)
    return out(h_new), h_new, weights


@case(
    "attention_decoder_step",
    "mistake",
    "logits_from_old_state",
    "I read the logits out of h (the old state) instead of h_new.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    context, weights = _attention(h, keys, mask)
    h_new = _cell_from_weights(cell, torch.cat([embedding(y_prev), context], -1), h)
    return out(h), h_new, weights


@case(
    "attention_decoder_step",
    "mistake",
    "mean_of_keys",
    "I used the mean of the real keys as the context (no attention weights).",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    m = mask.to(keys.dtype)
    weights = m / m.sum(1, keepdim=True)
    context = torch.einsum("ns,nsh->nh", weights, keys)
    h_new = _cell_from_weights(cell, torch.cat([embedding(y_prev), context], -1), h)
    return out(h_new), h_new, weights


@case("attention_decoder_step", "mistake", "returns_order", "I return (logits, weights, h_new).")
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    context, weights = _attention(h, keys, mask)
    h_new = _cell_from_weights(cell, torch.cat([embedding(y_prev), context], -1), h)
    return out(h_new), weights, h_new


@case(
    "attention_decoder_step",
    "mistake",
    "mask_ignored",
    "I call attention without the mask (all positions real), so padding gets weight.",
)
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    context, weights = _attention(h, keys, torch.ones_like(mask))
    h_new = _cell_from_weights(cell, torch.cat([embedding(y_prev), context], -1), h)
    return out(h_new), h_new, weights


@case("attention_decoder_step", "mistake", "embedding_as_query", "I use the embedding of y_prev as the query.")
def attention_decoder_step(embedding, cell, out, y_prev, h, keys, mask):
    e = embedding(y_prev)
    q = e if e.shape[-1] == keys.shape[-1] else F.pad(e, (0, keys.shape[-1] - e.shape[-1]))[:, : keys.shape[-1]]
    context, weights = _attention(q, keys, mask)
    h_new = _cell_from_weights(cell, torch.cat([e, context], -1), h)
    return out(h_new), h_new, weights
