"""Check of ``embedding_grad``: the gradient of a loss with respect to an embedding matrix ``W: (V, E)``.

The lookup ``out = W[ids]`` (``nn.Embedding``, ``F.embedding``) is ``out = one_hot(ids) @ W`` (notebook 01's
section 4), so by the chain rule

    dL/dW = Σ_positions one_hot(ids[p])ᵀ grad_out[p]      (V, E): row v is the sum of grad_out over every p with ids[p] = v

and, with ``padding_idx``, that row is 0 (``nn.Embedding``'s documented behaviour).  The contract rules out building
that one-hot matrix of the positions, (positions, V): a ``memory`` case records the largest tensor storage the
function allocates (:class:`LargestAllocation`, a ``TorchFunctionMode``) and names one of that size.  The reference is autograd through
``F.embedding``, never a formula written here.  Two invariants locate a wrong answer before the comparison:
``Σ_v dW[v]`` is the sum of grad_out over the positions not padded (a pairing of positions with the wrong rows keeps it),
and a token that occurs once gets its one row exactly (an overwrite instead of a sum only spoils repeated tokens).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from course_lib.checks.coerce import as_tensor, assert_dtype, call_keeping_inputs
from course_lib.checks.compare import assert_close, close, tolerance
from course_lib.checks.core import CheckFailure, Exercise, result_of, together
from course_lib.checks.devices import assert_device_kept, on_meta
from course_lib.checks.mistakes import first_named_mistake
from course_lib.checks.nb01_sequence_data.one_hot import ONE_HOT
from course_lib.checks.toolkit import generator, randn, visible_first

__all__ = ["EMBEDDING_GRAD", "EMBEDDING_GRAD_ALONE", "check_embedding_grad"]


def _ids_with_repeats(g: torch.Generator, shape: tuple[int, ...], V: int) -> np.ndarray:
    """Ids of ``shape`` in [0, V) in which the first id occurs again (so a sum and an overwrite differ)."""
    ids = torch.randint(0, V, shape, generator=g).reshape(-1)
    if ids.numel() >= 3:
        ids[-1] = ids[0]
    return ids.reshape(shape).numpy()


def _case(g: torch.Generator, ids: np.ndarray, V: int, E: int, padding_idx=None, dtype=torch.float64, **extra) -> dict:
    return {"ids": ids, "grad_out": randn(g, *ids.shape, E, dtype=dtype), "V": V, "padding_idx": padding_idx, **extra}


def _cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {
        "ids (T,), id 2 three times, ids 1, 4, 5 absent": _case(g, np.array([2, 0, 2, 3, 2]), V=6, E=3),
        "batch (N, T)": _case(g, _ids_with_repeats(g, (2, 4), 5), V=5, E=3),
        "padding_idx=0, ids (N, T) padded with 0": _case(
            g, np.array([[3, 1, 3, 0], [2, 1, 0, 0]]), V=5, E=2, padding_idx=0
        ),
        "a single id (0-d)": _case(g, np.array(3), V=4, E=5),
        "float32 grad_out": {**_case(g, np.array([[1, 1, 0]]), V=3, E=4, dtype=torch.float32), "kind": "dtype"},
        "on the meta device": {**_case(g, np.array([[2, 0], [1, 2]]), V=4, E=3, padding_idx=0), "kind": "device"},
        "ids (8, 16) of a vocabulary of 3000": _case(
            g, _ids_with_repeats(g, (8, 16), 3000), V=3000, E=2, kind="memory"
        ),
    }
    if hidden:
        cases["ids (4, 32) of a vocabulary of 4000, padding_idx=0"] = _case(
            g, _ids_with_repeats(g, (4, 32), 4000), V=4000, E=3, padding_idx=0, kind="memory"
        )
        cases["random ids (N, T)"] = _case(g, _ids_with_repeats(g, (4, 6), 7), V=7, E=5)
        cases["random ids (N, T, K)"] = _case(g, _ids_with_repeats(g, (2, 3, 4), 6), V=6, E=2)
        pad = np.array([[4, 2, 4, 3], [1, 3, 3, 3], [2, 2, 0, 3]])  # 3 pads the rows' ends, and 4 occurs twice
        cases["padding_idx=3, an id other than 0"] = _case(g, pad, V=6, E=4, padding_idx=3)
        cases["padding_idx=0 absent from ids"] = _case(
            g, _ids_with_repeats(g, (3, 5), 6) % 5 + 1, V=6, E=3, padding_idx=0
        )
        cases["a single id (0-d), hidden"] = _case(g, np.array(0), V=3, E=2)
        cases["float32, padding_idx=0"] = {
            **_case(g, np.array([[2, 2, 0], [1, 0, 0]]), V=4, E=3, padding_idx=0, dtype=torch.float32),
            "kind": "dtype",
        }
    return cases


def _run(fn, case):
    ids, grad_out = torch.from_numpy(case["ids"]), torch.from_numpy(case["grad_out"])
    V, padding_idx = case["V"], case["padding_idx"]

    def call(i, go):  # the default padding_idx=None is used when the case has none
        return fn(i, go, V) if padding_idx is None else fn(i, go, V, padding_idx=padding_idx)

    if case.get("kind") == "device":  # the docstring promises grad_out's device: meta stands in for a GPU
        return on_meta(lambda: call(ids.to("meta"), grad_out.to("meta")))
    if case.get("kind") == "memory":
        with LargestAllocation() as largest:
            dW = call(ids, grad_out)
        return dW, largest.elements
    return call_keeping_inputs(call, ["ids", "grad_out"], [ids, grad_out])


class LargestAllocation(TorchFunctionMode):
    """Records the largest storage (in elements) of any tensor a torch function returns while the mode is on: a
    (positions, V) one-hot matrix shows, an expand() view of a small tensor does not (its storage is the small one)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self.elements = max(self.elements, t.untyped_storage().nbytes() // max(t.element_size(), 1))
        return out


def _reference(ids: torch.Tensor, grad_out: torch.Tensor, V: int, padding_idx) -> torch.Tensor:
    """dL/dW by autograd through torch's own lookup, for the upstream gradient ``grad_out``."""
    W = torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, requires_grad=True)
    F.embedding(ids, W, padding_idx=padding_idx).backward(grad_out)
    return W.grad


def _overwritten(got, ids, grad_out, padding_idx, same) -> bool:
    """Whether every repeated token's row of ``got`` holds one of its occurrences' grad_out rows, and not their sum,
    while the rows of tokens that occur once are right: an assignment ``dW[ids] = ...`` keeps one write per row."""
    flat_ids, rows = ids.reshape(-1), grad_out.reshape(-1, grad_out.shape[-1])
    values, counts = flat_ids.unique(return_counts=True)
    repeated = [int(v) for v, c in zip(values, counts) if c > 1 and int(v) != padding_idx]
    return bool(repeated) and all(
        any(same(got[v], rows[p]) for p in (flat_ids == v).nonzero().reshape(-1).tolist()) for v in repeated
    )


def _judge(cases, results):
    for name, case in cases.items():
        what = f"embedding_grad on case '{name}'"
        if case.get("kind") == "device":
            assert_device_kept(result_of(results, name, "embedding_grad"), what)
            continue
        ids, grad_out = torch.from_numpy(case["ids"]), torch.from_numpy(case["grad_out"])
        V, E, padding_idx = case["V"], grad_out.shape[-1], case["padding_idx"]
        expected = _reference(ids, grad_out, V, padding_idx)
        got = result_of(results, name, "embedding_grad")
        if case.get("kind") == "memory":
            got, largest = got if isinstance(got, tuple) and len(got) == 2 else (got, 0)
            positions = ids.numel()
            if isinstance(largest, int) and largest >= positions * V // 2:
                raise CheckFailure(
                    f"{what}: embedding_grad made a tensor of {largest:,} entries for {positions} positions and "
                    f"V = {V}: the one-hot matrix of the positions ({positions} × {V}), or one as large. The "
                    f"contract rules it out: at V = 50,000 and 2,048 positions it is 10^8 entries (written question "
                    f"4c). dW itself is only (V, E): which tensor operation adds each position's row of grad_out "
                    f"into a row of dW without it?"
                )
        got = as_tensor(got, what)
        lead = tuple(ids.shape)
        if tuple(got.shape) != (V, E):
            if tuple(got.shape) == (E, V):
                raise CheckFailure(
                    f"{what}: dW has shape (E, V) = {(E, V)}, transposed: W is (V, E), one row per token."
                )
            if len(lead) >= 1 and tuple(got.shape) == (*lead[:-1], V, E):
                raise CheckFailure(
                    f"{what}: dW has shape {tuple(got.shape)}, one (V, E) matrix per leading index of ids {lead}: "
                    f"only the last axis of positions was summed. W is one matrix shared by every position of every "
                    f"sequence, so its gradient sums over all of them: expected (V, E) = {(V, E)}."
                )
            raise CheckFailure(f"{what}: dW has shape {tuple(got.shape)}, expected (V, E) = {(V, E)}.")
        assert_dtype(got, grad_out.dtype, what)
        tol = tolerance(grad_out.dtype)

        def same(a, b):
            return close(a, b, **tol)

        if same(got, expected):
            continue
        flat_ids, rows = ids.reshape(-1), grad_out.reshape(-1, E)
        real = flat_ids != padding_idx if padding_idx is not None else torch.ones_like(flat_ids, dtype=torch.bool)
        if _overwritten(got, ids, grad_out, padding_idx, same):
            pad_too = padding_idx is not None and not same(got[padding_idx], expected[padding_idx])
            raise CheckFailure(
                f"{what}: the row of a token that occurs several times holds the gradient of one of its positions "
                f"only (an assignment dW[ids] = ... keeps one write per row and drops the others). In the chain "
                f"rule's sum over the positions p, how many terms reach the row of a token that occurs k times?"
                + (f" Row padding_idx = {padding_idx} is wrong too: it gets no gradient." if pad_too else "")
            )
        counts = torch.bincount(flat_ids, minlength=V).to(grad_out.dtype).clamp(min=1)[:, None]
        named = first_named_mistake(
            got,
            expected,
            [
                (
                    f"row padding_idx = {padding_idx} of dW is not zero: nn.Embedding(padding_idx=...) gives the "
                    f"padding row no gradient, so padding never changes its vector. Every other row is right.",
                    (lambda: _reference(ids, grad_out, V, None)) if padding_idx is not None else None,
                ),
                (
                    f"the zeroed row is 0, not padding_idx = {padding_idx}.",
                    (lambda: _reference(ids, grad_out, V, None).index_fill(0, torch.tensor([0]), 0.0))
                    if padding_idx not in (None, 0)
                    else None,
                ),
                (
                    "each row is the mean of its token's grad_out rows (divided by the number of its positions). "
                    "Where in the chain rule's sum over the positions p does a division come from?",
                    lambda: expected / counts,
                ),
            ],
            same,
        )
        if named:
            raise CheckFailure(f"{what}: {named}")
        if same(got.sum(0), rows[real].sum(0)):
            raise CheckFailure(
                f"{what}: the rows of dW add up to the sum of grad_out over the positions (as they must), but "
                f"they are spread over the wrong tokens: the row of grad_out at a position belongs to the row of dW "
                f"that the id at that same position names. If you reshaped ids and grad_out, check that both "
                f"list the positions in the same order."
            )
        assert_close(
            got,
            expected,
            what,
            dtype=grad_out.dtype,
            hint="Which positions p contribute to row v of dL/dW in the chain rule's sum, and what does a token "
            "absent from ids receive?",
            letters="V E",
        )


EMBEDDING_GRAD_ALONE = Exercise("embedding_grad", "embedding_grad", visible_first(_cases), _run, _judge)
# exercises 4 and 4b are graded as one: one_hot, the derivative the gradient is built from, is checked first
EMBEDDING_GRAD = together(EMBEDDING_GRAD_ALONE, ONE_HOT)

check_embedding_grad = EMBEDDING_GRAD.check
