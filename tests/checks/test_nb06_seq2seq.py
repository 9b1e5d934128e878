"""Does each notebook-06 check accept a correct implementation and name the typical mistakes?

The correct implementations here are written for the tests (not imported from the solution notebook), and
some differ in style from the notebook's on purpose (a greedy decoder that drops finished rows, a beam
search over a flat top-k), so a check is tested against more than one right answer.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.checks.nb06_seq2seq import (
    BEAM_SEARCH,
    DECODE_TRAIN,
    DECODER_STEP,
    ENCODE,
    GREEDY_DECODE,
    MASKED_CROSS_ENTROPY,
    SEQUENCE_ACCURACY,
    check_beam_search,
    check_decode_train,
    check_decoder_step,
    check_encode,
    check_greedy_decode,
    check_masked_cross_entropy,
    check_sequence_accuracy,
)
from tests.conftest import fails_with, stub

PAD, BOS, EOS = 0, 2, 3

ALL_CHECKS = [check_encode, check_decoder_step, check_decode_train, check_greedy_decode, check_sequence_accuracy,
              check_masked_cross_entropy, check_beam_search]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
def test_untouched_stub_fails_and_says_not_implemented(check):
    fails_with(check, stub, "not implemented yet")


# ------------------------------------------------------------------------------------------- encoder


def encode(embedding, rnn, src, lengths):
    packed = pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    return outputs, h_n[-1]


def encode_by_gather(embedding, rnn, src, lengths):
    """Another right answer: run over the padding, then read each row's state at its last real step."""
    outputs, _ = rnn(embedding(src))
    return outputs, outputs[torch.arange(len(src)), lengths - 1]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("fn", [encode, encode_by_gather])
def test_encode_accepts_correct(fn, hidden):
    check_encode(fn, hidden=hidden)


def test_encode_names_context_read_after_the_padding():
    def wrong(embedding, rnn, src, lengths):
        outputs, h_n = rnn(embedding(src))
        return outputs, h_n[-1]

    fails_with(check_encode, wrong, "context read after the padding")


def test_encode_names_last_column_as_context():
    def wrong(embedding, rnn, src, lengths):
        outputs, _ = rnn(embedding(src))
        return outputs, outputs[:, -1]

    fails_with(check_encode, wrong, "after the padding")


def test_encode_names_missing_total_length():
    def wrong(embedding, rnn, src, lengths):
        out, h_n = rnn(pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False))
        return pad_packed_sequence(out, batch_first=True)[0], h_n[-1]

    fails_with(check_encode, wrong, "total_length", hidden=True)


def test_encode_names_layer_dimension():
    fails_with(check_encode, lambda *a: (encode(*a)[0], encode(*a)[1][None]), r"h_n\[-1\]")


def test_encode_names_swapped_outputs():
    fails_with(check_encode, lambda *a: encode(*a)[::-1], r"order \(outputs, context\)")


def test_encode_names_packed_sequence_returned():
    def wrong(embedding, rnn, src, lengths):
        out, h_n = rnn(pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False))
        return out, h_n[-1]

    fails_with(check_encode, wrong, "PackedSequence")


# ------------------------------------------------------------------------------------------- decoder step


def decoder_step(embedding, cell, out, y_prev, h, context):
    h_new = cell(torch.cat([embedding(y_prev), context], dim=1), h)
    return out(h_new), h_new


@pytest.mark.parametrize("hidden", [False, True])
def test_decoder_step_accepts_correct(hidden):
    check_decoder_step(decoder_step, hidden=hidden)


def test_decoder_step_names_logits_from_old_state():
    def wrong(embedding, cell, out, y_prev, h, context):
        return out(h), cell(torch.cat([embedding(y_prev), context], 1), h)

    fails_with(check_decoder_step, wrong, "old state")


def test_decoder_step_names_softmax():
    def wrong(*args):
        logits, h = decoder_step(*args)
        return logits.softmax(-1), h

    fails_with(check_decoder_step, wrong, "raw logits")


def test_decoder_step_names_swapped_concatenation():
    def wrong(embedding, cell, out, y_prev, h, context):
        h_new = cell(torch.cat([context, embedding(y_prev)], 1), h)
        return out(h_new), h_new

    fails_with(check_decoder_step, wrong, "swapped", hidden=True)


def test_decoder_step_names_state_instead_of_context():
    def wrong(embedding, cell, out, y_prev, h, context):
        h_new = cell(torch.cat([embedding(y_prev), h], 1), h)
        return out(h_new), h_new

    fails_with(check_decoder_step, wrong, "state h where the context goes")


def test_decoder_step_names_old_state_returned():
    fails_with(check_decoder_step, lambda e, c, o, y, h, ctx: (decoder_step(e, c, o, y, h, ctx)[0], h), "old state h")


# ------------------------------------------------------------------------------------------- teacher forcing


def decode_train(decoder, context, tgt, teacher_forcing=1.0, generator=None):
    N, T = tgt.shape
    y_prev, h, steps = torch.full((N,), BOS), context, []
    for t in range(T):
        logits, h = decoder(y_prev, h, context)
        steps.append(logits)
        if t + 1 < T:
            truth = torch.rand(N, generator=generator) < teacher_forcing
            y_prev = torch.where(truth, tgt[:, t], logits.argmax(-1))
    return torch.stack(steps, dim=1)


@pytest.mark.parametrize("hidden", [False, True])
def test_decode_train_accepts_correct(hidden):
    check_decode_train(decode_train, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decode_train_accepts_correct_on_other_seeds(seed):
    DECODE_TRAIN.check(decode_train, hidden=True, seed=seed)


def test_decode_train_names_ground_truth_at_inference():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        return decode_train(decoder, context, tgt, 1.0, generator)

    fails_with(check_decode_train, wrong, "decoder fed the ground truth at inference")


def test_decode_train_names_inverted_coin():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        return decode_train(decoder, context, tgt, 1.0 - teacher_forcing, generator)

    fails_with(check_decode_train, wrong, "teacher forcing ratio not exact.*inverted")


def test_decode_train_names_one_coin_per_step():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        N, T = tgt.shape
        y_prev, h, steps = torch.full((N,), BOS), context, []
        for t in range(T):
            logits, h = decoder(y_prev, h, context)
            steps.append(logits)
            if t + 1 < T:
                truth = bool(torch.rand(1, generator=generator) < teacher_forcing)  # the whole batch at once
                y_prev = tgt[:, t] if truth else logits.argmax(-1)
        return torch.stack(steps, dim=1)

    fails_with(check_decode_train, wrong, "teacher forcing ratio not exact.*coins")


def test_decode_train_names_leaked_answer():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        h, steps = context, []
        for t in range(tgt.shape[1]):
            logits, h = decoder(tgt[:, t], h, context)
            steps.append(logits)
        return torch.stack(steps, 1)

    fails_with(check_decode_train, wrong, "answer leaks")


def test_decode_train_names_global_random_state():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        return decode_train(decoder, context, tgt, teacher_forcing, None)

    fails_with(check_decode_train, wrong, "cannot be repeated")


def test_decode_train_names_zero_initial_state():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        return decode_train(lambda y, h, c: decoder(y, h, c), context, tgt, teacher_forcing, generator) \
            if False else _with_state(decoder, context, tgt, teacher_forcing, generator, torch.zeros_like(context))

    fails_with(check_decode_train, wrong, "zero state")


def test_decode_train_names_state_given_as_context():
    def wrong(decoder, context, tgt, teacher_forcing=1.0, generator=None):
        return decode_train(lambda y, h, c: decoder(y, h, h), context, tgt, teacher_forcing, generator)

    fails_with(check_decode_train, wrong, "state h where it takes the context")


def _with_state(decoder, context, tgt, ratio, generator, h0):
    N, T = tgt.shape
    y_prev, h, steps = torch.full((N,), BOS), h0, []
    for t in range(T):
        logits, h = decoder(y_prev, h, context)
        steps.append(logits)
        if t + 1 < T:
            y_prev = torch.where(torch.rand(N, generator=generator) < ratio, tgt[:, t], logits.argmax(-1))
    return torch.stack(steps, 1)


# ------------------------------------------------------------------------------------------- greedy decoding


def greedy_decode(decoder, context, max_len):
    N = context.shape[0]
    y, h = torch.full((N,), BOS), context
    out, ended = [], torch.zeros(N, dtype=torch.bool)
    for _ in range(max_len):
        if ended.all():
            break
        logits, h = decoder(y, h, context)
        y = logits.argmax(-1)
        out.append(y.masked_fill(ended, PAD))
        ended |= y == EOS
    return torch.stack(out, 1) if out else torch.zeros(N, 0, dtype=torch.long)


def greedy_decode_shrinking(decoder, context, max_len):
    """Another right answer: only the rows still running are fed to the decoder."""
    N = context.shape[0]
    result = torch.full((N, max_len), PAD)
    alive, y, h, width = torch.arange(N), torch.full((N,), BOS), context, 0
    for t in range(max_len):
        if len(alive) == 0:
            break
        logits, h = decoder(y, h, context[alive])
        y = logits.argmax(-1)
        result[alive, t] = y
        width = t + 1
        keep = y != EOS
        alive, y, h = alive[keep], y[keep], h[keep]
    return result[:, :width]


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("fn", [greedy_decode, greedy_decode_shrinking])
def test_greedy_decode_accepts_correct(fn, hidden):
    check_greedy_decode(fn, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_greedy_decode_accepts_correct_on_other_seeds(seed):
    GREEDY_DECODE.check(greedy_decode, hidden=True, seed=seed)


def test_greedy_decode_names_never_stopping():
    def wrong(decoder, context, max_len):
        N = context.shape[0]
        y, h, out, ended = torch.full((N,), BOS), context, [], torch.zeros(N, dtype=torch.bool)
        for _ in range(max_len):
            logits, h = decoder(y, h, context)
            y = logits.argmax(-1)
            out.append(y.masked_fill(ended, PAD))
            ended |= y == EOS
        return torch.stack(out, 1)

    fails_with(check_greedy_decode, wrong, "never stopping")


def test_greedy_decode_names_not_padding_after_eos():
    def wrong(decoder, context, max_len):
        N = context.shape[0]
        y, h, out, ended = torch.full((N,), BOS), context, [], torch.zeros(N, dtype=torch.bool)
        for _ in range(max_len):
            logits, h = decoder(y, h, context)
            y = logits.argmax(-1)
            out.append(y)
            ended |= y == EOS
            if ended.all():
                break
        return torch.stack(out, 1)

    fails_with(check_greedy_decode, wrong, "not padding after eos")


def test_greedy_decode_names_end_token_never_emitted():
    def wrong(decoder, context, max_len):
        ids = greedy_decode(decoder, context, max_len)
        return ids.masked_fill(ids == EOS, PAD)

    fails_with(check_greedy_decode, wrong, "end token never emitted")


def test_greedy_decode_names_bos_fed_every_step():
    def wrong(decoder, context, max_len):
        return greedy_decode(lambda y, h, c: decoder(torch.full_like(y, BOS), h, c), context, max_len)

    fails_with(check_greedy_decode, wrong, "fed <bos> at every step")


def test_greedy_decode_names_state_not_passed_on():
    def wrong(decoder, context, max_len):
        return greedy_decode(lambda y, h, c: (decoder(y, c, c)[0], c), context, max_len)

    fails_with(check_greedy_decode, wrong, "pass the new state")


# ------------------------------------------------------------------------------------------- accuracy and loss


def sequence_accuracy(pred, tgt, pad_id=0):
    T = max(pred.shape[1], tgt.shape[1])
    pred = F.pad(pred, (0, T - pred.shape[1]), value=pad_id)
    tgt = F.pad(tgt, (0, T - tgt.shape[1]), value=pad_id)
    real = tgt != pad_id
    return (pred == tgt).all(1).float().mean(), ((pred == tgt) & real).sum() / real.sum()


@pytest.mark.parametrize("hidden", [False, True])
def test_sequence_accuracy_accepts_correct(hidden):
    check_sequence_accuracy(sequence_accuracy, hidden=hidden)


def test_sequence_accuracy_names_padding_counted():
    def wrong(pred, tgt, pad_id=0):
        exact, _ = sequence_accuracy(pred, tgt, pad_id)
        T = max(pred.shape[1], tgt.shape[1])
        same = F.pad(pred, (0, T - pred.shape[1])) == F.pad(tgt, (0, T - tgt.shape[1]))
        return exact, same.float().mean()

    fails_with(check_sequence_accuracy, wrong, "padding counted in accuracy")


def test_sequence_accuracy_names_token_accuracy_as_exact():
    fails_with(check_sequence_accuracy, lambda p, t, pad_id=0: (sequence_accuracy(p, t)[1],) * 2,
               "exact is the token accuracy")


def test_sequence_accuracy_names_unaligned_widths():
    fails_with(check_sequence_accuracy, lambda p, t, pad_id=0: ((p == t).all(1).float().mean(), 0.0), "raised RuntimeError")


def masked_cross_entropy(logits, tgt, pad_id=0):
    return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=pad_id)


def masked_cross_entropy_by_hand(logits, tgt, pad_id=0):
    mask = tgt != pad_id
    nll = -logits.log_softmax(-1).gather(-1, tgt[..., None])[..., 0]
    return (nll * mask).sum() / mask.sum()


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("fn", [masked_cross_entropy, masked_cross_entropy_by_hand])
def test_masked_cross_entropy_accepts_correct(fn, hidden):
    check_masked_cross_entropy(fn, hidden=hidden)


def test_masked_cross_entropy_names_padding_in_the_mean():
    def wrong(logits, tgt, pad_id=0):
        nll = F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), reduction="none")
        return (nll * (tgt.flatten() != pad_id)).sum() / tgt.numel()

    fails_with(check_masked_cross_entropy, wrong, "padding counted in the loss mean")


def test_masked_cross_entropy_names_padding_in_the_loss():
    fails_with(check_masked_cross_entropy, lambda lg, t, pad_id=0: F.cross_entropy(lg.flatten(0, 1), t.flatten()),
               "padding counted in the loss mean")


def test_masked_cross_entropy_names_per_row_mean():
    def wrong(logits, tgt, pad_id=0):
        mask = (tgt != pad_id).float()
        nll = F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")
        return ((nll * mask).sum(1) / mask.sum(1)).mean()

    fails_with(check_masked_cross_entropy, wrong, "each row was averaged first", hidden=True)


def test_masked_cross_entropy_names_item():
    fails_with(check_masked_cross_entropy, lambda *a, **k: masked_cross_entropy(*a, **k).item(), r"\.item\(\)")


# ------------------------------------------------------------------------------------------- beam search


def beam_search(decoder, context, k, max_len, alpha=0.75):
    """A flat top-k over (hypothesis, token) pairs, states gathered by backpointer."""
    tokens = torch.zeros(1, 0, dtype=torch.long)  # (B, t)
    scores = torch.zeros(1, dtype=context.dtype)
    h, finished = context, []
    for t in range(max_len):
        last = tokens[:, -1] if t else torch.full((1,), BOS)
        logits, h = decoder(last, h, context.expand(len(tokens), -1))
        V = logits.shape[-1]
        total = (scores[:, None] + logits.log_softmax(-1)).flatten()
        top, index = total.topk(min(k, total.numel()))
        parent, token = index // V, index % V
        tokens = torch.cat([tokens[parent], token[:, None]], 1)
        h, scores = h[parent], top
        done = token == EOS
        finished += [(tokens[i], float(scores[i])) for i in done.nonzero().flatten().tolist()]
        tokens, h, scores = tokens[~done], h[~done], scores[~done]
        if len(tokens) == 0:
            break
    finished += [(tokens[i], float(scores[i])) for i in range(len(tokens))]
    best, score = max(finished, key=lambda f: f[1] / len(f[0]) ** alpha)
    return best, score / len(best) ** alpha


@pytest.mark.parametrize("hidden", [False, True])
def test_beam_search_accepts_correct(hidden):
    check_beam_search(beam_search, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_beam_search_accepts_correct_on_other_seeds(seed):
    BEAM_SEARCH.check(beam_search, hidden=True, seed=seed)


def test_beam_search_names_k1_not_greedy():
    def wrong(decoder, context, k, max_len, alpha=0.75):
        """Every hypothesis's <eos> extension is finished, and k others stay alive: width 1 is no longer greedy."""
        tokens, scores, h, finished = torch.zeros(1, 0, dtype=torch.long), torch.zeros(1, dtype=context.dtype), context, []
        for t in range(max_len):
            last = tokens[:, -1] if t else torch.full((1,), BOS)
            logits, h = decoder(last, h, context.expand(len(tokens), -1))
            logp = scores[:, None] + logits.log_softmax(-1)
            finished += [(torch.cat([tokens[i], torch.tensor([EOS])]), float(logp[i, EOS])) for i in range(len(tokens))]
            logp[:, EOS] = -math.inf
            top, index = logp.flatten().topk(k)
            parent, token = index // logp.shape[1], index % logp.shape[1]
            tokens, h, scores = torch.cat([tokens[parent], token[:, None]], 1), h[parent], top
        finished += [(tokens[i], float(scores[i])) for i in range(len(tokens))]
        best, score = max(finished, key=lambda f: f[1] / len(f[0]) ** alpha)
        return best, score / len(best) ** alpha

    fails_with(check_beam_search, wrong, "k=1 must reproduce greedy decoding")


def test_beam_search_names_missing_length_normalisation():
    def wrong(decoder, context, k, max_len, alpha=0.75):
        tokens, _ = beam_search(decoder, context, k, max_len, alpha=0.0)  # picks by the raw sum
        return tokens, _score(decoder, context, tokens, alpha)

    fails_with(check_beam_search, wrong, "best by the raw sum.*length normalisation")


def test_beam_search_names_raw_score_returned():
    def wrong(decoder, context, k, max_len, alpha=0.75):
        tokens, score = beam_search(decoder, context, k, max_len, alpha)
        return tokens, score * len(tokens) ** alpha

    fails_with(check_beam_search, wrong, "divide it by len")


def test_beam_search_names_context_not_expanded():
    def wrong(decoder, context, k, max_len, alpha=0.75):
        return beam_search(lambda y, h, c: decoder(y, h, c[:1]), context, k, max_len, alpha)

    fails_with(check_beam_search, wrong, "expand the context")


def test_beam_search_names_lower_score_than_greedy():
    def wrong(decoder, context, k, max_len, alpha=0.75):
        """Returns the worst finished hypothesis (a sign error in the comparison)."""
        tokens, _ = beam_search(decoder, context, 1, max_len, alpha)
        if k == 1:
            return beam_search(decoder, context, k, max_len, alpha)
        worst = beam_search(lambda y, h, c: _negated(decoder, y, h, c), context, k, max_len, alpha)[0]
        return worst, _score(decoder, context, worst, alpha)

    fails_with(check_beam_search, wrong, "lower model score than greedy")


def _negated(decoder, y, h, c):
    logits, h = decoder(y, h, c)
    junk = logits < -1000
    return (-logits).masked_fill(junk, -1e4), h


def _score(decoder, context, tokens, alpha):
    h, total, y = context, 0.0, torch.tensor([BOS])
    for token in tokens.tolist():
        logits, h = decoder(y, h, context)
        total += float(logits.log_softmax(-1)[0, token])
        y = torch.tensor([token])
    return total / len(tokens) ** alpha


# ------------------------------------------------------------------------------------------- secret seeds


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_every_check_accepts_correct_answers_on_other_seeds(seed):
    """Grading draws its own seeds: a right answer must pass whatever the cases are."""
    for exercise, fn in [(ENCODE, encode), (ENCODE, encode_by_gather), (DECODER_STEP, decoder_step),
                         (DECODE_TRAIN, decode_train), (GREEDY_DECODE, greedy_decode_shrinking),
                         (SEQUENCE_ACCURACY, sequence_accuracy), (MASKED_CROSS_ENTROPY, masked_cross_entropy_by_hand),
                         (BEAM_SEARCH, beam_search)]:
        exercise.check(fn, hidden=True, seed=seed)
