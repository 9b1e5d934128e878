"""Checks for notebook 07 (attention): scaled dot-product attention of T queries over padded encoder states,
the keys' part of the decoder cell's input gates (computed once per sentence), and one decoder step that
attends and reads the context's gates from them.

References are torch's own: ``F.scaled_dot_product_attention`` with a boolean mask for the attended
contexts, a masked ``softmax`` for the weights, and ``nn.GRUCell`` / ``nn.Linear`` loaded with the same
weights for the decoder step, which the learner computes from the cell's parameters (the learner's cell is
notebook 06's :class:`~course_lib.checks.nb06_seq2seq.cases.WeightsOnlyGRUCell`, whose forward raises).
Mistakes are named by switching one thing at a time (no mask, the mask after the softmax or on the wrong axis,
an unsafe renormalisation, no or a wrong scaling, the softmax over the queries or the batch, contexts from the
unnormalised scores; the keys' gates read by the wrong columns or with the wrong bias; the new state as the
query, the weights of the next step's query returned, the context's gates recomputed from ``weight_ih`` instead
of read from the key gates, ``bias_ih`` added twice, padded keys' gates leaking, the embedding read by the
context's columns, the GRU's gate order or reset wrong -- notebook 05's variants --, the logits read from the
old state).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks.compare import describe
from course_lib.checks.core import (
    _RAISED_IN,
    CheckFailure,
    Exercise,
    LearnerError,
    _innermost_function,
    result_of,
    together,
)
from course_lib.checks.nb05_gru.variants import gru_variant, name_mistakes
from course_lib.checks.nb06_seq2seq.cases import WeightsOnlyGRUCell, decoder_weights
from course_lib.checks.nb06_seq2seq.context_gates import _context_projection, gate_mistakes
from course_lib.checks.nb06_seq2seq.decoder_step import STEP_MISTAKES
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    first_named_mistake,
    generator,
    plain,
    randn,
    tolerance,
    visible_first,
    which_differ,
)

__all__ = [
    "EXERCISES",
    "ATTENTION",
    "KEY_GATES",
    "ATTENTION_DECODER_STEP",
    "ATTENTION_DECODER_STEP_ALONE",
    "check_attention",
    "check_attention_decoder_step",
]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _mask(lengths: list[int], S: int) -> np.ndarray:
    return (torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]).numpy()


def _results(value: Any, function: str, count: int, names: str) -> tuple:
    __tracebackhide__ = True
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise CheckFailure(f"{function} should return {count} things ({names}), got {describe(value)}")
    return tuple(value)


def _scaled_scores(queries: torch.Tensor, keys: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """queries[n, t] . keys[n, j] * scale (1 / sqrt(H) unless given); (N, T, H), (N, S, H) -> (N, T, S)."""
    scale = 1.0 / math.sqrt(queries.shape[-1]) if scale is None else scale
    return torch.einsum("nth,nsh->nts", queries, keys) * scale


def reference_weights(
    queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, scale: float | None = None, dim: int = -1
) -> torch.Tensor:
    """softmax over the real positions of queries . keys * scale; (N, T, H), (N, S, H), (N, S) -> (N, T, S)."""
    return _scaled_scores(queries, keys, scale).masked_fill(~mask[:, None, :], float("-inf")).softmax(dim)


def _same(got: torch.Tensor, expected: torch.Tensor | None, tol: dict) -> bool:
    """close(), where NaN counts as a value: the same NaN entries, the rest within tolerance."""
    if expected is None or tuple(got.shape) != tuple(expected.shape):
        return False
    got, expected = got.double(), expected.double()
    return bool((got.isnan() == expected.isnan()).all()) and close(got.nan_to_num(0.0), expected.nan_to_num(0.0), **tol)


def _fitted_scale(weights: torch.Tensor, queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> float | None:
    """The c of ``softmax(c * query . key)`` that fits positive ``weights`` (N, T, S) best (least squares on the
    log-weights, centred per query over the real positions), or None when no row has two real positions."""
    scores = torch.einsum("nth,nsh->nts", queries.double(), keys.double())
    xs, ys = [], []
    for n in range(scores.shape[0]):
        real = mask[n]
        for t in range(scores.shape[1]):
            if int(real.sum()) < 2 or not bool((weights[n, t][real] > 0).all()):
                continue
            x, y = scores[n, t][real], weights[n, t][real].log()
            xs.append(x - x.mean())
            ys.append(y - y.mean())
    if not xs:
        return None
    x, y = torch.cat(xs), torch.cat(ys)
    denominator = float((x * x).sum())
    return float((x * y).sum()) / denominator if denominator > 0 else None


# ==================================================================================================
# 1. Scaled dot-product attention, T queries at once


def _attention_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    # (name, lengths, S, T, H, query scale (-1: every real score below -1e4, the padded ones large), dtype)
    setups = [
        ("N=2, T=3, S=4, H=3, one row padded", [4, 2], 4, 3, 3, 1.0, "float32"),
        ("float64, T = S = 4", [4, 2], 4, 4, 5, 1.0, "float64"),
        ("float64, large scores (exp overflows)", [4, 3], 4, 2, 6, 2000.0, "float64"),
        ("float64, every real score below -1e4, padded ones large", [3, 2], 4, 2, 3, -1.0, "float64"),
        ("float64, one row, S=1, T=1", [1], 1, 1, 4, 1.0, "float64"),
    ]
    if hidden:
        lengths = [6] + torch.randint(1, 7, (2,), generator=g).tolist()
        setups += [
            ("float64, random lengths", lengths, 6, 4, 5, 1.0, "float64"),
            ("float64, T=1 (one decoder step)", [5, 2, 4], 5, 1, 4, 1.0, "float64"),
            ("float64, S=1", [1, 1], 1, 3, 4, 1.0, "float64"),
            ("float64, large scores", [5, 3], 5, 3, 8, 2000.0, "float64"),
            ("float64, one row, no padding", [7], 7, 2, 2, 1.0, "float64"),
            ("float32, every real score below -1e4, padded ones large", [5, 2, 4], 5, 3, 6, -1.0, "float32"),
        ]
    cases = {}
    for name, lengths, S, T, H, scale, dtype in setups:
        N = len(lengths)
        queries, keys = randn(g, N, T, H, scale=abs(scale)), randn(g, N, S, H)
        mask = _mask(lengths, S)
        if scale < 0:  # |query| = 1e5 along u_n; real keys against u_n, padded keys along it
            u = randn(g, N, 1, H)
            u = u / np.linalg.norm(u, axis=-1, keepdims=True)
            queries = u + 0.05 * queries
            queries = 1e5 * queries / np.linalg.norm(queries, axis=-1, keepdims=True)
            sign = np.where(mask, -1.0, 1.0)[..., None]
            keys = 0.1 * keys + sign * (1 + np.abs(keys[..., :1])) * u
        cases[name] = {
            "queries": queries,
            "keys": keys,
            "mask": mask,
            "dtype": dtype,
            "kind": "edge" if scale != 1 or S == 1 else "values",
        }
    return cases


def _attention_run(fn, case):
    dtype = _DTYPES[case["dtype"]]
    queries, keys = (torch.from_numpy(case[k]).to(dtype) for k in ("queries", "keys"))
    return plain(fn(queries, keys, torch.from_numpy(case["mask"])))


def _attention_mistakes(queries, keys, mask) -> list[tuple[str, Any]]:
    """(message, the weights (N, T, S) that mistake gives) for the named mistakes of ``attention``'s weights."""
    N, T, S = queries.shape[0], queries.shape[1], keys.shape[1]
    scores = _scaled_scores(queries, keys)
    real = mask[:, None, :]
    over_queries_axis = (lambda: scores.masked_fill(~mask[:, :, None], float("-inf")).softmax(-1)) if T == S else None

    def ambiguous() -> bool:  # where a fill of -1e4 is as high above the real scores as 0, neither can be told
        return close(scores.masked_fill(~real, -1e4).softmax(-1), (scores * real).softmax(-1))

    return [
        (
            "the mask is inverted: the weights fall on the padding only. True in mask marks a real position.",
            lambda: reference_weights(queries, keys, ~mask),
        ),
        (
            "padding gets attention weight: the padded positions were given the score 0 (the scores, or the padded "
            "keys, multiplied by the mask), and a score of 0 is an ordinary score: exp(0) is not 0.",
            lambda: None if ambiguous() else (scores * real).softmax(-1),
        ),
        (
            "padding gets attention weight: the mask is not used at all (a softmax over all S positions).",
            lambda: scores.softmax(-1),
        ),
        (
            "the padded weights were zeroed after the softmax: the share the padding had is lost from each padded "
            "row (its weights no longer sum to 1) instead of going to its real positions. The padding must be out "
            "before the softmax normalises.",
            lambda: scores.softmax(-1) * real,
        ),
        (
            "the weights were computed as exp(scores) * mask divided by its sum over the row: right on ordinary "
            "scores, but on this case the exponentials overflow (inf / inf) or every real one underflows to 0 "
            "(0 / 0), and the division gives NaN. The weights must be right for any finite scores.",
            lambda: (scores.exp() * real) / (scores.exp() * real).sum(-1, keepdim=True),
        ),
        (
            "the mask was applied along the queries' axis (as if it were (N, T, 1)): mask[n] marks the S keys of "
            "row n. Along which axis of the scores (N, T, S) do the keys run?",
            over_queries_axis,
        ),
        (
            "the softmax ran over the queries (dim 1, T): each query's weights must be a distribution over the S "
            "key positions (the last axis).",
            lambda: reference_weights(queries, keys, mask, dim=1) if T > 1 else None,
        ),
        (
            "the softmax ran over the batch (dim 0): over which axis must each query's weights sum to 1?",
            lambda: reference_weights(queries, keys, mask, dim=0) if N > 1 else None,
        ),
    ]


def _name_a_mask_broadcast_error(name: str, value: Any, N: int, T: int, S: int) -> None:
    """Name torch's broadcast error of a mask (N, S) laid along the queries' axis T of the scores (N, T, S): the
    sizes T and S clash at dimension 1 (raised only where T != S and neither is 1)."""
    __tracebackhide__ = True
    if not isinstance(value, LearnerError) or T == S or 1 in (T, S):
        return
    clash = re.search(
        r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton "
        r"dimension (\d+)",
        value.message,
    )
    if clash and {int(clash.group(1)), int(clash.group(2))} == {T, S} and int(clash.group(3)) in (1, -2):
        raise CheckFailure(
            f"case '{name}' (N={N}, T={T}, S={S}): attention raised torch's broadcast error ({value.message}): the "
            f"mask was laid along the queries' axis T, as if it were (N, T, 1) (mask[:, :, None]), against "
            f"scores (N, T, S). mask[n] marks the S keys of row n: along which axis of the scores do they run?"
        )


def _attention_judge(cases, results):
    for name, case in cases.items():
        queries, keys, mask = (torch.from_numpy(case[k]) for k in ("queries", "keys", "mask"))
        N, S, H = keys.shape
        T = queries.shape[1]
        weights_ref = reference_weights(queries, keys, mask)  # (N, T, S)
        contexts_ref = F.scaled_dot_product_attention(queries, keys, keys, attn_mask=mask[:, None, :])  # (N, T, H)
        _name_a_mask_broadcast_error(name, results.get(name), N, T, S)
        contexts, weights = _results(result_of(results, name, "attention"), "attention", 2, "contexts, weights")
        contexts = as_tensor(contexts, f"contexts on case '{name}'", (N, T, H), "(N, T, H)")
        weights = as_tensor(weights, f"weights on case '{name}'", (N, T, S), "(N, T, S)")
        for value, label in ((contexts, "contexts"), (weights, "weights")):
            assert_dtype(value, _DTYPES[case["dtype"]], f"{label} on case '{name}'")
        tol = tolerance(case["dtype"])  # the case's dtype fixes the tolerance, never the result's
        shown = f"mask {mask.int().tolist()}; your weights of query 0: " + str(
            [[round(w, 3) for w in row] for row in weights[:, 0].tolist()]
        )
        named = first_named_mistake(
            weights.double(),
            weights_ref,
            _attention_mistakes(queries, keys, mask),
            same=lambda a, b: _same(a, b, tol),
        )
        if named:
            raise CheckFailure(f"case '{name}': {named} {shown}")
        if not torch.isfinite(weights).all():
            raise CheckFailure(
                f"case '{name}': the weights contain NaN or inf, in rows of a case whose scores are "
                f"{'very large' if float(_scaled_scores(queries, keys).abs().max()) > 700 else 'ordinary'}: an "
                f"exponential overflowed (inf / inf) or every real one underflowed to 0 (0 / 0); a renormalisation "
                f"of exp(scores) * mask does this, even shifted by a maximum that includes the padded scores. The "
                f"weights must be right for any finite scores. {shown}"
            )
        if (weights.double()[~mask[:, None, :].expand(N, T, S)].abs() > 1e-6).any():
            highest = float(_scaled_scores(queries, keys).masked_select(mask[:, None, :]).max())
            raise CheckFailure(
                f"case '{name}': padding gets attention weight: every position where mask is False must get weight "
                f"exactly 0, for every query. A finite score, however negative, is not below every real score "
                f"(on this case every real score is at most {highest:.4g}), and its exponential is not exactly 0. "
                f"{shown}"
            )
        sums = weights.double().sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            raise CheckFailure(
                f"case '{name}': each query's weights should sum to 1 over the S positions (the last axis); the "
                f"sums of query 0 are {[round(s, 4) for s in sums[:, 0].tolist()]}."
            )
        if not close(weights, weights_ref, **tol):
            scale = _fitted_scale(weights.double(), queries, keys, mask)
            if scale is not None and close(weights, reference_weights(queries, keys, mask, scale), **tol):
                named_scales = {
                    "nothing (no scaling)": 1.0,
                    f"H = {H}": 1.0 / H,
                    f"sqrt(S) = sqrt({S})": 1.0 / math.sqrt(S),
                    f"S = {S}": 1.0 / S,
                    f"sqrt(T) = sqrt({T})": 1.0 / math.sqrt(T),
                }
                which = next((k for k, v in named_scales.items() if abs(scale - v) <= 1e-6 * v), None)
                raise CheckFailure(
                    f"case '{name}': the weights are a softmax of query . key scaled by the wrong factor: "
                    + (f"you divided by {which}" if which else f"your scores are query . key times {scale:.6g}")
                    + f"; this contract divides by sqrt(H) = {math.sqrt(H):.4g}, H the size of a query and a key."
                )
        assert_close(
            weights.double(),
            weights_ref,
            f"weights on case '{name}'",
            **tol,
            hint="weights[n, t] = softmax over the real positions j of (queries[n, t] . keys[n, j]) / sqrt(H).",
            letters="N T S",
        )
        masked_scores = _scaled_scores(queries, keys) * mask[:, None, :]
        unnormalised = torch.einsum("nts,nsh->nth", masked_scores, keys)
        if _same(contexts, unnormalised, tol) and not _same(contexts_ref, unnormalised, tol):
            raise CheckFailure(
                f"case '{name}': the contexts are sums of the keys weighted by the scores, not by the weights. "
                f"Which of the two sums to 1 over the keys?"
            )
        mean = keys.mean(1, keepdim=True).expand(N, T, H)
        if close(contexts, mean, **tol) and not close(contexts_ref, mean, **tol):
            raise CheckFailure(
                f"case '{name}': the contexts are the plain mean of the keys: every key counts the same. Where "
                f"do the weights you return enter the contexts?"
            )
        assert_close(
            contexts.double(),
            contexts_ref,
            f"contexts on case '{name}'",
            **tol,
            hint="contexts[n, t] = sum_j weights[n, t, j] * keys[n, j] (a batched weights @ keys).",
            letters="N T H",
            factors={"S (the number of keys)": keys.shape[1]},
        )


ATTENTION = Exercise("attention", "attention", visible_first(_attention_cases), _attention_run, _attention_judge)


# ==================================================================================================
# 2a. The keys' part of the input gates, once per sentence


def _gate_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    setups = [("N=2, S=4, E=3, H=4", 2, 4, 3, 4, "float32")]
    if hidden:
        setups += [("float64, E = H = 3", 3, 5, 3, 3, "float64"), ("float64, one row, S=1", 1, 1, 2, 5, "float64")]
    cases = {}
    for name, N, S, E, H, dtype in setups:
        cases[name] = {
            "weights": decoder_weights(g, 5, E, H),
            "keys": np.tanh(randn(g, N, S, H, scale=2.0)),
            "dtype": dtype,
        }
    return cases


def _gate_run(fn, case):
    cell = _step_modules(case, WeightsOnlyGRUCell)[1]
    return plain(fn(cell, torch.from_numpy(case["keys"]).to(_DTYPES[case["dtype"]])))


def _gate_judge(cases, results):
    for name, case in cases.items():
        cell = _step_modules(case)[1].double()
        keys = torch.from_numpy(case["keys"])
        N, S, H = keys.shape
        gates_k = as_tensor(
            result_of(results, name, "key_gates"), f"key_gates on case '{name}'", (N, S, 3 * H), "(N, S, 3H)"
        )
        assert_dtype(gates_k, _DTYPES[case["dtype"]], f"key_gates on case '{name}'")
        tol = tolerance(case["dtype"])
        with torch.no_grad():  # the input side of nn.GRUCell fed [0; k_j]: exactly the keys' part, bias_ih included
            reference = _context_projection(cell.weight_ih, cell.bias_ih, keys)
            mistakes = gate_mistakes(keys, cell, gates="gates_k", read="the keys were", step="attention_decoder_step")
        message = first_named_mistake(gates_k.double(), reference, mistakes, same=lambda a, b: close(a, b, **tol))
        if message:
            raise CheckFailure(f"case '{name}': {message}.")
        assert_close(
            gates_k.double(),
            reference,
            f"key_gates on case '{name}'",
            **tol,
            hint="key_gates[n, j] is the context's part of the input gates (bias_ih included, rows in weight_ih's "
            "order) for the context c = keys[n, j].",
            letters="N S G",
        )


KEY_GATES = Exercise("key_gates", "key_gates", visible_first(_gate_cases), _gate_run, _gate_judge)


# ==================================================================================================
# 2b. A decoder step that attends


def _step_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    setups = [
        ("N=2, S=5, V=7, E=3, H=4", [5, 3], 5, 7, 3, 4, "float32", False),
        ("float64, key gates made from other weights", [4, 2], 4, 6, 3, 4, "float64", True),
    ]
    if hidden:
        setups += [
            ("float64, N=4", [6, 1, 4, 6], 6, 9, 5, 6, "float64", False),
            ("float64, one row", [3], 3, 5, 2, 3, "float64", False),
            ("float64, N=3, key gates made from other weights", [5, 5, 2], 5, 8, 4, 5, "float64", True),
        ]
    cases = {}
    for name, lengths, S, V, E, H, dtype, other in setups:
        N = len(lengths)
        case = {
            "weights": decoder_weights(g, V, E, H),
            "y_prev": torch.randint(2, V, (N,), generator=g).numpy(),
            "h": np.tanh(randn(g, N, H, scale=2.0)),
            "keys": np.tanh(randn(g, N, S, H, scale=2.0)),
            "mask": _mask(lengths, S),
            "dtype": dtype,
        }
        if other:  # the key gates of another cell's context columns and bias_ih: the step must read them as given
            case["gates_from"] = {"weight_ih": randn(g, 3 * H, H, scale=0.6), "bias_ih": randn(g, 3 * H, scale=0.5)}
        cases[name] = case
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


def _gates_of(case, cell: nn.GRUCell, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The case's key gates (N, S, 3H) and the (context columns, bias_ih) they were made with: the cell's own,
    or the other weights the case names."""
    H = keys.shape[-1]
    if "gates_from" in case:
        W_c, b = (torch.from_numpy(case["gates_from"][k]).to(keys.dtype) for k in ("weight_ih", "bias_ih"))
    else:
        W_c, b = cell.weight_ih.detach()[:, -H:], cell.bias_ih.detach()
    return keys @ W_c.T + b, (W_c, b)


def _step_run(fn, case):
    embedding, cell, out = _step_modules(case, WeightsOnlyGRUCell)
    dtype = _DTYPES[case["dtype"]]
    h, keys = (torch.from_numpy(case[k]).to(dtype) for k in ("h", "keys"))
    with torch.no_grad():
        gates_k = _gates_of(case, cell, keys)[0]
    y_prev, mask = torch.from_numpy(case["y_prev"]), torch.from_numpy(case["mask"])
    own = _recorded(_own_attention(fn), h[:, None], keys, mask)  # exercise 1's attention, asked by s_{t-1}
    step = _recorded(fn, embedding, cell, out, y_prev, h, keys, gates_k, mask)
    if isinstance(step, LearnerError) and step.type == "NotImplementedError":
        return step  # an unwritten step (or attention) is recorded as every exercise's is: the learner's error alone
    return own, step


def _own_attention(fn):
    """The learner's ``attention`` (exercise 1), as the step's notebook defines it; None when it has none."""
    attend = getattr(fn, "__globals__", {}).get("attention")
    return attend if callable(attend) else None


def _recorded(fn, *args):
    """What ``fn(*args)`` returned, or what it raised as a :class:`LearnerError` (as ``run_cases`` records it),
    so that the step's result and its ``attention``'s both reach the judge; None when there is no ``fn``."""
    if fn is None:
        return None
    try:
        return plain(fn(*args))
    except Exception as error:  # the learner's bug becomes data the judge can name
        message = str(error)[:500]
        if isinstance(error, NotImplementedError):
            message = f"{_RAISED_IN}{_innermost_function(error)}: {message}"
        return LearnerError(type(error).__name__, message)


def _cell_with(cell: nn.GRUCell, W_c: torch.Tensor, b_ih: torch.Tensor) -> nn.GRUCell:
    """nn.GRUCell with ``cell``'s weights, except the context's columns of weight_ih and bias_ih."""
    E = cell.input_size - cell.hidden_size
    other = nn.GRUCell(cell.input_size, cell.hidden_size).double()
    with torch.no_grad():
        for param, value in zip(
            other.parameters(), (torch.cat([cell.weight_ih[:, :E], W_c], 1), cell.weight_hh, b_ih, cell.bias_hh)
        ):
            param.copy_(value)
    return other


def _step_judge(cases, results):
    for name, case in cases.items():
        embedding, cell, out = (m.double() for m in _step_modules(case))
        y_prev, h, keys, mask = (torch.from_numpy(case[k]) for k in ("y_prev", "h", "keys", "mask"))
        _, (W_c, b_c) = _gates_of(case, cell, keys)
        model = _cell_with(cell, W_c, b_c)  # the cell the key gates stand for: nn.GRUCell on [e; c_t]
        own, value = results[name] if isinstance(results.get(name), tuple) else (None, results.get(name))
        blame = _own_attention_fault(name, own, h, keys, mask, case["dtype"])
        if blame and not _step_used(own, value, case["dtype"]):
            blame = None  # the step did not take its weights from this `attention`: judge the step itself
        try:
            _judge_step_case(name, case, {name: value}, embedding, cell, out, y_prev, h, keys, mask, model)
        except CheckFailure:
            if blame:  # the step failed where its attention is wrong: exercise 1 first
                raise CheckFailure(blame) from None
            raise


def _array(value: Any) -> torch.Tensor | None:
    """A returned tensor (an array once it has crossed to the judge) as a tensor; None for anything else."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return torch.from_numpy(value)
    return value if isinstance(value, torch.Tensor) else None


def _step_used(own, value, dtype) -> bool:
    """Whether the step's result is what the learner's ``attention`` gave it: the same error, or the same weights
    (NaN included) as that attention's for the query s_{t-1}."""
    if isinstance(own, LearnerError) or isinstance(value, LearnerError):
        return isinstance(own, LearnerError) and isinstance(value, LearnerError) and own.type == value.type
    if not (isinstance(value, tuple) and len(value) == 3 and isinstance(own, tuple) and len(own) == 2):
        return False
    got, theirs = _array(value[2]), _array(own[1])
    if got is None or theirs is None or theirs.dim() != 3:
        return False
    return _same(got, theirs[:, 0], tolerance(dtype))


def _own_attention_fault(name, own, h, keys, mask, dtype) -> str | None:
    """What is wrong with the learner's ``attention`` (exercise 1) on this step's query s_{t-1}, or None (right,
    not written yet, or not found): F.scaled_dot_product_attention and the masked softmax are the reference."""
    if own is None or (isinstance(own, LearnerError) and own.type == "NotImplementedError"):
        return None
    first = (
        f"case '{name}': your `attention` (exercise 1) is wrong on this step's query (the previous state, "
        f"one query per row)"
    )
    if isinstance(own, LearnerError):
        return f"{first}: it raised {own.type}: {own.message}. Pass exercise 1's check first; then run this one."
    with torch.no_grad():
        weights_ref = reference_weights(h[:, None], keys, mask)
        contexts_ref = F.scaled_dot_product_attention(h[:, None], keys, keys, attn_mask=mask[:, None, :])
    tol = tolerance(dtype)
    if not isinstance(own, tuple) or len(own) != 2:
        return f"{first}: it should return (contexts, weights). Pass exercise 1's check first; then run this one."
    for got, ref, label in ((_array(own[0]), contexts_ref, "contexts"), (_array(own[1]), weights_ref, "weights")):
        if got is None or tuple(got.shape) != tuple(ref.shape) or not _same(got, ref, tol):
            return (
                f"{first}: its {label} differ from torch's scaled dot-product attention. The step's error may be "
                f"exercise 1's: pass exercise 1's check first; then run this one."
            )
    return None


def _judge_step_case(name, case, results, embedding, cell, out, y_prev, h, keys, mask, model) -> None:
    """One case of ``attention_decoder_step``: the weights, then h_new, then the logits."""
    __tracebackhide__ = True
    N, S, H = keys.shape
    V = out.out_features

    def reference(query, context=None, cell=model):
        with torch.no_grad():
            weights = reference_weights(query[:, None], keys, mask)[:, 0]
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
            raise CheckFailure(
                f"case '{name}': padding gets attention weight: the weights you return are not 0 where mask is "
                f"False. What does the attention of this step know about the padded keys?"
            )
        uniform = mask.double() / mask.double().sum(-1, keepdim=True)
        if close(weights, uniform, **tol) and not close(weights_ref, uniform, **tol):
            raise CheckFailure(
                f"case '{name}': every real position gets the same weight (1 / the number of real positions): "
                f"the context is the mean of the keys, not an attention of the state over them."
            )
        with torch.no_grad():  # the query was a new state (the one returned, or the step's right one), or y's embedding
            queries = {
                "h_new instead of h": [h_new.double(), h_ref],
                "the embedding of y_prev instead of h": (
                    [embedding(y_prev).detach().double()] if embedding.embedding_dim == H else []
                ),
            }
            wrong = {
                label: [reference_weights(q[:, None], keys, mask)[:, 0] for q in qs] for label, qs in queries.items()
            }
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
                    f"that query asks for. Question 1: c_t is an input of the cell that makes s_t; which state "
                    f"can ask for it?"
                )
        assert_close(
            weights.double(),
            weights_ref,
            f"weights on case '{name}'",
            **tol,
            hint="attention returns the pair (contexts, weights), in that order. Which state asks for c_t "
            "(question 1), and are the weights you return the ones this step's context was made with?",
        )
    right = [n for n, got, ref in (("logits", logits, logits_ref), ("h_new", h_new, h_ref)) if close(got, ref, **tol)]
    wrong = [n for n in ("logits", "h_new") if n not in right]
    where = which_differ(["weights", *right], wrong)
    where = f"\n{where}" if where else ""
    if not close(h_new, h_ref, **tol):
        _name_step_mistake(name, case, h_new, h, cell, model, reference, embedding(y_prev).detach(), keys, mask, tol)
    assert_close(
        h_new.double(),
        h_ref,
        f"h_new on case '{name}'",
        **tol,
        hint="h_new is s_t: what nn.GRUCell, with the weights gates_k stands for, gives on [e(y_{t-1}); c_t] "
        "from s_{t-1}." + where,
    )
    stale = out(h).detach()
    if close(logits, stale, **tol) and not close(logits_ref, stale, **tol):
        raise CheckFailure(
            f"case '{name}': the logits are read out of the previous state h. Which state do the scores of "
            f"y_t come from?{where}"
        )
    assert_close(
        logits.double(),
        logits_ref,
        f"logits on case '{name}'",
        **tol,
        hint="The logits are read from the new state." + where,
    )


def _name_step_mistake(name, case, h_new, h, cell, model, reference, e, keys, mask, tol) -> None:
    """Raise the named mistake that reproduces a wrong ``h_new``, if one does: the key gates ignored (the context's
    gates recomputed from the cell's columns), bias_ih twice, the padded keys' gates leaking, the plain mean of
    the keys, the embedding read by the context's columns, or notebook 05's GRU variants."""
    __tracebackhide__ = True
    E = e.shape[-1]
    W_ih, b_ih = cell.weight_ih.detach(), cell.bias_ih.detach()
    W_c, b_c = model.weight_ih.detach()[:, E:], model.bias_ih.detach()
    with torch.no_grad():
        weights = reference_weights(h[:, None], keys, mask)[:, 0]
        context = torch.einsum("ns,nsh->nh", weights, keys)
        unmasked = torch.einsum("ns,nsh->nh", reference_weights(h[:, None], keys, torch.ones_like(mask))[:, 0], keys)
        e_by_context_columns = _cell_with(cell, W_c, b_c)
        e_by_context_columns.weight_ih[:, :E] = W_ih[:, -E:]
    mistakes = [
        (
            "the context's gates were recomputed from weight_ih's own context columns and bias_ih at this step "
            "instead of read from gates_k, which this case made from other weights. What does the contract make "
            "the step's only source of the context's part of its input gates?",
            lambda: reference(h, cell=_cell_with(cell, W_ih[:, E:], b_ih))[1] if "gates_from" in case else None,
        ),
        (
            "bias_ih was added twice: h_new matches the step with bias_ih added on top of the mix of gates_k. "
            "Question 2: how much bias_ih does that mix carry already?",
            lambda: reference(h, cell=_cell_with(cell, W_c, b_c + b_ih))[1],
        ),
        (
            "the padded keys' gates leak into the step: h_new matches a mix of gates_k in which the padded "
            "positions have a share. Question 3: why are a padded key's gates not zero, and what keeps them out?",
            lambda: reference(h, unmasked)[1],
        ),
        (
            "the cell was fed the plain mean of the keys (or of their gates): every key counts the same. Which "
            "weights make this step's mix?",
            lambda: reference(h, keys.mean(1))[1],
        ),
        (
            "the embedding was multiplied by the last E columns of weight_ih, which read the context. The cell "
            "was trained on [e(y_{t-1}); c_t]: which columns read e(y_{t-1})?",
            lambda: reference(h, cell=e_by_context_columns)[1],
        ),
    ]
    message = first_named_mistake(h_new.double(), reference(h)[1], mistakes, same=lambda a, b: close(a, b, **tol))
    if message:
        raise CheckFailure(f"case '{name}': h_new: {message}")
    x = torch.cat([e, context], -1)
    W_model, W_hh, b_hh = model.weight_ih.detach(), model.weight_hh.detach(), model.bias_hh.detach()
    message = name_mistakes(
        [h_new], lambda kwargs: [gru_variant(x, h, W_model, W_hh, b_c, b_hh, **kwargs)], STEP_MISTAKES
    )
    if message:
        raise CheckFailure(f"case '{name}': h_new: {message}")


ATTENTION_DECODER_STEP_ALONE = Exercise(
    "attention_decoder_step", "attention_decoder_step", visible_first(_step_cases), _step_run, _step_judge
)
# exercise 2: key_gates (2a), the one idea the step builds on, graded with attention_decoder_step (2b)
ATTENTION_DECODER_STEP = together(ATTENTION_DECODER_STEP_ALONE, KEY_GATES)


EXERCISES = (ATTENTION, ATTENTION_DECODER_STEP)

check_attention = ATTENTION.check
check_attention_decoder_step = ATTENTION_DECODER_STEP.check
