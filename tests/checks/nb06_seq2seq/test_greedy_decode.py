"""Does ``check_greedy_decode`` accept two styles of correct greedy decoder, and name each typical mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb06_seq2seq import check_greedy_decode
from tests.checks.nb06_seq2seq import BOS, EOS, PAD, SEEDS
from tests.conftest import fails_with, stub


def greedy_decode(decoder, context, max_len):
    return _greedy(decoder, context, max_len, stop=True, pad=True)


def _greedy(decoder, context, max_len, stop, pad):
    """The batched greedy loop; right with ``stop`` (once every row has ended) and ``pad`` (after its <eos>)."""
    N = context.shape[0]
    y, h = torch.full((N,), BOS), context
    out, ended = [], torch.zeros(N, dtype=torch.bool)
    for _ in range(max_len):
        if stop and ended.all():
            break
        logits, h = decoder(y, h, context)
        y = logits.argmax(-1)
        out.append(y.masked_fill(ended, PAD) if pad else y)
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


@pytest.mark.parametrize("hidden, seed", SEEDS)
@pytest.mark.parametrize("fn", [greedy_decode, greedy_decode_shrinking])
def test_greedy_decode_accepts_correct(fn, hidden, seed):
    check_greedy_decode(fn, hidden=hidden, seed=seed)


def never_stopping(decoder, context, max_len):
    return _greedy(decoder, context, max_len, stop=False, pad=True)


def not_padding_after_eos(decoder, context, max_len):
    return _greedy(decoder, context, max_len, stop=True, pad=False)


def end_token_never_emitted(decoder, context, max_len):
    ids = greedy_decode(decoder, context, max_len)
    return ids.masked_fill(ids == EOS, PAD)


def bos_fed_every_step(decoder, context, max_len):
    return greedy_decode(lambda y, h, c: decoder(torch.full_like(y, BOS), h, c), context, max_len)


def state_not_passed_on(decoder, context, max_len):
    return greedy_decode(lambda y, h, c: (decoder(y, c, c)[0], c), context, max_len)


def stops_at_first_pad(decoder, context, max_len):
    """Treats <pad> like <eos>: wrong when the model emits <pad> as a token."""
    N = context.shape[0]
    y, h = torch.full((N,), BOS), context
    out, ended = [], torch.zeros(N, dtype=torch.bool)
    for _ in range(max_len):
        logits, h = decoder(y, h, context)
        y = logits.argmax(-1)
        out.append(y.masked_fill(ended, PAD))
        ended |= (y == EOS) | (y == PAD)
        if ended.all():
            break
    return torch.stack(out, 1)


def zero_initial_state(decoder, context, max_len):
    return _greedy_from(decoder, context, max_len, torch.zeros_like(context))


def _greedy_from(decoder, context, max_len, h):
    N = context.shape[0]
    y, out, ended = torch.full((N,), BOS), [], torch.zeros(N, dtype=torch.bool)
    for _ in range(max_len):
        logits, h = decoder(y, h, context)
        y = logits.argmax(-1)
        out.append(y.masked_fill(ended, PAD))
        ended |= y == EOS
        if ended.all():
            break
    return torch.stack(out, 1)


@pytest.mark.parametrize(
    "wrong, message",
    [
        pytest.param(stops_at_first_pad, "stopped at its first <pad>", id="stops_at_first_pad"),
        pytest.param(zero_initial_state, r"first state was zeros.*h_0 = context", id="zero_initial_state"),
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(never_stopping, "never stopping", id="never_stopping"),
        pytest.param(not_padding_after_eos, "not padding after eos", id="not_padding_after_eos"),
        pytest.param(end_token_never_emitted, "end token never emitted", id="end_token_never_emitted"),
        pytest.param(bos_fed_every_step, "fed <bos> at every step", id="bos_fed_every_step"),
        pytest.param(state_not_passed_on, "pass the new state", id="state_not_passed_on"),
    ],
)
def test_greedy_decode_names_mistake(wrong, message):
    fails_with(check_greedy_decode, wrong, message)
