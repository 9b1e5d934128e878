"""Check of ``sequence_accuracy``: exact-match and token accuracy of predicted ids against padded targets.

With ``pred`` and ``tgt`` padded with <pad> to the same width T:

    exact = (1 / N) sum_n [pred[n, t] == tgt[n, t] for every t]
    token = #{(n, t): pred[n, t] == tgt[n, t], tgt[n, t] != <pad>} / #{(n, t): tgt[n, t] != <pad>}

Named mistakes: the <pad> positions counted in token accuracy, the positions where *pred* is not padding
counted instead, both cut to the narrower width, the token accuracy returned as the exact match.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb06_seq2seq.cases import PAD_ID, with_eos
from course_lib.checks.toolkit import generator, note, number, pair, plain, visible_first


def _accuracy_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    # rows: right, right, one token off, too long; pred has more non-<pad> positions (14) than tgt (13)
    tgt = torch.tensor([[5, 6, 7, 3, 0], [8, 3, 0, 0, 0], [5, 5, 5, 3, 0], [9, 4, 3, 0, 0]])
    pred = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0], [5, 5, 6, 3], [9, 4, 4, 3]])
    cases = {
        "4 rows, pred narrower than tgt": {"pred": pred.numpy(), "tgt": tgt.numpy()},
        "every row right": {"kind": "edge", "pred": tgt.numpy(), "tgt": tgt.numpy()},
        # row 0's <eos> lies beyond pred's width: cut to the narrower width, the row would look right
        "a target longer than pred's width": {
            "kind": "edge",
            "pred": np.array([[5, 6, 7, 8], [6, 3, 0, 0]]),
            "tgt": np.array([[5, 6, 7, 8, 3], [6, 3, 0, 0, 0]]),
        },
        "pad_id=1, the same rows padded with 1": {
            "pred": pred.masked_fill(pred == PAD_ID, 1).numpy(),
            "tgt": tgt.masked_fill(tgt == PAD_ID, 1).numpy(),
            "pad_id": 1,
        },
        "pad_id=-100 (as ignore_index), the same rows": {
            "pred": pred.masked_fill(pred == PAD_ID, -100).numpy(),
            "tgt": tgt.masked_fill(tgt == PAD_ID, -100).numpy(),
            "pad_id": -100,
        },
    }
    if hidden:
        tgt = with_eos(g, 8, 9, 12)
        pred = tgt.clone()
        wrong = torch.randperm(8, generator=g)[:3]
        pred[wrong, 0] = (pred[wrong, 0] % 7) + 4  # a content token changed (row 0 may stay right)
        cases["pred wider than tgt"] = {
            "pred": torch.cat([pred, torch.zeros(8, 3, dtype=torch.long)], 1).numpy(),
            "tgt": tgt.numpy(),
        }
        cases["every row right, 8 rows"] = {"kind": "edge", "pred": tgt.numpy(), "tgt": tgt.numpy()}
        other = with_eos(g, 6, 7, 12)
        cases["random"] = {"pred": with_eos(g, 6, 5, 12).numpy(), "tgt": other.numpy()}
        wide = cases["pred wider than tgt"]
        cases["pred wider than tgt, pad_id=1"] = {
            "pred": np.where(wide["pred"] == PAD_ID, 1, wide["pred"]),
            "tgt": np.where(wide["tgt"] == PAD_ID, 1, wide["tgt"]),
            "pad_id": 1,
        }
        cases["stops early"] = {
            "kind": "edge",
            "pred": np.array([[5, 3, 0], [6, 7, 3]]),
            "tgt": np.array([[5, 6, 3], [6, 7, 3]]),
        }
    return cases


def _accuracy_run(fn, case):
    return plain(fn(torch.from_numpy(case["pred"]), torch.from_numpy(case["tgt"]), pad_id=case.get("pad_id", PAD_ID)))


def _aligned(pred: torch.Tensor, tgt: torch.Tensor, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(pred.shape[1], tgt.shape[1])
    return F.pad(pred, (0, T - pred.shape[1]), value=pad), F.pad(tgt, (0, T - tgt.shape[1]), value=pad)


def _accuracy_judge(cases, results):
    notes = None
    for name, case in cases.items():
        pad = int(case.get("pad_id", PAD_ID))
        pred, tgt = _aligned(torch.from_numpy(case["pred"]), torch.from_numpy(case["tgt"]), pad)
        real = tgt != pad
        exact_ref = float((pred == tgt).all(1).double().mean())
        token_ref = float(((pred == tgt) & real).sum()) / float(real.sum())
        exact, token = pair(result_of(results, name, "sequence_accuracy"), "sequence_accuracy", "exact, token")
        if any(isinstance(v, np.ndarray) for v in (exact, token)):
            notes = note(
                "the docstring asks for two Python floats and yours are 0-d tensors; they compare and print the "
                "same, but .item() gives the floats the contract promises."
            )
        exact, token = number(exact, "exact"), number(token, "token")
        shown = f"pred = {case['pred'].tolist()}, tgt = {case['tgt'].tolist()}"
        if abs(token - token_ref) > 1e-6:
            with_padding = float((pred == tgt).double().mean())
            on_pred = float(((pred == tgt) & (pred != pad)).sum()) / max(float((pred != pad).sum()), 1.0)
            if abs(token - with_padding) < 1e-6:
                raise CheckFailure(
                    f"case '{name}': padding counted in accuracy: token accuracy {token:.4f} counts the <pad> positions, "
                    f"where pad == pad always 'matches'; count only the positions where tgt is not <pad> "
                    f"(expected {token_ref:.4f}). {shown}"
                )
            width = min(case["pred"].shape[1], case["tgt"].shape[1])
            cut = real[:, :width]
            on_cut = float(((pred == tgt)[:, :width] & cut).sum()) / max(float(cut.sum()), 1.0)
            if width < pred.shape[1] and abs(token - on_cut) < 1e-6:
                raise CheckFailure(
                    f"case '{name}': token accuracy {token:.4f} counts only the first {width} positions, the narrower "
                    f"tensor's width: the target's tokens beyond it were dropped, not counted as missed "
                    f"(expected {token_ref:.4f}). {shown}"
                )
            if abs(token - on_pred) < 1e-6:
                raise CheckFailure(
                    f"case '{name}': token accuracy {token:.4f} counts the positions where *pred* is "
                    f"not padding; count those where tgt is not <pad> (expected {token_ref:.4f}). {shown}"
                )
            if pad != PAD_ID:
                at_zero = float(((pred == tgt) & (tgt != PAD_ID)).sum()) / max(float((tgt != PAD_ID).sum()), 1.0)
                if abs(token - at_zero) < 1e-6:
                    raise CheckFailure(
                        f"case '{name}': the padding is taken to be id {PAD_ID}, but pad_id is {pad} here: pad and "
                        f"mask with the pad_id argument. {shown}"
                    )
            raise CheckFailure(
                f"case '{name}': token accuracy expected {token_ref:.4f}, got {token:.4f}: correct "
                f"tokens / non-<pad> target positions (pad the narrower tensor first). {shown}"
            )
        if abs(exact - exact_ref) > 1e-6:
            if abs(exact - token_ref) < 1e-6:
                raise CheckFailure(
                    f"case '{name}': exact is the token accuracy; exact match counts the rows whose "
                    f"every token is right (expected {exact_ref:.4f}). {shown}"
                )
            raise CheckFailure(
                f"case '{name}': exact match expected {exact_ref:.4f}, got {exact:.4f}: the share of rows "
                f"equal to the target at every position once both are padded to the same width. {shown}"
            )
    return notes


SEQUENCE_ACCURACY = Exercise(
    "sequence_accuracy", "sequence_accuracy", visible_first(_accuracy_cases), _accuracy_run, _accuracy_judge
)
