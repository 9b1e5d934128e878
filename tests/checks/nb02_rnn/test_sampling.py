"""Does check_sample accept draws from softmax(logits / temperature) and name each sampling mistake?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb02_rnn import check_sample
from course_lib.checks.nb02_rnn.sampling import _frequency_verdict, _sample_case
from tests.checks.nb02_rnn._common import mistake
from tests.conftest import fails_with


def make_sample(mistake: str | None = None):
    def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
        ids = start_ids.clone() if mistake != "in-place start" else start_ids
        new = []
        for _ in range(steps):
            logits = logits_fn(start_ids if mistake == "no feedback" else ids)
            if temperature == 0 and mistake != "divide by zero":
                nxt = logits.argmax().reshape(1)
            else:
                if mistake == "in-place logits":
                    logits /= temperature
                    probs = torch.softmax(logits, dim=-1)
                elif mistake == "multiply":
                    probs = torch.softmax(logits * temperature, dim=-1)
                elif mistake == "ignore temperature":
                    probs = torch.softmax(logits, dim=-1)
                elif mistake == "manual exp":
                    e = torch.exp(logits / temperature)
                    probs = e / e.sum()
                else:
                    probs = torch.softmax(logits / temperature, dim=-1)
                if mistake == "global rng":
                    nxt = torch.multinomial(probs, 1)
                elif mistake == "gumbel":
                    u = torch.rand(probs.shape, generator=generator, dtype=probs.dtype)
                    nxt = (probs.log() - (-u.log()).log()).argmax().reshape(1)
                else:
                    nxt = torch.multinomial(probs, 1, generator=generator)
            if mistake == "in-place start":
                ids.data = torch.cat([ids, nxt])
            else:
                ids = torch.cat([ids, nxt])
            new.append(nxt)
        if mistake == "only new":
            return torch.cat(new) if new else start_ids[:0]
        return ids

    return sample


@pytest.mark.parametrize("hidden", [False, True])
def test_sample_accepts_correct(hidden):
    check_sample(make_sample(), hidden=hidden)


def _argmin_greedy(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        ids = torch.cat([ids, logits_fn(ids).argmin().reshape(1)])
    return ids


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        mistake(make_sample, "multiply", "multiplied by the temperature", False),
        mistake(make_sample, "ignore temperature", "temperature is ignored", False),
        mistake(make_sample, "global rng", "not reproducible", False),
        mistake(make_sample, "in-place logits", "modified the logits returned by logits_fn in place", False),
        mistake(make_sample, "in-place start", "modified start_ids in place", False),
        mistake(make_sample, "no feedback", "always received start_ids", False),
        mistake(make_sample, "only new", "only the .* new ids", False),
        mistake(make_sample, "divide by zero", "Temperature 0 means greedy", False),
        mistake(make_sample, "gumbel", "differ from torch.multinomial", False),
        mistake(make_sample, "manual exp", "overflows", False),
        pytest.param(_argmin_greedy, "argmin", False, id="argmin greedy"),
    ],
)
def test_sample_names_mistakes(wrong, pattern, hidden):
    fails_with(check_sample, wrong, pattern, hidden=hidden)


def test_sample_statistics_name_a_wrong_distribution():
    """A sampler that is not torch.multinomial is still diagnosed by the frequencies of many draws."""
    case = _sample_case(torch.Generator().manual_seed(0), 5, [0], 3000, 2.0, "constant", seed=3)
    logits = torch.from_numpy(case["table"][0])
    g = torch.Generator().manual_seed(1)
    draws = torch.multinomial(torch.softmax(logits * 2.0, 0), 3000, replacement=True, generator=g)
    assert "multiplied" in _frequency_verdict(case, draws)
    right = torch.multinomial(torch.softmax(logits / 2.0, 0), 3000, replacement=True, generator=g)
    assert _frequency_verdict(case, right) is None
