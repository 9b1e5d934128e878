"""Exercise 4 of notebook 05: every layer's final states, read from the ``h_n`` of a deep, bidirectional RNN.

``final_states(h_n) -> (h_forward, h_backward)``, each (L, N, H): ``h_forward[l]`` is layer l's forward direction
after it has read each sequence up to its real end (step ``lengths[n] - 1``), ``h_backward[l]`` its backward
direction after reading the sequence back to step 0 (layer 0 reads x).  ``h_n`` is what
``nn.LSTM(D, H, num_layers=L, bidirectional=True, batch_first=True)`` (its ``h_n``, not ``c_n``) or ``nn.GRU`` with
the same arguments returns on a packed batch (``pack_padded_sequence(..., enforce_sorted=False)``)::

    h_n: (2L, N, H)   every layer's and direction's final state, in the order PyTorch's documentation gives

Reading that order is the exercise (the notebook sends the learner to the documentation; the padded ``output`` is
not given, and holds the last layer only), so no message of this check says which row of ``h_n`` is right: a wrong
reading is named by what it read, and located by which layer and direction each returned state holds.

The reference does not read ``h_n``: every layer is rerun **one direction at a time**, each sequence on its own and
cut to its length, by a one-layer, one-direction module of the same kind (``nn.LSTM`` or ``nn.GRU``) holding that
direction's weights; the backward direction reads the reversed sequence, and layer l + 1 reads the two directions
of layer l side by side (forward first, as ``output`` holds them).  Named mistakes (each tried only when the answer
is wrong): ``h_n`` read direction-major (``h_n.view(2, L, N, H)``), the two directions swapped, a view that mixes the
batch and feature axes (``h_n.view(L, N, 2, H)``), the last layer only (what ``output`` could give), and any other
state put in the wrong place (located: "h_forward[1] holds layer 0's backward state").

References: the PyTorch documentation of ``nn.LSTM`` and ``nn.GRU`` (``h_n``'s layout) and of
``torch.nn.utils.rnn.pack_padded_sequence``; pytorch/pytorch#4145 and #19675, where users ask exactly this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import as_tensor, assert_close, assert_dtype, close, first_named_mistake, visible_first

_RTOL, _ATOL = 1e-6, 1e-9
_MODULES = {"LSTM": nn.LSTM, "GRU": nn.GRU}
_DIRECTIONS = ("forward", "backward")
_LAYOUT = "How h_n orders layers and directions is in PyTorch's documentation of nn.LSTM / nn.GRU (Outputs: h_n)"


def _module(kind: str, D: int, H: int, L: int, bidirectional: bool) -> nn.RNNBase:
    return _MODULES[kind](D, H, num_layers=L, bidirectional=bidirectional, batch_first=True, dtype=torch.float64)


def _case(g: torch.Generator, kind: str, N: int, T: int, D: int, H: int, L: int, lengths: list[int] | None = None):
    """A padded batch, its lengths (max = T, unsorted), random weights, and the h_n the module returns on it."""
    if lengths is None:
        lengths = torch.randint(1, T + 1, (N,), generator=g).tolist()
        lengths[int(torch.randint(0, N, (1,), generator=g))] = T
        if N > 1 and min(lengths) == T:
            lengths[(lengths.index(T) + 1) % N] = max(1, T - 1 - int(torch.randint(0, T - 1, (1,), generator=g)))
    rnn = _module(kind, D, H, L, bidirectional=True)
    weights = {name: 0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64) for name, p in rnn.named_parameters()}
    x = torch.randn(N, T, D, generator=g, dtype=torch.float64)
    for n, length in enumerate(lengths):
        x[n, length:] = 0.0
    rnn.load_state_dict(weights)
    with torch.no_grad():
        h_n = rnn(pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False))[1]
    h_n = h_n[0] if kind == "LSTM" else h_n  # (h_n, c_n) for an LSTM
    return {
        "module": kind,
        "x": x.numpy(),
        "lengths": np.array(lengths, dtype=np.int64),
        "num_layers": L,
        "weights": {k: v.numpy() for k, v in weights.items()},
        "h_n": h_n.numpy(),  # (2L, N, H)
    }


def _final_states_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = torch.Generator().manual_seed(seed)
    cases = {
        "nn.LSTM, L=2, N=3, T=5, D=3, H=4": _case(g, "LSTM", 3, 5, 3, 4, 2),
        "nn.GRU, L=1, N=3, T=4, D=2, H=3": _case(g, "GRU", 3, 4, 2, 3, 1),
    }
    if hidden:
        cases["nn.LSTM, L=1, N=4, T=6, D=2, H=3"] = _case(g, "LSTM", 4, 6, 2, 3, 1)
        cases["nn.GRU, L=3, N=5, T=7, D=4, H=2"] = _case(g, "GRU", 5, 7, 4, 2, 3)
        cases["nn.LSTM, L=2, N=1, T=4 (one sequence, no padding)"] = _case(g, "LSTM", 1, 4, 3, 3, 2)
        cases["nn.GRU, L=2, N=4, T=6, lengths sorted shortest first"] = _case(g, "GRU", 4, 6, 2, 3, 2, [1, 2, 4, 6])
    return cases


def _final_states_run(fn, case):
    return fn(torch.from_numpy(case["h_n"]))


def _direction(case: dict, layer: int, suffix: str, D_in: int) -> nn.RNNBase:
    """A one-layer, one-direction module of the case's kind holding one direction's weights of ``layer``."""
    weights = case["weights"]
    single = _module(case["module"], D_in, weights[f"weight_hh_l{layer}{suffix}"].shape[1], 1, bidirectional=False)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    single.load_state_dict({f"{k}_l0": torch.from_numpy(weights[f"{k}_l{layer}{suffix}"]) for k in names})
    return single


def _last_state(module: nn.RNNBase, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(outputs (T, H), final state (H,)) of a one-layer, one-direction module on one sequence (1, T, D)."""
    out, h = module(seq)
    h = h[0] if isinstance(module, nn.LSTM) else h
    return out[0], h[0, 0]


@torch.no_grad()
def _reference(case: dict) -> torch.Tensor:
    """Every layer's final (forward, backward) states, (L, 2, N, H), one direction and one sequence at a time."""
    x, lengths, L = torch.from_numpy(case["x"]), case["lengths"].tolist(), case["num_layers"]
    inputs, finals = x, []
    for layer in range(L):
        directions = [_direction(case, layer, suffix, inputs.shape[-1]) for suffix in ("", "_reverse")]
        below = torch.zeros(*inputs.shape[:2], 2 * directions[0].hidden_size, dtype=inputs.dtype)
        states = []
        for n, length in enumerate(lengths):
            seq = inputs[n : n + 1, :length]  # (1, length, D_in): the real steps only
            out_f, h_f = _last_state(directions[0], seq)
            out_b, h_b = _last_state(directions[1], seq.flip(1))  # reads the sequence from its end
            below[n, :length] = torch.cat([out_f, out_b.flip(0)], dim=-1)  # (length, 2H), forward first
            states.append(torch.stack([h_f, h_b]))
        finals.append(torch.stack(states, dim=1))  # (2, N, H)
        inputs = below  # layer + 1 reads both directions of this layer
    return torch.stack(finals)  # (L, 2, N, H)


def _wrong_readings(h_n: torch.Tensor, L: int) -> list[tuple[str, tuple[torch.Tensor, torch.Tensor]]]:
    """The typical wrong readings of h_n (2L, N, H), each as the (h_forward, h_backward) it gives."""
    N, H = h_n.shape[1:]
    direction_major = h_n.reshape(2, L, N, H)
    swapped = h_n.reshape(L, 2, N, H).flip(1)
    mixed = h_n.reshape(L, N, 2, H)
    return [
        (
            "it reads h_n as direction-major (h_n.view(2, L, N, H): all layers of one direction, then the other's). "
            + _LAYOUT,
            (direction_major[0], direction_major[1]),
        ),
        (
            "the two directions are swapped: h_forward holds the backward states and h_backward the forward ones",
            (swapped[:, 0], swapped[:, 1]),
        ),
        (
            "it is h_n viewed as (L, N, 2, H) (or reshaped to (L, N, 2H) and split in halves): that view mixes the "
            "batch axis N with the direction axis, so the values are h_n's but in the wrong rows; a view only "
            "splits an axis in the order its entries are laid out",
            (mixed[:, :, 0], mixed[:, :, 1]),
        ),
    ]


def _locate(got: torch.Tensor, ref: torch.Tensor, direction: int) -> str:
    """Which other layer and direction the wrong layers of one returned state hold ("" when none holds one)."""
    found = []
    for layer in range(ref.shape[0]):
        if _close(got[layer], ref[layer, direction]):
            continue
        holds = [
            f"layer {k}'s {_DIRECTIONS[d]} state"
            for k in range(ref.shape[0])
            for d in (0, 1)
            if _close(got[layer], ref[k, d])
        ]
        if holds:
            found.append(f"[{layer}] holds {holds[0]}, not layer {layer}'s {_DIRECTIONS[direction]} state")
    return "; ".join(found)


def _as_pair(value: Any, name: str, L: int, N: int, H: int) -> dict[str, torch.Tensor]:
    __tracebackhide__ = True
    if isinstance(value, np.ndarray):
        raise CheckFailure(
            f"final_states returned one tensor of shape {value.shape} on case '{name}'; it should return a tuple "
            f"(h_forward, h_backward), each (L, N, H) = ({L}, {N}, {H})."
        )
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        length = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise CheckFailure(
            f"final_states should return a tuple (h_forward, h_backward), got {type(value).__name__}{length}"
        )
    got = {}
    for key, v in zip(("h_forward", "h_backward"), value):
        if isinstance(v, np.ndarray) and v.shape == (N, H) and L > 1:
            raise CheckFailure(
                f"{key} on case '{name}' has shape {v.shape}: one layer's states. The exercise asks for EVERY "
                f"layer's, (L, N, H) = ({L}, {N}, {H}); `output` would give you the last layer's only."
            )
        got[key] = as_tensor(v, f"{key} on case '{name}'", (L, N, H), "(L, N, H)")
        assert_dtype(got[key], torch.float64, f"{key} on case '{name}'")  # the case is float64
    return {k: v.double() for k, v in got.items()}


def _final_states_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        value = result_of(results, name, "final_states")
        h_n, L = torch.from_numpy(case["h_n"]), case["num_layers"]
        got = _as_pair(value, name, L, *h_n.shape[1:])
        ref = _reference(case)  # (L, 2, N, H)
        where = f"case '{name}' (lengths {case['lengths'].tolist()}, {L} layer{'s' if L > 1 else ''})"
        pair = torch.stack([got["h_forward"], got["h_backward"]])
        named = [(message, torch.stack(list(wrong))) for message, wrong in _wrong_readings(h_n, L)]
        message = first_named_mistake(pair, torch.stack([ref[:, 0], ref[:, 1]]), named, same=_close)
        if message:
            raise CheckFailure(f"(h_forward, h_backward) is wrong on {where}: {message}.")
        for d, key in enumerate(("h_forward", "h_backward")):
            located = _locate(got[key], ref, d)
            if located:
                last_only = L > 1 and all(_close(got[key][k], ref[-1, d]) for k in range(L))
                hint = " Every layer holds the LAST layer's state: the exercise asks for each layer's own." * last_only
                raise CheckFailure(f"{key} is wrong on {where}: {key}{located}.{hint} {_LAYOUT}.")
            assert_close(got[key], ref[:, d], f"{key} on {where}", rtol=_RTOL, atol=_ATOL, letters="L N H")


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return close(got, expected, rtol=_RTOL, atol=_ATOL)


FINAL_STATES = Exercise(
    "final_states", "final_states", visible_first(_final_states_cases), _final_states_run, _final_states_judge
)
check_final_states = FINAL_STATES.check
