"""Exercise 5 of notebook 05: the last layer's final states, gathered from the padded ``output`` of a packed batch.

``last_layer_from_output(output, lengths) -> (N, 2H)``: row n is ``[h_forward; h_backward]`` of the LAST layer of a
bidirectional ``nn.LSTM`` / ``nn.GRU`` run on a packed, padded, unsorted batch, read from ``output`` alone::

    output:  (N, T, 2H)  pad_packed_sequence(out, batch_first=True[, total_length]): both directions side by side,
                         forward first, zeros past each row's length; T >= max(lengths)
    lengths: (N,)        int64, each row's number of real steps, in any order

Where each direction finishes in ``output`` is the learner's to derive from what packing does (each direction
reads only a row's real steps); the result must be gathered for all rows at once.

The reference is the module's own ``h_n``: its last two entries are the last layer's forward and backward final
states (the layout of exercise 4, read from PyTorch's documentation), so this check never reads ``output``'s layout
for itself.  A wrong row is located by where in ``output`` each half of it was read (which row, which step, which
half; a padding step), and the typical wrong readings are named: the forward half read at step T - 1 for every row
(padding for every shorter row), the backward half read at the row's last real step (where the backward direction
STARTS), the halves swapped, the right steps of the wrong rows (an index over the wrong axis).  A right answer
written as a Python loop over rows passes with a note.

References: the PyTorch documentation of ``nn.LSTM`` / ``nn.GRU`` (``output`` and ``h_n``) and of
``torch.nn.utils.rnn.pack_padded_sequence`` / ``pad_packed_sequence``; pytorch/pytorch#4145, #19675.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.overrides import TorchFunctionMode

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.devices import assert_device_kept, on_meta
from course_lib.checks.nb05_gru.final_states import (  # one tolerance for nb05's h_n checks
    _ATOL,
    _MODULES,
    _RTOL,
    _close,
)
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    first_named_mistake,
    note,
    visible_first,
)

_HALVES = ("forward", "backward")

LOOP_NOTE = (
    "right, but your function indexes `output` once per row (a Python loop over the batch): one small kernel and "
    "one autograd node per row. One advanced index or torch.gather reads every row's step at once."
)


def _case(g: torch.Generator, kind: str, N: int, D: int, H: int, L: int, lengths: list[int], total: int | None):
    """A packed run of a random bidirectional module on rows of ``lengths``: its padded output and its h_n."""
    rnn = _MODULES[kind](D, H, num_layers=L, bidirectional=True, batch_first=True, dtype=torch.float64)
    rnn.load_state_dict(
        {name: 0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64) for name, p in rnn.named_parameters()}
    )
    x = torch.randn(N, max(lengths), D, generator=g, dtype=torch.float64)
    with torch.no_grad():
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, h_n = rnn(packed)
        output, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
    h_n = h_n[0] if kind == "LSTM" else h_n  # (h_n, c_n) for an LSTM
    return {
        "module": kind,
        "num_layers": L,
        "output": output.numpy(),  # (N, T, 2H)
        "lengths": np.array(lengths, dtype=np.int64),
        "h_n": h_n.numpy(),  # (2L, N, H): the reference, never passed to the learner's function
    }


def _lengths(g: torch.Generator, N: int, T: int) -> list[int]:
    """Lengths in 1..T, in no sorted order for N > 2, with T among them and, for N > 1, a row that is at least two steps shorter."""
    lengths = torch.randint(1, T + 1, (N,), generator=g).tolist()
    full = int(torch.randint(0, N, (1,), generator=g))
    lengths[full] = T
    if N > 1:
        lengths[(full + 1) % N] = int(torch.randint(1, T - 1, (1,), generator=g))
    while N > 2 and lengths in (sorted(lengths), sorted(lengths, reverse=True)):  # unsorted: enforce_sorted=False
        lengths = [lengths[i] for i in torch.randperm(N, generator=g).tolist()]
    return lengths


def _cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = torch.Generator().manual_seed(seed)
    cases = {
        "nn.LSTM, L=2, N=5, T=5, H=3": _case(g, "LSTM", 5, 3, 3, 2, _lengths(g, 5, 5), None),
        "nn.GRU, L=1, N=3, T=4, H=2": _case(g, "GRU", 3, 2, 2, 1, _lengths(g, 3, 4), None),
        "nn.GRU, L=2, N=3, output padded to total_length=7 > max(lengths)": _case(
            g, "GRU", 3, 2, 3, 2, _lengths(g, 3, 5), 7
        ),
    }
    # the docstring promises lengths on the CPU with output elsewhere: meta stands in for a GPU
    cases["output on the meta device, lengths on the CPU"] = {
        **cases["nn.GRU, L=1, N=3, T=4, H=2"],
        "kind": "device",
    }
    if hidden:
        cases["nn.GRU, L=3, N=5, T=6, H=2"] = _case(g, "GRU", 5, 3, 2, 3, _lengths(g, 5, 6), None)
        cases["nn.LSTM, L=1, N=6, T=7, H=4"] = _case(g, "LSTM", 6, 2, 4, 1, _lengths(g, 6, 7), None)
        cases["nn.LSTM, L=3, N=4, lengths sorted longest first"] = _case(g, "LSTM", 4, 2, 3, 3, [6, 4, 3, 1], None)
        cases["nn.LSTM, L=2, N=4, total_length=9"] = _case(g, "LSTM", 4, 3, 2, 2, _lengths(g, 4, 6), 9)
    return cases


class _CountIndexing(TorchFunctionMode):
    """Counts the reads of ``output`` by indexing (``output[...]``, ``gather``, ``index_select``, ``select``)."""

    def __init__(self, output: torch.Tensor):
        super().__init__()
        self.output, self.reads = output, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if args and args[0] is self.output and name in {"__getitem__", "gather", "index_select", "select"}:
            self.reads += 1
        return func(*args, **(kwargs or {}))


def _run(fn, case):
    output, lengths = torch.from_numpy(case["output"]), torch.from_numpy(case["lengths"])
    if case.get("kind") == "device":
        return on_meta(lambda: fn(output.to("meta"), lengths))
    counter = _CountIndexing(output)
    with counter:
        result = fn(output, lengths)
    return {"result": result, "reads": counter.reads}


def _located(got: torch.Tensor, expected: torch.Tensor, output: torch.Tensor, lengths: list[int]) -> str:
    """Where in ``output`` the wrong halves of one row were read, e.g. "its forward half is output[0, 3, :H], row 0's
    forward state at step 3" (never where the right one is); "" when a wrong half is found nowhere."""
    N, T, H2 = output.shape
    H = H2 // 2
    found = []
    for k, half in enumerate(_HALVES):
        piece = got[k * H : (k + 1) * H]
        if _close(piece, expected[k * H : (k + 1) * H]):
            continue
        if not bool(piece.abs().max() > _ATOL):
            found.append(f"its {half} half is zeros (what `output` holds at a padding step)")
            continue
        spots = [
            (m, t, j)
            for m in range(N)
            for t in range(lengths[m])
            for j in (0, 1)
            if close(output[m, t, j * H : (j + 1) * H], piece, rtol=_RTOL, atol=_ATOL)
        ]
        if not spots:
            return ""
        m, t, j = spots[0]
        where = f"output[{m}, {t}, {':H' if j == 0 else 'H:'}]"
        what = f"row {m}'s {_HALVES[j]} state at step {t}"
        found.append(f"its {half} half is {where}, {what}")
    return "; ".join(found)


def _wrong_readings(output: torch.Tensor, lengths: torch.Tensor, h_last: torch.Tensor):
    """The typical wrong readings of ``output`` (N, T, 2H) as the (N, 2H) they give (the reference halves ``h_last``
    where a reading gets one half right)."""
    N, T, H2 = output.shape
    H = H2 // 2
    rows, last = torch.arange(N), lengths - 1
    at_end = output[:, -1]  # (N, 2H): step T - 1 of every row
    at_last_real = output[rows, last]  # (N, 2H): each row's last real step
    forward, backward = h_last[:, :H], h_last[:, H:]
    return [
        (
            "its forward half was read at step T - 1 of every row (output[:, -1]); a row shorter than T has only "
            "padding (zeros) there, not a state of the forward direction (a packed row is read to its own length only)",
            torch.cat([at_end[:, :H], backward], 1),
        ),
        (
            "it is output[:, -1], step T - 1 of every row: the forward half is padding (zeros) in every row shorter "
            "than T, and the backward half is where the backward direction STARTS, after reading one step",
            at_end,
        ),
        (
            "its backward half was read at each row's last real step: the forward direction finishes there, but "
            "the backward one starts there (it has read one step); where does it finish?",
            torch.cat([forward, at_last_real[:, H:]], 1),
        ),
        (
            "the two halves are swapped: the contract is [h_forward; h_backward], forward first",
            torch.cat([backward, forward], 1),
        ),
    ] + [
        (
            "its forward halves are real steps of the wrong rows: the step index was applied to the batch axis "
            "(axis 0 of a batch-first output) instead of the time axis, or lengths were used to pick rows",
            wrong,
        )
        for wrong in _wrong_axis(output, lengths, H)
    ]


def _wrong_axis(output: torch.Tensor, lengths: torch.Tensor, H: int) -> list[torch.Tensor]:
    """The forward half indexed over the wrong axis, where the indices fit: ``output[lengths - 1, rows]`` (row and
    step swapped) and ``output.gather(0, ...)`` (``output[lengths - 1, 0]``: lengths used to pick rows)."""
    N, T, _ = output.shape
    rows, last = torch.arange(N), lengths - 1
    backward = output[:, 0, H:]
    wrong = []
    if int(last.max()) < N and N <= T:
        wrong.append(torch.cat([output[last, rows, :H], backward], 1))
    if int(last.max()) < N:
        wrong.append(torch.cat([output[last, 0, :H], backward], 1))
    return wrong


def _judge(cases, results):
    __tracebackhide__ = True
    notes = []
    for name, case in cases.items():
        value = result_of(results, name, "last_layer_from_output")
        if case.get("kind") == "device":
            assert_device_kept(value, f"last_layer_from_output (case '{name}')")
            continue
        report = value if isinstance(value, dict) else {"result": value, "reads": 0}
        output, lengths = torch.from_numpy(case["output"]), torch.from_numpy(case["lengths"])
        N, T, H2 = output.shape
        what = f"last_layer_from_output on case '{name}' (lengths {lengths.tolist()}, T = {T})"
        got = as_tensor(report["result"], what, (N, H2), "(N, 2H)")
        assert_dtype(got, torch.float64, what)
        h_n = torch.from_numpy(case["h_n"])
        reference = torch.cat([h_n[-2], h_n[-1]], dim=1)  # the last layer's (forward, backward), from the module
        named = first_named_mistake(got, reference, _wrong_readings(output, lengths, reference), same=_close)
        if named:
            raise CheckFailure(f"{what} is wrong: {named}" + "." * (not named.endswith("?")))
        for n in range(N):
            if not _close(got[n], reference[n]):
                located = _located(got[n], reference[n], output, lengths.tolist())
                if located:
                    raise CheckFailure(
                        f"{what} is wrong in row {n} ({int(lengths[n])} real steps): {located}; the row should hold "
                        "the last layer's forward and backward FINAL states (each direction after it has read the "
                        "whole row)."
                    )
                break
        assert_close(got, reference, what, rtol=_RTOL, atol=_ATOL, letters="N H")
        if report.get("reads", 0) >= N >= 3:
            notes = note(LOOP_NOTE)
    return notes


LAST_LAYER_FROM_OUTPUT = Exercise(
    "last_layer_from_output", "last_layer_from_output", visible_first(_cases), _run, _judge
)
check_last_layer_from_output = LAST_LAYER_FROM_OUTPUT.check
