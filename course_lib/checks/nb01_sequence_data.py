"""Checks for notebook 01 (sequence data): vocabulary, encoding, one-hot, windows, padding, structures.

Each reference is torch's own (``F.one_hot``, ``Tensor.unfold``, ``pad_sequence``) or an invariant of
the specification (a vocabulary is checked by what it must contain and in which order, not against a
stored answer).  The structure quiz compares salted hashes, so the answers are not in this file.
"""

from __future__ import annotations

import collections
import hashlib
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from course_lib.checks.core import CheckFailure, Exercise, as_tensor, assert_close, result_of
from course_lib.data.vocab import SPECIALS

__all__ = [
    "EXERCISES",
    "check_build_vocab",
    "check_encode",
    "check_decode",
    "check_one_hot",
    "check_make_windows",
    "check_make_char_windows",
    "check_pad_batch",
    "check_io_structures",
]

_WORDS = ["good", "bad", "not", "film", "plot", "but", "great", "dull", "的", "好", "但", "演技"]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_sentences(g: torch.Generator, n: int) -> list[list[str]]:
    sentences = []
    for _ in range(n):
        length = int(torch.randint(0, 7, (1,), generator=g))
        ids = torch.randint(0, len(_WORDS), (length,), generator=g).tolist()
        sentences.append([_WORDS[i] for i in ids])
    return sentences


def _token_list(value: Any, what: str) -> list[str]:
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{what} should be a list of strings, but it is a {type(value).__name__}")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise CheckFailure(f"{what} should contain strings only, found {bad[0]!r}")
    return list(value)


# ---------------------------------------------------------------------------------------- vocabulary


def _vocab_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    if not hidden:
        sentences = [["good", "not", "bad"], ["bad", "not", "good"], ["good", "film"], ["dull", "film"]]
        return {
            "min_freq=1": {"sentences": sentences, "min_freq": 1},
            "min_freq=2": {"sentences": sentences, "min_freq": 2},
        }
    g = _generator(seed)
    return {
        "random, min_freq=1": {"sentences": _random_sentences(g, 12), "min_freq": 1},
        "random, min_freq=3": {"sentences": _random_sentences(g, 20), "min_freq": 3},
        "no sentences": {"sentences": [], "min_freq": 1},
        "text containing '<unk>'": {"sentences": [["<unk>", "好", "好"], ["<pad>", "好"]], "min_freq": 1},
    }


def _vocab_run(fn, case):
    return _plain_list(fn(case["sentences"], min_freq=case["min_freq"]))


def _plain_list(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _vocab_judge(cases, results):
    for name, case in cases.items():
        itos = _token_list(result_of(results, name, "build_vocab"), f"build_vocab(...) on case '{name}'")
        specials = list(SPECIALS)
        if itos[: len(specials)] != specials:
            raise CheckFailure(
                f"case '{name}': the vocabulary must start with the special tokens {specials} in that order "
                f"(padding is index 0), got {itos[:len(specials)]}"
            )
        seen = collections.Counter(itos)
        twice = [t for t, c in seen.items() if c > 1]
        if twice:
            raise CheckFailure(f"case '{name}': token {twice[0]!r} appears {seen[twice[0]]} times; each token once")
        counts = collections.Counter(t for s in case["sentences"] for t in s)
        min_freq = case["min_freq"]
        wanted = [t for t, c in counts.most_common() if c >= min_freq and t not in specials]
        words = itos[len(specials) :]
        missing = [t for t in wanted if t not in words]
        if missing:
            t = missing[0]
            hint = " (keep tokens whose count is >= min_freq, not > min_freq)" if counts[t] == min_freq else ""
            raise CheckFailure(
                f"case '{name}': token {t!r} occurs {counts[t]} times with min_freq={min_freq}, so it belongs in "
                f"the vocabulary{hint}"
            )
        extra = [t for t in words if t not in wanted]
        if extra:
            t = extra[0]
            raise CheckFailure(
                f"case '{name}': token {t!r} should not be in the vocabulary: it occurs {counts[t]} times, "
                f"below min_freq={min_freq}" + (" (and specials are listed once, first)" if t in specials else "")
            )
        if words != wanted:
            order = [(t, counts[t]) for t in words]
            raise CheckFailure(
                f"case '{name}': order the tokens by count, most frequent first, ties in order of first appearance "
                f"(collections.Counter.most_common does this). Expected {wanted}, got {words}; counts {order}"
            )


BUILD_VOCAB = Exercise("build_vocab", "build_vocab", _vocab_cases, _vocab_run, _vocab_judge)


# ---------------------------------------------------------------------------------------- encode / decode


def _itos_for(seed: int, hidden: bool) -> list[str]:
    return list(SPECIALS) + ["good", "not", "bad", "film"] + (["好", "但"] if hidden else [])


def _encode_cases(seed, hidden):
    itos = _itos_for(seed, hidden)
    cases = {
        "known tokens": {"tokens": ["good", "not", "bad"], "itos": itos},
        "unknown token": {"tokens": ["bad", "movie"], "itos": itos},
    }
    if hidden:
        g = _generator(seed)
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
                f"case '{name}': encode({case['tokens']}) expected {expected.tolist()}, got {got.tolist()}.{hint}"
            )


ENCODE = Exercise("encode", "encode", _encode_cases, _encode_run, _encode_judge)


def _decode_cases(seed, hidden):
    itos = _itos_for(seed, hidden)
    cases = {
        "plain ids": {"ids": np.array([4, 5, 6], dtype=np.int64), "itos": itos},
        "with padding": {"ids": np.array([2, 6, 7, 3, 0, 0], dtype=np.int64), "itos": itos},
    }
    if hidden:
        g = _generator(seed)
        ids = torch.randint(1, len(itos), (8,), generator=g)
        cases["random, padded"] = {"ids": torch.cat([ids, torch.zeros(3, dtype=torch.long)]).numpy(), "itos": itos}
        cases["only padding"] = {"ids": np.zeros(4, dtype=np.int64), "itos": itos}
    return cases


def _decode_run(fn, case):
    return _plain_list(fn(torch.from_numpy(case["ids"]), case["itos"]))


def _decode_judge(cases, results):
    for name, case in cases.items():
        got = _token_list(result_of(results, name, "decode"), f"decode(...) on case '{name}'")
        itos = case["itos"]
        expected = [itos[i] for i in case["ids"].tolist() if itos[i] != "<pad>"]
        if got != expected:
            with_pad = [itos[i] for i in case["ids"].tolist()]
            hint = " Drop the '<pad>' tokens: padding is not part of the sequence." if got == with_pad else ""
            raise CheckFailure(f"case '{name}': decode({case['ids'].tolist()}) expected {expected}, got {got}.{hint}")


DECODE = Exercise("decode", "decode", _decode_cases, _decode_run, _decode_judge)


# ---------------------------------------------------------------------------------------- one-hot


def _one_hot_cases(seed, hidden):
    cases = {"ids (T,)": {"ids": np.array([0, 2, 1, 2, 3], dtype=np.int64), "V": 4}}
    if hidden:
        g = _generator(seed)
        cases["batch (N, T)"] = {"ids": torch.randint(0, 7, (3, 5), generator=g).numpy(), "V": 7}
        cases["last id V-1"] = {"ids": np.array([9, 0], dtype=np.int64), "V": 10}
        cases["V larger than any id"] = {"ids": np.array([1, 1], dtype=np.int64), "V": 6}
    return cases


def _one_hot_run(fn, case):
    return fn(torch.from_numpy(case["ids"]), case["V"])


def _one_hot_judge(cases, results):
    for name, case in cases.items():
        ids = torch.from_numpy(case["ids"])
        expected = F.one_hot(ids, case["V"]).float()
        got = as_tensor(result_of(results, name, "one_hot"), f"one_hot(ids of shape {tuple(ids.shape)}, V={case['V']})",
                        tuple(expected.shape), "(..., V)")
        if not got.dtype.is_floating_point:
            raise CheckFailure(
                f"one_hot should return floats (so that one_hot @ W is a matrix product), got {got.dtype}"
            )
        assert_close(got, expected, f"one_hot on case '{name}'", hint="Row t has a single 1, in column ids[t].")


ONE_HOT = Exercise("one_hot", "one_hot", _one_hot_cases, _one_hot_run, _one_hot_judge)


# ---------------------------------------------------------------------------------------- windows


def _series_cases(seed, hidden, key, lengths):
    g = _generator(seed)
    cases = {}
    for T, w in lengths:
        if key == "series":
            values = torch.randn(T, generator=g, dtype=torch.float64)
        else:
            values = torch.randint(0, 20, (T,), generator=g)
        cases[f"T={T}, window={w}"] = {key: values.numpy(), "window": w}
    return cases


def _windows_cases(seed, hidden):
    return _series_cases(seed, hidden, "series", [(8, 3)] + ([(20, 5), (6, 5), (12, 1)] if hidden else []))


def _windows_run(fn, case):
    return tuple(fn(torch.from_numpy(case["series"]), case["window"]))


def _pair(value: Any, what: str) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise CheckFailure(f"{what} should return a pair (X, Y), got {type(value).__name__}")
    return tuple(value)


def _windows_judge(cases, results):
    for name, case in cases.items():
        series = torch.from_numpy(case["series"])
        w = case["window"]
        X_ref = series.unfold(0, w, 1)[:-1]  # (T - w, w): rows s[i : i + w]
        Y_ref = series[w:]  # (T - w,): the value right after each window
        X, Y = _pair(result_of(results, name, "make_windows"), "make_windows")
        T = series.shape[0]
        if isinstance(X, np.ndarray) and X.shape[:1] == (T - w + 1,):
            raise CheckFailure(
                f"case '{name}': X has {T - w + 1} windows, expected T - window = {T - w}: the last window has no "
                f"next value to predict (off by one)."
            )
        X = as_tensor(X, f"X on case '{name}'", tuple(X_ref.shape), "(T - window, window)")
        Y = as_tensor(Y, f"Y on case '{name}'", tuple(Y_ref.shape), "(T - window,)")
        assert_close(X, X_ref, f"X on case '{name}'", hint="Row i is series[i : i + window].")
        if torch.equal(Y.double(), X_ref[:, -1].double()) and w > 0:
            raise CheckFailure(
                f"case '{name}': Y[i] is the last value inside window i; the target is the next value, "
                f"series[i + window] (targets not shifted)."
            )
        assert_close(Y, Y_ref, f"Y on case '{name}'", hint="Y[i] = series[i + window], the value after window i.")


MAKE_WINDOWS = Exercise("make_windows", "make_windows", _windows_cases, _windows_run, _windows_judge)


def _char_windows_cases(seed, hidden):
    return _series_cases(seed, hidden, "ids", [(10, 4)] + ([(30, 7), (5, 4), (9, 1)] if hidden else []))


def _char_windows_run(fn, case):
    return tuple(fn(torch.from_numpy(case["ids"]), case["window"]))


def _char_windows_judge(cases, results):
    for name, case in cases.items():
        ids = torch.from_numpy(case["ids"])
        L = case["window"]
        windows = ids.unfold(0, L + 1, 1)  # (T - L, L + 1)
        X_ref, Y_ref = windows[:, :-1], windows[:, 1:]  # both (T - L, L), Y shifted by one step
        X, Y = _pair(result_of(results, name, "make_char_windows"), "make_char_windows")
        X = as_tensor(X, f"X on case '{name}'", tuple(X_ref.shape), "(T - seq_len, seq_len)")
        Y = as_tensor(Y, f"Y on case '{name}'", tuple(Y_ref.shape), "(T - seq_len, seq_len)")
        if X.dtype != torch.long or Y.dtype != torch.long:
            raise CheckFailure(f"X and Y hold token ids and should stay torch.long, got {X.dtype} and {Y.dtype}")
        if not torch.equal(X, X_ref):
            raise CheckFailure(f"case '{name}': X[i] should be ids[i : i + seq_len]; expected {X_ref[:2].tolist()}..., "
                               f"got {X[:2].tolist()}...")
        if torch.equal(Y, X_ref):
            raise CheckFailure(f"case '{name}': Y equals X; the targets are the inputs shifted by one step, "
                               f"Y[i] = ids[i + 1 : i + 1 + seq_len] (targets not shifted).")
        if not torch.equal(Y, Y_ref):
            raise CheckFailure(f"case '{name}': Y[i] should be ids[i + 1 : i + 1 + seq_len]; expected "
                               f"{Y_ref[:2].tolist()}..., got {Y[:2].tolist()}...")


MAKE_CHAR_WINDOWS = Exercise(
    "make_char_windows", "make_char_windows", _char_windows_cases, _char_windows_run, _char_windows_judge
)


# ---------------------------------------------------------------------------------------- padding


def _pad_cases(seed, hidden):
    cases = {"three sequences": {"seqs": [np.array([5, 6, 7]), np.array([8]), np.array([9, 10])], "pad_id": 0}}
    if hidden:
        g = _generator(seed)
        lengths = torch.randint(1, 9, (5,), generator=g).tolist()
        cases["random lengths, pad_id=1"] = {
            "seqs": [torch.randint(2, 30, (n,), generator=g).numpy() for n in lengths],
            "pad_id": 1,
        }
        cases["equal lengths"] = {"seqs": [np.array([4, 5]), np.array([6, 7])], "pad_id": 0}
        cases["one sequence"] = {"seqs": [np.array([3, 4, 5, 6])], "pad_id": 0}
    return cases


def _pad_run(fn, case):
    seqs = [torch.from_numpy(np.asarray(s, dtype=np.int64)) for s in case["seqs"]]
    return tuple(fn(seqs, pad_id=case["pad_id"]))


def _pad_judge(cases, results):
    for name, case in cases.items():
        seqs = [torch.from_numpy(np.asarray(s, dtype=np.int64)) for s in case["seqs"]]
        padded_ref = pad_sequence(seqs, batch_first=True, padding_value=case["pad_id"])  # (N, T_max)
        lengths_ref = torch.tensor([len(s) for s in seqs])
        mask_ref = torch.arange(padded_ref.shape[1])[None, :] < lengths_ref[:, None]  # (N, T_max)
        value = result_of(results, name, "pad_batch")
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise CheckFailure("pad_batch should return three things: (padded, lengths, mask)")
        padded = as_tensor(value[0], f"padded on case '{name}'", tuple(padded_ref.shape), "(N, T_max)")
        lengths = as_tensor(value[1], f"lengths on case '{name}'", tuple(lengths_ref.shape), "(N,)")
        mask = as_tensor(value[2], f"mask on case '{name}'", tuple(mask_ref.shape), "(N, T_max)")
        left = torch.stack([torch.roll(row, int(padded_ref.shape[1] - n)) for row, n in zip(padded_ref, lengths_ref)])
        if not torch.equal(padded, padded_ref) and torch.equal(padded, left):
            raise CheckFailure(f"case '{name}': the padding is on the left; pad at the end of each row "
                               f"(as pad_sequence does), so position t is time step t.")
        if not torch.equal(padded.long(), padded_ref):
            raise CheckFailure(f"case '{name}': padded should equal pad_sequence(seqs, batch_first=True, "
                               f"padding_value={case['pad_id']}); expected {padded_ref.tolist()}, got {padded.tolist()}")
        if not torch.equal(lengths.long(), lengths_ref):
            raise CheckFailure(f"case '{name}': lengths expected {lengths_ref.tolist()}, got {lengths.tolist()}")
        if mask.dtype != torch.bool:
            raise CheckFailure(f"mask should be a bool tensor, got {mask.dtype}")
        if torch.equal(mask, ~mask_ref):
            raise CheckFailure(f"case '{name}': the mask is inverted; True marks real tokens, False padding.")
        if not torch.equal(mask, mask_ref):
            raise CheckFailure(f"case '{name}': mask expected {mask_ref.int().tolist()}, got {mask.int().tolist()}")


PAD_BATCH = Exercise("pad_batch", "pad_batch", _pad_cases, _pad_run, _pad_judge)


# ---------------------------------------------------------------------------------------- structures quiz

# sha256(salt + task + "=" + answer) of the right answers; the answers themselves are not stored here.
_SALT = "seqmod-01:"
STRUCTURE_TASKS = (
    "sentiment of a review",
    "next character at every step",
    "caption from one image",
    "part-of-speech tag of every word",
    "tomorrow's temperature from the last 30 days",
)
STRUCTURES = ("N-N", "N-1", "1-N")


def _digest(task: str, answer: str) -> str:
    return hashlib.sha256(f"{_SALT}{task}={answer}".encode()).hexdigest()


def _quiz_cases(seed, hidden):
    return {"answers": {}}


def _quiz_run(fn, case):
    answers = fn() if callable(fn) else fn
    return dict(answers) if isinstance(answers, dict) else answers


def _quiz_judge(cases, results):
    answers = result_of(results, "answers", "io_structures")
    if isinstance(answers, dict) and answers and all(v is None for v in answers.values()):
        raise CheckFailure("IO_STRUCTURES is not implemented yet: replace each None with 'N-N', 'N-1' or '1-N'")
    if not isinstance(answers, dict):
        raise CheckFailure(f"IO_STRUCTURES should be a dict from task to 'N-N', 'N-1' or '1-N', got {type(answers).__name__}")
    for task in STRUCTURE_TASKS:
        if task not in answers:
            raise CheckFailure(f"IO_STRUCTURES has no answer for {task!r}")
        answer = answers[task]
        if answer not in STRUCTURES:
            raise CheckFailure(f"the answer for {task!r} should be one of {STRUCTURES}, got {answer!r}")
        if _digest(task, answer) != ANSWER_DIGESTS[task]:
            raise CheckFailure(f"{task!r}: {answer!r} is not right. Ask: how many inputs, and how many outputs?")


ANSWER_DIGESTS = {
    'sentiment of a review': 'a4e28cc5adf798f0eab5e1706294fc20b74742201796ab33bb83131821575942',
    'next character at every step': '15c5ea864f547d788a267af2caff6b09640843a508578870dfb2eefdb8af31ea',
    'caption from one image': 'b841cfc22faf6baae9c21846bf89884ca27ed46819531a14fa342282e3b3c2ab',
    'part-of-speech tag of every word': '8567f332b2e69542d2dcb4a7db232d3b728fb1599d32c9547092cf64444943d9',
    "tomorrow's temperature from the last 30 days": '7654059e596aea8f9b5ac0b24888879e110cb685eca35833aaac9bfaa86f6a88',
}

IO_STRUCTURES = Exercise("io_structures", "IO_STRUCTURES", _quiz_cases, _quiz_run, _quiz_judge, callable_answer=False)


EXERCISES = (BUILD_VOCAB, ENCODE, DECODE, ONE_HOT, MAKE_WINDOWS, MAKE_CHAR_WINDOWS, PAD_BATCH, IO_STRUCTURES)

check_build_vocab = BUILD_VOCAB.check
check_encode = ENCODE.check
check_decode = DECODE.check
check_one_hot = ONE_HOT.check
check_make_windows = MAKE_WINDOWS.check
check_make_char_windows = MAKE_CHAR_WINDOWS.check
check_pad_batch = PAD_BATCH.check
check_io_structures = IO_STRUCTURES.check
