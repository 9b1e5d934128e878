"""Checks for notebook 07 (attention): scaled dot-product attention over padded encoder states, and one
decoder step that attends.

References are torch's own: ``F.scaled_dot_product_attention`` with a boolean mask for the attended
context, a masked ``softmax`` for the weights, and ``nn.GRUCell`` / ``nn.Linear`` loaded with the same
weights for the decoder step, which the learner computes from the cell's parameters (the learner's cell is
notebook 06's :class:`~course_lib.checks.nb06_seq2seq.cases.WeightsOnlyGRUCell`, whose forward raises).
Mistakes are named by switching one thing at a time (no mask, no scaling, softmax over the wrong axis, the
new state as the query, the weights of the next step's query returned, the cell's two inputs swapped or the
embedding read by the context's columns, the GRU's gate order or reset wrong -- notebook 05's variants --,
the logits read from the old state).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks.compare import describe
from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb05_gru.variants import gru_variant, name_mistakes
from course_lib.checks.nb06_seq2seq.cases import WeightsOnlyGRUCell, decoder_weights
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    generator,
    plain,
    randn,
    tolerance,
    visible_first,
    which_differ,
)

__all__ = ["EXERCISES", "check_attention", "check_attention_decoder_step"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _mask(lengths: list[int], S: int) -> np.ndarray:
    return (torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]).numpy()


def _results(value: Any, function: str, count: int, names: str) -> tuple:
    __tracebackhide__ = True
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise CheckFailure(f"{function} should return {count} things ({names}), got {describe(value)}")
    return tuple(value)


def reference_weights(
    query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, scale: float | None = None, dim: int = -1
) -> torch.Tensor:
    """softmax over the real positions of query . key_j * scale; (N, H), (N, S, H), (N, S) -> (N, S)."""
    return _scaled_scores(query, keys, scale).masked_fill(~mask, float("-inf")).softmax(dim)


def _scaled_scores(query: torch.Tensor, keys: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """query . key_j * scale (1 / sqrt(H) unless given); (N, H), (N, S, H) -> (N, S)."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return torch.einsum("nh,nsh->ns", query, keys) * scale


def _fitted_scale(weights: torch.Tensor, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> float | None:
    """The c of ``softmax(c * query . key)`` that fits positive ``weights`` best (least squares on the log-weights,
    centred per row over the real positions), or None when no row has two real positions."""
    scores = torch.einsum("nh,nsh->ns", query.double(), keys.double())
    xs, ys = [], []
    for n in range(scores.shape[0]):
        real = mask[n]
        if int(real.sum()) < 2 or not bool((weights[n][real] > 0).all()):
            continue
        x, y = scores[n][real], weights[n][real].log()
        xs.append(x - x.mean())
        ys.append(y - y.mean())
    if not xs:
        return None
    x, y = torch.cat(xs), torch.cat(ys)
    denominator = float((x * x).sum())
    return float((x * y).sum()) / denominator if denominator > 0 else None


# ==================================================================================================
# 1. Scaled dot-product attention


def _attention_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    setups = [
        ("N=2, S=4, H=3, one row padded", [4, 2], 4, 3, 1.0, "float32"),
        ("float64, large scores (exp overflows)", [4, 3], 4, 6, 2000.0, "float64"),
        ("float64, every real score below -1e4", [3, 2], 4, 3, -1.0, "float64"),
        ("float64, one row, S=1", [1], 1, 4, 1.0, "float64"),
    ]
    if hidden:
        lengths = [6] + torch.randint(1, 7, (2,), generator=g).tolist()
        setups += [
            ("float64, random lengths", lengths, 6, 5, 1.0, "float64"),
            ("float64, S=1", [1, 1], 1, 4, 1.0, "float64"),
            ("float64, large scores", [5, 3], 5, 8, 2000.0, "float64"),
            ("float64, one row, no padding", [7], 7, 2, 1.0, "float64"),
            ("float32, every real score below -1e4", [5, 2, 4], 5, 6, -1.0, "float32"),
        ]
    cases = {}
    for name, lengths, S, H, scale, dtype in setups:
        query, keys = randn(g, len(lengths), H, scale=abs(scale)), randn(g, len(lengths), S, H)
        if scale < 0:  # keys against the query, |query| = 1e5: every real score far below -1e4 (a -1e4 fill shows)
            query = 1e5 * query / np.linalg.norm(query, axis=-1, keepdims=True)
            keys = 0.1 * keys - (1 + np.abs(keys[..., :1])) * query[:, None, :] / 1e5
        cases[name] = {
            "query": query,
            "keys": keys,
            "mask": _mask(lengths, S),
            "dtype": dtype,
            "kind": "edge" if scale != 1 or S == 1 else "values",
        }
    return cases


def _attention_run(fn, case):
    dtype = _DTYPES[case["dtype"]]
    query, keys = (torch.from_numpy(case[k]).to(dtype) for k in ("query", "keys"))
    return plain(fn(query, keys, torch.from_numpy(case["mask"])))


def _attention_judge(cases, results):
    for name, case in cases.items():
        query, keys, mask = (torch.from_numpy(case[k]) for k in ("query", "keys", "mask"))
        N, S, H = keys.shape
        weights_ref = reference_weights(query, keys, mask)  # (N, S)
        context_ref = F.scaled_dot_product_attention(query[:, None, :], keys, keys, attn_mask=mask[:, None, :])[:, 0]
        context, weights = _results(result_of(results, name, "attention"), "attention", 2, "context, weights")
        context = as_tensor(context, f"context on case '{name}'", (N, H), "(N, H)")
        weights = as_tensor(weights, f"weights on case '{name}'", (N, S), "(N, S)")
        for value, label in ((context, "context"), (weights, "weights")):
            assert_dtype(value, _DTYPES[case["dtype"]], f"{label} on case '{name}'")
        tol = tolerance(case["dtype"])  # the case's dtype fixes the tolerance, never the result's
        shown = f"mask {mask.int().tolist()}, your weights {[[round(w, 3) for w in row] for row in weights.tolist()]}"
        if not torch.isfinite(weights).all():
            bad_rows = ~torch.isfinite(weights).all(-1)
            if mask[bad_rows].all():
                raise CheckFailure(
                    f"case '{name}': the weights contain NaN in rows without padding, where every score "
                    f"was set to -inf: the mask is inverted. True in mask marks a real position; fill "
                    f"the scores where mask is False. {shown}"
                )
            raise CheckFailure(
                f"case '{name}': the weights contain NaN or inf. Use torch.softmax (it subtracts the "
                f"largest score before exp) on scores where the padding is -inf, not 0. {shown}"
            )
        if (weights.double()[~mask].abs() > 1e-6).any():
            if close(weights, reference_weights(query, keys, ~mask), **tol):
                raise CheckFailure(
                    f"case '{name}': the mask is inverted: the weights fall on the padding only. True "
                    f"in mask marks a real position. {shown}"
                )
            scores = _scaled_scores(query, keys)
            if close(weights, (scores * mask).softmax(-1), **tol):
                why = "you multiplied the scores by the mask, which sets them to 0, and exp(0) is not 0"
            else:
                lowest = float(scores[mask].min())
                why = (
                    f"a finite score, however negative, is not below every real score (this case has real scores "
                    f"down to {lowest:.4g}), and its exponential is not exactly 0"
                )
            raise CheckFailure(
                f"case '{name}': padding gets attention weight: every position where mask is False must get weight 0. "
                f"Before the softmax, give those positions the one score whose exponential is exactly 0; {why}. "
                f"{shown}"
            )
        sums = weights.double().sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            hint = ""
            if N > 1 and close(weights, reference_weights(query, keys, mask, dim=0).nan_to_num(0.0), **tol):
                hint = " The softmax ran over the batch (dim 0); take it over the positions (dim -1)."
            elif close(weights, _scaled_scores(query, keys).softmax(-1) * mask, **tol):
                hint = (
                    " The padded weights were zeroed after the softmax: the share the padding had is lost from "
                    "each padded row instead of going to its real positions. The padding must be out before the "
                    "softmax normalises."
                )
            raise CheckFailure(
                f"case '{name}': each row of weights should sum to 1 (a softmax over the S positions); "
                f"the sums are {[round(s, 4) for s in sums.tolist()]}.{hint}"
            )
        if not close(weights, weights_ref, **tol) and close(weights, reference_weights(query, keys, mask, 1.0), **tol):
            raise CheckFailure(
                f"case '{name}': the scores are not scaled: divide query . key by sqrt(H) = "
                f"{math.sqrt(H):.4g} before the softmax (scaled dot-product attention)."
            )
        scale = _fitted_scale(weights.double(), query, keys, mask)
        if scale is not None and not close(weights, weights_ref, **tol):
            if close(weights, reference_weights(query, keys, mask, scale), **tol):
                named = {f"H = {H}": 1.0 / H, f"sqrt(S) = sqrt({S})": 1.0 / math.sqrt(S), f"S = {S}": 1.0 / S}
                which = next((k for k, v in named.items() if abs(scale - v) <= 1e-6 * v), None)
                raise CheckFailure(
                    f"case '{name}': the weights are a softmax of query . key scaled by the wrong factor: "
                    + (f"you divided by {which}" if which else f"your scores are query . key times {scale:.6g}")
                    + f"; scaled dot-product attention divides by sqrt(H) = {math.sqrt(H):.4g}, H the size of a "
                    f"query and a key."
                )
        assert_close(
            weights.double(),
            weights_ref,
            f"weights on case '{name}'",
            **tol,
            hint="weights[n] = softmax over the real positions j of (query[n] . keys[n, j]) / sqrt(H).",
            letters="N S",
        )
        if close(context, keys.mean(1), **tol) and not close(context_ref, keys.mean(1), **tol):
            raise CheckFailure(
                f"case '{name}': context is the plain mean of the keys; weight each key by its "
                f"attention weight: context[n] = sum_j weights[n, j] * keys[n, j]."
            )
        assert_close(
            context.double(),
            context_ref,
            f"context on case '{name}'",
            **tol,
            hint="context[n] = sum_j weights[n, j] * keys[n, j] (a batched weights @ keys).",
            letters="N H",
            factors={"S (the number of keys)": keys.shape[1]},
        )


ATTENTION = Exercise("attention", "attention", visible_first(_attention_cases), _attention_run, _attention_judge)


# ==================================================================================================
# 2. A decoder step that attends


def _step_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    setups = [("N=2, S=5, V=7, E=3, H=4", [5, 3], 5, 7, 3, 4, "float32")]
    if hidden:
        setups += [
            ("float64, N=4", [6, 1, 4, 6], 6, 9, 5, 6, "float64"),
            ("float64, one row", [3], 3, 5, 2, 3, "float64"),
        ]
    cases = {}
    for name, lengths, S, V, E, H, dtype in setups:
        N = len(lengths)
        cases[name] = {
            "weights": decoder_weights(g, V, E, H),
            "y_prev": torch.randint(2, V, (N,), generator=g).numpy(),
            "h": np.tanh(randn(g, N, H, scale=2.0)),
            "keys": np.tanh(randn(g, N, S, H, scale=2.0)),
            "mask": _mask(lengths, S),
            "dtype": dtype,
        }
    return cases


def _step_modules(case, cell_type=nn.GRUCell) -> tuple[nn.Embedding, nn.GRUCell, nn.Linear]:
    V, E = case["weights"]["embedding.weight"].shape
    H = case["weights"]["cell.weight_hh"].shape[1]
    modules = {"embedding": nn.Embedding(V, E), "cell": cell_type(E + H, H), "out": nn.Linear(H, V)}
    with torch.no_grad():
        for key, value in case["weights"].items():
            module, name = key.split(".")
            getattr(modules[module], name).copy_(torch.from_numpy(value))
    dtype = _DTYPES[case["dtype"]]
    return tuple(modules[m].to(dtype) for m in ("embedding", "cell", "out"))


def _step_run(fn, case):
    embedding, cell, out = _step_modules(case, WeightsOnlyGRUCell)
    dtype = _DTYPES[case["dtype"]]
    h, keys = (torch.from_numpy(case[k]).to(dtype) for k in ("h", "keys"))
    return plain(fn(embedding, cell, out, torch.from_numpy(case["y_prev"]), h, keys, torch.from_numpy(case["mask"])))


def _step_judge(cases, results):
    for name, case in cases.items():
        embedding, cell, out = (m.double() for m in _step_modules(case))
        y_prev, h, keys, mask = (torch.from_numpy(case[k]) for k in ("y_prev", "h", "keys", "mask"))
        N, S, H = keys.shape
        V = out.out_features

        def reference(query, context=None):
            with torch.no_grad():
                weights = reference_weights(query, keys, mask)
                context = torch.einsum("ns,nsh->nh", weights, keys) if context is None else context
                h_new = cell(torch.cat([embedding(y_prev), context], dim=-1), h)
                return out(h_new), h_new, weights

        logits, h_new, weights = _results(
            result_of(results, name, "attention_decoder_step"), "attention_decoder_step", 3, "logits, h_new, weights"
        )
        logits = as_tensor(logits, f"logits on case '{name}'", (N, V), "(N, V)")
        h_new = as_tensor(h_new, f"h_new on case '{name}'", (N, H), "(N, H)")
        weights = as_tensor(weights, f"weights on case '{name}'", (N, S), "(N, S)")
        for value, label in ((logits, "logits"), (h_new, "h_new"), (weights, "weights")):
            assert_dtype(value, _DTYPES[case["dtype"]], f"{label} on case '{name}'")
        tol = tolerance(case["dtype"])  # the case's dtype fixes the tolerance, never the result's
        logits_ref, h_ref, weights_ref = reference(h)
        if not close(weights, weights_ref, **tol):
            if (weights.double()[~mask].abs() > 1e-6).any():
                raise CheckFailure(f"case '{name}': padding gets attention weight: pass the mask to the attention.")
            uniform = mask.double() / mask.double().sum(-1, keepdim=True)
            if close(weights, uniform, **tol) and not close(weights_ref, uniform, **tol):
                raise CheckFailure(
                    f"case '{name}': every real position gets the same weight (1 / the number of real positions): "
                    f"the context is the mean of the keys, not an attention of the state over them."
                )
            with (
                torch.no_grad()
            ):  # the query was a new state (the one returned, or the step's right one), or y's embedding
                queries = {
                    "h_new instead of h": [h_new.double(), h_ref],
                    "the embedding of y_prev instead of h": (
                        [embedding(y_prev).detach().double()] if embedding.embedding_dim == H else []
                    ),
                }
                wrong = {label: [reference_weights(q, keys, mask) for q in qs] for label, qs in queries.items()}
            if close(h_new, h_ref, **tol) and close(weights, wrong["h_new instead of h"][0], **tol):
                raise CheckFailure(
                    f"case '{name}': h_new is right, so this step's context was made with the right query, but the "
                    f"weights you return are another query's: those of s_t, the state the step returns (the next "
                    f"step's query). Return the weights this step's context was made with."
                )
            for label, candidates in wrong.items():
                if any(close(weights, w, **tol) for w in candidates):
                    raise CheckFailure(
                        f"case '{name}': you queried the attention with {label}: the weights you returned are the ones "
                        f"that query asks for. In this notebook the previous state h asks for the context, before the "
                        f"cell runs (the cell needs that context as input)."
                    )
            assert_close(
                weights.double(),
                weights_ref,
                f"weights on case '{name}'",
                **tol,
                hint="The previous state h is the query; attention returns the pair (context, weights), in that "
                "order, and the weights to return are the ones it used.",
            )
        right = [
            n for n, got, ref in (("logits", logits, logits_ref), ("h_new", h_new, h_ref)) if close(got, ref, **tol)
        ]
        wrong = [n for n in ("logits", "h_new") if n not in right]
        where = which_differ(["weights", *right], wrong)
        where = f"\n{where}" if where else ""
        with torch.no_grad():  # the same cell fed its two inputs the other way round
            context_ref = torch.einsum("ns,nsh->nh", weights_ref, keys)
            swapped = cell(torch.cat([context_ref, embedding(y_prev)], dim=-1), h)
        if close(h_new, swapped, **tol) and not close(h_ref, swapped, **tol):
            raise CheckFailure(
                f"case '{name}': the two parts of the cell's input are swapped: the cell's weights read them in the "
                f"order of the equation s_t = GRU([e(y_{{t-1}}); c_t], s_{{t-1}})."
            )
        if not close(h_new, h_ref, **tol):
            _name_cell_mistake(name, h_new, cell, torch.cat([embedding(y_prev).detach(), context_ref], -1), h, tol)
        unweighted = reference(h, keys.mean(1))
        if close(h_new, unweighted[1], **tol) and not close(h_ref, unweighted[1], **tol):
            raise CheckFailure(
                f"case '{name}': the cell was fed the plain mean of the keys; feed the attended context."
            )
        assert_close(
            h_new.double(),
            h_ref,
            f"h_new on case '{name}'",
            **tol,
            hint="The cell's input is the previous token's embedding followed by the attended context (E + H "
            "features, in that order), and its state is the previous state h." + where,
        )
        stale = out(h).detach()
        if close(logits, stale, **tol) and not close(logits_ref, stale, **tol):
            raise CheckFailure(
                f"case '{name}': the logits are read out of the previous state h; the step's output comes from the "
                f"state the cell has just made.{where}"
            )
        assert_close(
            logits.double(),
            logits_ref,
            f"logits on case '{name}'",
            **tol,
            hint="The logits are read from the new state." + where,
        )


def _name_cell_mistake(name, h_new, cell, x, h, tol) -> None:
    """Raise the named mistake of the step computed from the cell's weights on x = [e; c_t] that reproduces
    ``h_new``, if one does: the embedding read by the context's columns, or notebook 05's GRU variants."""
    __tracebackhide__ = True
    E = x.shape[1] - h.shape[1]
    W_ih, W_hh, b_ih, b_hh = (p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    with torch.no_grad():
        other = nn.GRUCell(cell.input_size, cell.hidden_size).double()
        for param, value in zip(other.parameters(), (torch.cat([W_ih[:, -E:], W_ih[:, E:]], 1), W_hh, b_ih, b_hh)):
            param.copy_(value)
        e_by_context_columns = other(x, h)
    if close(h_new, e_by_context_columns, **tol) and not close(cell(x, h).detach(), e_by_context_columns, **tol):
        raise CheckFailure(
            f"case '{name}': h_new: the embedding was multiplied by the last E columns of weight_ih, which read the "
            f"context: the cell was trained on [e(y_{{t-1}}); c_t], so the embedding's columns are the first E."
        )
    message = name_mistakes([h_new], lambda kwargs: [gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, **kwargs)])
    if message:
        raise CheckFailure(f"case '{name}': h_new: {message}")


ATTENTION_DECODER_STEP = Exercise(
    "attention_decoder_step", "attention_decoder_step", visible_first(_step_cases), _step_run, _step_judge
)


EXERCISES = (ATTENTION, ATTENTION_DECODER_STEP)

check_attention = ATTENTION.check
check_attention_decoder_step = ATTENTION_DECODER_STEP.check
