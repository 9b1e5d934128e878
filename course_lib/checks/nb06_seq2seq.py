"""Checks for notebook 06 (seq2seq): encoder, decoder step, teacher forcing, greedy decoding, accuracy,
masked loss, beam search.

References and invariants, never a stored answer:

- ``encode`` and ``decoder_step`` are compared with ``nn.GRU`` on a packed batch and with ``nn.GRUCell``
  / ``nn.Linear`` loaded with the same weights; the losses with ``F.cross_entropy(ignore_index=...)`` and
  autograd.
- The decoding loops (teacher forcing, greedy, beam) are run on a *stand-in* decoder, :class:`ToyDecoder`:
  a small random recurrent model with the notebook's call contract, not the notebook's GRU decoder.  The
  judge replays it on the inputs that the learner's own outputs imply (the ground truth where a coin said
  so, the argmax of the learner's logits elsewhere) and checks that the learner's outputs are what the
  model gives on those inputs -- the fixed point that defines each algorithm.  Beam search is checked by
  invariants: width 1 is greedy decoding; a beam wider than the number of candidates is exact search,
  compared with brute-force enumeration of every sequence; a wider beam never scores below greedy when
  the greedy path provably survives in it; the reported score is the model's length-normalised score.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from course_lib.checks.core import CheckFailure, Exercise, as_tensor, assert_close, describe, result_of
from course_lib.data.vocab import BOS, EOS, PAD, SPECIALS, UNK

__all__ = [
    "EXERCISES",
    "ToyDecoder",
    "check_encode",
    "check_decoder_step",
    "check_decode_train",
    "check_greedy_decode",
    "check_sequence_accuracy",
    "check_masked_cross_entropy",
    "check_beam_search",
]

PAD_ID, UNK_ID, BOS_ID, EOS_ID = (SPECIALS.index(t) for t in (PAD, UNK, BOS, EOS))
_NEVER = 10**6  # "this row never ends" in a ToyDecoder's end-of-sequence schedule
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).numpy()


def _plain(value: Any) -> Any:
    """What the learner returned, as data that can cross to the judge; other objects become their type name."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, PackedSequence):  # a tuple too, but not one of results
        return {"object": "PackedSequence"}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return value
    return {"object": type(value).__name__}


def _tensor(value: Any, what: str, shape: tuple[int, ...] | None = None, letters: str = "") -> torch.Tensor:
    __tracebackhide__ = True
    if isinstance(value, dict) and "object" in value:
        hint = " Unpack it with pad_packed_sequence." if value["object"] == "PackedSequence" else ""
        raise CheckFailure(f"{what} should be a tensor, but it is a {value['object']}.{hint}")
    return as_tensor(value, what, shape, letters)


def _pair(value: Any, function: str, names: str) -> tuple:
    __tracebackhide__ = True
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        got = f"a {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, (list, tuple)) else "")
        raise CheckFailure(f"{function} should return a pair ({names}), got {got}")
    return tuple(value)


def _tolerance(got: torch.Tensor) -> dict[str, float]:
    return {"rtol": 1e-4, "atol": 1e-5} if got.dtype != torch.float64 else {"rtol": 1e-7, "atol": 1e-9}


def _close(got: torch.Tensor, expected: torch.Tensor, tol: dict[str, float] | None = None) -> bool:
    """Same shape and close, with the tolerance of ``got``'s dtype unless ``tol`` is given."""
    tol = tol or _tolerance(got)
    return tuple(got.shape) == tuple(expected.shape) and torch.allclose(got.double(), expected.double(), **tol)


# ==================================================================================================
# 1. The encoder


def _encoder_weights(g: torch.Generator, V: int, E: int, H: int) -> dict[str, np.ndarray]:
    return {"embedding.weight": _randn(g, V, E), "rnn.weight_ih_l0": _randn(g, 3 * H, E, scale=0.5),
            "rnn.weight_hh_l0": _randn(g, 3 * H, H, scale=0.5), "rnn.bias_ih_l0": _randn(g, 3 * H, scale=0.5),
            "rnn.bias_hh_l0": _randn(g, 3 * H, scale=0.5)}


def _padded_src(g: torch.Generator, lengths: list[int], S: int, V: int) -> np.ndarray:
    src = torch.randint(4, V, (len(lengths), S), generator=g)
    for row, n in enumerate(lengths):
        src[row, n:] = PAD_ID
    return src.numpy()


def _encode_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    shapes = [("3 rows of lengths 5, 3, 1", [5, 3, 1], 5, 9, 4, 3, "float32")]
    if hidden:
        shapes += [("float64, 4 rows, random lengths", [7] + torch.randint(1, 8, (3,), generator=g).tolist(), 7, 11, 5, 6,
                    "float64"),
                   ("float64, every row shorter than S", [4, 2], 6, 8, 3, 4, "float64"),
                   ("float64, one row", [3], 3, 6, 2, 5, "float64")]
    cases = {}
    for name, lengths, S, V, E, H, dtype in shapes:
        cases[name] = {"weights": _encoder_weights(g, V, E, H), "src": _padded_src(g, lengths, S, V),
                       "lengths": np.array(lengths, dtype=np.int64), "dtype": dtype}
    return cases


def _loaded(modules: dict[str, nn.Module], case) -> tuple[nn.Module, ...]:
    """The modules with the case's weights ('module.parameter' -> array) copied in, in the case's dtype."""
    with torch.no_grad():
        for key, value in case["weights"].items():
            module, name = key.split(".")
            getattr(modules[module], name).copy_(torch.from_numpy(value))
    return tuple(m.to(_DTYPES[case["dtype"]]) for m in modules.values())


def _encoder_modules(case) -> tuple[nn.Embedding, nn.GRU]:
    V, E = case["weights"]["embedding.weight"].shape
    H = case["weights"]["rnn.weight_hh_l0"].shape[1]
    return _loaded({"embedding": nn.Embedding(V, E, padding_idx=PAD_ID), "rnn": nn.GRU(E, H, batch_first=True)}, case)


def _encode_run(fn, case):
    embedding, rnn = _encoder_modules(case)
    return _plain(fn(embedding, rnn, torch.from_numpy(case["src"]), torch.from_numpy(case["lengths"])))


def _encode_judge(cases, results):
    for name, case in cases.items():
        embedding, rnn = (m.double() for m in _encoder_modules(case))
        src, lengths = torch.from_numpy(case["src"]), torch.from_numpy(case["lengths"])
        N, S = src.shape
        H = rnn.hidden_size
        with torch.no_grad():
            packed = pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False)
            out, h_n = rnn(packed)
            outputs_ref, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (N, S, H)
            context_ref = h_n[-1]  # (N, H)
            _, unpacked_h = rnn(embedding(src))  # reads the padding too
        outputs, context = _pair(result_of(results, name, "encode"), "encode", "outputs, context")
        if isinstance(outputs, np.ndarray) and outputs.shape == (N, H) and isinstance(context, np.ndarray) \
                and context.shape == (N, S, H):
            raise CheckFailure("encode returned (context, outputs); return them in the order (outputs, context)")
        if isinstance(outputs, np.ndarray) and outputs.ndim == 3 and outputs.shape[:1] == (N,) \
                and outputs.shape[1] == int(lengths.max()) < S:
            raise CheckFailure(
                f"case '{name}': outputs has shape {outputs.shape}, expected (N, S, H) = {(N, S, H)}: every row is "
                f"shorter than S here, and pad_packed_sequence stops at the longest row unless you pass "
                f"total_length=src.shape[1].")
        outputs = _tensor(outputs, f"outputs on case '{name}'", (N, S, H), "(N, S, H)")
        if isinstance(context, np.ndarray) and context.shape == (1, N, H):
            raise CheckFailure(f"context has shape (1, N, H) = {context.shape}: h_n stacks one state per layer; "
                               f"return h_n[-1], of shape (N, H).")
        context = _tensor(context, f"context on case '{name}'", (N, H), "(N, H)")
        if case["dtype"] == "float64" and outputs.dtype != torch.float64:
            raise CheckFailure(f"outputs has dtype {outputs.dtype} with float64 modules: keep the modules' dtype")
        tol = _tolerance(context)
        real = (torch.arange(S)[None, :] < lengths[:, None])  # (N, S) True at real steps
        short = lengths < S
        if short.any() and torch.allclose(context[short].double(), unpacked_h[-1][short], **tol) \
                and not torch.allclose(context_ref[short], unpacked_h[-1][short], **tol):
            raise CheckFailure(
                f"case '{name}': the context of a row shorter than S is the GRU state after reading its padding "
                f"too (context read after the padding). The context must be the state at the row's last real "
                f"token: pack the batch (pack_padded_sequence with the lengths) before the GRU, or gather "
                f"outputs[n, lengths[n] - 1].")
        assert_close(outputs.double()[real], outputs_ref[real], f"outputs at the real (unpadded) steps on case '{name}'",
                     hint="outputs[n, t] is the GRU state after reading src[n, :t + 1]; embed the ids first.", **tol)
        assert_close(context.double(), context_ref, f"context on case '{name}'",
                     hint="context[n] is the GRU state after the last real token of row n.", **tol)


ENCODE = Exercise("encode", "encode", _encode_cases, _encode_run, _encode_judge)


# ==================================================================================================
# 2. One decoder step


def _step_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    shapes = [("N=3, V=7, E=4, H=5", 3, 7, 4, 5, "float32")]
    if hidden:
        shapes += [("float64, E == H", 4, 9, 6, 6, "float64"), ("float64, one row", 1, 6, 3, 2, "float64")]
    cases = {}
    for name, N, V, E, H, dtype in shapes:
        cases[name] = {
            "weights": {"embedding.weight": _randn(g, V, E), "cell.weight_ih": _randn(g, 3 * H, E + H, scale=0.6),
                        "cell.weight_hh": _randn(g, 3 * H, H, scale=0.6), "cell.bias_ih": _randn(g, 3 * H, scale=0.5),
                        "cell.bias_hh": _randn(g, 3 * H, scale=0.5), "out.weight": _randn(g, V, H),
                        "out.bias": _randn(g, V, scale=0.5)},
            "y_prev": torch.randint(2, V, (N,), generator=g).numpy(),
            "h": np.tanh(_randn(g, N, H)), "context": np.tanh(_randn(g, N, H)), "dtype": dtype}
    return cases


def _step_modules(case) -> tuple[nn.Embedding, nn.GRUCell, nn.Linear]:
    V, E = case["weights"]["embedding.weight"].shape
    H = case["weights"]["cell.weight_hh"].shape[1]
    return _loaded({"embedding": nn.Embedding(V, E), "cell": nn.GRUCell(E + H, H), "out": nn.Linear(H, V)}, case)


def _step_run(fn, case):
    embedding, cell, out = _step_modules(case)
    dtype = _DTYPES[case["dtype"]]
    h, context = (torch.from_numpy(case[k]).to(dtype) for k in ("h", "context"))
    return _plain(fn(embedding, cell, out, torch.from_numpy(case["y_prev"]), h, context))


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
        logits, h_new = _pair(result_of(results, name, "decoder_step"), "decoder_step", "logits, h_new")
        logits = _tensor(logits, f"logits on case '{name}'", (N, V), "(N, V)")
        h_new = _tensor(h_new, f"h_new on case '{name}'", (N, H), "(N, H)")
        tol = _tolerance(logits)
        if _close(h_new, h) and not _close(h_new, h_ref):
            raise CheckFailure(f"case '{name}': h_new equals the old state h; return the cell's new state.")
        wrong = [
            (reference(context, emb, h),
             "the cell's input is cat([embedding(y_prev), context]) in that order; yours has them swapped"),
            (reference(emb, h, h),
             "the cell's input has the state h where the context goes: x = cat([embedding(y_prev), context])"),
            (reference(emb, context, context),
             "the cell was run from the context instead of the state h: cell(x, h), with x = cat([embedding, context])"),
        ]
        for wrong_ref, message in wrong:
            if _close(logits, wrong_ref[0]) and _close(h_new, wrong_ref[1]):
                raise CheckFailure(f"case '{name}': {message}.")
        if _close(h_new, h_ref):
            if _close(logits, out(h).detach()):
                raise CheckFailure(f"case '{name}': the logits were computed from the old state h; use the new one.")
            if _close(logits, logits_ref.softmax(-1)) or _close(logits, logits_ref.log_softmax(-1)):
                raise CheckFailure(f"case '{name}': return the raw logits out(h_new), without softmax or log_softmax "
                                   f"(cross-entropy and argmax take logits).")
        assert_close(h_new.double(), h_ref, f"h_new on case '{name}'", **tol,
                     hint="h_new = cell(cat([embedding(y_prev), context], dim=-1), h).")
        assert_close(logits.double(), logits_ref, f"logits on case '{name}'", **tol, hint="logits = out(h_new).")


DECODER_STEP = Exercise("decoder_step", "decoder_step", _step_cases, _step_run, _step_judge)


# ==================================================================================================
# The stand-in decoder the decoding checks run (it is not the notebook's decoder)


class ToyDecoder(nn.Module):
    """A small random recurrent decoder with the notebook's contract ``decoder(y_prev, h, context)``.

    The checks of ``decode_train``, ``greedy_decode`` and ``beam_search`` call the learner's loop with this
    model, so those exercises do not depend on the learner's own ``decoder_step``.

    state ``h`` and ``context``: (N, 2 + R), laid out as [row code, step, r] (h_0 = context, step 0)::

        r_t    = tanh(r_{t-1} A^T + B[y_prev] + c C^T)      (c = context[:, 2:])
        logits = r_t W^T + b                                  <pad>, <unk>, <bos> at -1e4: never chosen

    With an end schedule ``ends`` (one step per row code) the <eos> logit is +50 from step ``ends[code]``
    on and -50 before it, so each row of a batch ends at its own, known step.
    """

    def __init__(self, model: dict[str, Any]):
        super().__init__()
        dtype = _DTYPES[model["dtype"]]
        self.A, self.B, self.C, self.W, self.b = (torch.from_numpy(model[k]).to(dtype) for k in "ABCWb")
        self.ends = None if model.get("ends") is None else torch.from_numpy(model["ends"])
        self.R, self.V = self.A.shape[0], self.W.shape[0]

    def forward(self, y_prev: torch.Tensor, h: torch.Tensor, context: torch.Tensor):
        self._validate(y_prev, h, context)
        code, step, r = h[:, 0], h[:, 1], h[:, 2:]
        r_new = torch.tanh(r @ self.A.T + self.B[y_prev] + context[:, 2:] @ self.C.T)  # (N, R)
        logits = r_new @ self.W.T + self.b  # (N, V)
        junk = torch.zeros(self.V, dtype=logits.dtype)
        junk[[PAD_ID, UNK_ID, BOS_ID]] = -1e4
        logits = logits + junk
        if self.ends is not None:
            ends = self.ends[code.round().long().clamp(0, len(self.ends) - 1)]
            eos = torch.where(step >= ends.to(step.dtype), 50.0, -50.0).to(logits.dtype)
            logits = logits + F.one_hot(torch.tensor(EOS_ID), self.V).to(logits.dtype) * eos[:, None]
        h_new = torch.cat([code[:, None], step[:, None] + 1, r_new], dim=1)
        return logits, h_new

    def _validate(self, y_prev, h, context) -> None:
        width = 2 + self.R
        if not isinstance(y_prev, torch.Tensor) or y_prev.dtype != torch.long or y_prev.dim() != 1:
            raise TypeError(f"the decoder was called with y_prev = {describe(y_prev)}; it takes the previous token "
                            f"ids of every row: a LongTensor of shape (N,)")
        for what, value in (("h", h), ("context", context)):
            if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[1] != width:
                raise ValueError(f"the decoder was called with {what} = {describe(value)}; expected a tensor of shape "
                                 f"(N, {width}) like the context you were given")
            if value.dtype != self.A.dtype:
                raise TypeError(f"the decoder was called with {what} of dtype {value.dtype}, but the context it was "
                                f"given is {self.A.dtype}: keep the context's dtype for the state")
        if not (y_prev.shape[0] == h.shape[0] == context.shape[0]):
            raise ValueError(f"the decoder was called with {y_prev.shape[0]} previous tokens, a state of "
                             f"{h.shape[0]} rows and a context of {context.shape[0]} rows; all three need one row per "
                             f"sequence being decoded (expand the context to the number of rows)")
        if ((y_prev < 0) | (y_prev >= self.V)).any():
            raise ValueError(f"the decoder was called with token ids {y_prev.tolist()} outside [0, {self.V})")


def _toy_model(g: torch.Generator, V: int, R: int, dtype: str, scale: float = 1.5,
               ends: list[int] | None = None) -> dict[str, Any]:
    return {"A": _randn(g, R, R, scale=0.8 / R**0.5), "B": _randn(g, V, R), "C": _randn(g, R, R, scale=0.5),
            "W": _randn(g, V, R, scale=scale), "b": _randn(g, V, scale=0.3), "dtype": dtype,
            "ends": None if ends is None else np.array(ends, dtype=np.int64)}


def _toy_context(g: torch.Generator, codes: list[int], R: int, dtype: str) -> np.ndarray:
    context = torch.cat([torch.tensor(codes, dtype=torch.float64)[:, None], torch.zeros(len(codes), 1),
                         torch.tanh(torch.randn(len(codes), R, generator=g, dtype=torch.float64))], dim=1)
    return context.to(_DTYPES[dtype]).to(torch.float64).numpy()


def _replay(model: dict[str, Any], context: np.ndarray, inputs: torch.Tensor, h0: torch.Tensor | None = None,
            step_context: str = "context") -> torch.Tensor:
    """Logits (N, T, V) of the toy decoder fed the given inputs (N, T), in float64 (the judge's reference)."""
    decoder = ToyDecoder({**model, "dtype": "float64"})
    ctx = torch.from_numpy(context).double()
    h = ctx if h0 is None else h0
    steps = []
    with torch.no_grad():
        for t in range(inputs.shape[1]):
            logits, h_next = decoder(inputs[:, t], h, ctx if step_context == "context" else h)
            steps.append(logits)
            h = h_next
    return torch.stack(steps, 1) if steps else torch.zeros(inputs.shape[0], 0, decoder.V, dtype=torch.float64)


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


# ==================================================================================================
# 3. The training forward pass with teacher forcing


def _random_targets(g: torch.Generator, N: int, T: int, V: int) -> np.ndarray:
    """(N, T) targets: content tokens, <eos>, then <pad>; the first row uses all T positions."""
    lengths = [T] + torch.randint(1, T + 1, (N - 1,), generator=g).tolist()
    tgt = torch.randint(4, V, (N, T), generator=g)
    for row, n in enumerate(lengths):
        tgt[row, n - 1] = EOS_ID
        tgt[row, n:] = PAD_ID
    return tgt.numpy()


def _tf_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    setups = [("", 3, 5, 8, 4, "float32", [1.0, 0.0, 0.5])]
    if hidden:
        setups += [("float64, ", 5, 7, 9, 5, "float64", [1.0, 0.0, 0.3, 0.8]), ("T=1, ", 2, 1, 6, 3, "float64", [0.0, 1.0])]
    cases = {}
    for prefix, N, T, V, R, dtype, ratios in setups:
        model = _toy_model(g, V, R, dtype)
        context = _toy_context(g, list(range(N)), R, dtype)
        tgt = _random_targets(g, N, T, V)
        for ratio in ratios:
            gen_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
            cases[f"{prefix}teacher_forcing={ratio:g}"] = {"model": model, "context": context, "tgt": tgt,
                                                            "ratio": ratio, "gen_seed": gen_seed}
    return cases


def _tf_run(fn, case):
    decoder = ToyDecoder(case["model"])
    dtype = _DTYPES[case["model"]["dtype"]]
    calls = 2 if 0.0 < case["ratio"] < 1.0 else 1
    results = []
    for global_seed in range(calls):  # a different global seed each call: a run that uses it is not reproducible
        with _global_rng(1000 + global_seed):
            generator = torch.Generator().manual_seed(case["gen_seed"])
            context = torch.from_numpy(case["context"]).to(dtype)
            results.append(_plain(fn(decoder, context, torch.from_numpy(case["tgt"]), teacher_forcing=case["ratio"],
                                     generator=generator)))
    return tuple(results)


def _coins(case, N: int, T: int) -> torch.Tensor:
    """(N, T) bool: True where the specification feeds the ground truth (column 0 is <bos>, always False)."""
    generator = torch.Generator().manual_seed(case["gen_seed"])
    coins = torch.zeros(N, T, dtype=torch.bool)
    for t in range(1, T):
        coins[:, t] = torch.rand(N, generator=generator) < case["ratio"]
    return coins


def _shift_right(tokens: torch.Tensor) -> torch.Tensor:
    """<bos>, tokens[:, 0], ..., tokens[:, T-2]: the inputs of teacher forcing."""
    bos = torch.full((tokens.shape[0], 1), BOS_ID, dtype=torch.long)
    return torch.cat([bos, tokens[:, :-1]], dim=1)


def _tf_judge(cases, results):
    for name, case in cases.items():
        model, context = case["model"], case["context"]
        tgt = torch.from_numpy(case["tgt"])
        N, T = tgt.shape
        V = model["W"].shape[0]
        runs = result_of(results, name, "decode_train")
        logits = _tensor(runs[0], f"logits on case '{name}'", None)
        if logits.dim() == 3 and logits.shape[0] == N and logits.shape[2] == V and logits.shape[1] != T:
            raise CheckFailure(f"case '{name}': logits has {logits.shape[1]} steps for targets of T = {T} steps; "
                               f"produce one step of logits per target position (the first from <bos>).")
        logits = _tensor(runs[0], f"logits on case '{name}'", (N, T, V), "(N, T, V)")
        tol = _tolerance(logits)
        logits = logits.double()
        teacher = _replay(model, context, _shift_right(tgt))
        free = _replay(model, context, _shift_right(logits.argmax(-1)))
        coins = _coins(case, N, T)
        implied = torch.where(coins, _shift_right(tgt), _shift_right(logits.argmax(-1)))
        reference = _replay(model, context, implied)
        if len(runs) > 1 and not (isinstance(runs[1], np.ndarray) and np.array_equal(runs[0], runs[1])):
            raise CheckFailure(f"case '{name}': two calls with generators of the same seed gave different logits, so "
                               f"a run cannot be repeated: draw every coin from `generator` (torch.rand(N, "
                               f"generator=generator)), not from torch's or Python's global random state.")
        if _close(logits, reference, tol):
            continue
        _tf_diagnose(name, case, logits, teacher, free, reference, tgt, tol)


def _tf_diagnose(name, case, logits, teacher, free, reference, tgt, tol) -> None:
    __tracebackhide__ = True

    def close(got, expected):
        return _close(got, expected, tol)

    model, context, ratio = case["model"], case["context"], case["ratio"]
    N, T, V = logits.shape
    if not close(logits[:, :1], reference[:, :1]):
        ctx = torch.from_numpy(context).double()
        first = torch.full((N, 1), BOS_ID, dtype=torch.long)
        if close(logits[:, :1], _replay(model, context, first, h0=torch.zeros_like(ctx))):
            raise CheckFailure(f"case '{name}': the decoder started from a zero state; its first state is h_0 = context.")
        for token in (PAD_ID, EOS_ID, UNK_ID):
            if close(logits[:, :1], _replay(model, context, torch.full((N, 1), token, dtype=torch.long))):
                raise CheckFailure(f"case '{name}': the first input was {SPECIALS[token]!r}; every row starts from "
                                   f"<bos> (id {BOS_ID}).")
        if close(logits[:, :1], _replay(model, context, tgt[:, :1])):
            raise CheckFailure(f"case '{name}': the first input was tgt[:, 0], the token the first step must predict "
                               f"(the answer leaks). Start from <bos>, then feed tgt[:, t - 1] at step t.")
        assert_close(logits[:, 0], reference[:, 0], f"the first step's logits on case '{name}'", **tol,
                     hint="Step 0 is decoder(<bos> ids, context, context): h_0 = context.")
    if close(logits, _replay(model, context, tgt)):
        raise CheckFailure(f"case '{name}': the input at step t was tgt[:, t], the token that step must predict "
                           f"(the answer leaks). Shift right: <bos>, tgt[:, 0], ..., tgt[:, T - 2].")
    if ratio == 0.0 and close(logits, teacher):
        raise CheckFailure(f"case '{name}': the decoder fed the ground truth at inference: with teacher_forcing=0 "
                           f"every input after <bos> must be the decoder's own previous prediction (the argmax of its "
                           f"logits), never tgt.")
    if ratio == 1.0 and close(logits, free):
        raise CheckFailure(f"case '{name}': teacher forcing ratio not exact: with teacher_forcing=1 every input after "
                           f"<bos> must be the ground truth tgt[:, t - 1], but the decoder was fed its own predictions. "
                           f"Is the coin comparison inverted? Feed the truth where torch.rand(N, generator=generator) "
                           f"< teacher_forcing.")
    if close(logits, _replay(model, context, torch.where(_coins(case, N, T), _shift_right(tgt),
                                                          _shift_right(logits.argmax(-1))), step_context="state")):
        raise CheckFailure(f"case '{name}': the decoder was given its state h where it takes the context: pass the "
                           f"encoder's context (the same tensor) at every step, decoder(y_prev, h, context).")
    used = _inputs_used(case, logits, tgt, tol)
    if used is not None:
        used, expected = used
        raise CheckFailure(
            f"case '{name}': teacher forcing ratio not exact: each input was either the truth or the previous "
            f"prediction, but not where the specified coins say: {used:.0%} of the inputs after <bos> were the truth, "
            f"the coins give {expected:.0%}. At each step t = 1, ..., T - 1, in order, draw one coin per row, "
            f"torch.rand(N, generator=generator) < teacher_forcing, and feed tgt[:, t - 1] where it is True, the "
            f"argmax of the step t - 1 logits where it is False.")
    assert_close(logits, reference, f"logits on case '{name}'", **tol,
                 hint="At step t: logits_t, h = decoder(y_prev, h, context), with h_0 = context and y_prev = <bos> "
                      "at t = 0.")


def _inputs_used(case, logits: torch.Tensor, tgt: torch.Tensor, tol: dict[str, float]) -> tuple[float, float] | None:
    """If every step's logits follow from the truth or from the previous argmax: the share of truth inputs where
    the two differ, and the share the specified coins give there; otherwise None."""
    decoder = ToyDecoder({**case["model"], "dtype": "float64"})
    ctx = torch.from_numpy(case["context"]).double()
    N, T, _ = logits.shape
    h, truth_count = ctx, 0
    with torch.no_grad():
        for t in range(T):
            options = [torch.full((N,), BOS_ID, dtype=torch.long)] if t == 0 else [tgt[:, t - 1], logits[:, t - 1].argmax(-1)]
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


DECODE_TRAIN = Exercise("decode_train", "decode_train", _tf_cases, _tf_run, _tf_judge)


# ==================================================================================================
# 4. Greedy decoding


def _greedy_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    setups = [("rows end at different steps", [2, 5, 0, 3], 8, "float32"),
              ("one row never ends", [2, _NEVER, 1], 5, "float32")]
    if hidden:
        setups += [("float64, random ends", torch.randint(0, 7, (6,), generator=g).tolist(), 9, "float64"),
                   ("every row ends at once", [0, 0], 4, "float64"),
                   ("max_len=1", [3, _NEVER], 1, "float64"),
                   ("one row", [4], 10, "float64")]
    cases = {}
    for name, ends, max_len, dtype in setups:
        N, V, R = len(ends), 9, 4
        codes = torch.randperm(N, generator=g).tolist()
        model = _toy_model(g, V, R, dtype, ends=[ends[codes.index(c)] for c in range(N)])
        cases[name] = {"model": model, "context": _toy_context(g, codes, R, dtype), "max_len": max_len,
                       "ends": np.array(ends, dtype=np.int64)}
    return cases


def _greedy_run(fn, case):
    decoder = ToyDecoder(case["model"])
    context = torch.from_numpy(case["context"]).to(_DTYPES[case["model"]["dtype"]])
    return _plain(fn(decoder, context, max_len=case["max_len"]))


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
        ids = _tensor(value, f"greedy_decode's result on case '{name}'")
        if ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise CheckFailure(f"greedy_decode should return token ids (a LongTensor), got dtype {ids.dtype}")
        if ids.dim() != 2 or ids.shape[0] != N:
            raise CheckFailure(f"case '{name}': greedy_decode should return ids of shape (N, T_out) with N = {N}, "
                               f"got {tuple(ids.shape)}")
        ids = ids.long()
        T_out = ids.shape[1]
        if T_out > max_len:
            raise CheckFailure(f"case '{name}': {T_out} tokens per row with max_len={max_len}; never decode more than "
                               f"max_len steps")
        stop = [min(e + 1, max_len) for e in ends]  # tokens each row produces, <eos> included
        inputs = _shift_right(ids) if T_out else torch.zeros(N, 0, dtype=torch.long)
        logits = _replay(case["model"], case["context"], inputs)  # the model fed the learner's own tokens
        ok = _argmax_ok(logits, ids) if T_out else torch.ones(N, 0, dtype=torch.bool)
        for n in range(N):
            for t in range(min(stop[n] - (1 if ends[n] < max_len else 0), T_out)):
                if not ok[n, t]:
                    _greedy_wrong_token(name, case, ids, n, t, logits)
        for n in range(N):
            if ends[n] < max_len:
                e = ends[n]
                if T_out <= e:
                    raise CheckFailure(f"case '{name}': row {n} emits <eos> at step {e}, but your result stops after "
                                       f"{T_out} steps; keep decoding until every row has emitted <eos> (or max_len).")
                if int(ids[n, e]) != EOS_ID:
                    token = SPECIALS[int(ids[n, e])] if int(ids[n, e]) < 4 else f"id {int(ids[n, e])}"
                    raise CheckFailure(
                        f"case '{name}': end token never emitted: at step {e} the decoder's most likely token for row "
                        f"{n} is <eos>, but your result has {token!r} there. Keep the <eos> in the output; only what "
                        f"comes after it is <pad>.")
                after = ids[n, e + 1:]
                if (after != PAD_ID).any():
                    raise CheckFailure(
                        f"case '{name}': not padding after eos: row {n} emitted <eos> at step {e} but continues with "
                        f"{after.tolist()}; everything after a row's <eos> must be <pad> (id {PAD_ID}).")
            elif T_out < max_len:
                raise CheckFailure(f"case '{name}': row {n} never emits <eos>, so it runs for max_len={max_len} steps; "
                                   f"your result stops after {T_out}.")
        needed = max(stop) if N else 0
        if T_out > needed:
            raise CheckFailure(
                f"case '{name}': never stopping: every row had emitted <eos> after {needed} steps, but decoding went on "
                f"to {T_out} columns. Stop as soon as every row has ended (or at max_len).")


def _greedy_wrong_token(name, case, ids, n, t, logits) -> None:
    __tracebackhide__ = True
    N, T_out = ids.shape
    got, best = int(ids[n, t]), int(logits[n, t].argmax())
    always_bos = _replay(case["model"], case["context"], torch.full((N, T_out), BOS_ID, dtype=torch.long))
    if bool(_argmax_ok(always_bos, ids)[n, : t + 1].all()):
        raise CheckFailure(f"case '{name}': the decoder was fed <bos> at every step: each step's input is the token "
                           f"the previous step chose (its argmax), not <bos> again.")
    ctx = torch.from_numpy(case["context"]).double()
    frozen = torch.stack([ToyDecoder({**case["model"], "dtype": "float64"})(ids[:, max(s - 1, 0)] if s else
                                                                             torch.full((N,), BOS_ID), ctx, ctx)[0]
                          for s in range(T_out)], 1)
    if bool(_argmax_ok(frozen, ids)[n, : t + 1].all()) and t > 0:
        raise CheckFailure(f"case '{name}': every step was run from the context as its state: pass the new state h "
                           f"returned by each step to the next step.")
    raise CheckFailure(
        f"case '{name}': row {n}, step {t}: the decoder fed your previous tokens gives argmax {best}, but your result "
        f"has {got}. Greedy decoding feeds each step's argmax back as the next input and carries the new state h.")


GREEDY_DECODE = Exercise("greedy_decode", "greedy_decode", _greedy_cases, _greedy_run, _greedy_judge)


# ==================================================================================================
# 5. Accuracy and the masked loss


def _with_eos(g: torch.Generator, N: int, T: int, V: int, min_len: int = 1, mixed: bool = False) -> torch.Tensor:
    """N target rows of random content ending in <eos> and padded to T.  ``mixed``: the first row fills all T
    steps and the last is at most half as long, so padding is present and rows differ in length whatever the
    seed (the masked-loss mistakes only show on such a batch)."""
    lengths = torch.randint(min_len, T + 1, (N,), generator=g)
    if mixed:
        lengths[0], lengths[-1] = T, min(int(lengths[-1]), max(T // 2, 1))
    seqs = torch.randint(4, V, (N, T), generator=g)
    for row, n in enumerate(lengths.tolist()):
        seqs[row, n - 1] = EOS_ID
        seqs[row, n:] = PAD_ID
    return seqs


def _accuracy_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    tgt = torch.tensor([[5, 6, 7, 3, 0], [8, 3, 0, 0, 0], [5, 5, 5, 5, 3], [9, 4, 3, 0, 0]])
    pred = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0], [5, 5, 6, 5], [9, 4, 4, 3]])  # right, right, one off, too long
    cases = {"4 rows, pred narrower than tgt": {"pred": pred.numpy(), "tgt": tgt.numpy()}}
    if hidden:
        tgt = _with_eos(g, 8, 9, 12)
        pred = tgt.clone()
        wrong = torch.randperm(8, generator=g)[:3]
        pred[wrong, 0] = (pred[wrong, 0] % 7) + 4  # a content token changed (row 0 may stay right)
        cases["pred wider than tgt"] = {"pred": torch.cat([pred, torch.zeros(8, 3, dtype=torch.long)], 1).numpy(),
                                        "tgt": tgt.numpy()}
        cases["every row right"] = {"pred": tgt.numpy(), "tgt": tgt.numpy()}
        other = _with_eos(g, 6, 7, 12)
        cases["random"] = {"pred": _with_eos(g, 6, 5, 12).numpy(), "tgt": other.numpy()}
        cases["stops early"] = {"pred": np.array([[5, 3, 0], [6, 7, 3]]), "tgt": np.array([[5, 6, 3], [6, 7, 3]])}
    return cases


def _accuracy_run(fn, case):
    return _plain(fn(torch.from_numpy(case["pred"]), torch.from_numpy(case["tgt"]), pad_id=PAD_ID))


def _number(value: Any, what: str) -> float:
    __tracebackhide__ = True
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckFailure(f"{what} should be a number (a float, or a 0-d tensor), got {describe(value)}")
    return float(value)


def _aligned(pred: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(pred.shape[1], tgt.shape[1])
    return F.pad(pred, (0, T - pred.shape[1]), value=PAD_ID), F.pad(tgt, (0, T - tgt.shape[1]), value=PAD_ID)


def _accuracy_judge(cases, results):
    for name, case in cases.items():
        pred, tgt = _aligned(torch.from_numpy(case["pred"]), torch.from_numpy(case["tgt"]))
        real = tgt != PAD_ID
        exact_ref = float((pred == tgt).all(1).double().mean())
        token_ref = float(((pred == tgt) & real).sum()) / float(real.sum())
        exact, token = _pair(result_of(results, name, "sequence_accuracy"), "sequence_accuracy", "exact, token")
        exact, token = _number(exact, "exact"), _number(token, "token")
        shown = f"pred = {case['pred'].tolist()}, tgt = {case['tgt'].tolist()}"
        if abs(token - token_ref) > 1e-6:
            with_padding = float((pred == tgt).double().mean())
            on_pred = float(((pred == tgt) & (pred != PAD_ID)).sum()) / max(float((pred != PAD_ID).sum()), 1.0)
            if abs(token - with_padding) < 1e-6:
                raise CheckFailure(
                    f"case '{name}': padding counted in accuracy: token accuracy {token:.4f} counts the <pad> positions, "
                    f"where pad == pad always 'matches'; count only the positions where tgt is not <pad> "
                    f"(expected {token_ref:.4f}). {shown}")
            if abs(token - on_pred) < 1e-6:
                raise CheckFailure(f"case '{name}': token accuracy {token:.4f} counts the positions where *pred* is "
                                   f"not padding; count those where tgt is not <pad> (expected {token_ref:.4f}). {shown}")
            raise CheckFailure(f"case '{name}': token accuracy expected {token_ref:.4f}, got {token:.4f}: correct "
                               f"tokens / non-<pad> target positions (pad the narrower tensor first). {shown}")
        if abs(exact - exact_ref) > 1e-6:
            if abs(exact - token_ref) < 1e-6:
                raise CheckFailure(f"case '{name}': exact is the token accuracy; exact match counts the rows whose "
                                   f"every token is right (expected {exact_ref:.4f}). {shown}")
            raise CheckFailure(f"case '{name}': exact match expected {exact_ref:.4f}, got {exact:.4f}: the share of rows "
                               f"equal to the target at every position once both are padded to the same width. {shown}")


SEQUENCE_ACCURACY = Exercise("sequence_accuracy", "sequence_accuracy", _accuracy_cases, _accuracy_run, _accuracy_judge)


def _ce_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    setups = [("N=3, T=5, V=6", 3, 5, 6, "float32")]
    if hidden:
        setups += [("float64, N=6, T=8, V=11", 6, 8, 11, "float64"), ("float64, no padding", 2, 3, 5, "float64")]
    cases = {}
    for name, N, T, V, dtype in setups:
        tgt = _with_eos(g, N, T, V, min_len=T if "no padding" in name else 1, mixed="no padding" not in name)
        cases[name] = {"logits": _randn(g, N, T, V, scale=2.0), "tgt": tgt.numpy(), "dtype": dtype}
    return cases


def _ce_run(fn, case):
    logits = torch.from_numpy(case["logits"]).to(_DTYPES[case["dtype"]]).requires_grad_(True)
    loss = fn(logits, torch.from_numpy(case["tgt"]), pad_id=PAD_ID)
    grad = None
    if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
        (grad,) = torch.autograd.grad(loss.sum(), logits, allow_unused=True)
    return _plain(loss), _plain(grad)


def _ce_judge(cases, results):
    for name, case in cases.items():
        logits = torch.from_numpy(case["logits"]).requires_grad_(True)
        tgt = torch.from_numpy(case["tgt"])
        N, T, V = logits.shape
        reference = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=PAD_ID)
        (grad_ref,) = torch.autograd.grad(reference, logits)
        loss, grad = _pair(result_of(results, name, "masked_cross_entropy"), "the check", "loss, grad")
        if isinstance(loss, (int, float)) or (isinstance(loss, np.ndarray) and loss.size == 1 and grad is None):
            raise CheckFailure("masked_cross_entropy should return a tensor connected to logits, so that loss.backward() "
                               "trains the model: do not call .item() or .detach() on it.")
        loss = _tensor(loss, f"the loss on case '{name}'")
        if loss.numel() != 1:
            raise CheckFailure(f"the loss should be a single number (a 0-d tensor), got shape {tuple(loss.shape)}: "
                               f"average over the real (non-<pad>) positions.")
        value = loss.double().reshape(())
        tol = _tolerance(loss)
        with torch.no_grad():
            per_token = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), reduction="none").view(N, T)
            mask = (tgt != PAD_ID).double()
            wrong = {
                "padding counted in the loss mean: the sum over real tokens was divided by N * T, every position "
                "(divide by the number of non-<pad> targets)": (per_token * mask).sum() / (N * T),
                "padding counted in the loss mean: the <pad> positions were included in the loss itself (mask them "
                "out, or use ignore_index)": per_token.mean(),
                "each row was averaged first and then the rows: short rows weigh more; average over all real tokens "
                "at once": ((per_token * mask).sum(1) / mask.sum(1)).mean(),
            }
        right = torch.isclose(value, reference.detach(), rtol=tol["rtol"], atol=tol["atol"])
        for message, wrong_value in wrong.items():  # a mistake is named only for an answer that is not right
            if not right and torch.isclose(value, wrong_value, rtol=tol["rtol"], atol=tol["atol"]):
                raise CheckFailure(f"case '{name}': {message}. Expected {float(reference.detach()):.6f}, got {float(value):.6f}.")
        assert_close(value, reference.detach(), f"the loss on case '{name}'", **tol,
                     hint="mean over the positions where tgt != pad_id of -log softmax(logits)[tgt].")
        if grad is None:
            raise CheckFailure("the loss is not connected to logits (no gradient reaches them); build it from logits "
                               "with torch operations.")
        assert_close(_tensor(grad, "d loss / d logits").double(), grad_ref, f"the gradient of the loss on case '{name}'",
                     **tol)


MASKED_CROSS_ENTROPY = Exercise("masked_cross_entropy", "masked_cross_entropy", _ce_cases, _ce_run, _ce_judge)


# ==================================================================================================
# 6. Beam search


def _beam_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = _generator(seed)
    setups = [("", 4, 0.75, "float32", [1, 2, 3, 1000])]
    if hidden:
        setups += [("float64, alpha=1, ", 5, 1.0, "float64", [1, 2, 4, 5000]),
                   ("float64, alpha=0, ", 4, 0.0, "float64", [1, 3, 1000]),
                   ("max_len=1, ", 1, 0.75, "float64", [1, 3])]
    cases = {}
    for prefix, max_len, alpha, dtype, widths in setups:
        for _ in range(20):  # prefer a model on which greedy decoding is not already the best sequence
            model = _toy_model(g, 6, 3, dtype, scale=2.0)
            context = _toy_context(g, [0], 3, dtype)
            probe = {"model": model, "context": context, "max_len": max_len, "alpha": alpha}
            if max_len == 1 or not torch.equal(_best_sequence(probe)[1], _greedy_path(probe)):
                break
        for k in widths:
            label = f"k={k}" + (" (exact search)" if k >= 1000 else "")
            cases[f"{prefix}{label}"] = {"model": model, "context": context, "k": k, "max_len": max_len, "alpha": alpha}
    return cases


def _beam_run(fn, case):
    decoder = ToyDecoder(case["model"])
    context = torch.from_numpy(case["context"]).to(_DTYPES[case["model"]["dtype"]])
    return _plain(fn(decoder, context, k=case["k"], max_len=case["max_len"], alpha=case["alpha"]))


def _log_probs(case, seqs: list[torch.Tensor]) -> list[float]:
    """Sum of log p(y_t | y_<t) of each sequence (L,) under the toy decoder (sequences of a length run together)."""
    out = [0.0] * len(seqs)
    for length in {len(s) for s in seqs if len(s)}:
        rows = [i for i, s in enumerate(seqs) if len(s) == length]
        tokens = torch.stack([seqs[i] for i in rows])  # (B, L)
        context = np.repeat(case["context"], len(rows), axis=0)
        logits = _replay(case["model"], context, _shift_right(tokens))  # (B, L, V)
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
    seqs = [torch.tensor(list(body) + [EOS_ID]) for n in range(max_len) for body in itertools.product(content, repeat=n)]
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


def _greedy_survives(case, greedy: torch.Tensor, k: int) -> bool:
    """True if the greedy prefix is among the k best candidates at every step, whatever else the beam holds."""
    for t in range(1, len(greedy) + 1):
        prefix_score = _log_prob(case, greedy[:t])
        rivals = [torch.tensor(list(body) + [last]) for body in itertools.product((4, 5), repeat=t - 1)
                  for last in (4, 5, EOS_ID)]
        rivals = [s for s in rivals if not torch.equal(s, greedy[:t])]
        better = sum(score > prefix_score + 1e-9 for score in _log_probs(case, rivals))
        if better >= k:
            return False
    return True


def _beam_judge(cases, results):
    for name, case in cases.items():
        k, max_len, alpha = case["k"], case["max_len"], case["alpha"]
        tokens, score = _pair(result_of(results, name, "beam_search"), "beam_search", "tokens, score")
        tokens = _tensor(tokens, f"the tokens returned on case '{name}'")
        if tokens.dim() != 1 or tokens.dtype.is_floating_point:
            raise CheckFailure(f"beam_search should return the tokens of the best sequence as a LongTensor of shape "
                               f"(L,), got {describe(tokens)}")
        tokens = tokens.long()
        score = _number(score, "the score returned by beam_search")
        shown = f"tokens {tokens.tolist()}"
        if not 1 <= len(tokens) <= max_len:
            raise CheckFailure(f"case '{name}': the best sequence should have 1 to max_len={max_len} tokens "
                               f"(without <bos>), got {shown}")
        if (tokens[:-1] == EOS_ID).any():
            raise CheckFailure(f"case '{name}': {shown} continues after <eos>: a hypothesis that emits <eos> is finished.")
        if tokens[-1] != EOS_ID and len(tokens) < max_len:
            raise CheckFailure(f"case '{name}': {shown} has no <eos> but is shorter than max_len={max_len}: only a "
                               f"hypothesis that emitted <eos>, or one that reached max_len, is finished.")
        if ((tokens == PAD_ID) | (tokens == BOS_ID) | (tokens == UNK_ID)).any():
            raise CheckFailure(f"case '{name}': {shown} contains <pad>, <bos> or <unk>; return only the generated tokens "
                               f"(without the starting <bos>).")
        greedy = _greedy_path(case)
        if k == 1 and not torch.equal(tokens, greedy):
            raise CheckFailure(
                f"case '{name}': beam search with k=1 must reproduce greedy decoding exactly (beam k=1 differs from "
                f"greedy): greedy gives {greedy.tolist()}, your beam {tokens.tolist()}. With one hypothesis, each step "
                f"keeps the single best token, and the search ends at its <eos> or at max_len.")
        expected_score = _normalised(case, tokens)
        if abs(score - expected_score) > 1e-4 * (1 + abs(expected_score)):
            raw = _log_prob(case, tokens)
            hint = ""
            if abs(score - raw) < 1e-4 * (1 + abs(raw)) and alpha != 0:
                hint = (" That is the raw sum of log-probabilities; divide it by len(tokens) ** alpha (length "
                        "normalisation).")
            raise CheckFailure(
                f"case '{name}': the score returned, {score:.6f}, is not the length-normalised log-probability of the "
                f"returned {shown}: sum_t log p(y_t | y_<t) / len ** alpha = {expected_score:.6f} (len counts <eos>)."
                + hint)
        if k >= 1000:
            best_score, best = _best_sequence(case)
            if not torch.equal(tokens, best) and expected_score < best_score - 1e-5 * (1 + abs(best_score)):
                raw_best = _best_sequence(case, alpha=0.0)[1]
                hint = ""
                if alpha != 0 and torch.equal(tokens, raw_best):
                    hint = (" Yours is the best by the raw sum of log-probabilities: compare finished hypotheses by "
                            "score / len ** alpha (length normalisation).")
                raise CheckFailure(
                    f"case '{name}': with a beam wider than the number of candidates nothing is pruned, so beam search "
                    f"must return the best of all sequences: {best.tolist()} (normalised score {best_score:.4f}), but "
                    f"it returned {tokens.tolist()} ({expected_score:.4f}).{hint} Keep every finished hypothesis "
                    f"and return the best one.")
        if k > 1:
            greedy_score = _normalised(case, greedy)
            if expected_score < greedy_score - 1e-6 and _greedy_survives(case, greedy, k):
                raise CheckFailure(
                    f"case '{name}': a larger beam returned a sequence with a lower model score than greedy: greedy's "
                    f"{greedy.tolist()} scores {greedy_score:.4f}, your beam's {tokens.tolist()} {expected_score:.4f}. "
                    f"The greedy path stays among the k best here, so it is a finished hypothesis; return the finished "
                    f"hypothesis with the best normalised score.")


BEAM_SEARCH = Exercise("beam_search", "beam_search", _beam_cases, _beam_run, _beam_judge)


EXERCISES = (ENCODE, DECODER_STEP, DECODE_TRAIN, GREEDY_DECODE, SEQUENCE_ACCURACY, MASKED_CROSS_ENTROPY, BEAM_SEARCH)

check_encode = ENCODE.check
check_decoder_step = DECODER_STEP.check
check_decode_train = DECODE_TRAIN.check
check_greedy_decode = GREEDY_DECODE.check
check_sequence_accuracy = SEQUENCE_ACCURACY.check
check_masked_cross_entropy = MASKED_CROSS_ENTROPY.check
check_beam_search = BEAM_SEARCH.check
