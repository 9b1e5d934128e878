"""Exercise 4 of notebook 05: the final states of a deep, bidirectional ``nn.LSTM`` run on packed sequences.

``final_states(output, h_n, lengths) -> (h_forward, h_backward)``, both (N, H): the **last layer's** state
after the forward direction has read each sequence up to its real end (step ``lengths[n] - 1``) and after
the backward direction has read it back to step 0.  The inputs are what
``nn.LSTM(D, H, num_layers=L, bidirectional=True, batch_first=True)`` returns on a packed batch
(``pack_padded_sequence(..., enforce_sorted=False)``), the output padded back by ``pad_packed_sequence``::

    output: (N, T, 2H)   output[n, t, :H] forward state at step t,  output[n, t, H:] backward state;
                         zeros past lengths[n]
    h_n:    (2L, N, H)   every layer's and direction's final state, in the order PyTorch's documentation gives
    lengths: (N,)        int64, in the batch's own (unsorted) order

Reading that order is the exercise (the notebook sends the learner to the documentation), so no message of this
check says which row of ``h_n`` is right: a wrong reading is named by what it read.

The reference does not read ``h_n``: the last layer is rerun **one direction at a time**, each sequence on
its own and cut to its length, by a one-layer, one-direction ``nn.LSTM`` holding that direction's weights
(its input is the padded output of the first L - 1 layers, by ``nn.LSTM`` with those layers' weights); the
backward direction reads the reversed sequence.  Named mistakes (each tried only when the answer is wrong):
``h_n[-1]`` or ``h_n[0]``/``h_n[1]``, the two directions swapped, ``h_n.view(2, L, N, H)`` (direction-major),
``output[:, -1]`` on the padded output (forward: zeros for short rows; backward: its first step, not its
last), and the backward state read at ``lengths - 1``.

References: the PyTorch documentation of ``nn.LSTM`` (``h_n``'s layout) and of
``torch.nn.utils.rnn.pack_padded_sequence``; pytorch/pytorch#4145 and #19675, where users ask exactly this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import as_tensor, assert_close, assert_dtype, close, first_named_mistake, visible_first

_RTOL, _ATOL = 1e-6, 1e-9


def _lstm(D: int, H: int, L: int, bidirectional: bool) -> nn.LSTM:
    return nn.LSTM(D, H, num_layers=L, bidirectional=bidirectional, batch_first=True, dtype=torch.float64)


def _case(g: torch.Generator, N: int, T: int, D: int, H: int, L: int, lengths: list[int] | None = None) -> dict:
    """A padded batch, its lengths (max = T, unsorted), random weights, and what nn.LSTM returns on it."""
    if lengths is None:
        lengths = torch.randint(1, T + 1, (N,), generator=g).tolist()
        lengths[int(torch.randint(0, N, (1,), generator=g))] = T  # pad_packed_sequence pads to the longest
        if N > 1 and min(lengths) == T:
            lengths[(lengths.index(T) + 1) % N] = max(1, T - 1 - int(torch.randint(0, T - 1, (1,), generator=g)))
    lstm = _lstm(D, H, L, bidirectional=True)
    weights = {
        name: 0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64) for name, p in lstm.named_parameters()
    }
    x = torch.randn(N, T, D, generator=g, dtype=torch.float64)
    for n, length in enumerate(lengths):
        x[n, length:] = 0.0
    lstm.load_state_dict(weights)
    with torch.no_grad():
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out_packed, (h_n, _) = lstm(packed)
        output, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)
    return {
        "x": x.numpy(),
        "lengths": np.array(lengths, dtype=np.int64),
        "num_layers": L,
        "weights": {k: v.numpy() for k, v in weights.items()},
        "output": output.numpy(),
        "h_n": h_n.numpy(),
    }


def _final_states_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = torch.Generator().manual_seed(seed)
    cases = {"L=2, N=3, T=5, D=3, H=4": _case(g, 3, 5, 3, 4, 2)}
    if hidden:
        cases["L=1, N=4, T=6, D=2, H=3"] = _case(g, 4, 6, 2, 3, 1)
        cases["L=3, N=5, T=7, D=4, H=2"] = _case(g, 5, 7, 4, 2, 3)
        cases["L=2, N=1, T=4 (one sequence, no padding)"] = _case(g, 1, 4, 3, 3, 2)
        cases["L=2, N=4, T=6, lengths sorted shortest first"] = _case(g, 4, 6, 2, 3, 2, lengths=[1, 2, 4, 6])
    return cases


def _final_states_run(fn, case):
    output, h_n = torch.from_numpy(case["output"]), torch.from_numpy(case["h_n"])
    return fn(output, h_n, torch.from_numpy(case["lengths"]))


def _direction(weights: dict[str, np.ndarray], layer: int, suffix: str, inputs: torch.Tensor) -> nn.LSTM:
    """A one-layer, one-direction nn.LSTM holding one direction's weights of ``layer``."""
    H = weights[f"weight_hh_l{layer}{suffix}"].shape[1]
    single = _lstm(inputs.shape[-1], H, 1, bidirectional=False)
    single.load_state_dict(
        {
            f"{name}_l0": torch.from_numpy(weights[f"{name}_l{layer}{suffix}"])
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
    )
    return single


@torch.no_grad()
def _reference(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The last layer's final forward and backward states, one direction and one sequence at a time."""
    x, lengths, L = torch.from_numpy(case["x"]), case["lengths"].tolist(), case["num_layers"]
    weights = case["weights"]
    inputs = x
    if L > 1:  # the last layer reads the (padded) output of the first L - 1 layers
        below = _lstm(x.shape[-1], weights["weight_hh_l0"].shape[1], L - 1, bidirectional=True)
        below.load_state_dict(
            {k: torch.from_numpy(v) for k, v in weights.items() if int(k.split("_l")[1].split("_")[0]) < L - 1}
        )
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        inputs, _ = pad_packed_sequence(below(packed)[0], batch_first=True, total_length=x.shape[1])
    forward, backward = _direction(weights, L - 1, "", inputs), _direction(weights, L - 1, "_reverse", inputs)
    h_fwd, h_bwd = [], []
    for n, length in enumerate(lengths):
        seq = inputs[n : n + 1, :length]  # (1, length, D_in): the real steps only
        h_fwd.append(forward(seq)[1][0][0, 0])
        h_bwd.append(backward(seq.flip(1))[1][0][0, 0])
    return torch.stack(h_fwd), torch.stack(h_bwd)


def _mistakes(case: dict) -> dict[str, list[tuple[torch.Tensor, str]]]:
    """The typical wrong readings of (output, h_n), for each returned state, with the message naming them."""
    output, h_n, lengths = (torch.from_numpy(case[k]) for k in ("output", "h_n", "lengths"))
    L, H, rows = case["num_layers"], h_n.shape[-1], torch.arange(output.shape[0])
    layout = "how h_n orders layers and directions is in PyTorch's documentation of nn.LSTM (Outputs: h_n)"
    both = [
        (h_n[0], f"it is h_n[0], a state of the FIRST layer, not of the last; {layout}"),
        (h_n[1], f"it is h_n[1], a state of the FIRST layer, not of the last; {layout}"),
    ]
    forward = [
        (h_n[-1], f"it is h_n[-1], which is not the forward direction's state; {layout}"),
        (
            output[:, -1, :H],
            (
                "it is output[:, -1, :H], the padded output's last column: for a sequence shorter "
                "than T that is padding (zeros), not the state at the sequence's own last step"
            ),
        ),
        (
            output[:, -1, H:],
            (
                "it is output[:, -1, H:], the BACKWARD half of the last column: the two directions are "
                "swapped, and for short rows that column is padding"
            ),
        ),
    ]
    backward = [
        (h_n[-2], f"it is h_n[-2], which is not the backward direction's state; {layout}"),
        (
            output[:, -1, H:],
            (
                "it is output[:, -1, H:]: the backward direction starts at the end and FINISHES at "
                "t = 0, so this column is its first step (and padding for short rows), not its final state"
            ),
        ),
        (
            output[rows, lengths - 1, H:],
            (
                "it is the backward state at step lengths - 1, where the backward direction STARTS "
                "(one step read), not where it finishes"
            ),
        ),
        (
            output[:, 0, :H],
            (
                "it is output[:, 0, :H], the FORWARD direction after one step: the two halves of the "
                "output's last axis are swapped"
            ),
        ),
    ]
    if L > 1:  # h_n.view(2, L, N, H)[:, -1] gets the backward state right (h_n[2L - 1]) but not the forward one
        forward.insert(
            0,
            (
                h_n[L - 1],
                (
                    f"it is h_n[L - 1] (layer {(L - 1) // 2}'s {('forward', 'backward')[(L - 1) % 2]} state): "
                    f"h_n was read as if it were direction-major; {layout}"
                ),
            ),
        )
    return {"h_forward": forward + both, "h_backward": backward + both}


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return close(got, expected, rtol=_RTOL, atol=_ATOL)


def _final_states_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        value = result_of(results, name, "final_states")
        N, H = case["output"].shape[0], case["h_n"].shape[-1]
        if isinstance(value, np.ndarray):
            hint = ""
            if value.shape == (2, N, H):
                hint = " It looks like the two states stacked in one tensor: return them as a tuple."
            elif value.shape == (N, 2 * H):
                hint = " It looks like the two states concatenated: return them as a tuple (h_forward, h_backward)."
            raise CheckFailure(
                f"final_states returned one tensor of shape {value.shape} on case '{name}'; it "
                f"should return a tuple (h_forward, h_backward), each (N, H) = ({N}, {H}).{hint}"
            )
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise CheckFailure(
                f"final_states should return a tuple (h_forward, h_backward), got "
                f"{type(value).__name__}{f' of length {len(value)}' if isinstance(value, (tuple, list)) else ''}"
            )
        got = {}
        for k, v in zip(("h_forward", "h_backward"), value):
            got[k] = as_tensor(v, f"{k} on case '{name}'", (N, H), "(N, H)")
            assert_dtype(got[k], torch.float64, f"{k} on case '{name}'")  # the case is float64
            got[k] = got[k].double()
        ref = dict(zip(("h_forward", "h_backward"), _reference(case)))
        mistakes = _mistakes(case)
        for key in ("h_forward", "h_backward"):
            named = [(message, wrong.double()) for wrong, message in mistakes[key]]
            message = first_named_mistake(got[key], ref[key], named, same=_close)
            if message:
                raise CheckFailure(
                    f"{key} is wrong on case '{name}' (lengths {case['lengths'].tolist()}, "
                    f"{case['num_layers']} layers): {message}."
                )
            assert_close(
                got[key],
                ref[key],
                f"{key} on case '{name}' (lengths {case['lengths'].tolist()})",
                rtol=_RTOL,
                atol=_ATOL,
                hint="The reference reruns the last layer one direction at a time on each sequence cut to "
                "its length: the states asked for are the LAST layer's, each direction's state where it "
                "finished reading.",
            )


FINAL_STATES = Exercise(
    "final_states", "final_states", visible_first(_final_states_cases), _final_states_run, _final_states_judge
)
check_final_states = FINAL_STATES.check
