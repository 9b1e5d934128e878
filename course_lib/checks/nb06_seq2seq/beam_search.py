"""Check of ``beam_search``: beam search over the stand-in decoder, scored with length normalisation.

    score(y) = sum_t log p(y_t | y_<t) / len(y) ** alpha          (len(y) counts the <eos>)

Beam search is checked by invariants, never a stored answer: width 1 is greedy decoding; a beam wider than the
number of candidates is exact search, compared with brute-force enumeration of every sequence; a wider beam
never scores below greedy when the greedy path provably survives in it; the reported score is the model's
length-normalised score of the returned tokens.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import BOS_ID, DTYPES, EOS_ID, PAD_ID, UNK_ID
from course_lib.checks.nb06_seq2seq.toy_decoder import ToyDecoder, replay, shift_right, toy_context, toy_model
from course_lib.checks.toolkit import as_tensor, generator, number, pair, plain, sequence_differences, visible_first


def _beam_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    setups = [("", 4, 0.75, "float32", [1, 2, 3, 1000]), ("max_len=1, ", 1, 0.75, "float32", [2])]
    if hidden:
        setups += [
            ("float64, alpha=1, ", 5, 1.0, "float64", [1, 2, 4, 5000]),
            ("float64, alpha=0, ", 4, 0.0, "float64", [1, 3, 1000]),
            ("float64, max_len=1, ", 1, 0.75, "float64", [1, 3]),
        ]
    cases = {}
    for prefix, max_len, alpha, dtype, widths in setups:
        for attempt in range(40):
            # prefer a model on which greedy decoding is not already the best sequence, and (the first 20 tries) on
            # which the best sequence every width-2 beam keeps does not start with the best first token: pruning
            # that keeps only the best hypothesis's children then loses it
            model = toy_model(g, 6, 3, dtype, scale=2.0)
            context = toy_context(g, [0], 3, dtype)
            probe = {"model": model, "context": context, "max_len": max_len, "alpha": alpha}
            if max_len == 1:
                break
            if torch.equal(_best_sequence(probe)[1], _greedy_path(probe)):
                continue
            kept = _kept_by_every_beam(probe, 2)
            if attempt >= 20 or (kept is not None and int(kept[1][0]) != int(_greedy_path(probe)[0])):
                break
        for k in widths:
            label = f"k={k}" + (" (exact search)" if k >= 1000 else "")
            cases[f"{prefix}{label}"] = {
                "model": model,
                "context": context,
                "k": k,
                "max_len": max_len,
                "alpha": alpha,
                "kind": "edge" if max_len == 1 else "values",
            }
    return cases


def _beam_run(fn, case):
    decoder = ToyDecoder(case["model"])
    context = torch.from_numpy(case["context"]).to(DTYPES[case["model"]["dtype"]])
    return plain(fn(decoder, context, k=case["k"], max_len=case["max_len"], alpha=case["alpha"]))


def _log_probs(case, seqs: list[torch.Tensor]) -> list[float]:
    """Sum of log p(y_t | y_<t) of each sequence (L,) under the toy decoder (sequences of a length run together)."""
    out = [0.0] * len(seqs)
    for length in {len(s) for s in seqs if len(s)}:
        rows = [i for i, s in enumerate(seqs) if len(s) == length]
        tokens = torch.stack([seqs[i] for i in rows])  # (B, L)
        context = np.repeat(case["context"], len(rows), axis=0)
        logits = replay(case["model"], context, shift_right(tokens))  # (B, L, V)
        sums = logits.log_softmax(-1).gather(2, tokens[..., None])[..., 0].sum(1)
        for i, value in zip(rows, sums.tolist()):
            out[i] = value
    return out


def _log_prob(case, tokens: torch.Tensor) -> float:
    return _log_probs(case, [tokens])[0]


def _normalised(case, tokens: torch.Tensor, alpha: float | None = None) -> float:
    alpha = case["alpha"] if alpha is None else alpha
    return _log_prob(case, tokens) / max(len(tokens), 1) ** alpha


def _best_sequence(case, alpha: float | None = None) -> tuple[float, torch.Tensor]:
    """The best finished sequence by brute force: (normalised score, tokens)."""
    alpha = case["alpha"] if alpha is None else alpha
    seqs = _all_sequences(case["max_len"])
    scores = [lp / len(s) ** alpha for lp, s in zip(_log_probs(case, seqs), seqs)]
    best = int(np.argmax(scores))
    return scores[best], seqs[best]


def _all_sequences(max_len: int, content=(4, 5)) -> list[torch.Tensor]:
    """Every finished sequence: content tokens then <eos> (length <= max_len), or max_len content tokens."""
    seqs = [
        torch.tensor(list(body) + [EOS_ID]) for n in range(max_len) for body in itertools.product(content, repeat=n)
    ]
    return seqs + [torch.tensor(body) for body in itertools.product(content, repeat=max_len)]


def _greedy_path(case) -> torch.Tensor:
    decoder = ToyDecoder({**case["model"], "dtype": "float64"})
    ctx = torch.from_numpy(case["context"]).double()
    h, y, tokens = ctx, torch.tensor([BOS_ID]), []
    with torch.no_grad():
        for _ in range(case["max_len"]):
            logits, h = decoder(y, h, ctx)
            y = logits.argmax(-1)
            tokens.append(int(y))
            if int(y) == EOS_ID:
                break
    return torch.tensor(tokens, dtype=torch.long)


def _prefix_scores(case) -> dict[tuple[int, ...], float]:
    """The raw log-probability of every candidate a beam can meet: content prefixes extended by 4, 5 or <eos>."""
    candidates = [
        torch.tensor(list(body) + [last])
        for t in range(case["max_len"])
        for body in itertools.product((4, 5), repeat=t)
        for last in (4, 5, EOS_ID)
    ]
    return {tuple(c.tolist()): lp for c, lp in zip(candidates, _log_probs(case, candidates))}


def _kept_by_every_beam(case, k: int) -> tuple[float, torch.Tensor] | None:
    """The best finished sequence (normalised score, tokens) whose every prefix ranks among the k best of all
    candidates of its length: every beam of width k keeps it, whatever else it holds (None if there is none)."""
    scores, best = _prefix_scores(case), None
    for seq in _all_sequences(case["max_len"]):
        items = tuple(seq.tolist())
        if all(
            sum(v > scores[items[:t]] + 1e-9 for key, v in scores.items() if len(key) == t) < k
            for t in range(1, len(items) + 1)
        ):
            value = scores[items] / len(items) ** case["alpha"]
            if best is None or value > best[0]:
                best = (value, seq)
    return best


def _greedy_survives(case, greedy: torch.Tensor, k: int) -> bool:
    """True if the greedy prefix is among the k best candidates at every step, whatever else the beam holds."""
    for t in range(1, len(greedy) + 1):
        prefix_score = _log_prob(case, greedy[:t])
        rivals = [
            torch.tensor(list(body) + [last])
            for body in itertools.product((4, 5), repeat=t - 1)
            for last in (4, 5, EOS_ID)
        ]
        rivals = [s for s in rivals if not torch.equal(s, greedy[:t])]
        better = sum(score > prefix_score + 1e-9 for score in _log_probs(case, rivals))
        if better >= k:
            return False
    return True


def _beam_judge(cases, results):
    for name, case in cases.items():
        k, max_len, alpha = case["k"], case["max_len"], case["alpha"]
        tokens, score = pair(result_of(results, name, "beam_search"), "beam_search", "tokens, score")
        tokens = as_tensor(tokens, f"the tokens returned on case '{name}'")
        if tokens.dim() != 1 or tokens.dtype.is_floating_point:
            raise CheckFailure(
                f"beam_search should return the tokens of the best sequence as a LongTensor of shape "
                f"(L,), got {describe(tokens)}"
            )
        tokens = tokens.long()
        score = number(score, "the score returned by beam_search")
        shown = f"tokens {tokens.tolist()}"
        if not 1 <= len(tokens) <= max_len:
            raise CheckFailure(
                f"case '{name}': the best sequence should have 1 to max_len={max_len} tokens "
                f"(without <bos>), got {shown}"
            )
        if (tokens[:-1] == EOS_ID).any():
            raise CheckFailure(
                f"case '{name}': {shown} continues after <eos>: a hypothesis that emits <eos> is finished."
            )
        if tokens[-1] != EOS_ID and len(tokens) < max_len:
            raise CheckFailure(
                f"case '{name}': {shown} has no <eos> but is shorter than max_len={max_len}: only a "
                f"hypothesis that emitted <eos>, or one that reached max_len, is finished."
            )
        if ((tokens == PAD_ID) | (tokens == BOS_ID) | (tokens == UNK_ID)).any():
            raise CheckFailure(
                f"case '{name}': {shown} contains <pad>, <bos> or <unk>; return only the generated tokens "
                f"(without the starting <bos>)."
            )
        greedy = _greedy_path(case)
        if k == 1 and not torch.equal(tokens, greedy):
            raise CheckFailure(
                f"case '{name}': beam search with k=1 must reproduce greedy decoding exactly (beam k=1 differs from "
                f"greedy): the tokens {sequence_differences(tokens, greedy)}. With one hypothesis, each step "
                f"keeps the single best token, and the search ends at its <eos> or at max_len."
            )
        expected_score = _normalised(case, tokens)
        if abs(score - expected_score) > 1e-4 * (1 + abs(expected_score)):
            raw = _log_prob(case, tokens)
            if abs(score - raw) < 1e-4 * (1 + abs(raw)) and alpha != 0:
                raise CheckFailure(
                    f"case '{name}': the score returned, {score:.6f}, is the raw sum of log-probabilities of the "
                    f"returned {shown}; divide it by len(tokens) ** alpha (length normalisation, len counts <eos>)."
                )
            if len(tokens) > 1 and abs(score - raw / (len(tokens) - 1) ** alpha) < 1e-4 * (1 + abs(raw)):
                raise CheckFailure(
                    f"case '{name}': the returned {shown} and score agree only if the length leaves out <eos>: "
                    f"len(y) counts the <eos> token in score = sum_t log p(y_t | y_<t) / len(y) ** alpha."
                )
            raise CheckFailure(
                f"case '{name}': the returned {shown} and the score you accumulated disagree: the model gives these "
                f"tokens the normalised score {expected_score:.6f}, yours is {score:.6f}, and no normalisation of the "
                f"model's sum gives yours. So the log-probabilities you added along the way were not the model's for "
                f"this prefix: after picking the k best candidates, each new hypothesis must continue from its "
                f"parent's state (reorder the new states by the parent index, h_new[parents], before the next "
                f"step), and its score must be its parent's score plus the chosen token's log-probability."
            )
        if k >= 1000:
            best_score, best = _best_sequence(case)
            if not torch.equal(tokens, best) and expected_score < best_score - 1e-5 * (1 + abs(best_score)):
                raw_best = _best_sequence(case, alpha=0.0)[1]
                hint = ""
                if alpha != 0 and torch.equal(tokens, raw_best):
                    hint = (
                        " Yours is the best by the raw sum of log-probabilities: compare finished hypotheses by "
                        "score / len ** alpha (length normalisation)."
                    )
                raise CheckFailure(
                    f"case '{name}': with a beam wider than the number of candidates nothing is pruned, so beam search "
                    f"must return the best of all sequences (normalised score {best_score:.4f}), but it returned one "
                    f"that scores {expected_score:.4f}; the tokens {sequence_differences(tokens, best)}.{hint} Keep "
                    f"every finished hypothesis and return the best one."
                )
        if k > 1:
            greedy_score = _normalised(case, greedy)
            if expected_score < greedy_score - 1e-6 and _greedy_survives(case, greedy, k):
                raise CheckFailure(
                    f"case '{name}': a larger beam returned a sequence with a lower model score than greedy: greedy's "
                    f"{greedy.tolist()} scores {greedy_score:.4f}, your beam's {tokens.tolist()} {expected_score:.4f}. "
                    f"The greedy path stays among the k best here, so it is a finished hypothesis; return the finished "
                    f"hypothesis with the best normalised score."
                )
        if 1 < k < 1000:
            kept = _kept_by_every_beam(case, k)
            if kept is not None and expected_score < kept[0] - 1e-6 * (1 + abs(kept[0])):
                if alpha != 0 and _log_prob(case, tokens) >= _log_prob(case, kept[1]) - 1e-9:
                    raise CheckFailure(
                        f"case '{name}': your {tokens.tolist()} is the best by the raw sum of log-probabilities but "
                        f"not by the normalised score ({kept[1].tolist()}, which every beam of width k={k} keeps, "
                        f"scores {kept[0]:.4f}, yours {expected_score:.4f}): compare finished hypotheses by "
                        f"score / len ** alpha (length normalisation), and search on until every hypothesis has "
                        f"finished or reached max_len (a search that stops at the first <eos> returns it too)."
                    )
                raise CheckFailure(
                    f"case '{name}': your beam lost a sequence that every beam of width k={k} keeps: "
                    f"{kept[1].tolist()} ranks among the {k} best candidates at every step and scores {kept[0]:.4f}; "
                    f"yours, {tokens.tolist()}, scores {expected_score:.4f}. Choose the k best candidates over all "
                    f"hypotheses together (the top k of all k * V scores, flattened, not the top k of each "
                    f"hypothesis and then the first k of those), and keep every finished hypothesis."
                )


BEAM_SEARCH = Exercise("beam_search", "beam_search", visible_first(_beam_cases), _beam_run, _beam_judge, bonus=3.0)
