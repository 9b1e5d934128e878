"""Exercise 4 of notebook 05: the bridge from a deep bidirectional encoder to a unidirectional decoder.

``final_states(h_n, c_n=None) -> (h_0, c_0)``.  ``h_n`` (and ``c_n``) are what
``nn.LSTM(D, H, num_layers=L, bidirectional=True, batch_first=True[, proj_size=P])`` or ``nn.GRU`` with the same
arguments (P = H) returns on a packed batch (``pack_padded_sequence(..., enforce_sorted=False)``)::

    h_n: (2L, N, P)   every layer's and direction's final state, in the order PyTorch's documentation gives
    c_n: (2L, N, H)   the LSTM's final cells (no projection: proj_size projects h_t only), or None for a GRU

The result starts the L-layer *unidirectional* decoder ``nn.LSTM(E, 2H, num_layers=L[, proj_size=2P])`` /
``nn.GRU(E, 2H, num_layers=L)``: layer l of the decoder starts from encoder layer l's two final states side by side,
forward first (the order ``output`` uses)::

    h_0[l, n] = [ h_fwd^(l)[n] ; h_bwd^(l)[n] ]   (L, N, 2P)
    c_0[l, n] = [ c_fwd^(l)[n] ; c_bwd^(l)[n] ]   (L, N, 2H), or None when c_n is None

Reading h_n's order is half the exercise (the notebook sends the learner to the documentation), so no message says
which row of ``h_n`` is right: a wrong reading is named by what it read, and located by which layer and direction
each returned half holds.  The other half is putting the two directions side by side without mixing rows (a view of
``(L, 2, N, P)`` as ``(L, N, 2P)`` is the same size and wrong) and telling h's size P from c's size H.

The reference does not read ``h_n``: every layer is rerun **one direction at a time**, each sequence on its own and
cut to its length, by a one-layer, one-direction module of the same kind (``nn.LSTM``, with its ``proj_size``, or
``nn.GRU``) holding that direction's weights; the backward direction reads the reversed sequence, and layer l + 1
reads the two directions of layer l side by side (forward first, as ``output`` holds them).  Named mistakes (each
tried only when the answer is wrong): ``h_n`` read direction-major (``h_n.view(2, L, N, P)``), the two halves swapped
(``[backward; forward]``), the layers in reverse order, a view that mixes the batch and direction axes
(``.view(L, N, 2P)`` of the stacked states), h and c exchanged, ``proj_size`` ignored (c_n split with h_n's feature
size), and any other state put in the wrong place (located: "h_0[1]'s forward half holds layer 0's backward state").

References: the PyTorch documentation of ``nn.LSTM`` (``h_n``'s layout, ``proj_size``) and ``nn.GRU``, and of
``torch.nn.utils.rnn.pack_padded_sequence``; pytorch/pytorch#4145 and #19675, where users ask exactly this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from course_lib.checks.core import CheckFailure, Exercise, LearnerError, result_of
from course_lib.checks.toolkit import as_tensor, assert_close, assert_dtype, close, first_named_mistake, visible_first

_RTOL, _ATOL = 1e-6, 1e-9
_MODULES = {"LSTM": nn.LSTM, "GRU": nn.GRU}
_DIRECTIONS = ("forward", "backward")
_LAYOUT = "How h_n orders layers and directions is in PyTorch's documentation of nn.LSTM / nn.GRU (Outputs: h_n)"
_PROJ = (
    "with proj_size = P the LSTM projects its output, h_t = W_hr (o_t * tanh(c_t)), so h_n has P features while "
    "c_n keeps the cell's H (nn.LSTM's documentation, proj_size): take each tensor's feature size from that tensor"
)


def _module(kind: str, D: int, H: int, L: int, bidirectional: bool, P: int = 0) -> nn.RNNBase:
    extra = {"proj_size": P} if P else {}
    return _MODULES[kind](
        D, H, num_layers=L, bidirectional=bidirectional, batch_first=True, dtype=torch.float64, **extra
    )


def _case(g: torch.Generator, kind: str, N: int, T: int, D: int, H: int, L: int, P: int = 0, lengths=None):
    """A padded batch, its lengths (max = T, unsorted), random weights, and the (h_n, c_n) the module returns."""
    if lengths is None:
        lengths = torch.randint(1, T + 1, (N,), generator=g).tolist()
        lengths[int(torch.randint(0, N, (1,), generator=g))] = T
        if N > 1 and min(lengths) == T:
            lengths[(lengths.index(T) + 1) % N] = max(1, T - 1 - int(torch.randint(0, T - 1, (1,), generator=g)))
    rnn = _module(kind, D, H, L, bidirectional=True, P=P)
    weights = {name: 0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64) for name, p in rnn.named_parameters()}
    x = torch.randn(N, T, D, generator=g, dtype=torch.float64)
    for n, length in enumerate(lengths):
        x[n, length:] = 0.0
    rnn.load_state_dict(weights)
    with torch.no_grad():
        state = rnn(pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False))[1]
    h_n, c_n = state if kind == "LSTM" else (state, None)
    return {
        "module": kind,
        "x": x.numpy(),
        "lengths": np.array(lengths, dtype=np.int64),
        "num_layers": L,
        "proj_size": P,
        "weights": {k: v.numpy() for k, v in weights.items()},
        "h_n": h_n.numpy(),  # (2L, N, P)
        "c_n": None if c_n is None else c_n.numpy(),  # (2L, N, H)
    }


def _final_states_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = torch.Generator().manual_seed(seed)
    cases = {
        "nn.LSTM, L=2, N=3, T=5, D=3, H=4": _case(g, "LSTM", 3, 5, 3, 4, 2),
        "nn.GRU, L=1, N=3, T=4, D=2, H=3": _case(g, "GRU", 3, 4, 2, 3, 1),
        "nn.LSTM with proj_size=2, L=2, N=3, T=5, D=3, H=4": _case(g, "LSTM", 3, 5, 3, 4, 2, P=2),
    }
    if hidden:
        cases["nn.LSTM, L=1, N=4, T=6, D=2, H=3"] = _case(g, "LSTM", 4, 6, 2, 3, 1)
        cases["nn.GRU, L=3, N=5, T=7, D=4, H=2"] = _case(g, "GRU", 5, 7, 4, 2, 3)
        cases["nn.LSTM with proj_size=3, L=3, N=4, T=6, D=2, H=5"] = _case(g, "LSTM", 4, 6, 2, 5, 3, P=3)
        cases["nn.LSTM, L=2, N=1, T=4 (one sequence, no padding)"] = _case(g, "LSTM", 1, 4, 3, 3, 2)
        cases["nn.GRU, L=2, N=4, T=6, lengths sorted shortest first"] = _case(g, "GRU", 4, 6, 2, 3, 2, 0, [1, 2, 4, 6])
    return cases


def _final_states_run(fn, case):
    c_n = None if case["c_n"] is None else torch.from_numpy(case["c_n"])
    return fn(torch.from_numpy(case["h_n"]), c_n)


def _direction(case: dict, layer: int, suffix: str, D_in: int) -> nn.RNNBase:
    """A one-layer, one-direction module of the case's kind holding one direction's weights of ``layer``."""
    weights = case["weights"]
    H = weights[f"bias_hh_l{layer}{suffix}"].shape[0] // (4 if case["module"] == "LSTM" else 3)
    single = _module(case["module"], D_in, H, 1, bidirectional=False, P=case["proj_size"])
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + (("weight_hr",) if case["proj_size"] else ())
    single.load_state_dict({f"{k}_l0": torch.from_numpy(weights[f"{k}_l{layer}{suffix}"]) for k in names})
    return single


def _last_state(module: nn.RNNBase, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(outputs (T, P), final h (P,), final c (H,) or None) of a one-layer, one-direction module on (1, T, D)."""
    out, state = module(seq)
    h, c = state if isinstance(module, nn.LSTM) else (state, None)
    return out[0], h[0, 0], None if c is None else c[0, 0]


@torch.no_grad()
def _reference(case: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Every layer's final (forward, backward) h (L, 2, N, P) and c (L, 2, N, H) or None, one sequence at a time."""
    x, lengths, L = torch.from_numpy(case["x"]), case["lengths"].tolist(), case["num_layers"]
    inputs, finals_h, finals_c = x, [], []
    for layer in range(L):
        directions = [_direction(case, layer, suffix, inputs.shape[-1]) for suffix in ("", "_reverse")]
        below, states_h, states_c = None, [], []
        for n, length in enumerate(lengths):
            seq = inputs[n : n + 1, :length]  # (1, length, D_in): the real steps only
            out_f, h_f, c_f = _last_state(directions[0], seq)
            out_b, h_b, c_b = _last_state(directions[1], seq.flip(1))  # reads the sequence from its end
            if below is None:
                below = torch.zeros(*inputs.shape[:2], 2 * out_f.shape[-1], dtype=inputs.dtype)
            below[n, :length] = torch.cat([out_f, out_b.flip(0)], dim=-1)  # (length, 2P), forward first
            states_h.append(torch.stack([h_f, h_b]))
            states_c.append(None if c_f is None else torch.stack([c_f, c_b]))
        finals_h.append(torch.stack(states_h, dim=1))  # (2, N, P)
        finals_c.append(None if states_c[0] is None else torch.stack(states_c, dim=1))  # (2, N, H)
        inputs = below  # layer + 1 reads both directions of this layer
    return torch.stack(finals_h), (None if finals_c[0] is None else torch.stack(finals_c))


def _side_by_side(states: torch.Tensor) -> torch.Tensor:
    """(L, 2, N, F) -> (L, N, 2F): each layer's forward and backward state concatenated, forward first."""
    return torch.cat([states[:, 0], states[:, 1]], dim=-1)


def _wrong_bridges(state: torch.Tensor, L: int) -> list[tuple[str, torch.Tensor]]:
    """The typical wrong bridges built from h_n or c_n (2L, N, F), each as the (L, N, 2F) it gives."""
    N, F = state.shape[1:]
    layer_major = state.reshape(L, 2, N, F)
    return [
        (
            "it reads the stacked states as direction-major (.view(2, L, N, F): all layers of one direction, then "
            "the other's). " + _LAYOUT,
            _side_by_side(state.reshape(2, L, N, F).transpose(0, 1)),
        ),
        (
            "the two halves are swapped: each layer is [backward; forward], while the decoder's layout (that of "
            "`output`) puts the forward direction first",
            _side_by_side(layer_major.flip(1)),
        ),
        (
            "the layers are in reverse order: decoder layer l must start from encoder layer l (layer 0 is the one "
            "that reads x; the top layer is the one whose states `output` holds)",
            _side_by_side(layer_major).flip(0),
        ),
        (
            "the two directions were joined by a view (or reshape) of the stacked states straight to (L, N, 2F): "
            "it has the right size, but it lays the directions' rows one after the other, so a decoder row takes "
            "halves of two different sequences. A view merges only NEIGHBOURING axes, in their memory order: which "
            "axis lies between the direction axis and the feature axis?",
            state.reshape(L, N, 2 * F),
        ),
    ]


def _locate(got: torch.Tensor, ref: torch.Tensor) -> str:
    """Which layer and direction the wrong halves of a returned (L, N, 2F) state hold ("" when none holds one)."""
    F, found = ref.shape[-1], []
    for layer in range(ref.shape[0]):
        for half in (0, 1):
            piece = got[layer, :, half * F : (half + 1) * F]
            if _close(piece, ref[layer, half]):
                continue
            holds = [
                f"layer {k}'s {_DIRECTIONS[d]} state"
                for k in range(ref.shape[0])
                for d in (0, 1)
                if _close(piece, ref[k, d])
            ]
            if holds:
                found.append(f"[{layer}]'s {_DIRECTIONS[half]} half holds {holds[0]}")
    return "; ".join(found)


def _raised(results: dict, name: str, case: dict) -> None:
    """Name the error of a learner who split c_n with h_n's feature size (only a proj_size case can show it)."""
    __tracebackhide__ = True
    value = results.get(name)
    if isinstance(value, LearnerError) and case["proj_size"] and "invalid for input of size" in value.message:
        raise CheckFailure(
            f"final_states raised {value.type} on case '{name}': {value.message}. Here h_n has "
            f"{case['h_n'].shape[-1]} features and c_n {case['c_n'].shape[-1]}: {_PROJ}."
        )


def _as_states(value: Any, name: str, case: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    __tracebackhide__ = True
    L, (_, N, P) = case["num_layers"], case["h_n"].shape
    H = P if case["c_n"] is None else case["c_n"].shape[-1]
    if isinstance(value, np.ndarray):
        raise CheckFailure(
            f"final_states returned one tensor of shape {value.shape} on case '{name}'; it should return a tuple "
            f"(h_0, c_0): h_0 (L, N, 2P) = ({L}, {N}, {2 * P}) and c_0 (L, N, 2H), or None when c_n is None."
        )
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        length = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise CheckFailure(f"final_states should return a tuple (h_0, c_0), got {type(value).__name__}{length}")
    h_0, c_0 = value
    if case["c_n"] is None:
        if c_0 is not None:
            raise CheckFailure(f"c_0 on case '{name}' (an nn.GRU: c_n is None) should be None; a GRU has no cell.")
    elif c_0 is None:
        raise CheckFailure(f"c_0 on case '{name}' is None, but this is an nn.LSTM: c_n is given, (2L, N, H).")
    shapes = {"h_0": (L, N, 2 * P), "c_0": (L, N, 2 * H)}
    other = {"h_0": ("c_0", 2 * H, "c_n"), "c_0": ("h_0", 2 * P, "h_n")}
    got = {}
    for key, v in (("h_0", h_0), ("c_0", c_0)):
        if v is None:
            continue
        partner, size, source = other[key]
        if isinstance(v, np.ndarray) and v.shape == (L, N, size) and size != shapes[key][-1]:
            raise CheckFailure(
                f"{key} on case '{name}' has shape {v.shape}, the size {partner} should have: is it built from "
                f"{source}, or with {source}'s feature size? {_PROJ}."
            )
        got[key] = as_tensor(v, f"{key} on case '{name}'", shapes[key], "(L, N, 2P)" if key == "h_0" else "(L, N, 2H)")
        assert_dtype(got[key], torch.float64, f"{key} on case '{name}'")  # the case is float64
    return got["h_0"].double(), got["c_0"].double() if "c_0" in got else None


def _judge_state(key: str, got: torch.Tensor, ref: torch.Tensor, state: torch.Tensor, other, where: str) -> None:
    """One returned state (L, N, 2F) against its reference (L, 2, N, F); ``other`` = (expected other state, name)."""
    __tracebackhide__ = True
    L = ref.shape[0]
    expected = _side_by_side(ref)
    named = _wrong_bridges(state, L)
    if other is not None:
        named.append((f"{key} holds the other state's values ({other[1]}): h and c are exchanged", other[0]))
    message = first_named_mistake(got, expected, named, same=_close)
    if message:
        raise CheckFailure(f"{key} is wrong on {where}: {message}" + ("" if message.endswith("?") else "."))
    located = _locate(got, ref)
    if located:
        last_only = L > 1 and all(_close(got[k], expected[-1]) for k in range(L))
        hint = " Every layer holds the LAST layer's states: decoder layer l starts from encoder layer l." * last_only
        raise CheckFailure(f"{key} is wrong on {where}: {key}{located}.{hint} {_LAYOUT}.")
    assert_close(got, expected, f"{key} on {where}", rtol=_RTOL, atol=_ATOL, letters="L N 2F")


def _final_states_judge(cases, results):
    __tracebackhide__ = True
    for name, case in cases.items():
        _raised(results, name, case)
        value = result_of(results, name, "final_states")
        L, proj = case["num_layers"], case["proj_size"]
        h_0, c_0 = _as_states(value, name, case)
        ref_h, ref_c = _reference(case)  # (L, 2, N, P), (L, 2, N, H) or None
        where = (
            f"case '{name}' (lengths {case['lengths'].tolist()}, {L} layer{'s' if L > 1 else ''}"
            + (f", proj_size {proj}" if proj else "")
            + ")"
        )
        same_size = ref_c is not None and ref_c.shape == ref_h.shape
        h_other = (_side_by_side(ref_c), "the cells, from c_n") if same_size else None
        _judge_state("h_0", h_0, ref_h, torch.from_numpy(case["h_n"]), h_other, where)
        if ref_c is not None:
            c_other = (_side_by_side(ref_h), "the outputs, from h_n") if same_size else None
            _judge_state("c_0", c_0, ref_c, torch.from_numpy(case["c_n"]), c_other, where)


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return close(got, expected, rtol=_RTOL, atol=_ATOL)


FINAL_STATES = Exercise(
    "final_states", "final_states", visible_first(_final_states_cases), _final_states_run, _final_states_judge
)
check_final_states = FINAL_STATES.check
