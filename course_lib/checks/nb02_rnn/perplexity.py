"""Check of ``perplexity``: the perplexity of a language model's predictions on a padded batch.

    CE  = -(1/M) sum_{n,t: y_nt != pad} log softmax(z_nt)[y_nt],   M = #{(n, t): y_nt != pad}
    PPL = exp(CE)

    logits z: (N, T, V), targets y: (N, T) long, padded with pad_id -> a scalar

One mean over every real target of the batch (not a mean of per-sequence means), in nats and exp()
(not bits and 2**, which give the same number, nor bits and exp()).  The reference is torch's own:
``exp(F.cross_entropy(z.reshape(-1, V), y.reshape(-1), ignore_index=pad_id))``.  A wrong answer is compared,
in the log domain, with what each typical mistake returns, and the one it matches is named.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import first_named_mistake, generator, tensor, visible_first

__all__ = ["PERPLEXITY", "check_perplexity"]


def _ppl_case(
    g: torch.Generator,
    lengths: list[int],
    V: int,
    pad_id: int = 0,
    dtype=torch.float64,
    scale: float = 1.5,
    improbable: bool = False,
) -> dict:
    """Random logits (N, T, V) and targets (N, T): row n has lengths[n] real targets, then pad_id."""
    N, T = len(lengths), max(max(lengths), 1)
    logits = scale * torch.randn(N, T, V, generator=g, dtype=torch.float64)
    real = [i for i in range(V) if i != pad_id]
    targets = torch.tensor(real)[torch.randint(0, len(real), (N, T), generator=g)]
    for n, length in enumerate(lengths):
        targets[n, length:] = pad_id
    if improbable:  # one real target 150 nats below the best logit: its softmax underflows in float32
        n = max(range(N), key=lambda i: lengths[i])
        logits[n, 0, targets[n, 0]] = logits[n, 0].max() - 150.0
    return {"logits": logits.to(dtype).numpy(), "targets": targets.numpy(), "pad_id": pad_id, "improbable": improbable}


def _ppl_cases(seed, hidden):
    g = generator(seed)
    cases = {
        "N=3, T=6, V=7, lengths 6, 4, 2 (pad 0)": _ppl_case(g, [6, 4, 2], 7),
        "N=2, T=5, V=5, no padding": _ppl_case(g, [5, 5], 5),
        "N=4, T=9, V=11, lengths 9, 3, 7, 1": _ppl_case(g, [9, 3, 7, 1], 11),
        # every family the hidden cases vary, visible first: another pad id, torch's -100, batch 1 and T = 1,
        # extreme logits in float32
        "pad_id = 2, V=6, lengths 5, 2": _ppl_case(g, [5, 2], 6, pad_id=2),
        "pad_id = -100, V=5, lengths 4, 1": _ppl_case(g, [4, 1], 5, pad_id=-100),
        "N=1, T=1, V=3": _ppl_case(g, [1], 3),
        "float32, one target 150 nats below the best, lengths 4, 3": _ppl_case(
            g, [4, 3], 6, dtype=torch.float32, improbable=True
        ),
    }
    if hidden:
        cases["pad_id = 3, V=9, lengths 8, 5, 2"] = _ppl_case(g, [8, 5, 2], 9, pad_id=3)
        cases["pad_id = -100, V=8, lengths 6, 6, 3"] = _ppl_case(g, [6, 6, 3], 8, pad_id=-100)
        cases["N=1, T=1, V=4"] = _ppl_case(g, [1], 4)
        cases["one row is all padding, lengths 6, 0, 3"] = _ppl_case(g, [6, 0, 3], 8)
        cases["float32, V=50, lengths 12, 10, 4, 11, 7"] = _ppl_case(g, [12, 10, 4, 11, 7], 50, dtype=torch.float32)
        cases["a confident model (logits x 6), V=20"] = _ppl_case(g, [10, 6, 8], 20, scale=6.0)
        cases["float32, one target 150 nats below the best"] = _ppl_case(
            g, [7, 5, 6], 12, dtype=torch.float32, improbable=True
        )
    return cases


def _ppl_run(fn, case):
    return fn(tensor(case["logits"]), tensor(case["targets"]), case["pad_id"])


def _scalar(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.ndarray)):
        raise CheckFailure(f"{what} should be a number (a 0-dim tensor or a float), but it is a {type(value).__name__}")
    if isinstance(value, np.ndarray) and value.shape != ():
        raise CheckFailure(
            f"{what} has shape {value.shape}; the perplexity of a batch is one number, a 0-dim "
            f"tensor. Average over every real target of the batch at once."
        )
    return float(value)


def _mistakes(logits: torch.Tensor, targets: torch.Tensor, pad_id: int) -> list[tuple[float, str]]:
    """(log of what the mistake returns, its name), computed in float64 from torch's per-target losses."""
    N, T, V = logits.shape
    nll = F.cross_entropy(logits.double().reshape(-1, V), targets.reshape(-1), reduction="none").reshape(N, T)
    real = targets != pad_id
    M, lengths = int(real.sum()), real.sum(1)
    ce = float(nll[real].sum()) / M
    named = [
        (
            float(nll.mean()),
            (
                "padding is included: the mean runs over every position, the <pad> targets too. "
                "Leave them out with a mask of the real targets, and divide by the number of real targets."
            ),
        ),
        (
            float(nll[real].sum()),
            (
                "exp of the *sum* of the cross-entropies: perplexity is exp of the *mean* per "
                "predicted character (divide by the number of real targets)."
            ),
        ),
        (
            ce / math.log(2),
            (
                "the cross-entropy is in bits (log base 2) but you took exp(): use nats with exp(), "
                "or bits with 2 ** (...), not a mix."
            ),
        ),
        (
            ce * math.log(2),
            (
                "2 ** (cross-entropy in nats): torch's log and cross_entropy are natural logarithms, "
                "so the perplexity is exp(CE), not 2 ** CE."
            ),
        ),
        (
            math.log(ce) if ce > 0 else float("nan"),
            ("you returned the cross-entropy itself, not its exponential: perplexity = exp(mean cross-entropy)."),
        ),
        (
            float(nll[real].sum()) / (N * T),
            (
                "the sum over real targets is divided by every position N * T, padding "
                "included: divide by the number of real targets."
            ),
        ),
        (
            float(nll[real].sum()) / N,
            (
                "the cross-entropy is summed per sequence and averaged over the N sequences: "
                "average per predicted character over the whole batch instead."
            ),
        ),
    ]
    if pad_id != 0:
        keep0 = targets != 0
        named.append(
            (
                float(nll[keep0].mean()),
                (f"padding is taken to be id 0, but pad_id is {pad_id} here: use the pad_id argument."),
            )
        )
    if bool((lengths > 0).all()) and len(set(lengths.tolist())) > 1:
        per_sequence = (nll * real).sum(1) / lengths  # (N,)
        named.append(
            (
                float(per_sequence.mean()),
                (
                    "a mean of per-sequence means: every sequence then weighs the "
                    "same, however long it is. Take one mean over all real targets "
                    "of the batch (a long poem has more characters to predict)."
                ),
            )
        )
        named.append(
            (
                math.log(float(per_sequence.exp().mean())),
                (
                    "a mean of per-sequence perplexities: take exp "
                    "of one mean cross-entropy over all real targets "
                    "of the batch instead."
                ),
            )
        )
    return named


def _ppl_judge(cases, results):
    for name, case in cases.items():
        logits, targets, pad_id = tensor(case["logits"]), tensor(case["targets"]), case["pad_id"]
        V = logits.shape[-1]
        expected = float(
            torch.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id).double())
        )
        got = _scalar(result_of(results, name, "perplexity"), f"perplexity on case '{name}'")
        rtol = 1e-9 if logits.dtype == torch.float64 else 1e-4
        if math.isclose(got, expected, rel_tol=rtol):
            continue
        digits = next((d for d in (6, 9, 12, 17) if f"{expected:.{d}g}" != f"{got:.{d}g}"), 17)
        where = f"case '{name}': expected {expected:.{digits}g}, got {got:.{digits}g}"  # never two equal numbers
        if math.isnan(got) and bool(((targets != pad_id).sum(1) == 0).any()):
            raise CheckFailure(
                f"{where}. A row with no real targets (all padding) gives 0 / 0 = nan when each "
                f"sequence is averaged on its own: average over all real targets of the batch at "
                f"once."
            )
        if math.isinf(got) and case["improbable"]:
            raise CheckFailure(
                f"{where}. log(softmax(...)) underflowed: a probability below ~1e-45 is 0 in "
                f"float32, and log(0) = -inf. The log of a softmax written as "
                f"two operations forms the tiny probability first; the statement's point on confident models "
                f"asks for one operation that never forms it."
            )
        log_got = math.log(got) if got > 0 else float("nan")
        overflow = math.log(torch.finfo(logits.dtype).max)  # exp() of more than this is inf

        def same(log_a: float, log_b: float) -> bool:  # log-perplexities; an inf got is exp(sum) overflowed
            return math.isclose(log_a, log_b, rel_tol=1e-6) or (math.isinf(log_a) and log_b > overflow)

        named = [(message, log_wrong) for log_wrong, message in _mistakes(logits, targets, pad_id)]
        message = first_named_mistake(log_got, math.log(expected), named, same=same)
        if message:
            raise CheckFailure(f"{where}. {message}")
        raise CheckFailure(
            f"{where} (relative tolerance {rtol:g}; compared with torch's cross-entropy, the padding left out). "
            f"Perplexity = exp of the mean, over every real (non-pad) target, of -log softmax(logits)[target]."
        )


PERPLEXITY = Exercise("perplexity", "perplexity", visible_first(_ppl_cases), _ppl_run, _ppl_judge)

check_perplexity = PERPLEXITY.check
