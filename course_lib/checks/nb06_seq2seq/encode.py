"""Check of ``encode``: a GRU encoder over a padded batch of source ids ``src`` (N, S) with ``lengths`` (N,).

    outputs[n, t] = the GRU state after reading src[n, :t + 1] for t < lengths[n], exactly 0 after   (N, S, H)
    context[n]    = the GRU state after the last real token, src[n, lengths[n] - 1]                 (N, H)

``lengths`` is on ``src``'s device (a batch moved to the GPU moves its lengths too), in no sorted order.

The reference is ``nn.GRU`` run on ``pack_padded_sequence`` of the embedded batch, loaded with the case's
weights; ``outputs`` is compared at every step, the padded ones included (they must be 0).  Named mistakes: the
context read after the padding (``h_n`` of an unpacked run, ``outputs[:, -1]``, a padded step), outputs that are
the GRU's states after reading the padding, ``enforce_sorted`` left True on an unsorted batch, the lengths handed
to ``pack_padded_sequence`` where they live (a ``device`` case: the inputs and the lengths on the meta device,
which stands in for a GPU), a missing ``total_length``, ``h_n`` returned with its layer axis, the pair swapped, a
``PackedSequence`` returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.checks.core import CheckFailure, Exercise, LearnerError, result_of
from course_lib.checks.nb06_seq2seq.cases import PAD_ID, loaded
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_device_kept,
    close,
    generator,
    on_meta,
    pair,
    plain,
    randn,
    tolerance,
    visible_first,
)


def _encoder_weights(g: torch.Generator, V: int, E: int, H: int) -> dict[str, np.ndarray]:
    return {
        "embedding.weight": randn(g, V, E),
        "rnn.weight_ih_l0": randn(g, 3 * H, E, scale=0.5),
        "rnn.weight_hh_l0": randn(g, 3 * H, H, scale=0.5),
        "rnn.bias_ih_l0": randn(g, 3 * H, scale=0.5),
        "rnn.bias_hh_l0": randn(g, 3 * H, scale=0.5),
    }


def _padded_src(g: torch.Generator, lengths: list[int], S: int, V: int) -> np.ndarray:
    src = torch.randint(4, V, (len(lengths), S), generator=g)
    for row, n in enumerate(lengths):
        src[row, n:] = PAD_ID
    return src.numpy()


def _encode_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    shapes = [("3 rows of lengths 3, 5, 1 (not sorted)", [3, 5, 1], 5, 9, 4, 3, "float32")]
    if hidden:
        shapes += [
            (
                "float64, 4 rows, random lengths",
                [7] + torch.randint(1, 8, (3,), generator=g).tolist(),
                7,
                11,
                5,
                6,
                "float64",
            ),
            ("float64, every row shorter than S", [4, 2], 6, 8, 3, 4, "float64"),
            ("float64, one row", [3], 3, 6, 2, 5, "float64"),
        ]
    shapes.append(("every row shorter than S", [3, 2], 5, 7, 3, 3, "float32"))
    shapes.append(("<pad> as a real token: first in row 0, inside row 1", [4, 5, 2], 6, 9, 4, 3, "float32"))
    if hidden:
        shapes.append(("float64, <pad> as a real token, 5 rows", [6, 3, 5, 1, 4], 7, 10, 3, 4, "float64"))
    shapes.append(
        ("device: src and lengths on the meta device (a stand-in for a GPU)", [2, 4, 3], 4, 7, 3, 2, "float32")
    )
    cases = {}
    for name, lengths, S, V, E, H, dtype in shapes:
        src = _padded_src(g, lengths, S, V)
        kind = "edge" if "every row shorter than S" in name else "device" if name.startswith("device") else "values"
        if "<pad> as a real token" in name:  # a real token may be <pad>: the lengths, not equality, say where rows end
            kind = "pad id as a real token"
            src[0, 0] = src[1, lengths[1] // 2] = src[-1, lengths[-1] - 1] = PAD_ID
        cases[name] = {
            "kind": kind,
            "weights": _encoder_weights(g, V, E, H),
            "src": src,
            "lengths": np.array(lengths, dtype=np.int64),
            "dtype": dtype,
        }
    return cases


def _encoder_modules(case) -> tuple[nn.Embedding, nn.GRU]:
    V, E = case["weights"]["embedding.weight"].shape
    H = case["weights"]["rnn.weight_hh_l0"].shape[1]
    return loaded({"embedding": nn.Embedding(V, E, padding_idx=PAD_ID), "rnn": nn.GRU(E, H, batch_first=True)}, case)


def _encode_run(fn, case):
    embedding, rnn = _encoder_modules(case)
    src, lengths = torch.from_numpy(case["src"]), torch.from_numpy(case["lengths"])
    if case.get("kind") == "device":
        return on_meta(lambda: fn(embedding.to("meta"), rnn.to("meta"), src.to("meta"), lengths.to("meta")))
    return plain(fn(embedding, rnn, src, lengths))


_CPU_LENGTHS = "'lengths' argument should be a 1D CPU int64 tensor"
_SORTED = "must be sorted in decreasing order"


def _judge_device(name: str, report: Any) -> None:
    """A device case: the lengths handed to pack_padded_sequence on the GPU is named; the rest is the toolkit's."""
    __tracebackhide__ = True
    if isinstance(report, dict) and _CPU_LENGTHS in str(report.get("error")):
        raise CheckFailure(
            f"case '{name}': with src and lengths on another device (the meta device stands in for a GPU here), "
            "pack_padded_sequence refused the lengths: it reads them on the CPU whatever the data's device, and "
            "a batch moved to the GPU brings its lengths along (notebook 06's predict does). Hand it lengths that "
            "live on the CPU, whatever device they arrive on."
        )
    assert_device_kept(report, f"encode on case '{name}'")


def _named_error(name: str, value: Any) -> None:
    """enforce_sorted left True on an unsorted batch: pack_padded_sequence's error, named."""
    __tracebackhide__ = True
    if isinstance(value, LearnerError) and _SORTED in value.message:
        raise CheckFailure(
            f"case '{name}': pack_padded_sequence refused the batch: by default (enforce_sorted=True) it wants the "
            "rows sorted longest first, and the rows of a batch come in any order of length. Its documentation says "
            "how to let it sort (and unsort) them for you."
        )


def _encode_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        if case.get("kind") != "device":
            _named_error(name, results.get(name))
    for name, case in cases.items():
        if case.get("kind") == "device":
            continue  # judged last: a device case names only a device mistake
        embedding, rnn = (m.double() for m in _encoder_modules(case))
        src, lengths = torch.from_numpy(case["src"]), torch.from_numpy(case["lengths"])
        N, S = src.shape
        H = rnn.hidden_size
        with torch.no_grad():
            packed = pack_padded_sequence(embedding(src), lengths, batch_first=True, enforce_sorted=False)
            out, h_n = rnn(packed)
            outputs_ref, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (N, S, H)
            context_ref = h_n[-1]  # (N, H)
            unpacked_h, _ = rnn(embedding(src))  # (N, S, H): the states after reading the padding too
        outputs, context = pair(result_of(results, name, "encode"), "encode", "outputs, context")
        if (
            isinstance(outputs, np.ndarray)
            and outputs.shape == (N, H)
            and isinstance(context, np.ndarray)
            and context.shape == (N, S, H)
        ):
            raise CheckFailure("encode returned (context, outputs); return them in the order (outputs, context)")
        if (
            isinstance(outputs, np.ndarray)
            and outputs.ndim == 3
            and outputs.shape[:1] == (N,)
            and outputs.shape[1] == int(lengths.max()) < S
        ):
            raise CheckFailure(
                f"case '{name}': outputs has shape {outputs.shape}, expected (N, S, H) = {(N, S, H)}: every row is "
                f"shorter than S here, and pad_packed_sequence stops at the longest row unless it is told "
                f"the length to pad to (its documentation lists the argument)."
            )
        outputs = as_tensor(outputs, f"outputs on case '{name}'", (N, S, H), "(N, S, H)")
        if isinstance(context, np.ndarray) and context.shape == (1, N, H):
            raise CheckFailure(
                f"context has shape (1, N, H) = {context.shape}: h_n stacks one state per layer; "
                f"return h_n[-1], of shape (N, H)."
            )
        context = as_tensor(context, f"context on case '{name}'", (N, H), "(N, H)")
        if case["dtype"] == "float64" and outputs.dtype != torch.float64:
            raise CheckFailure(f"outputs has dtype {outputs.dtype} with float64 modules: keep the modules' dtype")
        tol = tolerance(context.dtype)
        real = torch.arange(S)[None, :] < lengths[:, None]  # (N, S) True at real steps
        short = lengths < S
        if (
            short.any()
            and torch.allclose(context[short].double(), unpacked_h[:, -1][short], **tol)
            and not torch.allclose(context_ref[short], unpacked_h[:, -1][short], **tol)
        ):
            raise CheckFailure(
                f"case '{name}': the context of a row shorter than S is the GRU state after reading its padding "
                f"too (context read after the padding): the context was read from a padded step. It must be the "
                f"state at the row's last real token, as if the GRU had stopped there."
            )
        counted = (src != PAD_ID).sum(1)
        if not torch.equal(counted, lengths) and (counted > 0).all():
            with torch.no_grad():
                packed = pack_padded_sequence(embedding(src), counted, batch_first=True, enforce_sorted=False)
                _, h_counted = rnn(packed)
            if close(context.double(), h_counted[-1], **tol) and not close(context_ref, h_counted[-1], **tol):
                raise CheckFailure(
                    f"case '{name}': the rows' lengths were taken from the tokens that are not <pad> (src != PAD_ID), "
                    f"but a real token can be <pad> (here: {src.tolist()}, lengths {lengths.tolist()}). Use the "
                    f"lengths you are given: pack_padded_sequence(embedded, lengths, ...)."
                )
        padded_step = _padded_step(context.double(), context_ref, outputs.double(), unpacked_h, lengths, tol)
        if padded_step:
            n, t = padded_step
            raise CheckFailure(
                f"case '{name}': the context was read from a padded step: row {n} has {int(lengths[n])} real "
                f"tokens, and its context is the state at step {t}, past its last real token (step "
                f"{int(lengths[n]) - 1}). The context is the state after the row's last real token."
            )
        assert_close(
            outputs.double()[real],
            outputs_ref[real],
            f"outputs at the real (unpadded) steps on case '{name}'",
            hint="outputs[n, t] is the GRU state after reading src[n, :t + 1]; embed the ids first.",
            **tol,
        )
        assert_close(
            context.double(),
            context_ref,
            f"context on case '{name}'",
            hint="context[n] is the GRU state after the last real token of row n.",
            letters="N H",
            **tol,
        )
        _assert_zero_padding(name, outputs.double(), unpacked_h, lengths, tol)
    for name, case in cases.items():
        if case.get("kind") == "device":
            _judge_device(name, result_of(results, name, "encode"))


def _assert_zero_padding(name: str, outputs, unpacked_h, lengths, tol) -> None:
    """outputs is exactly 0 at every padded step (t >= lengths[n]); a nonzero one is located and, when it is the
    GRU's state after reading the padding, named."""
    __tracebackhide__ = True
    padded = torch.arange(outputs.shape[1])[None, :] >= lengths[:, None]  # (N, S) True at padded steps
    nonzero = padded & (outputs != 0).any(-1)
    if not nonzero.any():
        return
    n, t = (int(i) for i in nonzero.nonzero()[0])
    read_padding = close(outputs[padded], unpacked_h[padded], **tol)
    cause = (
        "they are the GRU's states after reading the <pad> tokens: the GRU ran over the padding"
        if read_padding
        else "they are not 0"
    )
    raise CheckFailure(
        f"case '{name}': outputs is right at the real steps but not at the padded ones ({cause}); e.g. row {n} has "
        f"{int(lengths[n])} real tokens and outputs[{n}, {t}] is not 0. The contract: outputs[n, t] = 0 for "
        "t >= lengths[n], so that nothing downstream (notebook 07's attention) can read a state of the padding."
    )


def _padded_step(context, context_ref, outputs, unpacked_h, lengths, tol) -> tuple[int, int] | None:
    """(row, step) where a wrong context equals a state at a padded step of that row, else None.

    The states of a padded step are the learner's own ``outputs[n, t]`` (zeros where pad_packed_sequence
    filled them) and the GRU's state after reading the padding up to ``t``, for ``t >= lengths[n]``."""
    with torch.no_grad():
        S = outputs.shape[1]
        for n in range(context.shape[0]):
            if close(context[n], context_ref[n], **tol) or int(lengths[n]) >= S:
                continue
            for t in range(int(lengths[n]), S):
                if any(close(context[n], state, **tol) for state in (outputs[n, t], unpacked_h[n, t])):
                    return n, t
    return None


ENCODE = Exercise("encode", "encode", visible_first(_encode_cases), _encode_run, _encode_judge)
