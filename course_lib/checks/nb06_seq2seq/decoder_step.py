"""Check of ``decoder_step``: one step of the GRU decoder, fed the previous token and the encoder's context.

    x      = cat([embedding(y_prev), context], dim=-1)      (N, E + H)
    h_new  = GRUCell(x, h)                                  (N, H)
    logits = out(h_new) = h_new W_out^T + b_out             (N, V)

The reference is ``nn.GRUCell`` and ``nn.Linear`` loaded with the case's weights.  Named mistakes, by
switching one thing at a time: the concatenation swapped, the state h or the context in the wrong place, the
old state returned, logits from the old state, softmax or log_softmax applied to the logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import DTYPES, decoder_weights, loaded
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_gradients,
    close,
    first_named_mistake,
    generator,
    gradients,
    pair,
    plain,
    randn,
    tolerance,
    visible_first,
)


def _step_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    shapes = [("N=3, V=7, E=4, H=5", 3, 7, 4, 5, "float32"), ("gradients, float64, N=2", 2, 6, 3, 4, "float64")]
    if hidden:
        shapes += [
            ("float64, E == H", 4, 9, 6, 6, "float64"),
            ("float64, one row", 1, 6, 3, 2, "float64"),
            ("gradients, float64, N=3, E == H", 3, 5, 4, 4, "float64"),
        ]
    cases = {}
    for name, N, V, E, H, dtype in shapes:
        cases[name] = {
            "weights": decoder_weights(g, V, E, H),
            "y_prev": torch.randint(2, V, (N,), generator=g).numpy(),
            "h": np.tanh(randn(g, N, H)),
            "context": np.tanh(randn(g, N, H)),
            "dtype": dtype,
        }
        if name.startswith(
            "gradients"
        ):  # h_new and logits must stay in the graph: training backpropagates through them
            cases[name].update(kind="gradients", d_logits=randn(g, N, V), d_h_new=randn(g, N, H))
    return cases


def _step_modules(case) -> tuple[nn.Embedding, nn.GRUCell, nn.Linear]:
    V, E = case["weights"]["embedding.weight"].shape
    H = case["weights"]["cell.weight_hh"].shape[1]
    return loaded({"embedding": nn.Embedding(V, E), "cell": nn.GRUCell(E + H, H), "out": nn.Linear(H, V)}, case)


def _step_run(fn, case):
    embedding, cell, out = _step_modules(case)
    dtype = DTYPES[case["dtype"]]
    h, context = (torch.from_numpy(case[k]).to(dtype) for k in ("h", "context"))
    if case.get("kind") != "gradients":
        return plain(fn(embedding, cell, out, torch.from_numpy(case["y_prev"]), h, context))
    h.requires_grad_(True)
    context.requires_grad_(True)
    result = fn(embedding, cell, out, torch.from_numpy(case["y_prev"]), h, context)
    upstream = [torch.from_numpy(case["d_logits"]), torch.from_numpy(case["d_h_new"])]
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return plain(result)  # the judge names the form
    return plain(tuple(result)) + tuple(gradients(list(result), upstream, [h, context, cell.weight_hh]))


def _step_judge(cases, results):
    for name, case in cases.items():
        embedding, cell, out = (m.double() for m in _step_modules(case))
        y_prev = torch.from_numpy(case["y_prev"])
        h, context = torch.from_numpy(case["h"]), torch.from_numpy(case["context"])
        N, H = h.shape
        V = out.out_features

        def reference(first, second, state):
            with torch.no_grad():
                h_new = cell(torch.cat([first, second], dim=-1), state)
                return out(h_new), h_new

        emb = embedding(y_prev).detach()
        logits_ref, h_ref = reference(emb, context, h)
        value = result_of(results, name, "decoder_step")
        grads = None
        if case.get("kind") == "gradients" and isinstance(value, tuple) and len(value) == 5:
            value, grads = value[:2], list(value[2:])
        logits, h_new = pair(value, "decoder_step", "logits, h_new")
        logits = as_tensor(logits, f"logits on case '{name}'", (N, V), "(N, V)")
        h_new = as_tensor(h_new, f"h_new on case '{name}'", (N, H), "(N, H)")
        tol = tolerance(logits.dtype)
        if close(h_new, h, h_new.dtype) and not close(h_new, h_ref, h_new.dtype):
            raise CheckFailure(f"case '{name}': h_new equals the old state h; return the cell's new state.")
        wrong = [
            (
                reference(context, emb, h),
                "the two parts of the cell's input are swapped: the cell's weights read them in the order of the "
                "decoder's equation, s_t = GRU([e(y_{t-1}); c], s_{t-1})",
            ),
            (
                reference(emb, h, h),
                "the cell's input has the state h where the context goes: the input is the previous token's embedding followed by the context",
            ),
            (
                reference(emb, context, context),
                "the cell was run from the context instead of the state h: its state argument is s_{t-1}, and c is part "
                "of its input",
            ),
        ]

        def same(a, b) -> bool:  # (logits, h_new) pairs, at the tolerance of the learner's dtypes
            return close(a[0], b[0], logits.dtype) and close(a[1], b[1], h_new.dtype)

        named = [(message, wrong_ref) for wrong_ref, message in wrong]
        message = first_named_mistake((logits, h_new), (logits_ref, h_ref), named, same=same)
        if message:
            raise CheckFailure(f"case '{name}': {message}.")
        if close(h_new, h_ref, h_new.dtype):
            if close(logits, out(h).detach(), logits.dtype):
                raise CheckFailure(f"case '{name}': the logits were computed from the old state h; use the new one.")
            if close(logits, logits_ref.softmax(-1), logits.dtype) or close(
                logits, logits_ref.log_softmax(-1), logits.dtype
            ):
                raise CheckFailure(
                    f"case '{name}': return the raw logits out(h_new), without softmax or log_softmax "
                    f"(cross-entropy and argmax take logits)."
                )
        assert_close(
            h_new.double(),
            h_ref,
            f"h_new on case '{name}'",
            **tol,
            hint="h_new is s_t of the decoder's equation: the cell run on [e(y_{t-1}); c] from the state s_{t-1}.",
            letters="N H",
        )
        assert_close(
            logits.double(),
            logits_ref,
            f"logits on case '{name}'",
            **tol,
            hint="The logits are read out of the new state.",
        )
        if grads is not None:
            _judge_gradients(name, case, grads, embedding, cell, out, y_prev, h, context)


def _judge_gradients(name, case, grads, embedding, cell, out, y_prev, h, context) -> None:
    """d/d(h, context, cell.weight_hh) of <d_logits, logits> + <d_h_new, h_new>, against autograd through torch's."""
    __tracebackhide__ = True
    h, context = h.clone().requires_grad_(True), context.clone().requires_grad_(True)
    h_new = cell(torch.cat([embedding(y_prev), context], dim=-1), h)
    upstream = [torch.from_numpy(case["d_logits"]), torch.from_numpy(case["d_h_new"])]
    expected = gradients([out(h_new), h_new], upstream, [h, context, cell.weight_hh])
    wrt = ("h", "context", "cell.weight_hh")
    if grads[0] is not None and grads[0].shape == expected[0].shape:
        fresh = cell(torch.cat([embedding(y_prev), context], dim=-1), h)  # a graph of its own: the first is spent
        only_logits = gradients([out(fresh)], upstream[:1], [h])[0]
        if close(torch.as_tensor(grads[0]), only_logits) and not close(only_logits, expected[0]):
            raise CheckFailure(
                f"decoder_step (case '{name}'): the values are right, but the h_new you return is detached from "
                f"the graph (h_new.detach(), .data, or a copy made under torch.no_grad()): a gradient reaching h_new "
                f"at the next step no longer flows back into h and the weights, so teacher forcing trains one step "
                f"only. Return the cell's output itself."
            )
    assert_gradients(grads, expected, wrt, f"decoder_step (case '{name}')")


DECODER_STEP = Exercise("decoder_step", "decoder_step", visible_first(_step_cases), _step_run, _step_judge)
