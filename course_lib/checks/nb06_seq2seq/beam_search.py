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
from course_lib.checks.nb06_seq2seq.toy_decoder import ToyDecoder, replay, shift_right, toy_context, toy_model, trace
from course_lib.checks.toolkit import as_tensor, generator, number, pair, plain, sequence_differences, visible_first


def _beam_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    # (label prefix, max_len, alpha, dtype, widths, what the model must show if 50 draws can find it)
    setups = [
        ("", 4, 0.75, "float32", [1, 2, 3, 1000], _eos_length_matters),
        ("a second model, ", 4, 0.75, "float32", [2], _parents_reordered),
        ("max_len=1, ", 1, 0.75, "float32", [2], None),
    ]
    if hidden:
        setups += [
            ("float64, alpha=1, ", 5, 1.0, "float64", [1, 2, 4, 5000], None),
            ("float64, alpha=0, ", 4, 0.0, "float64", [1, 3, 1000], None),
            ("float64, max_len=1, ", 1, 0.75, "float64", [1, 3], None),
        ]
    cases = {}
    for prefix, max_len, alpha, dtype, widths, wanted in setups:
        for attempt in range(60):
            # prefer a model on which greedy decoding is not already the best sequence, and (the first 20 tries) on
            # which the best sequence every width-2 beam keeps does not start with the best first token: pruning
            # that keeps only the best hypothesis's children then loses it.  The visible setups also want a model
            # on which the best sequence changes when the length leaves out <eos> (the first), or on which a beam
            # that does not gather the states by parent goes wrong (the second: _parents_reordered)
            model = toy_model(g, 6, 3, dtype, scale=2.0)
            context = toy_context(g, [0], 3, dtype)
            probe = {"model": model, "context": context, "max_len": max_len, "alpha": alpha}
            if max_len == 1:
                break
            if wanted is not None and attempt < 50 and not wanted(probe):
                continue
            if wanted is _parents_reordered:
                break
            if torch.equal(_best_sequence(probe)[1], _greedy_path(probe)) and attempt < 59:
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
    returned = plain(fn(decoder, context, k=case["k"], max_len=case["max_len"], alpha=case["alpha"]))
    return {"returned": returned, "widest call": decoder.widest, "steps": trace(decoder, context)}


def _unkept_hypothesis(steps: list[dict[str, Any]], k: int, rtol: float) -> str | None:
    """What is wrong with the hypotheses a search fed the decoder, step by step, or None.

    A beam's step t + 1 feeds the decoder the live ones among the k best candidates of step t: the candidate
    (hypothesis j of step t, token v) scores S_t[j] + log softmax(logits_t[j])[v], and S_0 = 0 for <bos>.  Each
    fed row is read from the decoder's own record (its state equals row j of step t's new states); a search
    whose rows cannot be followed that way (one call per hypothesis, states rebuilt) is not judged here.
    """
    if not steps or steps[0]["parents"].tolist() != [0] or steps[0]["tokens"].tolist() != [BOS_ID]:
        return None
    prefixes, scores = [()], np.zeros(1)
    for t in range(1, len(steps)):
        log_probs = steps[t - 1]["log_probs"]
        candidates = scores[:, None] + log_probs  # (B_t, V)
        ranked = np.sort(candidates.reshape(-1))[::-1]
        kth = ranked[min(k, ranked.size) - 1]
        tol = rtol * (1 + abs(kth))
        parents, tokens = steps[t]["parents"].tolist(), steps[t]["tokens"].tolist()
        if -1 in parents:
            return None
        for j, v in zip(parents, tokens):
            fed = list(prefixes[j]) + [v]
            if v == EOS_ID:
                return (
                    f"at step {t + 1} the decoder was fed the hypothesis {fed}, which ended with <eos> at step {t}: "
                    f"a hypothesis that emits <eos> is finished; only the others stay live."
                )
            if candidates[j, v] < kth - tol:
                others = [i for i in range(len(prefixes)) if i != j and candidates[i, v] >= kth - tol]
                if others:
                    return (
                        f"at step {t + 1} the decoder was fed token {v} with the state of the hypothesis "
                        f"{list(prefixes[j])}, but {fed} is not among the k={k} best candidates of step {t}; "
                        f"{list(prefixes[others[0]]) + [v]} is. The state of each kept candidate must be its "
                        f"parent's: which state does a candidate continue from, once the k best are kept?"
                    )
                return (
                    f"at step {t + 1} the decoder was fed the hypothesis {fed}, which is not among the k={k} best "
                    f"candidates of step {t} (its sum of log-probabilities is {candidates[j, v]:.4f}, the k-th best "
                    f"{kth:.4f}): keep the k best of all B * V candidates by score + log_softmax(logits), "
                    f"flattened, and continue exactly those."
                )
        prefixes = [prefixes[j] + (v,) for j, v in zip(parents, tokens)]
        scores = np.array([candidates[j, v] for j, v in zip(parents, tokens)])
    return None


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


def _eos_length_matters(case) -> bool:
    """True if the best sequence by brute force changes when its length for the normalisation leaves out <eos>."""
    seqs = _all_sequences(case["max_len"])
    log_probs = _log_probs(case, seqs)
    short = [lp / max(len(s) - int(s[-1] == EOS_ID), 1) ** case["alpha"] for lp, s in zip(log_probs, seqs)]
    return not torch.equal(seqs[int(np.argmax(short))], _best_sequence(case)[1])


def _parents_reordered(case) -> bool:
    """True if the two best candidates of the second step, among the children of the two best first tokens (both
    content tokens), are not a child of the first and then a child of the second, in that order."""
    scores = _prefix_scores(case)
    first = sorted((key for key in scores if len(key) == 1), key=lambda key: -scores[key])[:2]
    if any(key[0] == EOS_ID for key in first):
        return False
    second = sorted((key for key in scores if len(key) == 2 and key[:1] in first), key=lambda key: -scores[key])
    parents = [first.index(key[:1]) for key in second[:2] if key[-1] != EOS_ID]
    return parents != list(range(len(parents)))


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
        ran = result_of(results, name, "beam_search")
        tokens, score = pair(ran["returned"], "beam_search", "tokens, score")
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
        if ran["widest call"] > k:
            raise CheckFailure(
                f"case '{name}': your search called the decoder with {ran['widest call']} hypotheses at once, but a "
                f"beam of width k={k} holds at most k: after each step keep only the k best candidates over all "
                f"hypotheses together (the top k of all B * V scores), not the top k of each hypothesis (k * B of "
                f"them, a beam that grows every step)."
            )
        greedy = _greedy_path(case)
        if k == 1 and not torch.equal(tokens, greedy):
            raise CheckFailure(
                f"case '{name}': beam search with k=1 must reproduce greedy decoding exactly (beam k=1 differs from "
                f"greedy): the tokens {sequence_differences(tokens, greedy)}. With one hypothesis, each step "
                f"keeps the single best token, and the search ends at its <eos> or at max_len."
            )
        unkept = _unkept_hypothesis(ran["steps"], k, 1e-9 if case["model"]["dtype"] == "float64" else 1e-5)
        if unkept:
            raise CheckFailure(f"case '{name}': {unkept}")
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
                f"model's sum gives yours. So what you added along the way were not the model's log-probabilities for "
                f"this prefix. Two things make them: each step's scores must be log-probabilities (the logits "
                f"normalised over the vocabulary), and each kept candidate must continue from its parent's state; "
                f"its score is its parent's plus the chosen token's log-probability."
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

                def without_eos(seq):
                    return _log_prob(case, seq) / max(len(seq) - int(seq[-1] == EOS_ID), 1) ** alpha

                # the raw sum first: for a hypothesis that is <eos> alone, leaving <eos> out of the length changes nothing
                if alpha != 0 and _log_prob(case, tokens) >= _log_prob(case, kept[1]) - 1e-9:
                    raise CheckFailure(
                        f"case '{name}': your {tokens.tolist()} is the best by the raw sum of log-probabilities but "
                        f"not by the normalised score ({kept[1].tolist()}, which every beam of width k={k} keeps, "
                        f"scores {kept[0]:.4f}, yours {expected_score:.4f}): compare finished hypotheses by "
                        f"score / len ** alpha (length normalisation, len counting the <eos>), and search on until every hypothesis has "
                        f"finished or reached max_len (a search that stops at the first <eos> returns it too)."
                    )
                if alpha != 0 and int(tokens[-1]) == EOS_ID and without_eos(tokens) >= without_eos(kept[1]) - 1e-9:
                    raise CheckFailure(
                        f"case '{name}': your {tokens.tolist()} beats {kept[1].tolist()} (which every beam of width "
                        f"k={k} keeps) only if the length leaves out <eos>: by score / len ** alpha with len counting "
                        f"the <eos>, yours scores {expected_score:.4f} and that one {kept[0]:.4f}."
                    )
                raise CheckFailure(
                    f"case '{name}': your beam lost a sequence that every beam of width k={k} keeps: "
                    f"{kept[1].tolist()} ranks among the {k} best candidates at every step and scores {kept[0]:.4f}; "
                    f"yours, {tokens.tolist()}, scores {expected_score:.4f}. Choose the k best candidates over all "
                    f"hypotheses together (the top k of all k * V scores, flattened, not the top k of each "
                    f"hypothesis and then the first k of those), and keep every finished hypothesis."
                )


BEAM_SEARCH = Exercise("beam_search", "beam_search", visible_first(_beam_cases), _beam_run, _beam_judge, bonus=3.0)
