"""Does check_embedding_grad accept dL/dW of an embedding written two ways and name each typical mistake?"""

from __future__ import annotations

import types

import pytest
import torch

from course_lib.checks.nb01_sequence_data import EMBEDDING_GRAD_ALONE
from tests.conftest import fails_with, stub

# exercise 4b alone; the notebook's check tests exercise 4's one_hot with it (test_exercises_4_and_4b_are_checked_together)
check_embedding_grad = EMBEDDING_GRAD_ALONE.check


def by_scatter(ids, grad_out, V, padding_idx=None):
    """Right: every position's row added into its token's row with index_add_."""
    E = grad_out.shape[-1]
    dW = grad_out.new_zeros(V, E).index_add_(0, ids.reshape(-1), grad_out.reshape(-1, E))
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def by_one_hot(ids, grad_out, V, padding_idx=None):
    """The derivation's matmul: the one-hot matrix of the positions, transposed, times grad_out. Right values, but
    the contract rules the (positions, V) matrix out."""
    E = grad_out.shape[-1]
    hot = (ids.reshape(-1, 1) == torch.arange(V, device=ids.device)).to(grad_out.dtype)  # (M, V)
    keep = torch.ones(V, 1, dtype=grad_out.dtype, device=ids.device)
    if padding_idx is not None:
        keep[padding_idx] = 0
    return keep * (hot.T @ grad_out.reshape(-1, E))


def by_index_put(ids, grad_out, V, padding_idx=None):
    """Right: index_put_ with accumulate=True, no (positions, V) matrix."""
    E = grad_out.shape[-1]
    dW = grad_out.new_zeros(V, E).index_put_((ids.reshape(-1),), grad_out.reshape(-1, E), accumulate=True)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("right", [by_scatter, by_index_put], ids=["index_add_", "index_put_"])
def test_embedding_grad_accepts_correct(right, hidden):
    check_embedding_grad(right, hidden=hidden)


def overwrite(ids, grad_out, V, padding_idx=None):
    dW = grad_out.new_zeros(V, grad_out.shape[-1])
    dW[ids.reshape(-1)] = grad_out.reshape(-1, grad_out.shape[-1])
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def transposed(ids, grad_out, V, padding_idx=None):
    return by_scatter(ids, grad_out, V, padding_idx).T


def padding_row_kept(ids, grad_out, V, padding_idx=None):
    return by_scatter(ids, grad_out, V)


def row_zero_zeroed(ids, grad_out, V, padding_idx=None):
    dW = by_scatter(ids, grad_out, V)
    if padding_idx is not None:
        dW[0] = 0
    return dW


def last_axis_only(ids, grad_out, V, padding_idx=None):
    """one_hot(ids)ᵀ @ grad_out with the batch axes kept: (..., V, E), a matrix per sequence."""
    hot = (ids[..., None] == torch.arange(V, device=ids.device)).to(grad_out.dtype)
    if ids.dim() < 2:
        return by_scatter(ids, grad_out, V, padding_idx)
    dW = hot.transpose(-1, -2) @ grad_out
    if padding_idx is not None:
        dW[..., padding_idx, :] = 0
    return dW


def misaligned_flatten(ids, grad_out, V, padding_idx=None):
    """ids flattened row by row, grad_out column by column (a transpose before the reshape)."""
    E = grad_out.shape[-1]
    rows = grad_out.transpose(0, 1).reshape(-1, E) if grad_out.dim() >= 3 else grad_out.reshape(-1, E)
    dW = grad_out.new_zeros(V, E).index_add_(0, ids.reshape(-1), rows)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def mean_per_token(ids, grad_out, V, padding_idx=None):
    counts = torch.bincount(ids.reshape(-1), minlength=V).clamp(min=1).to(grad_out.dtype)[:, None]
    return by_scatter(ids, grad_out, V, padding_idx) / counts


def float32_result(ids, grad_out, V, padding_idx=None):
    return by_scatter(ids, grad_out.float(), V, padding_idx)


def cpu_zeros(ids, grad_out, V, padding_idx=None):
    E = grad_out.shape[-1]
    dW = torch.zeros(V, E, dtype=grad_out.dtype).index_add_(0, ids.reshape(-1), grad_out.reshape(-1, E))
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def pads_in_place(ids, grad_out, V, padding_idx=None):
    if padding_idx is not None:
        grad_out[ids == padding_idx] = 0  # the caller's grad_out changed
    return by_scatter(ids, grad_out, V)


@pytest.mark.parametrize(
    "wrong, pattern, hidden",
    [
        pytest.param(stub, "not implemented yet", False, id="untouched stub"),
        pytest.param(overwrite, "holds the gradient of one of its positions only", False, id="overwrite"),
        pytest.param(transposed, r"transposed: W is \(V, E\)", False, id="transposed"),
        pytest.param(padding_row_kept, "row padding_idx = 0 of dW is not zero", False, id="padding row kept"),
        pytest.param(row_zero_zeroed, "the zeroed row is 0, not padding_idx = 3", True, id="row 0 zeroed"),
        pytest.param(last_axis_only, "only the last axis of positions was summed", False, id="sum over last axis"),
        pytest.param(misaligned_flatten, "spread over the wrong tokens", False, id="misaligned flatten"),
        pytest.param(mean_per_token, "the mean of its token's grad_out rows", False, id="mean per token"),
        pytest.param(float32_result, "has dtype torch.float32, but the inputs are torch.float64", False, id="float32"),
        pytest.param(cpu_zeros, r"meta device.*torch\.zeros\(\.\.\.\) without device=", False, id="cpu zeros"),
        pytest.param(pads_in_place, "changed its input grad_out in place", False, id="grad_out changed in place"),
    ],
)
def test_embedding_grad_names_the_mistake(wrong, pattern, hidden):
    fails_with(check_embedding_grad, wrong, pattern, hidden=hidden)


def test_reference_is_nn_embedding_gradient():
    """The check's promise, on nn.Embedding itself: a module's weight.grad passes as dW."""

    def via_module(ids, grad_out, V, padding_idx=None):
        emb = torch.nn.Embedding(V, grad_out.shape[-1], padding_idx=padding_idx)
        emb = emb.to(dtype=grad_out.dtype, device=grad_out.device)
        with torch.enable_grad():
            emb(ids).backward(grad_out)
        return emb.weight.grad

    check_embedding_grad(via_module, hidden=True)


def test_exercises_4_and_4b_are_checked_together():
    """The notebook's check_embedding_grad finds one_hot beside embedding_grad and checks it first."""
    from course_lib.checks.nb01_sequence_data import check_embedding_grad as check_both

    namespace = {"torch": torch}
    exec(  # a notebook whose one_hot ignores padding_idx and whose embedding_grad is right
        "def one_hot(ids, V, padding_idx=None):\n"
        "    return (ids[..., None] == torch.arange(V, device=ids.device)).float()\n",
        namespace,
    )
    both = types.FunctionType(
        by_scatter.__code__, {**by_scatter.__globals__, **namespace}, None, by_scatter.__defaults__
    )
    fails_with(check_both, both, r"^one_hot is wrong on case .*padding")
    both.__globals__["one_hot"] = lambda ids, V, padding_idx=None: torch.where(
        (ids != (-1 if padding_idx is None else padding_idx))[..., None],
        (ids[..., None] == torch.arange(V, device=ids.device)).float(),
        0.0,
    )
    check_both(both, hidden=True)
    fails_with(
        check_both, types.FunctionType(stub.__code__, both.__globals__), r"^one_hot passed its cases; embedding_grad"
    )


def test_embedding_grad_names_the_one_hot_matrix():
    """Right values through the (positions, V) one-hot matrix: named on the memory case, in the visible check too."""
    fails_with(check_embedding_grad, by_one_hot, r"made a tensor of [\d,]+ entries for 128 positions and V = 3000.*\?")


def by_unique(ids, grad_out, V, padding_idx=None):
    """Right: the distinct ids and a segment sum (torch.unique has no meta kernel: the device case cannot run it)."""
    E = grad_out.shape[-1]
    tokens, inverse = torch.unique(ids.reshape(-1), return_inverse=True)
    sums = grad_out.new_zeros(len(tokens), E).index_add_(0, inverse, grad_out.reshape(-1, E))
    dW = grad_out.new_zeros(V, E)
    dW[tokens] = sums
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def test_embedding_grad_accepts_a_route_whose_op_has_no_meta_kernel():
    """Found by tryout 7: torch.unique raises NotImplementedError on the meta device, which read as an unwritten stub."""
    check_embedding_grad(by_unique, hidden=True)
