"""Check of ``sample``: drawing ids from a character model at a temperature.

    next id ~ softmax(logits / temperature),   logits = logits_fn(ids so far): (V,)
    temperature 0 is greedy: next id = argmax(logits)

logits_fn(ids) -> (V,) logits of the next token; the check's model is a table of logits indexed by the
last id (a bigram model), returned as a view so that writing into it is noticed.  The reference draws
with ``torch.multinomial`` and a generator seeded like the learner's; where the draws differ, the
frequencies of many draws say which distribution they follow.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, LearnerError, result_of
from course_lib.checks.toolkit import (
    as_tensor,
    first_named_mistake,
    generator,
    sequence_differences,
    tensor,
    visible_first,
)

__all__ = ["SAMPLE", "check_sample"]

_STATS = "statistics"


def _sample_case(g, V, start, steps, temperature, table="random", seed=0):
    if table == "random":
        logits = 1.5 * torch.randn(V, V, generator=g, dtype=torch.float64)
    elif table == "separated":  # gaps >= 0.5 between sorted logits: temperature -> 0 is exactly greedy
        logits = torch.stack([torch.randperm(V, generator=g).double() * 0.7 for _ in range(V)])
    else:  # the same logits in every row: the draws are i.i.d. and their frequencies can be tested
        logits = (1.2 * torch.randn(V, generator=g, dtype=torch.float64)).expand(V, V).clone()
    return {
        "table": logits.numpy(),
        "start": np.asarray(start, dtype=np.int64),
        "steps": steps,
        "temperature": temperature,
        "seed": seed,
    }


def _sample_cases(seed, hidden):
    g = generator(seed)
    seeds = torch.randint(0, 2**31 - 1, (12,), generator=g).tolist()
    cases = {
        "greedy (temperature 0)": _sample_case(g, 6, [2, 0], 8, 0.0, seed=seeds[0]),
        "temperature 1": _sample_case(g, 6, [1], 12, 1.0, seed=seeds[1]),
        "temperature 0.5": _sample_case(g, 8, [3, 4, 5], 10, 0.5, seed=seeds[2]),
        f"{_STATS}, temperature 2, 3000 draws": _sample_case(g, 5, [0], 3000, 2.0, "constant", seeds[3]),
        "temperature 0.001 (near the greedy limit)": {
            **_sample_case(g, 7, [2], 10, 1e-3, "separated", seeds[9]),
            "kind": "edge",
        },
    }
    if hidden:
        cases["greedy, one start id, V=30"] = _sample_case(g, 30, [7], 15, 0.0, seed=seeds[4])
        cases["temperature 0.001 (the greedy limit)"] = {
            **_sample_case(g, 9, [4], 12, 1e-3, "separated", seeds[5]),
            "kind": "edge",
        }
        cases["temperature 5"] = _sample_case(g, 7, [1, 2], 20, 5.0, seed=seeds[6])
        cases["steps = 0"] = {**_sample_case(g, 5, [3, 1], 0, 1.0, seed=seeds[7]), "kind": "edge"}
        cases[f"{_STATS}, temperature 0.5, 3000 draws"] = _sample_case(g, 6, [2], 3000, 0.5, "constant", seeds[8])
    return cases


def _sample_run(fn, case):
    table = tensor(case["table"]).clone()
    original = table.clone()
    lengths = []

    def logits_fn(ids):
        """Logits (V,) of the token after ``ids`` (a bigram model: only the last id matters)."""
        ids = torch.as_tensor(ids)
        lengths.append(int(ids.numel()))
        return table[int(ids.reshape(-1)[-1])]

    start = tensor(case["start"]).clone()
    out = fn(logits_fn, start, case["steps"], case["temperature"], generator(case["seed"]))
    result = {
        "ids": out,
        "lengths": list(lengths),
        "start_modified": not torch.equal(start, tensor(case["start"])),
        "logits_modified": not torch.equal(table, original),
    }
    # Again with the same generator seed but another global seed: the draws must not change.
    table.copy_(original)
    state = torch.get_rng_state()
    try:
        torch.manual_seed(case["seed"] + 1)
        result["ids_again"] = fn(
            logits_fn, tensor(case["start"]).clone(), case["steps"], case["temperature"], generator(case["seed"])
        )
    finally:
        torch.set_rng_state(state)
    return result


def _sample_reference(case, temperature_map=lambda logits, tau: logits / tau, feed=True, greedy=None):
    """The ids sample should return, drawing with torch.multinomial and a generator seeded like the learner's."""
    table, ids = tensor(case["table"]), tensor(case["start"]).tolist()
    tau, g = case["temperature"], generator(case["seed"])
    greedy = tau == 0 if greedy is None else greedy
    for _ in range(case["steps"]):
        logits = table[ids[-1] if feed else int(case["start"][-1])]
        if greedy:
            ids.append(int(logits.argmax()))
        else:
            ids.append(int(torch.multinomial(torch.softmax(temperature_map(logits, tau), dim=-1), 1, generator=g)))
    return torch.tensor(ids, dtype=torch.long)


def _frequency_verdict(case, new_ids: torch.Tensor) -> str | None:
    """None if the draws follow softmax(logits / T); else what they follow instead."""
    logits, tau = tensor(case["table"])[0], case["temperature"]
    V, n = logits.numel(), new_ids.numel()
    counts = torch.bincount(new_ids.clamp(0, V - 1), minlength=V).double()

    def z_max(p):
        return float(((counts - n * p).abs() / (n * p * (1 - p)).clamp_min(1e-12).sqrt()).max())

    if z_max(torch.softmax(logits / tau, 0)) < 6.0:  # six standard deviations: never fails by chance
        return None
    for p, what in (
        (torch.softmax(logits, 0), "the temperature is ignored: softmax(logits), not softmax(logits / temperature)"),
        (
            torch.softmax(logits * tau, 0),
            "the logits are multiplied by the temperature; divide them: softmax(logits / temperature)",
        ),
        (torch.full((V,), 1.0 / V), "the draws are uniform: sample from softmax(logits / temperature)"),
    ):
        if z_max(p) < 6.0:
            return what
    return "the frequencies of the sampled ids do not follow softmax(logits / temperature)"


def _sample_judge(cases, results):
    for name, case in cases.items():
        tau, T0, steps = case["temperature"], len(case["start"]), case["steps"]
        value = results.get(name)
        if isinstance(value, LearnerError) and value.type != "NotImplementedError":
            text = value.message.lower()
            if tau == 0 and any(w in text for w in ("nan", "inf", "zero", "division")):
                raise CheckFailure(
                    f"case '{name}': sample raised {value.type} ({value.message}). Temperature 0 "
                    f"means greedy: take the argmax of the logits; do not divide by 0."
                )
            if 0 < tau < 0.01 and any(w in text for w in ("nan", "inf")):
                raise CheckFailure(
                    f"case '{name}': at temperature {tau:g} sample raised {value.type} ({value.message}"
                    f"): exp(logits / temperature) overflows. Use torch.softmax, which subtracts the "
                    f"maximum first."
                )
        value = result_of(results, name, "sample")
        expected = _sample_reference(case)
        if value["start_modified"]:
            raise CheckFailure(
                f"case '{name}': sample modified start_ids in place; leave its inputs unchanged "
                f"(build a new tensor, e.g. with torch.cat)."
            )
        if value["logits_modified"]:
            raise CheckFailure(
                f"case '{name}': sample modified the logits returned by logits_fn in place (e.g. "
                f"logits /= temperature changes the model's own tensor); write "
                f"logits / temperature, which makes a new tensor."
            )
        ids = value["ids"]
        if (
            isinstance(ids, np.ndarray)
            and ids.shape == (steps,)
            and steps
            and torch.equal(torch.from_numpy(ids).long(), expected[T0:])
        ):
            raise CheckFailure(
                f"case '{name}': you returned only the {steps} new ids; return start_ids followed by "
                f"them ({T0 + steps} ids)."
            )
        ids = as_tensor(ids, f"the ids on case '{name}'", (T0 + steps,), "(len(start_ids) + steps,)")
        if ids.dtype != torch.long:
            raise CheckFailure(f"case '{name}': the ids should be a LongTensor (torch.long), got {ids.dtype}.")
        if not torch.equal(ids[:T0], expected[:T0]):
            raise CheckFailure(
                f"case '{name}': the returned ids must start with start_ids {expected[:T0].tolist()}, "
                f"got {ids[:T0].tolist()}."
            )
        lengths = value["lengths"]
        if steps > 1 and lengths and all(n == T0 for n in lengths):
            raise CheckFailure(
                f"case '{name}': logits_fn always received start_ids: pass it the ids so far "
                f"(start_ids followed by the ids sampled until now), so each new id is fed back."
            )
        if steps > 1 and lengths and all(n == 1 for n in lengths) and T0 + steps > 2:
            raise CheckFailure(
                f"case '{name}': logits_fn received one id at a time; pass it all the ids so far "
                f"(the model may need the whole context)."
            )
        if torch.equal(ids, expected):
            continue
        if tau == 0:
            table, argmin = tensor(case["table"]), tensor(case["start"]).tolist()
            for _ in range(steps):
                argmin.append(int(table[argmin[-1]].argmin()))
            if ids.tolist() == argmin:
                raise CheckFailure(f"case '{name}': greedy picks the least likely id (argmin); take the argmax.")
            raise CheckFailure(
                f"case '{name}': with temperature 0 sample is greedy: each new id is the argmax of "
                f"logits_fn(ids so far). The ids {sequence_differences(ids, expected)}."
            )
        again = value["ids_again"]
        if not (isinstance(again, np.ndarray) and torch.equal(torch.from_numpy(again), ids)):
            raise CheckFailure(
                f"case '{name}': the draws are not reproducible: with a generator seeded the same "
                f"way, sample returned different ids. Pass generator=generator to torch.multinomial "
                f"(the global random state must not matter)."
            )
        named = [
            (
                "the new ids are the argmax: with a temperature > 0 sample must draw from "
                "softmax(logits / temperature) with torch.multinomial.",
                dict(greedy=True),
            ),
            (
                "the temperature is ignored: draw from softmax(logits / temperature).",
                dict(temperature_map=lambda lg, tau: lg),
            ),
            (
                "the logits are multiplied by the temperature; divide them: softmax(logits / temperature).",
                dict(temperature_map=lambda lg, tau: lg * tau),
            ),
        ]
        message = first_named_mistake(
            ids,
            expected,
            [(m, functools.partial(_sample_reference, case, **kwargs)) for m, kwargs in named],
            same=torch.equal,
        )
        if message:
            raise CheckFailure(f"case '{name}': {message}")
        if name.startswith(_STATS):
            verdict = _frequency_verdict(case, ids[T0:])
            if verdict:
                raise CheckFailure(f"case '{name}': {verdict}.")
        raise CheckFailure(
            f"case '{name}': the draws differ from torch.multinomial(torch.softmax(logits / temperature, dim=-1), "
            f"num_samples=1, generator=generator) at each step. Use exactly that call, once per new id, so that "
            f"the draws are reproducible. The ids {sequence_differences(ids, expected)}."
        )


SAMPLE = Exercise("sample", "sample", visible_first(_sample_cases), _sample_run, _sample_judge)

check_sample = SAMPLE.check
