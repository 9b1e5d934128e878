"""Check of ``pad_batch``: sequences of different lengths -> ``padded: (N, T_max)`` (padded at the end, as
``pad_sequence(seqs, batch_first=True, padding_value=pad_id)`` does, the reference), ``lengths: (N,)`` and the
bool ``mask: (N, T_max)``, True on real tokens."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import as_tensor, generator, sequence_differences, visible_first

__all__ = ["PAD_BATCH", "check_pad_batch"]


def _pad_cases(seed, hidden):
    cases = {
        "three sequences": {"seqs": [np.array([5, 6, 7]), np.array([8]), np.array([9, 10])], "pad_id": 0},
        # a real token can be the pad id: lengths and the mask come from the sequences, not from equality
        "real tokens equal to pad_id=2": {
            "kind": "pad id as a real token",
            "pad_id": 2,
            "seqs": [np.array([2, 6, 2]), np.array([7]), np.array([8, 2])],
        },
        # T_max is the longest row's length, wherever that row is; a pad id can be negative (-100, as
        # F.cross_entropy's ignore_index)
        "pad_id=-100, the longest sequence last": {
            "pad_id": -100,
            "seqs": [np.array([4]), np.array([5, 6]), np.array([7, 8, 9])],
        },
    }
    if hidden:
        cases["pad_id=3 inside, first and last"] = {
            "kind": "pad id as a real token",
            "pad_id": 3,
            "seqs": [np.array([3, 4]), np.array([5, 3, 6, 3]), np.array([3])],
        }
        g = generator(seed)
        lengths = torch.randint(1, 9, (5,), generator=g).tolist()
        cases["random lengths, pad_id=1"] = {
            "seqs": [torch.randint(2, 30, (n,), generator=g).numpy() for n in lengths],
            "pad_id": 1,
        }
        cases["equal lengths"] = {"seqs": [np.array([4, 5]), np.array([6, 7])], "pad_id": 0}
        cases["one sequence"] = {"seqs": [np.array([3, 4, 5, 6])], "pad_id": 0}
        lengths = torch.randint(1, 7, (4,), generator=g).tolist()
        cases["random lengths, pad_id=-100"] = {
            "seqs": [torch.randint(0, 30, (n,), generator=g).numpy() for n in lengths],
            "pad_id": -100,
        }
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
        shape = tuple(getattr(value[0], "shape", ()))
        width = shape[1:] if len(shape) == 2 and len(seqs) else ()
        if width and width[0] != padded_ref.shape[1] and width[0] in (len(seqs[0]), min(len(s) for s in seqs)):
            which = "first" if width[0] == len(seqs[0]) else "shortest"
            raise CheckFailure(
                f"case '{name}': padded has {width[0]} columns, the length of the {which} sequence; T_max is the "
                f"length of the longest one ({padded_ref.shape[1]} here, lengths {lengths_ref.tolist()}), wherever "
                f"it is in the list."
            )
        padded = as_tensor(value[0], f"padded on case '{name}'", tuple(padded_ref.shape), "(N, T_max)")
        lengths = as_tensor(value[1], f"lengths on case '{name}'", tuple(lengths_ref.shape), "(N,)")
        mask = as_tensor(value[2], f"mask on case '{name}'", tuple(mask_ref.shape), "(N, T_max)")
        left = torch.stack([torch.roll(row, int(padded_ref.shape[1] - n)) for row, n in zip(padded_ref, lengths_ref)])
        if not torch.equal(padded, padded_ref) and torch.equal(padded, left):
            raise CheckFailure(
                f"case '{name}': the padding is on the left; pad at the end of each row "
                f"(as pad_sequence does), so position t is time step t."
            )
        if not torch.equal(padded.long(), padded_ref):
            raise CheckFailure(
                f"case '{name}': padded should equal pad_sequence(seqs, batch_first=True, "
                f"padding_value={case['pad_id']}); padded[n, t] {sequence_differences(padded.long(), padded_ref)}"
            )
        if not torch.equal(lengths.long(), lengths_ref):
            if torch.equal(lengths.long(), (padded_ref != case["pad_id"]).sum(1)):
                raise CheckFailure(
                    f"case '{name}': lengths counts the tokens that differ from pad_id, but a real token can equal "
                    f"pad_id (here it does: {[s.tolist() for s in seqs]}, pad_id={case['pad_id']}). The length of a "
                    f"sequence is len(seq), taken before padding."
                )
            raise CheckFailure(f"case '{name}': lengths[n] {sequence_differences(lengths.long(), lengths_ref)}")
        if mask.dtype != torch.bool:
            raise CheckFailure(f"mask should be a bool tensor, got {mask.dtype}")
        if torch.equal(mask, ~mask_ref):
            raise CheckFailure(f"case '{name}': the mask is inverted; True marks real tokens, False padding.")
        if not torch.equal(mask, mask_ref) and torch.equal(mask, padded_ref != case["pad_id"]):
            raise CheckFailure(
                f"case '{name}': the mask is built from token equality (padded != pad_id), but a real token can "
                f"equal pad_id (here it does: {[s.tolist() for s in seqs]}, pad_id={case['pad_id']}). Which positions "
                f"are real follows from each sequence's length, not from the token found there."
            )
        if not torch.equal(mask, mask_ref):
            raise CheckFailure(f"case '{name}': mask[n, t] {sequence_differences(mask.int(), mask_ref.int())}")


PAD_BATCH = Exercise("pad_batch", "pad_batch", visible_first(_pad_cases), _pad_run, _pad_judge)

check_pad_batch = PAD_BATCH.check
