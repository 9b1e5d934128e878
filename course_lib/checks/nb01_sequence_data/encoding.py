"""Checks of ``encode`` (tokens -> ids, unknown tokens -> the id of ``<unk>``) and ``decode`` (ids -> tokens,
every ``<pad>`` dropped), judged against a vocabulary ``itos`` that starts with the special tokens, and one whose
special tokens sit elsewhere (the contract looks ids up in ``itos``; it fixes no position), visible and hidden;
``decode`` also meets ``<pad>`` between real tokens."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import as_tensor, generator, plain, sequence_differences, token_list, visible_first
from course_lib.data.vocab import SPECIALS

__all__ = ["ENCODE", "DECODE", "check_encode", "check_decode"]


def _itos_for(seed: int, hidden: bool) -> list[str]:
    return list(SPECIALS) + ["good", "not", "bad", "film"] + (["好", "但"] if hidden else [])


def _moved_specials(itos: list[str]) -> list[str]:
    """The same vocabulary with the special tokens after the others, in reverse order: no special at id 0 or 1."""
    return [t for t in itos if t not in SPECIALS] + list(reversed(SPECIALS))


def _encode_cases(seed, hidden):
    itos = _itos_for(seed, hidden)
    cases = {
        "known tokens": {"tokens": ["good", "not", "bad"], "itos": itos},
        "unknown token": {"tokens": ["bad", "movie"], "itos": itos},
        "specials at the end of itos, an unknown token": {"tokens": ["movie", "good"], "itos": _moved_specials(itos)},
        "no tokens": {"tokens": [], "itos": itos},
    }
    if hidden:
        g = generator(seed)
        pool = itos[4:] + ["unseen", "词"]
        ids = torch.randint(0, len(pool), (9,), generator=g).tolist()
        cases["random"] = {"tokens": [pool[i] for i in ids], "itos": itos}
        cases["empty"] = {"tokens": [], "itos": itos}
    return cases


def _encode_run(fn, case):
    return fn(case["tokens"], case["itos"])


def _encode_judge(cases, results):
    for name, case in cases.items():
        got = result_of(results, name, "encode")
        itos = case["itos"]
        stoi = {t: i for i, t in enumerate(itos)}
        expected = torch.tensor([stoi.get(t, stoi["<unk>"]) for t in case["tokens"]], dtype=torch.long)
        got = as_tensor(got, f"encode({case['tokens']}, itos)", tuple(expected.shape), "(T,)")
        if got.dtype != torch.long:
            raise CheckFailure(f"encode should return a LongTensor (dtype torch.long) of ids, got {got.dtype}")
        if not torch.equal(got, expected):
            unk = [t for t in case["tokens"] if t not in stoi]
            hint = ""
            if unk and got.tolist()[case["tokens"].index(unk[0])] == stoi["<pad>"]:
                hint = " Unknown tokens map to the id of '<unk>', not to '<pad>' (index 0)."
            elif unk:
                hint = f" Unknown tokens such as {unk[0]!r} map to the id of '<unk>' ({stoi['<unk>']})."
            raise CheckFailure(
                f"case '{name}': encode({case['tokens']}): the ids {sequence_differences(got, expected)}.{hint}"
            )


ENCODE = Exercise("encode", "encode", visible_first(_encode_cases), _encode_run, _encode_judge)

check_encode = ENCODE.check


def _decode_cases(seed, hidden):
    itos = _itos_for(seed, hidden)
    cases = {
        "plain ids": {"ids": np.array([4, 5, 6], dtype=np.int64), "itos": itos},
        "with padding": {"ids": np.array([2, 6, 7, 3, 0, 0], dtype=np.int64), "itos": itos},
        "<pad> between tokens, specials at the end of itos": {
            "ids": np.array([0, len(itos) - 1, 1, len(itos) - 1, 2, len(itos) - 1], dtype=np.int64),
            "itos": _moved_specials(itos),
        },
    }
    if hidden:
        g = generator(seed)
        ids = torch.randint(1, len(itos), (8,), generator=g)
        cases["random, padded"] = {"ids": torch.cat([ids, torch.zeros(3, dtype=torch.long)]).numpy(), "itos": itos}
        cases["only padding"] = {"ids": np.zeros(4, dtype=np.int64), "itos": itos}
    return cases


def _decode_run(fn, case):
    return plain(fn(torch.from_numpy(case["ids"]), case["itos"]))


def _decode_judge(cases, results):
    for name, case in cases.items():
        got = token_list(result_of(results, name, "decode"), f"decode(...) on case '{name}'")
        itos = case["itos"]
        expected = [itos[i] for i in case["ids"].tolist() if itos[i] != "<pad>"]
        if got != expected:
            with_pad = [itos[i] for i in case["ids"].tolist()]
            hint = " Drop the '<pad>' tokens: padding is not part of the sequence." if got == with_pad else ""
            raise CheckFailure(
                f"case '{name}': decode({case['ids'].tolist()}): the tokens {sequence_differences(got, expected)}.{hint}"
            )


DECODE = Exercise("decode", "decode", visible_first(_decode_cases), _decode_run, _decode_judge)

check_decode = DECODE.check
