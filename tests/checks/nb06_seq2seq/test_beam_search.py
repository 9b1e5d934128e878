"""Does ``check_beam_search`` accept a correct beam search, and name each typical mistake?"""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.checks.nb06_seq2seq import check_beam_search
from tests.checks.nb06_seq2seq import BOS, EOS, SEEDS
from tests.conftest import fails_with, stub


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


@pytest.mark.parametrize("hidden, seed", SEEDS)
def test_beam_search_accepts_correct(hidden, seed):
    check_beam_search(beam_search, hidden=hidden, seed=seed)


def k1_not_greedy(decoder, context, k, max_len, alpha=0.75):
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


def missing_length_normalisation(decoder, context, k, max_len, alpha=0.75):
    tokens, _ = beam_search(decoder, context, k, max_len, alpha=0.0)  # picks by the raw sum
    return tokens, _score(decoder, context, tokens, alpha)


def raw_score_returned(decoder, context, k, max_len, alpha=0.75):
    tokens, score = beam_search(decoder, context, k, max_len, alpha)
    return tokens, score * len(tokens) ** alpha


def context_not_expanded(decoder, context, k, max_len, alpha=0.75):
    return beam_search(lambda y, h, c: decoder(y, h, c[:1]), context, k, max_len, alpha)


def lower_score_than_greedy(decoder, context, k, max_len, alpha=0.75):
    """Returns the worst finished hypothesis (a sign error in the comparison)."""
    if k == 1:
        return beam_search(decoder, context, k, max_len, alpha)
    worst = beam_search(lambda y, h, c: _negated(decoder, y, h, c), context, k, max_len, alpha)[0]
    return worst, _score(decoder, context, worst, alpha)


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


@pytest.mark.parametrize(
    "wrong, message",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(k1_not_greedy, "k=1 must reproduce greedy decoding", id="k1_not_greedy"),
        pytest.param(
            missing_length_normalisation, "best by the raw sum.*length normalisation", id="missing_length_normalisation"
        ),
        pytest.param(raw_score_returned, "divide it by len", id="raw_score_returned"),
        pytest.param(context_not_expanded, "expand the context", id="context_not_expanded"),
        pytest.param(
            lower_score_than_greedy,
            "lower model score than greedy|not among the k=2 best candidates",
            id="lower_score_than_greedy",
        ),
    ],
)
def test_beam_search_names_mistake(wrong, message):
    fails_with(check_beam_search, wrong, message)
