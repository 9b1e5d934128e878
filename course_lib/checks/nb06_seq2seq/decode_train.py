"""Check of ``decode_train``: the training forward pass, with teacher forcing, run on the stand-in decoder.

    h_0 = context,  y_0 = <bos>
    logits_t, h_{t+1} = decoder(y_t, h_t, context)                                  t = 0, ..., T - 1
    y_t = tgt[:, t - 1] where torch.rand(N, generator=generator) < teacher_forcing,
          argmax(logits_{t-1}) elsewhere                                              t = 1, ..., T - 1

The judge replays :class:`ToyDecoder` on the inputs the learner's own logits imply (the ground truth where
the coin says so, the argmax of the learner's logits elsewhere) and checks that the learner's logits are what
the model gives on them: the fixed point that defines the algorithm.  A ratio strictly between 0 and 1 is run
twice under different global seeds, so a run that draws from the global random state is caught.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import BOS_ID, DTYPES, EOS_ID, PAD_ID, UNK_ID
from course_lib.checks.nb06_seq2seq.toy_decoder import ToyDecoder, replay, shift_right, toy_context, toy_model
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_gradients,
    close,
    generator,
    gradients,
    plain,
    randn,
    tolerance,
    visible_first,
)
from course_lib.data.vocab import SPECIALS


@contextlib.contextmanager
def _global_rng(seed: int):
    """Seed torch's and Python's global generators for a call, and put their states back afterwards."""
    torch_state, python_state = torch.get_rng_state(), random.getstate()
    torch.manual_seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        random.setstate(python_state)


def _random_targets(g: torch.Generator, N: int, T: int, V: int) -> np.ndarray:
    """(N, T) targets: content tokens, <eos>, then <pad>; the first row uses all T positions."""
    lengths = [T] + torch.randint(1, T + 1, (N - 1,), generator=g).tolist()
    tgt = torch.randint(4, V, (N, T), generator=g)
    for row, n in enumerate(lengths):
        tgt[row, n - 1] = EOS_ID
        tgt[row, n:] = PAD_ID
    return tgt.numpy()


def _tf_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    setups = [("", 3, 5, 8, 4, "float32", [1.0, 0.0, 0.5])]
    if hidden:
        setups += [
            ("float64, ", 5, 7, 9, 5, "float64", [1.0, 0.0, 0.3, 0.8]),
            ("T=1, ", 2, 1, 6, 3, "float64", [0.0, 1.0]),
        ]
    cases = {}
    for prefix, N, T, V, R, dtype, ratios in setups:
        model = toy_model(g, V, R, dtype)
        context = toy_context(g, list(range(N)), R, dtype)
        tgt = _random_targets(g, N, T, V)
        for ratio in ratios:
            gen_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
            cases[f"{prefix}teacher_forcing={ratio:g}"] = {
                "model": model,
                "context": context,
                "tgt": tgt,
                "ratio": ratio,
                "gen_seed": gen_seed,
            }
        if T > 1:  # the training pass carries gradients through time: d loss / d context against autograd
            cases[f"{prefix}gradients, teacher_forcing=1"] = {
                **cases[f"{prefix}teacher_forcing=1"],
                "kind": "gradients",
                "upstream": randn(g, N, T, V),
            }
    return cases


def _tf_run(fn, case):
    decoder = ToyDecoder(case["model"])
    dtype = DTYPES[case["model"]["dtype"]]
    if case.get("kind") == "gradients":
        context = torch.from_numpy(case["context"]).to(dtype).requires_grad_(True)
        generator = torch.Generator().manual_seed(case["gen_seed"])
        logits = fn(decoder, context, torch.from_numpy(case["tgt"]), teacher_forcing=1.0, generator=generator)
        (grad,) = gradients([logits], [torch.from_numpy(case["upstream"])], [context])
        return {"logits": plain(logits), "grad": grad}
    calls = 2 if 0.0 < case["ratio"] < 1.0 else 1
    results = []
    for global_seed in range(calls):  # a different global seed each call: a run that uses it is not reproducible
        with _global_rng(1000 + global_seed):
            generator = torch.Generator().manual_seed(case["gen_seed"])
            context = torch.from_numpy(case["context"]).to(dtype)
            results.append(
                plain(
                    fn(
                        decoder,
                        context,
                        torch.from_numpy(case["tgt"]),
                        teacher_forcing=case["ratio"],
                        generator=generator,
                    )
                )
            )
    return tuple(results)


def _coins(case, N: int, T: int) -> torch.Tensor:
    """(N, T) bool: True where the specification feeds the ground truth (column 0 is <bos>, always False)."""
    generator = torch.Generator().manual_seed(case["gen_seed"])
    coins = torch.zeros(N, T, dtype=torch.bool)
    for t in range(1, T):
        coins[:, t] = torch.rand(N, generator=generator) < case["ratio"]
    return coins


def _tf_judge(cases, results):
    for name, case in cases.items():
        model, context = case["model"], case["context"]
        tgt = torch.from_numpy(case["tgt"])
        N, T = tgt.shape
        V = model["W"].shape[0]
        runs = result_of(results, name, "decode_train")
        grad = None
        if case.get("kind") == "gradients":
            if not isinstance(runs, dict):
                raise CheckFailure(f"the check could not read decode_train's results on case '{name}'")
            grad, runs = runs.get("grad"), (runs.get("logits"),)
        logits = as_tensor(runs[0], f"logits on case '{name}'", None)
        if logits.dim() == 3 and logits.shape[0] == N and logits.shape[2] == V and logits.shape[1] != T:
            raise CheckFailure(
                f"case '{name}': logits has {logits.shape[1]} steps for targets of T = {T} steps; "
                f"produce one step of logits per target position (the first from <bos>)."
            )
        logits = as_tensor(runs[0], f"logits on case '{name}'", (N, T, V), "(N, T, V)")
        tol = tolerance(logits.dtype)
        logits = logits.double()
        teacher = replay(model, context, shift_right(tgt))
        free = replay(model, context, shift_right(logits.argmax(-1)))
        coins = _coins(case, N, T)
        implied = torch.where(coins, shift_right(tgt), shift_right(logits.argmax(-1)))
        reference = replay(model, context, implied)
        if len(runs) > 1 and not (isinstance(runs[1], np.ndarray) and np.array_equal(runs[0], runs[1])):
            raise CheckFailure(
                f"case '{name}': two calls with generators of the same seed gave different logits, so "
                f"a run cannot be repeated: draw every coin from `generator` (torch.rand(N, "
                f"generator=generator)), not from torch's or Python's global random state."
            )
        if close(logits, reference, **tol):
            if case.get("kind") == "gradients":
                assert_gradients(
                    [grad],
                    _gradients_reference(case),
                    ("context",),
                    f"decode_train (case '{name}')",
                    detached=[lambda d=d: _gradients_reference(case, d) for d in ("before", "after")],
                )
            continue
        _tf_diagnose(name, case, logits, teacher, free, reference, tgt, tol)


def _gradients_reference(case, detach: str = "") -> list[torch.Tensor]:
    """d sum(logits * upstream) / d context by autograd through the stand-in decoder fed the truth (h_0 = context);
    ``detach``: the state detached "before" every step (h_0 too) or "after" every step, the mistake."""
    decoder = ToyDecoder({**case["model"], "dtype": "float64"})
    context = torch.from_numpy(case["context"]).double().requires_grad_(True)
    inputs = shift_right(torch.from_numpy(case["tgt"]))
    h, steps = context, []
    for t in range(inputs.shape[1]):
        logits, h = decoder(inputs[:, t], h.detach() if detach == "before" else h, context)
        h = h.detach() if detach == "after" else h
        steps.append(logits)
    return gradients([torch.stack(steps, 1)], [torch.from_numpy(case["upstream"])], [context])


def _tf_diagnose(name, case, logits, teacher, free, reference, tgt, tol) -> None:
    __tracebackhide__ = True

    def matches(got, expected):
        return close(got, expected, **tol)

    model, context, ratio = case["model"], case["context"], case["ratio"]
    N, T, V = logits.shape
    if not matches(logits[:, :1], reference[:, :1]):
        ctx = torch.from_numpy(context).double()
        first = torch.full((N, 1), BOS_ID, dtype=torch.long)
        if matches(logits[:, :1], replay(model, context, first, h0=torch.zeros_like(ctx))):
            raise CheckFailure(
                f"case '{name}': the decoder started from a zero state; its first state is h_0 = context."
            )
        for token in (PAD_ID, EOS_ID, UNK_ID):
            if matches(logits[:, :1], replay(model, context, torch.full((N, 1), token, dtype=torch.long))):
                raise CheckFailure(
                    f"case '{name}': the first input was {SPECIALS[token]!r}; every row starts from "
                    f"<bos> (id {BOS_ID})."
                )
        if matches(logits[:, :1], replay(model, context, tgt[:, :1])):
            raise CheckFailure(
                f"case '{name}': the first input was tgt[:, 0], the token the first step must predict "
                f"(the answer leaks). Start from <bos>, then feed tgt[:, t - 1] at step t."
            )
        assert_close(
            logits[:, 0],
            reference[:, 0],
            f"the first step's logits on case '{name}'",
            **tol,
            hint="Step 0 is decoder(<bos> ids, context, context): h_0 = context.",
        )
    if matches(logits, replay(model, context, tgt)):
        raise CheckFailure(
            f"case '{name}': the input at step t was tgt[:, t], the token that step must predict "
            f"(the answer leaks). Shift right: <bos>, tgt[:, 0], ..., tgt[:, T - 2]."
        )
    if ratio == 0.0 and matches(logits, teacher):
        raise CheckFailure(
            f"case '{name}': the decoder fed the ground truth at inference: with teacher_forcing=0 "
            f"every input after <bos> must be the decoder's own previous prediction (the argmax of its "
            f"logits), never tgt."
        )
    if ratio == 1.0 and matches(logits, free):
        raise CheckFailure(
            f"case '{name}': teacher forcing ratio not exact: with teacher_forcing=1 every input after "
            f"<bos> must be the ground truth tgt[:, t - 1], but the decoder was fed its own predictions. "
            f"Is the coin comparison inverted? Feed the truth where torch.rand(N, generator=generator) "
            f"< teacher_forcing."
        )
    if matches(
        logits,
        replay(
            model,
            context,
            torch.where(_coins(case, N, T), shift_right(tgt), shift_right(logits.argmax(-1))),
            step_context="state",
        ),
    ):
        raise CheckFailure(
            f"case '{name}': the decoder was given its state h where it takes the context: pass the "
            f"encoder's context (the same tensor) at every step, decoder(y_prev, h, context)."
        )
    leaked = torch.where(_coins(case, N, T), tgt, shift_right(logits.argmax(-1)))
    leaked[:, 0] = BOS_ID
    if matches(logits, replay(model, context, leaked)):
        raise CheckFailure(
            f"case '{name}': where the coin says 'truth', step t was fed tgt[:, t], the token that step "
            f"must predict (the answer leaks into training). Feed the previous target, tgt[:, t - 1] "
            f"(the argmax of the step t - 1 logits where the coin says no)."
        )
    used = _inputs_used(case, logits, tgt, tol)
    if used is not None:
        used, expected = used
        raise CheckFailure(
            f"case '{name}': teacher forcing ratio not exact: each input was either the truth or the previous "
            f"prediction, but not where the specified coins say: {used:.0%} of the inputs after <bos> were the truth, "
            f"the coins give {expected:.0%}. At each step t = 1, ..., T - 1, in order, draw one coin per row, "
            f"torch.rand(N, generator=generator) < teacher_forcing, and feed tgt[:, t - 1] where it is True, the "
            f"argmax of the step t - 1 logits where it is False."
        )
    assert_close(
        logits,
        reference,
        f"logits on case '{name}'",
        **tol,
        hint="At step t: logits_t, h = decoder(y_prev, h, context), with h_0 = context and y_prev = <bos> at t = 0.",
        letters="N T V",
    )


def _inputs_used(case, logits: torch.Tensor, tgt: torch.Tensor, tol: dict[str, float]) -> tuple[float, float] | None:
    """If every step's logits follow from the truth or from the previous argmax: the share of truth inputs where
    the two differ, and the share the specified coins give there; otherwise None."""
    decoder = ToyDecoder({**case["model"], "dtype": "float64"})
    ctx = torch.from_numpy(case["context"]).double()
    N, T, _ = logits.shape
    h, truth_count = ctx, 0
    with torch.no_grad():
        for t in range(T):
            options = (
                [torch.full((N,), BOS_ID, dtype=torch.long)] if t == 0 else [tgt[:, t - 1], logits[:, t - 1].argmax(-1)]
            )
            outcomes = [decoder(y, h, ctx) for y in options]
            chosen = torch.full((N,), -1)
            for i, (out, _) in enumerate(outcomes):
                match = torch.isclose(out, logits[:, t], **tol).all(-1) & (chosen < 0)
                chosen[match] = i
            if (chosen < 0).any():
                return None
            h = torch.where((chosen == 0)[:, None], outcomes[0][1], outcomes[-1][1])
            if t > 0:
                truth_count += int(((chosen == 0) & (options[0] != options[1])).sum())
    differ = torch.zeros(N, T, dtype=torch.bool)
    differ[:, 1:] = tgt[:, :-1] != logits[:, :-1].argmax(-1)
    if not differ.any():
        return 0.0, 0.0
    return truth_count / int(differ.sum()), float(_coins(case, N, T)[differ].float().mean())


DECODE_TRAIN = Exercise("decode_train", "decode_train", visible_first(_tf_cases), _tf_run, _tf_judge)
