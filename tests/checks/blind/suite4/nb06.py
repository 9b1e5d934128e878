# ruff: noqa: F811, F841
# Copied from independent blind suite 4 (written from the learner notebooks' text only, session 5), reformatted by ruff; see ../README.md.
"""Blind cases for notebook 06 (seq2seq): encode, context_gates, decoder_step."""

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

NB = "06_seq2seq"


# ---------------------------------------------------------------- encode (correct)
def encode_pack_unpack(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out_packed, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[-1]


def encode_gather_and_mask(embedding, rnn, src, lengths):
    states, _ = rnn(embedding(src))  # causal: the states at real steps do not depend on the padding after them
    N, S, H = states.shape
    real = torch.arange(S, device=src.device)[None, :] < lengths[:, None]
    outputs = states.masked_fill(~real[..., None], 0.0)
    index = (lengths - 1).view(N, 1, 1).expand(N, 1, H)
    return outputs, states.gather(1, index).squeeze(1)


def encode_sort_and_restore(embedding, rnn, src, lengths):
    order = torch.argsort(lengths, descending=True)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=order.device)
    packed = pack_padded_sequence(embedding(src[order]), lengths[order].cpu(), batch_first=True)  # sorted by hand
    out_packed, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=src.shape[1])
    return outputs[inverse], h_n[0][inverse]


# ---------------------------------------------------------------- encode (mistakes)
def encode_no_packing(embedding, rnn, src, lengths):
    outputs, h_n = rnn(embedding(src))  # every row reads the padding
    return outputs, h_n[0]


def encode_last_column(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=src.shape[1])
    return outputs, outputs[:, -1]  # zeros for every row shorter than S


def encode_no_total_length(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out_packed, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True)  # max(lengths) columns, not S
    return outputs, h_n[-1]


def encode_enforce_sorted(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True)  # enforce_sorted=True by default
    out_packed, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[-1]


def encode_gather_unmasked(embedding, rnn, src, lengths):
    states, _ = rnn(embedding(src))
    N, S, H = states.shape
    context = states[torch.arange(N, device=src.device), lengths - 1]
    return states, context  # the padded steps hold states that read the padding


def encode_gather_at_length(embedding, rnn, src, lengths):
    states, _ = rnn(embedding(src))
    N, S, H = states.shape
    real = torch.arange(S, device=src.device)[None, :] < lengths[:, None]
    context = states[torch.arange(N, device=src.device), lengths]  # lengths, not lengths - 1: one pad step read
    return states * real[..., None], context


def encode_h_n_unsqueezed(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out_packed, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=src.shape[1])
    return outputs, h_n  # (1, N, H)


def encode_sorted_not_restored(embedding, rnn, src, lengths):
    order = torch.argsort(lengths, descending=True)
    packed = pack_padded_sequence(embedding(src[order]), lengths[order].cpu(), batch_first=True)
    out_packed, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[0]  # rows left in the sorted order


def encode_mask_off_by_one(embedding, rnn, src, lengths):
    states, _ = rnn(embedding(src))
    N, S, H = states.shape
    keep = torch.arange(S, device=src.device)[None, :] <= lengths[:, None]  # keeps one padded step
    context = states[torch.arange(N, device=src.device), lengths - 1]
    return states * keep[..., None], context


# ---------------------------------------------------------------- context_gates
def _E(cell):
    return cell.weight_ih.shape[1] - cell.hidden_size


def context_gates_linear(cell, context):
    return F.linear(context, cell.weight_ih[:, -cell.hidden_size :], cell.bias_ih)


def context_gates_addmm(cell, context):
    W_c = cell.weight_ih[:, _E(cell) :]  # (3H, H): the columns that multiplied c in [e; c]
    return torch.addmm(cell.bias_ih, context, W_c.t())


def context_gates_zero_embedding(cell, context):
    zeros = context.new_zeros(context.shape[0], _E(cell))  # [0; c]: the e block contributes nothing
    return F.linear(torch.cat([zeros, context], dim=1), cell.weight_ih, cell.bias_ih)


def context_gates_first_H_columns(cell, context):
    H = cell.hidden_size
    return context @ cell.weight_ih[:, :H].T + cell.bias_ih  # "c is H wide": the first H columns


def context_gates_embedding_block(cell, context):
    return context @ cell.weight_ih[:, : _E(cell)].T + cell.bias_ih  # the block that multiplies e


def context_gates_no_bias(cell, context):
    return context @ cell.weight_ih[:, _E(cell) :].T


def context_gates_both_biases(cell, context):
    return context @ cell.weight_ih[:, _E(cell) :].T + cell.bias_ih + cell.bias_hh  # bias_hh belongs to the h side


def context_gates_weight_hh(cell, context):
    return context @ cell.weight_hh.T + cell.bias_ih  # weight_hh is (3H, H) too


def context_gates_bias_hh(cell, context):
    return context @ cell.weight_ih[:, _E(cell) :].T + cell.bias_hh


def context_gates_sigmoid(cell, context):
    return torch.sigmoid(context @ cell.weight_ih[:, _E(cell) :].T + cell.bias_ih)  # "gates": activated too early


def context_gates_transposed(cell, context):
    return cell.weight_ih[:, _E(cell) :] @ context.T + cell.bias_ih[:, None]  # (3H, N)


def context_gates_no_grad(cell, context):
    with torch.no_grad():  # "computed once": cut from the graph, W_c, bias_ih and the encoder never learn
        return context @ cell.weight_ih[:, _E(cell) :].T + cell.bias_ih


# ---------------------------------------------------------------- decoder_step (correct)
def decoder_step_chunks(embedding, cell, out, y_prev, h, gates_c):
    E = embedding.embedding_dim
    gi = embedding(y_prev) @ cell.weight_ih[:, :E].T + gates_c
    gh = h @ cell.weight_hh.T + cell.bias_hh
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    h_new = (1 - z) * n + z * h
    return out(h_new), h_new


def decoder_step_row_blocks(embedding, cell, out, y_prev, h, gates_c):
    H, E = cell.hidden_size, embedding.embedding_dim
    e = F.embedding(y_prev, embedding.weight)
    blocks = [slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)]
    pre = [F.linear(e, cell.weight_ih[b, :E]) + gates_c[:, b] for b in blocks]
    hid = [F.linear(h, cell.weight_hh[b], cell.bias_hh[b]) for b in blocks]
    r = torch.sigmoid(pre[0] + hid[0])
    z = torch.sigmoid(pre[1] + hid[1])
    n = torch.tanh(pre[2] + r * hid[2])
    h_new = torch.lerp(n, h, z)  # n + z (h - n) = (1 - z) n + z h
    return F.linear(h_new, out.weight, out.bias), h_new


def decoder_step_projected_table(embedding, cell, out, y_prev, h, gates_c):
    E, H = embedding.embedding_dim, cell.hidden_size
    table = embedding.weight @ cell.weight_ih[:, :E].T  # (V, 3H): every token's input gates, then a lookup
    gi = table[y_prev] + gates_c
    gh = torch.addmm(cell.bias_hh, h, cell.weight_hh.T)
    r, z = torch.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H]).split(H, dim=1)
    n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    h_new = h + (1 - z) * (n - h)
    return out(h_new), h_new


# ---------------------------------------------------------------- decoder_step (mistakes)
def _step(
    embedding,
    cell,
    out,
    y_prev,
    h,
    gates_c,
    order=(0, 1, 2),
    reset="after",
    extra_ih=False,
    bias_hh=True,
    logits_from="new",
    e_block="first",
    update="pytorch",
    b_hn="inside",
):
    E, H = embedding.embedding_dim, cell.hidden_size
    W_e = cell.weight_ih[:, :E] if e_block == "first" else cell.weight_ih[:, H:]
    gi = embedding(y_prev) @ W_e.T + gates_c + (cell.bias_ih if extra_ih else 0)
    W_hh = cell.weight_hh
    b = cell.bias_hh if bias_hh else torch.zeros_like(cell.bias_hh)
    parts_i = gi.chunk(3, dim=1)
    r_i, z_i, n_i = (parts_i[k] for k in order)
    W_r, W_z, W_n = (W_hh.chunk(3, dim=0)[k] for k in order)
    b_r, b_z, b_n = (b.chunk(3)[k] for k in order)
    r = torch.sigmoid(r_i + h @ W_r.T + b_r)
    z = torch.sigmoid(z_i + h @ W_z.T + b_z)
    if reset == "before":
        n = torch.tanh(n_i + (r * h) @ W_n.T + b_n)
    elif b_hn == "outside":
        n = torch.tanh(n_i + r * (h @ W_n.T) + b_n)
    else:
        n = torch.tanh(n_i + r * (h @ W_n.T + b_n))
    h_new = (1 - z) * n + z * h if update == "pytorch" else z * n + (1 - z) * h
    return out(h_new if logits_from == "new" else h), h_new


def decoder_step_gates_zrn(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, order=(1, 0, 2))


def decoder_step_reset_before(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, reset="before")


def decoder_step_bias_ih_twice(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, extra_ih=True)


def decoder_step_bias_hh_missing(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, bias_hh=False)


def decoder_step_logits_old_state(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, logits_from="old")


def decoder_step_context_columns(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, e_block="last")


def decoder_step_update_swapped(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, update="article")


def decoder_step_b_hn_outside(embedding, cell, out, y_prev, h, gates_c):
    return _step(embedding, cell, out, y_prev, h, gates_c, b_hn="outside")


def decoder_step_log_softmax(embedding, cell, out, y_prev, h, gates_c):
    logits, h_new = _step(embedding, cell, out, y_prev, h, gates_c)
    return F.log_softmax(logits, dim=-1), h_new


def decoder_step_detached_state(embedding, cell, out, y_prev, h, gates_c):
    logits, h_new = _step(embedding, cell, out, y_prev, h, gates_c)
    return logits, h_new.detach()  # "the state is only carried": no gradient through time


def _c(exercise, kind, name, what, fn):
    return dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn)


CASES = [
    _c(
        "encode",
        "correct",
        "pack_unpack",
        "pack (enforce_sorted=False, lengths.cpu()), unpack with total_length=S, h_n[-1].",
        encode_pack_unpack,
    ),
    _c(
        "encode",
        "correct",
        "gather_and_mask",
        "GRU over the padded batch, masked_fill past the lengths, gather at lengths - 1.",
        encode_gather_and_mask,
    ),
    _c(
        "encode",
        "correct",
        "sort_and_restore",
        "sorts by length, packs sorted, restores the order with the inverse permutation.",
        encode_sort_and_restore,
    ),
    _c(
        "encode",
        "mistake",
        "no_packing",
        "no packing: h_n and the padded steps have read the padding.",
        encode_no_packing,
    ),
    _c("encode", "mistake", "last_column", "context = outputs[:, -1] of the unpacked tensor.", encode_last_column),
    _c(
        "encode",
        "mistake",
        "no_total_length",
        "pad_packed_sequence without total_length: max(lengths) columns.",
        encode_no_total_length,
    ),
    _c(
        "encode",
        "mistake",
        "enforce_sorted",
        "keeps enforce_sorted=True: raises on unsorted lengths.",
        encode_enforce_sorted,
    ),
    _c(
        "encode",
        "mistake",
        "gather_unmasked",
        "right context by a gather, outputs not zeroed at the padded steps.",
        encode_gather_unmasked,
    ),
    _c(
        "encode",
        "mistake",
        "gather_at_length",
        "gather route, context read at step lengths instead of lengths - 1 (a pad step read; out of range for a full row).",
        encode_gather_at_length,
    ),
    _c("encode", "mistake", "h_n_unsqueezed", "returns h_n (1, N, H) as the context.", encode_h_n_unsqueezed),
    _c(
        "encode",
        "mistake",
        "sorted_not_restored",
        "sorts the batch for packing and returns it in the sorted order.",
        encode_sorted_not_restored,
    ),
    _c(
        "encode",
        "mistake",
        "mask_off_by_one",
        "gather route, mask t <= lengths: one padded step kept.",
        encode_mask_off_by_one,
    ),
    _c(
        "context_gates",
        "correct",
        "linear_last_columns",
        "F.linear(context, weight_ih[:, -H:], bias_ih).",
        context_gates_linear,
    ),
    _c("context_gates", "correct", "addmm", "torch.addmm(bias_ih, context, weight_ih[:, E:].T).", context_gates_addmm),
    _c(
        "context_gates",
        "correct",
        "zero_embedding",
        "F.linear of [0; c] with the whole weight_ih and bias_ih.",
        context_gates_zero_embedding,
    ),
    _c(
        "context_gates",
        "mistake",
        "first_H_columns",
        "weight_ih[:, :H]: the first H columns.",
        context_gates_first_H_columns,
    ),
    _c(
        "context_gates",
        "mistake",
        "embedding_block",
        "weight_ih[:, :E]: the block that multiplies e.",
        context_gates_embedding_block,
    ),
    _c("context_gates", "mistake", "no_bias", "bias_ih left out.", context_gates_no_bias),
    _c("context_gates", "mistake", "both_biases", "bias_ih + bias_hh.", context_gates_both_biases),
    _c(
        "context_gates",
        "mistake",
        "weight_hh",
        "context @ weight_hh.T (the (3H, H) matrix of the state).",
        context_gates_weight_hh,
    ),
    _c("context_gates", "mistake", "bias_hh_instead", "bias_hh instead of bias_ih.", context_gates_bias_hh),
    _c("context_gates", "mistake", "sigmoid_applied", "applies the sigmoid to the gates.", context_gates_sigmoid),
    _c("context_gates", "mistake", "transposed", "W_c @ context.T: (3H, N).", context_gates_transposed),
    _c(
        "context_gates",
        "mistake",
        "no_grad",
        "computed under torch.no_grad(): cut from the graph.",
        context_gates_no_grad,
    ),
    _c(
        "decoder_step",
        "correct",
        "chunks",
        "two products, chunk(3) each, PyTorch's GRU equations, out(h_new).",
        decoder_step_chunks,
    ),
    _c(
        "decoder_step",
        "correct",
        "row_blocks_lerp",
        "per-gate row blocks with F.linear, torch.lerp(n, h, z).",
        decoder_step_row_blocks,
    ),
    _c(
        "decoder_step",
        "correct",
        "projected_table",
        "embedding.weight @ W_e.T as a (V, 3H) table indexed by y_prev, addmm, h + (1 - z)(n - h).",
        decoder_step_projected_table,
    ),
    _c("decoder_step", "mistake", "gates_zrn", "reads the blocks in the order z, r, n.", decoder_step_gates_zrn),
    _c(
        "decoder_step",
        "mistake",
        "reset_before_product",
        "Cho's candidate: (r * h) @ W_hn.T + b_hn.",
        decoder_step_reset_before,
    ),
    _c(
        "decoder_step",
        "mistake",
        "bias_ih_twice",
        "adds bias_ih again although gates_c holds it.",
        decoder_step_bias_ih_twice,
    ),
    _c("decoder_step", "mistake", "bias_hh_missing", "bias_hh left out.", decoder_step_bias_hh_missing),
    _c(
        "decoder_step",
        "mistake",
        "logits_from_old_state",
        "logits = out(h) instead of out(h_new).",
        decoder_step_logits_old_state,
    ),
    _c(
        "decoder_step",
        "mistake",
        "embedding_with_last_columns",
        "e multiplied by weight_ih[:, H:] (the blocks swapped; runs when E = H).",
        decoder_step_context_columns,
    ),
    _c(
        "decoder_step",
        "mistake",
        "update_swapped",
        "the article's update z * n + (1 - z) * h.",
        decoder_step_update_swapped,
    ),
    _c(
        "decoder_step",
        "mistake",
        "b_hn_outside_reset",
        "r * (h @ W_hn.T) + b_hn: b_hn not reset.",
        decoder_step_b_hn_outside,
    ),
    _c(
        "decoder_step",
        "mistake",
        "log_softmax",
        "returns log-probabilities instead of raw scores.",
        decoder_step_log_softmax,
    ),
    _c(
        "decoder_step",
        "mistake",
        "detached_state",
        "returns h_new.detach(): no gradient through time.",
        decoder_step_detached_state,
    ),
]
