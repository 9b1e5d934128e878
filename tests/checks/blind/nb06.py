# ruff: noqa: F811, F841
# Copied from the independent blind suite (written from the learner notebooks' text only), reformatted by ruff; see README.md.
"""Blind suite for notebook 06_seq2seq: realistic wrong and correct-alternative implementations."""

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

NB = "06_seq2seq"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
CASES = []


def case(exercise, kind, name, what):
    def deco(fn):
        CASES.append(dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn))
        return fn

    return deco


# ---------------------------------------------------------------- encode
@case(
    "encode",
    "correct",
    "no_pack_gather",
    "Runs the GRU on the padded batch (it is causal) and gathers the state at lengths - 1 for the context.",
)
def encode(embedding, rnn, src, lengths):
    # ported to the contract of issue 23 (outputs exactly 0 at padded steps): the padded steps are zeroed
    outputs, _ = rnn(embedding(src))
    idx = (lengths.to(src.device) - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
    real = torch.arange(src.shape[1], device=src.device)[None, :] < lengths.to(src.device)[:, None]
    return outputs * real[..., None], outputs.gather(1, idx).squeeze(1)


@case("encode", "correct", "pack_hn_cpu_lengths", "Packs with lengths.cpu(), pads back to S, context = h_n[-1].")
def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[-1]


@case(
    "encode",
    "correct",
    "per_row_loop",
    "Runs the GRU on each row's real prefix separately and writes its states into a zero tensor.",
)
def encode(embedding, rnn, src, lengths):
    N, S = src.shape
    rows, contexts = [], []
    for n in range(N):
        L = int(lengths[n])
        out_n, h_n = rnn(embedding(src[n : n + 1, :L]))
        rows.append(F.pad(out_n[0], (0, 0, 0, S - L)))
        contexts.append(h_n[0, 0])
    return torch.stack(rows), torch.stack(contexts)


@case(
    "encode",
    "mistake",
    "no_packing",
    "I run the GRU on the padded batch and use h_n as the context, so short rows read the padding.",
)
def encode(embedding, rnn, src, lengths):
    outputs, h_n = rnn(embedding(src))
    return outputs, h_n[0]


@case(
    "encode",
    "mistake",
    "context_last_column",
    "I pack correctly but take outputs[:, -1] as the context (zeros for short rows).",
)
def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, outputs[:, -1]


@case(
    "encode",
    "mistake",
    "no_total_length",
    "I call pad_packed_sequence without total_length, so outputs has max(lengths) columns, not S.",
)
def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True)
    return outputs, h_n[0]


@case(
    "encode",
    "mistake",
    "enforce_sorted_default",
    "I left enforce_sorted at its default (True), which needs the rows sorted by length.",
)
def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[0]


@case(
    "encode",
    "mistake",
    "lengths_on_device",
    "I pass lengths as they are to pack_padded_sequence (fails when they live on the GPU).",
)
def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[0]


@case("encode", "mistake", "context_keeps_layer_axis", "I return h_n as the context, shape (1, N, H).")
def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, h_n


@case(
    "encode",
    "mistake",
    "context_at_lengths",
    "Without packing, I read the context at outputs[n, lengths[n]] (one past the last real token).",
)
def encode(embedding, rnn, src, lengths):
    outputs, _ = rnn(embedding(src))
    idx = lengths.to(src.device).clamp(max=src.shape[1] - 1)
    return outputs, outputs[torch.arange(src.shape[0], device=src.device), idx]


# ---------------------------------------------------------------- decoder_step
# Exercise 2 now computes the step from the cell's parameters (2a context_gates once per sentence, 2b decoder_step
# per step, given gates_c; calling the cell raises; issue 23). The blind cases below are the blind suite's ideas
# carried over to that contract by the course's authors (not blind): each keeps its mistake, on the new step.
def _gru_from_weights(e, cell, h, gates_c, W_e=None, hidden_side=None):
    """s_t from the embedding e, the state h and gates_c, by nn.GRUCell's documented equations (r, z, n)."""
    W_e = cell.weight_ih[:, : e.shape[1]] if W_e is None else W_e
    gi = F.linear(e, W_e) + gates_c
    gh = F.linear(h, cell.weight_hh, cell.bias_hh) if hidden_side is None else hidden_side
    H = h.shape[1]
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1 - z) * n + z * h


@case(
    "decoder_step",
    "correct",
    "F_linear_hstack",
    "F.linear for the gates' products, torch.hstack of the three gates' inputs, F.linear with out's weight and bias.",
)
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    H = h.shape[1]
    W_hr, W_hz, W_hn = cell.weight_hh.split(H)
    b_hr, b_hz, b_hn = cell.bias_hh.split(H)
    gh = torch.hstack([F.linear(h, W_hr, b_hr), F.linear(h, W_hz, b_hz), F.linear(h, W_hn, b_hn)])
    h_new = _gru_from_weights(embedding(y_prev), cell, h, gates_c, hidden_side=gh)
    return F.linear(h_new, out.weight, out.bias), h_new


@case("decoder_step", "correct", "F_embedding", "F.embedding with the module's weight, the gates by chunk(3).")
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    e = F.embedding(y_prev, embedding.weight, padding_idx=embedding.padding_idx)
    i_r, i_z, i_n = (e @ cell.weight_ih[:, : e.shape[1]].T + gates_c).chunk(3, 1)
    h_r, h_z, h_n = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    h_new = n + z * (h - n)
    return out(h_new), h_new


@case(
    "decoder_step",
    "mistake",
    "cat_order_swapped",
    "I took [context, embedding] as the input order: the embedding's block is the last E columns of weight_ih.",
)
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    e = embedding(y_prev)
    h_new = _gru_from_weights(e, cell, h, gates_c, W_e=cell.weight_ih[:, -e.shape[1] :])
    return out(h_new), h_new


@case("decoder_step", "mistake", "softmax_logits", "I return softmax probabilities instead of raw logits.")
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    h_new = _gru_from_weights(embedding(y_prev), cell, h, gates_c)
    return torch.softmax(out(h_new), dim=-1), h_new


@case("decoder_step", "mistake", "logits_from_old_state", "I compute the logits from h, the state before the step.")
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    h_new = _gru_from_weights(embedding(y_prev), cell, h, gates_c)
    return out(h), h_new


@case(
    "decoder_step",
    "mistake",
    "context_as_state",
    "I swap the roles of the context and the state: gates_c on the hidden side, the state's product on the input side.",
)
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    state_side = F.linear(h, cell.weight_hh, cell.bias_hh)  # where gates_c belongs
    h_new = _gru_from_weights(embedding(y_prev), cell, h, state_side, hidden_side=gates_c)
    return out(h_new), h_new


@case("decoder_step", "mistake", "log_softmax", "I return log_softmax scores (I thought the loss needs them).")
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    h_new = _gru_from_weights(embedding(y_prev), cell, h, gates_c)
    return F.log_softmax(out(h_new), dim=-1), h_new


@case("decoder_step", "mistake", "returns_h_old", "I return the old state h instead of h_new.")
def decoder_step(embedding, cell, out, y_prev, h, gates_c):
    h_new = _gru_from_weights(embedding(y_prev), cell, h, gates_c)
    return out(h_new), h


# ---------------------------------------------------------------- decode_train
def _dt(
    decoder,
    context,
    tgt,
    teacher_forcing,
    generator,
    *,
    feed_current=False,
    coin_at_0=False,
    all_coins=False,
    invert=False,
    reset_h=False,
    per_batch=False,
    no_gen=False,
    bos_first=True,
):
    N, T = tgt.shape
    h = context
    y = torch.full((N,), BOS_ID, dtype=torch.long, device=tgt.device)
    if not bos_first:
        y = tgt[:, 0]
    coins = torch.rand(N, T, generator=generator) if all_coins else None
    outs = []
    for t in range(T):
        if t > 0 or coin_at_0:
            if all_coins:
                u = coins[:, t]
            elif per_batch:
                u = torch.rand(1, generator=generator).expand(N)
            elif no_gen:
                u = torch.rand(N)
            else:
                u = torch.rand(N, generator=generator)
            use_truth = (u >= teacher_forcing) if invert else (u < teacher_forcing)
            use_truth = use_truth.to(tgt.device)
            truth = tgt[:, t] if feed_current else tgt[:, max(t - 1, 0)]
            own = outs[-1].argmax(-1) if outs else y
            y = torch.where(use_truth, truth, own) if (t > 0 or not coin_at_0) else torch.where(use_truth, y, y)
        logits, h = decoder(y, context if reset_h else h, context)
        outs.append(logits)
    return torch.stack(outs, 1)


@case(
    "decode_train",
    "correct",
    "prealloc_where",
    "Preallocates the (N, T, V) logits after the first step and mixes tokens with torch.where.",
)
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    N, T = tgt.shape
    y = tgt.new_full((N,), BOS_ID)
    h = context
    logits_all = None
    for t in range(T):
        if t > 0:
            use_truth = (torch.rand(N, generator=generator) < teacher_forcing).to(tgt.device)
            y = torch.where(use_truth, tgt[:, t - 1], logits_all[:, t - 1].argmax(dim=-1))
        logits, h = decoder(y, h, context)
        if logits_all is None:
            logits_all = logits.new_empty(N, T, logits.shape[-1])
        logits_all[:, t] = logits
    return logits_all


@case(
    "decode_train",
    "correct",
    "mask_arith",
    "Mixes truth and prediction with long arithmetic (m * truth + (1 - m) * pred); list + stack.",
)
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    N, T = tgt.shape
    y = torch.full_like(tgt[:, 0], BOS_ID)
    h, outs = context, []
    for t in range(T):
        if t:
            m = (torch.rand(N, generator=generator) < teacher_forcing).long().to(tgt.device)
            y = m * tgt[:, t - 1] + (1 - m) * outs[-1].argmax(-1)
        logits, h = decoder(y, h, context)
        outs.append(logits)
    return torch.stack(outs, dim=1)


@case("decode_train", "mistake", "feeds_current_target", "I feed tgt[:, t] at step t (the very token it must predict).")
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, feed_current=True)


@case(
    "decode_train",
    "mistake",
    "all_coins_upfront",
    "I draw all the coins at once with torch.rand(N, T) before the loop.",
)
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, all_coins=True)


@case("decode_train", "mistake", "coin_inverted", "use_truth = rand >= teacher_forcing: I inverted the comparison.")
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, invert=True)


@case(
    "decode_train",
    "mistake",
    "state_reset",
    "I pass context as the state at every step, so the decoder state is not carried.",
)
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, reset_h=True)


@case("decode_train", "mistake", "one_coin_per_batch", "I draw one coin per step for the whole batch, not one per row.")
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, per_batch=True)


@case("decode_train", "mistake", "generator_ignored", "I call torch.rand(N) without the generator.")
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, no_gen=True)


@case("decode_train", "mistake", "first_target_not_bos", "Step 0 is fed tgt[:, 0] instead of BOS_ID.")
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, bos_first=False)


@case("decode_train", "mistake", "coin_at_step0", "I also draw a coin at step 0 (T coins per row instead of T - 1).")
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    return _dt(decoder, context, tgt, teacher_forcing, generator, coin_at_0=True)


@case(
    "decode_train",
    "mistake",
    "shifted_logits",
    "I return the logits shifted: a final extra step appended, the first dropped.",
)
def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    N, T = tgt.shape
    y = torch.full((N,), BOS_ID, dtype=torch.long, device=tgt.device)
    h, outs = context, []
    for t in range(T + 1):
        if t > 0:
            use_truth = (torch.rand(N, generator=generator) < teacher_forcing).to(tgt.device)
            y = torch.where(use_truth, tgt[:, t - 1], outs[-1].argmax(-1))
        logits, h = decoder(y, h, context)
        outs.append(logits)
    return torch.stack(outs[1:], 1)


# ---------------------------------------------------------------- masked_cross_entropy
@case(
    "masked_cross_entropy",
    "correct",
    "transpose_ignore_index",
    "F.cross_entropy(logits.transpose(1, 2), tgt, ignore_index=pad_id).",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    return F.cross_entropy(logits.transpose(1, 2), tgt, ignore_index=pad_id)


@case(
    "masked_cross_entropy",
    "correct",
    "nll_none_masked",
    "F.nll_loss(reduction='none') on clamped targets, masked sum / mask count.",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    V = logits.shape[-1]
    mask = (tgt != pad_id).reshape(-1)
    safe = torch.where(mask, tgt.reshape(-1), torch.zeros_like(tgt.reshape(-1)))
    nll = F.nll_loss(F.log_softmax(logits.reshape(-1, V), -1), safe, reduction="none")
    return (nll * mask).sum() / mask.sum()


@case(
    "masked_cross_entropy",
    "correct",
    "boolean_select",
    "Selects the real positions with a boolean index, then a plain cross_entropy mean.",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    keep = tgt != pad_id
    return F.cross_entropy(logits[keep], tgt[keep])


@case("masked_cross_entropy", "mistake", "pad_included", "I average over every position, the padding included.")
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    V = logits.shape[-1]
    lp = F.log_softmax(logits, -1).gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -lp.mean()


@case("masked_cross_entropy", "mistake", "mean_of_row_sums", "I sum each row's losses and average over rows.")
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    mask = tgt != pad_id
    lp = F.log_softmax(logits, -1).gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(lp * mask).sum(1).mean()


@case(
    "masked_cross_entropy",
    "mistake",
    "ignore_index_hardcoded",
    "I wrote ignore_index=PAD_ID (0) instead of the pad_id argument.",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=PAD_ID)


@case(
    "masked_cross_entropy",
    "mistake",
    "gather_negative_pad",
    "I gather at the raw targets before masking (breaks for pad_id = -100).",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    mask = tgt != pad_id
    lp = F.log_softmax(logits, -1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    return -(lp * mask).sum() / mask.sum()


@case(
    "masked_cross_entropy",
    "mistake",
    "wrong_class_axis",
    "I passed (N, T, V) logits to F.cross_entropy directly; it reads dim 1 as the classes.",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    N, T, V = logits.shape
    return F.cross_entropy(logits.reshape(N, V, T), tgt, ignore_index=pad_id)


@case(
    "masked_cross_entropy",
    "mistake",
    "detached_item",
    "I return torch.tensor(loss.item()), which is cut from the graph.",
)
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=pad_id)
    return torch.tensor(loss.item())


@case("masked_cross_entropy", "mistake", "divide_by_NT", "I sum over real positions but divide by N*T.")
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=pad_id, reduction="sum")
    return loss / tgt.numel()


@case("masked_cross_entropy", "mistake", "mask_inverted", "My mask keeps the positions where tgt == pad_id.")
def masked_cross_entropy(logits, tgt, pad_id=PAD_ID):
    mask = tgt == pad_id
    lp = F.log_softmax(logits, -1).gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -(lp * mask).sum() / mask.sum().clamp(min=1)


# ---------------------------------------------------------------- greedy_decode
@case(
    "greedy_decode",
    "correct",
    "post_process_cumsum",
    "Runs with a finished mask for stopping, then pads after the first EOS with a cumsum trick.",
)
def greedy_decode(decoder, context, max_len):
    N = context.shape[0]
    y = torch.full((N,), BOS_ID, dtype=torch.long, device=context.device)
    h, toks = context, []
    done = torch.zeros(N, dtype=torch.bool, device=context.device)
    for _ in range(max_len):
        logits, h = decoder(y, h, context)
        y = logits.argmax(-1)
        toks.append(y)
        done = done | (y == EOS_ID)
        if bool(done.all()):
            break
    ids = torch.stack(toks, 1)
    is_eos = (ids == EOS_ID).long()
    after = (is_eos.cumsum(1) - is_eos) > 0  # strictly after the first EOS
    return ids.masked_fill(after, PAD_ID)


@case(
    "greedy_decode",
    "correct",
    "feed_pad_for_finished",
    "Feeds PAD to finished rows (their tokens are ignored anyway) and writes PAD for them.",
)
def greedy_decode(decoder, context, max_len):
    N = context.shape[0]
    y = context.new_full((N,), BOS_ID, dtype=torch.long)
    h = context
    finished = torch.zeros(N, dtype=torch.bool, device=context.device)
    cols = []
    for _ in range(max_len):
        logits, h = decoder(y, h, context)
        tok = logits.argmax(dim=1)
        tok = torch.where(finished, torch.full_like(tok, PAD_ID), tok)
        cols.append(tok)
        finished = finished | (tok == EOS_ID)
        y = tok
        if finished.all():
            break
    return torch.stack(cols, dim=1)


def _gd(
    decoder,
    context,
    max_len,
    *,
    stop="all",
    pad_after=True,
    include_eos=True,
    feed_bos=False,
    carry_h=True,
    extra_step=False,
):
    N = context.shape[0]
    y = torch.full((N,), BOS_ID, dtype=torch.long, device=context.device)
    h, cols = context, []
    finished = torch.zeros(N, dtype=torch.bool, device=context.device)
    for _ in range(max_len):
        logits, h_new = decoder(y, h, context)
        h = h_new if carry_h else context
        pred = logits.argmax(-1)
        is_eos = pred == EOS_ID
        tok = pred.clone()
        if pad_after:
            tok[finished] = PAD_ID
        if not include_eos:
            tok[is_eos & ~finished] = PAD_ID
        cols.append(tok)
        finished = finished | is_eos
        y = torch.full_like(pred, BOS_ID) if feed_bos else pred
        if stop == "all" and finished.all() and not extra_step:
            break
        if stop == "any" and finished.any():
            break
        if extra_step and finished.all():
            extra_step = False
            continue
    return torch.stack(cols, 1)


@case("greedy_decode", "mistake", "never_stops_early", "I always run max_len steps, even when every row has ended.")
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, stop="never")


@case(
    "greedy_decode", "mistake", "no_pad_after_eos", "I keep the argmax tokens after a row's EOS instead of writing PAD."
)
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, pad_after=False)


@case("greedy_decode", "mistake", "eos_excluded", "I write PAD in place of the EOS too (the row ends before its EOS).")
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, include_eos=False)


@case("greedy_decode", "mistake", "stops_at_first_finished", "I stop as soon as any row emits EOS.")
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, stop="any")


@case(
    "greedy_decode",
    "mistake",
    "feeds_bos_every_step",
    "I feed BOS_ID at every step instead of the previous prediction.",
)
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, feed_bos=True)


@case("greedy_decode", "mistake", "state_not_carried", "I pass the context as the state at every step.")
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, carry_h=False)


@case(
    "greedy_decode", "mistake", "one_extra_step", "My loop checks 'all finished' one step late, adding a column of PAD."
)
def greedy_decode(decoder, context, max_len):
    return _gd(decoder, context, max_len, extra_step=True)


@case("greedy_decode", "mistake", "stops_on_pad_token", "I also treat a predicted PAD_ID as the end of a row.")
def greedy_decode(decoder, context, max_len):
    N = context.shape[0]
    y = torch.full((N,), BOS_ID, dtype=torch.long, device=context.device)
    h, cols = context, []
    finished = torch.zeros(N, dtype=torch.bool, device=context.device)
    for _ in range(max_len):
        logits, h = decoder(y, h, context)
        pred = logits.argmax(-1)
        cols.append(torch.where(finished, torch.full_like(pred, PAD_ID), pred))
        finished = finished | (pred == EOS_ID) | (pred == PAD_ID)
        y = pred
        if finished.all():
            break
    return torch.stack(cols, 1)


# ---------------------------------------------------------------- sequence_accuracy
def _pad_to(x, T, pad_id):
    return F.pad(x, (0, T - x.shape[1]), value=pad_id)


@case(
    "sequence_accuracy",
    "correct",
    "F_pad_both",
    "F.pad both to the wider width; exact from .all(1); token from a masked sum.",
)
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = max(pred.shape[1], tgt.shape[1])
    p, t = _pad_to(pred, T, pad_id), _pad_to(tgt.to(pred.device), T, pad_id)
    exact = (p == t).all(dim=1).float().mean().item()
    real = t != pad_id
    token = ((p == t) & real).sum().item() / real.sum().item()
    return float(exact), float(token)


@case("sequence_accuracy", "correct", "python_lists", "Pure Python over tolist() rows, padding with lists.")
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    P, Tt = pred.tolist(), tgt.tolist()
    width = max(len(P[0]) if P else 0, len(Tt[0]) if Tt else 0)
    exact_rows, right, total = 0, 0, 0
    for p, t in zip(P, Tt):
        p = p + [pad_id] * (width - len(p))
        t = t + [pad_id] * (width - len(t))
        exact_rows += p == t
        for a, b in zip(p, t):
            if b != pad_id:
                total += 1
                right += a == b
    return exact_rows / len(Tt), right / total


@case("sequence_accuracy", "mistake", "token_counts_pad", "My token accuracy counts the padded positions too.")
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = max(pred.shape[1], tgt.shape[1])
    p, t = _pad_to(pred, T, pad_id), _pad_to(tgt, T, pad_id)
    return float((p == t).all(1).float().mean()), float((p == t).float().mean())


@case(
    "sequence_accuracy",
    "mistake",
    "truncate_to_min",
    "I cut both to the narrower width instead of padding the narrower one.",
)
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = min(pred.shape[1], tgt.shape[1])
    p, t = pred[:, :T], tgt[:, :T]
    real = t != pad_id
    return float((p == t).all(1).float().mean()), float(((p == t) & real).sum() / real.sum())


@case("sequence_accuracy", "mistake", "no_padding", "I compare pred == tgt directly (fails when the widths differ).")
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    eq = pred == tgt
    real = tgt != pad_id
    return float(eq.all(1).float().mean()), float((eq & real).sum() / real.sum())


@case(
    "sequence_accuracy",
    "mistake",
    "exact_is_token_mean",
    "My exact match is the mean over rows of each row's share of right tokens.",
)
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = max(pred.shape[1], tgt.shape[1])
    p, t = _pad_to(pred, T, pad_id), _pad_to(tgt, T, pad_id)
    real = t != pad_id
    per_row = ((p == t) & real).sum(1).float() / real.sum(1).clamp(min=1)
    return float(per_row.mean()), float(((p == t) & real).sum() / real.sum())


@case(
    "sequence_accuracy",
    "mistake",
    "token_over_pred_positions",
    "I divide the right tokens by the prediction's non-pad positions.",
)
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = max(pred.shape[1], tgt.shape[1])
    p, t = _pad_to(pred, T, pad_id), _pad_to(tgt, T, pad_id)
    real_t, real_p = t != pad_id, p != pad_id
    return float((p == t).all(1).float().mean()), float(((p == t) & real_t).sum() / real_p.sum().clamp(min=1))


@case("sequence_accuracy", "mistake", "returns_tensors", "I return the two values as 0-d tensors.")
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = max(pred.shape[1], tgt.shape[1])
    p, t = _pad_to(pred, T, pad_id), _pad_to(tgt, T, pad_id)
    real = t != pad_id
    return (p == t).all(1).float().mean(), ((p == t) & real).sum() / real.sum()


@case("sequence_accuracy", "mistake", "pad_hardcoded_zero", "I pad and mask with 0 instead of pad_id.")
def sequence_accuracy(pred, tgt, pad_id=PAD_ID):
    T = max(pred.shape[1], tgt.shape[1])
    p, t = _pad_to(pred, T, 0), _pad_to(tgt, T, 0)
    real = t != 0
    return float((p == t).all(1).float().mean()), float(((p == t) & real).sum() / real.sum())


# ---------------------------------------------------------------- beam_search
def _beam(
    decoder,
    context,
    k,
    max_len,
    alpha,
    *,
    per_hyp=False,
    reorder=True,
    finished_stay=False,
    stop_first=False,
    len_wo_eos=False,
    norm_in_prune=False,
    keep_bos=False,
    no_norm=False,
    probs=False,
    expand=True,
):
    dev = context.device
    live_tok = [[]]
    live_score = torch.zeros(1, dtype=torch.float64, device=dev)
    h = context
    y = torch.full((1,), BOS_ID, dtype=torch.long, device=dev)
    finished = []
    for _ in range(max_len):
        B = len(live_tok)
        logits, h_new = decoder(y, h, context.expand(B, -1) if expand else context)
        lp = torch.softmax(logits, -1) if probs else F.log_softmax(logits, -1)
        V = lp.shape[1]
        cand = live_score[:, None] + lp.double()
        if norm_in_prune:
            L = torch.tensor([len(t) + 1 for t in live_tok], dtype=torch.float64, device=dev)[:, None]
            rank = cand / L**alpha
        else:
            rank = cand
        if per_hyp:
            kk = min(k, V)
            _, top_i = rank.topk(kk, dim=1)
            hyp = torch.arange(B, device=dev)[:, None].expand(-1, kk).reshape(-1)
            tok = top_i.reshape(-1)
        else:
            _, idx = rank.reshape(-1).topk(min(k, rank.numel()))
            hyp, tok = idx // V, idx % V
        new_tok, new_score, keep = [], [], []
        for b, t in zip(hyp.tolist(), tok.tolist()):
            sc = cand[b, t]
            seq = live_tok[b] + [t]
            if t == EOS_ID:
                finished.append((seq, float(sc)))
                if not finished_stay:
                    continue
            new_tok.append(seq)
            new_score.append(sc)
            keep.append(b)
        live_tok = new_tok
        if stop_first and finished:
            live_tok = []
            break
        if not live_tok:
            break
        live_score = torch.stack(new_score)
        keep_t = torch.tensor(keep, device=dev)
        if reorder or h_new.shape[0] < len(keep):
            h = h_new[keep_t]
        else:
            h = h_new[: len(keep)]  # "the rows are already there"
        y = torch.tensor([q[-1] for q in live_tok], dtype=torch.long, device=dev)
    for seq, sc in zip(live_tok, live_score.tolist()):
        if not (finished_stay and seq[-1] == EOS_ID):
            finished.append((seq, float(sc)))

    def norm(item):
        seq, sc = item
        L = len(seq) - (1 if (len_wo_eos and seq[-1] == EOS_ID) else 0)
        return sc if no_norm else sc / max(L, 1) ** alpha

    best = max(finished, key=norm)
    toks = ([BOS_ID] if keep_bos else []) + best[0]
    return torch.tensor(toks, dtype=torch.long, device=dev), float(norm(best))


@case(
    "beam_search",
    "correct",
    "flat_topk_reference",
    "Flattened (B*V) candidate scores, topk, index // V and % V, states reordered with h_new[hyp].",
)
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha)


@case(
    "beam_search",
    "correct",
    "python_sort",
    "Builds every (score, hyp, token) candidate in Python and sorts by score (no topk), float64 scores.",
)
def beam_search(decoder, context, k, max_len, alpha=0.7):
    beams = [([], 0.0, context[0])]  # tokens, raw score, state
    finished = []
    for _ in range(max_len):
        B = len(beams)
        y = torch.tensor([b[0][-1] if b[0] else BOS_ID for b in beams], dtype=torch.long, device=context.device)
        h = torch.stack([b[2] for b in beams])
        logits, h_new = decoder(y, h, context.expand(B, -1))
        lp = F.log_softmax(logits.double(), dim=-1).tolist()
        cands = [(beams[b][1] + lp[b][v], b, v) for b in range(B) for v in range(len(lp[b]))]
        cands.sort(key=lambda c: -c[0])
        nxt = []
        for s, b, v in cands[: min(k, len(cands))]:
            seq = beams[b][0] + [v]
            if v == EOS_ID:
                finished.append((seq, s))
            else:
                nxt.append((seq, s, h_new[b]))
        beams = nxt
        if not beams:
            break
    finished += [(seq, s) for seq, s, _ in beams]
    seq, s = max(finished, key=lambda f: f[1] / len(f[0]) ** alpha)
    return torch.tensor(seq, dtype=torch.long, device=context.device), s / len(seq) ** alpha


@case(
    "beam_search",
    "mistake",
    "topk_per_hypothesis",
    "I take the top k tokens of each hypothesis and keep all of them (k*B candidates), not the k best overall.",
)
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, per_hyp=True)


@case(
    "beam_search",
    "mistake",
    "states_not_reordered",
    "I keep h_new in its old row order instead of gathering h_new[hypothesis].",
)
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, reorder=False)


@case(
    "beam_search",
    "mistake",
    "finished_stay_live",
    "A hypothesis that emits EOS stays in the beam and keeps being extended.",
)
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, finished_stay=True)


@case("beam_search", "mistake", "stop_at_first_eos", "I stop the search as soon as one hypothesis finishes.")
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, stop_first=True)


@case("beam_search", "mistake", "length_without_eos", "My length for the normalisation does not count the EOS.")
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, len_wo_eos=True)


@case(
    "beam_search",
    "correct",
    "normalised_pruning_equal_lengths",
    "Prunes by score / len**alpha: every candidate of a step has the same length, so the ranking equals the raw one.",
)
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, norm_in_prune=True)


@case("beam_search", "mistake", "keeps_bos", "My returned tokens start with BOS_ID.")
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, keep_bos=True)


@case("beam_search", "mistake", "no_length_norm", "I pick the final hypothesis by raw score and return the raw score.")
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, no_norm=True)


@case("beam_search", "mistake", "adds_probabilities", "I add softmax probabilities instead of log-probabilities.")
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, probs=True)


@case("beam_search", "mistake", "context_not_expanded", "I pass the (1, H) context as it is for B live hypotheses.")
def beam_search(decoder, context, k, max_len, alpha=0.7):
    return _beam(decoder, context, k, max_len, alpha, expand=False)
