"""Check of ``masked_cross_entropy``: the mean cross-entropy over the real (non-<pad>) target positions.

    loss = sum_{(n, t): tgt[n, t] != <pad>} -log softmax(logits[n, t])[tgt[n, t]]  /  #{(n, t): tgt[n, t] != <pad>}

The reference is ``F.cross_entropy(ignore_index=pad_id)`` (pad ids 0, 1 and -100, visible and hidden), and its gradient by autograd.  Every case has
padding and rows of different lengths, so the named mistakes (padding in the mean, the rows averaged first, a
detached loss) change the value; a mistake is named only for a loss that is not right.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import DTYPES, PAD_ID, with_eos
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    first_named_mistake,
    generator,
    pair,
    plain,
    randn,
    show_difference,
    tolerance,
    visible_first,
)

# logits of scale 40: in float32 most softmax probabilities underflow to 0, so a log taken after the softmax is -inf
CONFIDENT = "a confident model (logits of scale 40)"


def _ce_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    """Visible: the default pad id, another one (1) and torch's -100, padding and none, a confident model (extreme
    logits, float32); hidden: the same families in float64 on other shapes.  Padding is written with the case's ``pad_id`` (real tokens are >= 3)."""
    g = generator(seed)
    setups = [
        ("N=3, T=5, V=6", 3, 5, 6, "float32", PAD_ID),
        ("no padding, N=2, T=3, V=6", 2, 3, 6, "float32", PAD_ID),
        ("pad_id=1, N=3, T=4, V=7", 3, 4, 7, "float32", 1),
        ("pad_id=-100, N=2, T=4, V=5", 2, 4, 5, "float64", -100),
        (CONFIDENT + ", N=2, T=4, V=6", 2, 4, 6, "float32", PAD_ID),
    ]
    if hidden:
        setups += [
            ("float64, N=6, T=8, V=11", 6, 8, 11, "float64", PAD_ID),
            ("float64, no padding", 2, 3, 5, "float64", PAD_ID),
            ("float64, pad_id=1, N=5, T=6, V=9", 5, 6, 9, "float64", 1),
            ("pad_id=-100, N=1, T=7, V=5", 1, 7, 5, "float32", -100),
            (CONFIDENT + ", pad_id=1, N=3, T=5, V=8", 3, 5, 8, "float32", 1),
        ]
    cases = {}
    for name, N, T, V, dtype, pad_id in setups:
        tgt = with_eos(g, N, T, V, min_len=T if "no padding" in name else 1, mixed="no padding" not in name)
        tgt[tgt == PAD_ID] = pad_id
        cases[name] = {
            "logits": randn(g, N, T, V, scale=40.0 if name.startswith(CONFIDENT) else 2.0),
            "tgt": tgt.numpy(),
            "pad_id": pad_id,
            "dtype": dtype,
            "kind": "edge" if "no padding" in name or name.startswith(CONFIDENT) else "values",
        }
    return cases


def _ce_run(fn, case):
    logits = torch.from_numpy(case["logits"]).to(DTYPES[case["dtype"]]).requires_grad_(True)
    loss = fn(logits, torch.from_numpy(case["tgt"]), pad_id=case["pad_id"])
    grad = None
    if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
        (grad,) = torch.autograd.grad(loss.sum(), logits, allow_unused=True)
    return plain(loss), plain(grad)


def _ce_judge(cases, results):
    for name, case in cases.items():
        logits = torch.from_numpy(case["logits"]).requires_grad_(True)
        tgt = torch.from_numpy(case["tgt"])
        N, T, V = logits.shape
        pad_id = int(case.get("pad_id", PAD_ID))
        reference = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=pad_id)
        (grad_ref,) = torch.autograd.grad(reference, logits)
        loss, grad = pair(result_of(results, name, "masked_cross_entropy"), "the check", "loss, grad")
        if isinstance(loss, (int, float)) or (isinstance(loss, np.ndarray) and loss.size == 1 and grad is None):
            raise CheckFailure(
                "masked_cross_entropy should return a tensor connected to logits, so that loss.backward() "
                "trains the model: do not call .item() or .detach() on it."
            )
        loss = as_tensor(loss, f"the loss on case '{name}'")
        if loss.numel() != 1:
            raise CheckFailure(
                f"the loss should be a single number (a 0-d tensor), got shape {tuple(loss.shape)}: "
                f"average over the real (non-<pad>) positions."
            )
        assert_dtype(loss, DTYPES[case["dtype"]], f"the loss on case '{name}'")
        value = loss.double().reshape(())
        tol = tolerance(case["dtype"])  # the case's dtype fixes the tolerance, never the result's
        with torch.no_grad():
            safe = tgt.masked_fill(tgt == pad_id, 0)  # a negative pad id cannot index the classes
            per_token = F.cross_entropy(logits.reshape(-1, V), safe.reshape(-1), reduction="none").view(N, T)
            mask = (tgt != pad_id).double()
            wrong = {
                "padding counted in the loss mean: the sum over real tokens was divided by N * T, every position "
                "(divide by the number of non-<pad> targets)": (per_token * mask).sum() / (N * T),
                "padding counted in the loss mean: the <pad> positions were included in the loss itself (mask them "
                "out, or use ignore_index)": per_token.mean(),
                "each row was averaged first and then the rows: short rows weigh more; average over all real tokens "
                "at once": ((per_token * mask).sum(1) / mask.sum(1)).mean(),
                f"the padding is taken to be id {PAD_ID}, but pad_id is {pad_id} here: mask with the pad_id argument "
                f"(ignore_index=pad_id), not a constant": (
                    None
                    if pad_id == PAD_ID or pad_id < 0
                    else F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=PAD_ID)
                ),
            }
        if not torch.isfinite(value) and torch.isfinite(reference):
            raise CheckFailure(
                f"case '{name}': the loss is {value.item()} where the cross-entropy is finite "
                f"({reference.item():.4f}): a probability underflowed to 0 before its log (this model is very "
                f"confident). Compute the log-probabilities directly, in a form that subtracts the largest logit "
                f"first (log-sum-exp), never the log of a softmax."
            )
        message = first_named_mistake(value, reference.detach(), wrong.items(), same=lambda a, b: close(a, b, **tol))
        if message:
            raise CheckFailure(f"case '{name}': {message}. {show_difference(value, reference.detach(), loss.dtype)}")
        assert_close(
            value,
            reference.detach(),
            f"the loss on case '{name}'",
            **tol,
            factors={"the number of real tokens": float(mask.sum()), "N": N, "T": T, "N * T": N * T},
        )
        if grad is None:
            raise CheckFailure(
                "the loss is not connected to logits (no gradient reaches them); build it from logits "
                "with torch operations."
            )
        assert_close(
            as_tensor(grad, "d loss / d logits").double(),
            grad_ref,
            f"the gradient of the loss on case '{name}'",
            **tol,
            letters="N T V",
            regions={"padding positions": (tgt == pad_id)[:, :, None]},
        )


MASKED_CROSS_ENTROPY = Exercise(
    "masked_cross_entropy", "masked_cross_entropy", visible_first(_ce_cases), _ce_run, _ce_judge
)
