"""Check of ``greedy_decode``: batched greedy decoding on the stand-in decoder, with an end per row.

    h_0 = context,  y_0 = <bos>
    logits_t, h_{t+1} = decoder(y_t, h_t, context),   y_{t+1} = argmax(logits_t)

A row keeps its <eos> and has <pad> after it; decoding stops as soon as every row has emitted <eos>, or at
``max_len``.  The cases' :class:`ToyDecoder` has an end schedule, so each row ends at its own known step.
The judge replays the model on the learner's own tokens, shifted right, and checks each token is the argmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import BOS_ID, DTYPES, EOS_ID, PAD_ID
from course_lib.checks.nb06_seq2seq.toy_decoder import NEVER, ToyDecoder, replay, shift_right, toy_context, toy_model
from course_lib.checks.toolkit import as_tensor, generator, plain, visible_first
from course_lib.data.vocab import SPECIALS


def _greedy_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    """Kinds: ``values`` (rows end at their own steps, or never), ``edge`` (max_len = 1, every row at once, one
    row) and ``pad id as a real token`` (the model emits <pad> before <eos>, first in one row: a row ends only at
    <eos>)."""
    never = [NEVER] * 3
    setups = [
        ("rows end at different steps", [2, 5, 0, 3], 8, "float32", None, "values"),
        ("one row never ends", [2, NEVER, 1], 5, "float32", None, "values"),
        ("max_len=1", [3, NEVER], 1, "float32", None, "edge"),
        (
            "<pad> emitted before <eos>, first in row 0",
            [3, 4, 2],
            7,
            "float32",
            [0, 2, never[0]],
            "pad id as a real token",
        ),
    ]
    if hidden:
        setups += [
            ("float64, random ends", torch.randint(0, 7, (6,), generator=g).tolist(), 9, "float64", None, "values"),
            ("every row ends at once", [0, 0], 4, "float64", None, "edge"),
            ("float64, max_len=1", [3, NEVER], 1, "float64", None, "edge"),
            ("one row", [4], 10, "float64", None, "edge"),
            (
                "float64, <pad> emitted, a row never ends",
                [5, NEVER, 3, 6],
                8,
                "float64",
                [1, 0, 2, 3],
                "pad id as a real token",
            ),
        ]
    cases = {}
    for name, ends, max_len, dtype, pads, kind in setups:
        N, V, R = len(ends), 9, 4
        codes = torch.randperm(N, generator=g).tolist()
        by_code = [codes.index(c) for c in range(N)]
        model = toy_model(
            g, V, R, dtype, ends=[ends[i] for i in by_code], pads=None if pads is None else [pads[i] for i in by_code]
        )
        cases[name] = {
            "kind": kind,
            "model": model,
            "context": toy_context(g, codes, R, dtype),
            "max_len": max_len,
            "ends": np.array(ends, dtype=np.int64),
        }
    return cases


def _greedy_run(fn, case):
    decoder = ToyDecoder(case["model"])
    context = torch.from_numpy(case["context"]).to(DTYPES[case["model"]["dtype"]])
    return plain(fn(decoder, context, max_len=case["max_len"]))


def _argmax_ok(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """True where ``tokens`` is (within rounding) the argmax of ``logits`` (..., V)."""
    chosen = logits.gather(-1, tokens.clamp(0, logits.shape[-1] - 1)[..., None])[..., 0]
    best = logits.max(-1).values
    return chosen >= best - 1e-5 * (1 + best.abs())


def _greedy_judge(cases, results):
    for name, case in cases.items():
        ends, max_len = case["ends"].tolist(), case["max_len"]
        N = len(ends)
        value = result_of(results, name, "greedy_decode")
        ids = as_tensor(value, f"greedy_decode's result on case '{name}'")
        if ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise CheckFailure(f"greedy_decode should return token ids (a LongTensor), got dtype {ids.dtype}")
        if ids.dim() != 2 or ids.shape[0] != N:
            raise CheckFailure(
                f"case '{name}': greedy_decode should return ids of shape (N, T_out) with N = {N}, "
                f"got {tuple(ids.shape)}"
            )
        ids = ids.long()
        T_out = ids.shape[1]
        if T_out > max_len:
            raise CheckFailure(
                f"case '{name}': {T_out} tokens per row with max_len={max_len}; never decode more than max_len steps"
            )
        stop = [min(e + 1, max_len) for e in ends]  # tokens each row produces, <eos> included
        inputs = shift_right(ids) if T_out else torch.zeros(N, 0, dtype=torch.long)
        logits = replay(case["model"], case["context"], inputs)  # the model fed the learner's own tokens
        ok = _argmax_ok(logits, ids) if T_out else torch.ones(N, 0, dtype=torch.bool)
        for n in range(N):
            for t in range(min(stop[n] - (1 if ends[n] < max_len else 0), T_out)):
                if not ok[n, t]:
                    _greedy_wrong_token(name, case, ids, n, t, logits)
        for n in range(N):
            if ends[n] < max_len:
                e = ends[n]
                if T_out <= e:
                    raise CheckFailure(
                        f"case '{name}': row {n} emits <eos> at step {e}, but your result stops after "
                        f"{T_out} steps; keep decoding until every row has emitted <eos> (or max_len)."
                    )
                if int(ids[n, e]) != EOS_ID:
                    token = SPECIALS[int(ids[n, e])] if int(ids[n, e]) < 4 else f"id {int(ids[n, e])}"
                    raise CheckFailure(
                        f"case '{name}': end token never emitted: at step {e} the decoder's most likely token for row "
                        f"{n} is <eos>, but your result has {token!r} there. Keep the <eos> in the output; only what "
                        f"comes after it is <pad>."
                    )
                after = ids[n, e + 1 :]
                if (after != PAD_ID).any():
                    raise CheckFailure(
                        f"case '{name}': not padding after eos: row {n} emitted <eos> at step {e} but continues with "
                        f"{after.tolist()}; everything after a row's <eos> must be <pad> (id {PAD_ID})."
                    )
            elif T_out < max_len:
                raise CheckFailure(
                    f"case '{name}': row {n} never emits <eos>, so it runs for max_len={max_len} steps; "
                    f"your result stops after {T_out}."
                )
        needed = max(stop) if N else 0
        if T_out > needed:
            raise CheckFailure(
                f"case '{name}': never stopping: every row had emitted <eos> after {needed} steps, but decoding went on "
                f"to {T_out} columns. Stop as soon as every row has ended (or at max_len)."
            )


def _greedy_wrong_token(name, case, ids, n, t, logits) -> None:
    __tracebackhide__ = True
    N, T_out = ids.shape
    got, best = int(ids[n, t]), int(logits[n, t].argmax())
    if got == PAD_ID and bool((ids[n, :t] == PAD_ID).any()):
        raise CheckFailure(
            f"case '{name}': row {n} stopped at its first <pad> (step {int((ids[n, :t] == PAD_ID).nonzero()[0])}), "
            f"but the model may emit <pad> as an ordinary token; a row ends only at its first <eos>. Mark a row "
            f"finished when it emits EOS_ID, and write <pad> only after that."
        )
    inputs = shift_right(ids)
    from_zeros = replay(
        case["model"], case["context"], inputs, h0=torch.zeros_like(torch.from_numpy(case["context"]).double())
    )
    if bool(_argmax_ok(from_zeros, ids)[n, : t + 1].all()):
        raise CheckFailure(
            f"case '{name}': the first state was zeros. The decoder starts from the encoder's summary: h_0 = context "
            f"(then each step's new state h is passed to the next step)."
        )
    always_bos = replay(case["model"], case["context"], torch.full((N, T_out), BOS_ID, dtype=torch.long))
    if bool(_argmax_ok(always_bos, ids)[n, : t + 1].all()):
        raise CheckFailure(
            f"case '{name}': the decoder was fed <bos> at every step: each step's input is the token "
            f"the previous step chose (its argmax), not <bos> again."
        )
    ctx = torch.from_numpy(case["context"]).double()
    frozen = torch.stack(
        [
            ToyDecoder({**case["model"], "dtype": "float64"})(
                ids[:, max(s - 1, 0)] if s else torch.full((N,), BOS_ID), ctx, ctx
            )[0]
            for s in range(T_out)
        ],
        1,
    )
    if bool(_argmax_ok(frozen, ids)[n, : t + 1].all()) and t > 0:
        raise CheckFailure(
            f"case '{name}': every step was run from the context as its state: pass the new state h "
            f"returned by each step to the next step."
        )
    raise CheckFailure(
        f"case '{name}': row {n}, step {t}: the decoder fed your previous tokens gives argmax {best}, but your result "
        f"has {got}. Greedy decoding feeds each step's argmax back as the next input and carries the new state h."
    )


GREEDY_DECODE = Exercise("greedy_decode", "greedy_decode", visible_first(_greedy_cases), _greedy_run, _greedy_judge)
