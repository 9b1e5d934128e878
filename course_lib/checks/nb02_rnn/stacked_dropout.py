"""Check of ``stacked_rnn_dropout``: two dropout schemes for a stacked tanh RNN, told apart by their masks.

    stacked_rnn_dropout(x, layers, training, mask, variational):  a stack of tanh RNN layers started from zeros;
        every mask comes from the check's ``mask(shape)`` (a fresh inverted-dropout mask at each call), and dropping
        a tensor is multiplying it by one.
        variational=False  (Zaremba, Sutskever & Vinyals 2014): masks of shape (N, T, F), a fresh mask at every
                           step, on the non-recurrent connections only (the input, between layers, the output);
        variational=True   (Gal & Ghahramani 2016): masks of shape (N, F), drawn once per sequence and reused at
                           every step, on those connections AND on the recurrent one, h_{t-1} -> h_t;
        training=False     no mask at all.

A mask fixed over the sequence on h_{t-1} is a fixed thinning of W_hh's columns, (h ⊙ m) W_hh^T = h (W_hh diag m)^T:
one thinned network for the whole sequence, which is why Gal & Ghahramani may drop the recurrent connection and
Zaremba et al., whose masks change at every step, may not.

``run`` hands the learner a ``mask`` that records the shape of every call and draws from a generator seeded by the
case; the judge replays the same stream, so it knows every mask the learner received.  Which draw the learner used for
which connection is not part of the contract (the draws are independent and alike), so the reference is
``nn.RNNCell`` stepped with the masks at the places the scheme prescribes, under every assignment of the recorded
masks to those places (all assignments at once, stacked along the batch).  The mistakes are named in two layers:

* from the calls alone (whatever else is wrong): masks drawn at evaluation, none while training, a fresh mask at
  every step in the variational mode (or a whole-sequence mask there), per-step masks in the standard mode;
* from the values, one fault at a time: every placement of the recorded masks (a connection left out, a mask on the
  recurrent connection or not, a mask shared by two connections, the dropped state carried forward) is tried
  against the learner's output, and the assignment that matches with the fewest faults names them all.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of, together
from course_lib.checks.nb02_rnn.dropout import DROPOUT
from course_lib.checks.nb02_rnn.recurrence import cell_module
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    close,
    generator,
    show_difference,
    tensor,
    tolerance,
    visible_first,
)

__all__ = ["RNN_DROPOUT", "RNN_DROPOUT_ALONE", "check_stacked_rnn_dropout"]

_SEARCH_LIMIT = 40_000  # placements tried at most when naming a mistake from the values (a few batched passes)
_CHUNK = 4_096  # placements per batched pass


def _draw(g: torch.Generator, shape: tuple[int, ...], p: float, dtype: torch.dtype) -> torch.Tensor:
    """One inverted-dropout mask: each entry 0 with probability p, else 1 / (1 - p); float64 draws, cast."""
    keep = torch.rand(shape, generator=g, dtype=torch.float64) >= p
    return (keep.double() / (1 - p)).to(dtype)


def _stack_case(
    g: torch.Generator, N: int, T: int, D: int, H: int, L: int, training: bool, variational: bool, dtype=torch.float64
) -> dict:
    x = torch.randn(N, T, D, generator=g, dtype=torch.float64)
    layers = []
    for layer in range(L):
        fan_in = D if layer == 0 else H
        layers.append(
            [
                (0.8 * torch.randn(H, fan_in, generator=g, dtype=torch.float64)).to(dtype).numpy(),
                (0.8 * torch.randn(H, H, generator=g, dtype=torch.float64)).to(dtype).numpy(),
                (0.3 * torch.randn(H, generator=g, dtype=torch.float64)).to(dtype).numpy(),
            ]
        )
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
    return {
        "x": x.to(dtype).numpy(),
        "layers": layers,
        "training": training,
        "variational": variational,
        "p": 0.4,
        "seed": seed,
    }


def _stack_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    cases = {
        "variational, training, 2 layers, N=3, T=5, D=3, H=4": _stack_case(g, 3, 5, 3, 4, 2, True, True),
        "standard, training, 2 layers, N=3, T=5, D=3, H=4": _stack_case(g, 3, 5, 3, 4, 2, True, False),
        "variational, evaluation, 2 layers, N=2, T=4, D=3, H=4": _stack_case(g, 2, 4, 3, 4, 2, False, True),
        "standard, evaluation, 2 layers, N=2, T=4, D=3, H=4": _stack_case(g, 2, 4, 3, 4, 2, False, False),
        "variational, training, 1 layer, N=3, T=4, D=2, H=3": _stack_case(g, 3, 4, 2, 3, 1, True, True),
        "float32, variational, training, 2 layers": {
            **_stack_case(g, 3, 4, 3, 4, 2, True, True, torch.float32),
            "kind": "dtype",
        },
    }
    if hidden:
        cases["variational, training, 3 layers, N=4, T=7, D=5, H=6"] = _stack_case(g, 4, 7, 5, 6, 3, True, True)
        cases["standard, training, 3 layers, N=4, T=6, D=2, H=5"] = _stack_case(g, 4, 6, 2, 5, 3, True, False)
        cases["standard, training, 1 layer, N=2, T=3, D=4, H=3"] = _stack_case(g, 2, 3, 4, 3, 1, True, False)
        cases["variational, evaluation, 3 layers, N=1, T=3, D=2, H=5"] = _stack_case(g, 1, 3, 2, 5, 3, False, True)
        cases["float32, standard, training, 2 layers"] = {
            **_stack_case(g, 2, 6, 2, 4, 2, True, False, torch.float32),
            "kind": "dtype",
        }
    return cases


def _stack_run(fn, case):
    dtype = tensor(case["x"]).dtype
    g, calls = torch.Generator().manual_seed(case["seed"]), []

    def mask(*shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        shape = tuple(int(s) for s in shape)
        calls.append(shape)
        return _draw(g, shape, case["p"], dtype)

    layers = [tuple(tensor(w) for w in layer) for layer in case["layers"]]
    out = fn(tensor(case["x"]), layers, case["training"], mask, case["variational"])
    return out, calls


# ---- the connections, the placements and the reference ---------------------------------------------------------


def _connections(L: int, recurrent: bool) -> list[tuple[str, int]]:
    """The places a mask can go: ("input", 0), ("up", l) for the states of layer l, ("recurrent", l)."""
    places = [("input", 0)] + [("up", layer) for layer in range(L)]
    return places + [("recurrent", layer) for layer in range(L)] if recurrent else places


def _width(place: tuple[str, int], D: int, H: int) -> int:
    return D if place[0] == "input" else H


def _stacked(x, layers, masks: dict, P: int, carried: bool = False) -> torch.Tensor:
    """nn.RNNCell stepped layer by layer, P placements at once: masks[place] is (P, N, F), (P, N, T, F) or None.

    Non-recurrent places multiply the whole (N, T, F) tensor (an (N, F) mask at every step); a recurrent one
    multiplies h_{t-1} as step t reads it (its step t slice if it is (N, T, H)), or, ``carried``, the state h_t
    that the cell computed, which is then both carried forward and sent up.  Returns (P, N, T, H)."""
    N, T, _ = x.shape

    def drop(t, m):  # t (P, N, T, F)
        return t if m is None else t * (m.unsqueeze(2) if m.dim() == 3 else m)

    def at(m, step):  # the recurrent mask of step t: (P, N, H)
        return m if m.dim() == 3 else m[:, :, step]

    out = drop(x.expand(P, *x.shape), masks.get(("input", 0)))
    with torch.no_grad():
        for layer, weights in enumerate(layers):
            cell, rec = cell_module(*weights), masks.get(("recurrent", layer))
            h, states = torch.zeros(P * N, weights[1].shape[0], dtype=x.dtype), []
            for step in range(T):
                h_in = h if rec is None or carried else h * at(rec, step).reshape(P * N, -1)
                h = cell(out[:, :, step].reshape(P * N, -1), h_in)  # (P N, H)
                if rec is not None and carried:
                    h = h * at(rec, step).reshape(P * N, -1)
                states.append(h.reshape(P, N, -1))
            out = drop(torch.stack(states, dim=2), masks.get(("up", layer)))  # (P, N, T, H)
    return out


def _matches(got, x, layers, recorded, options: dict, carried: bool = False):
    """The placements (place -> index of a recorded mask, or None) under which the output equals ``got``.

    ``options[place]`` lists what a place may take; every combination is tried, batched along a leading axis."""
    places = list(options)
    combos = list(itertools.product(*(options[place] for place in places)))
    return _matching(got, x, layers, recorded, places, combos, carried)


def _matching(got, x, layers, recorded, places, combos, carried: bool = False):
    """The combinations (one entry per place: a recorded mask's index, or None) under which the output is ``got``."""
    N, T, _ = x.shape
    recorded = [m if m.dim() == 3 else m.unsqueeze(1).expand(N, T, m.shape[-1]) for m in recorded]  # (N, T, F)
    found = []
    tol = tolerance(x.dtype)
    for start in range(0, len(combos), _CHUNK):
        chunk = combos[start : start + _CHUNK]
        masks = {}
        for i, place in enumerate(places):
            picks = [c[i] for c in chunk]
            if all(pick is None for pick in picks):
                continue
            ones = torch.ones_like(next(recorded[pick] for pick in picks if pick is not None))
            masks[place] = torch.stack([ones if pick is None else recorded[pick] for pick in picks])
        out = _stacked(x, layers, masks, len(chunk), carried)
        for combo, candidate in zip(chunk, out):
            if close(got, candidate, **tol):
                found.append(dict(zip(places, combo)))
    return found


# ---- naming ------------------------------------------------------------------------------------------------------


def _place_name(place: tuple[str, int], L: int) -> str:
    kind, layer = place
    if kind == "input":
        return "the input x of the first layer"
    if kind == "recurrent":
        return f"the recurrent connection h_(t-1) -> h_t of layer {layer + 1}"
    return (
        "the last layer's output (to the read-out)" if layer == L - 1 else f"the states of layer {layer + 1} going up"
    )


def _list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


_RECURRENT_STANDARD = (
    "in the standard (variational=False) mode a mask reaches the recurrent connection h_(t-1) -> h_t ({where}). "
    "Its masks change from step to step: what do T fresh masks do to what the state carries from step 1 to step T? "
    "Which scheme may put a mask on that connection, and why?"
)
_RECURRENT_MISSING = (
    "in the variational mode {where} {verb} no mask. A mask drawn once per sequence is the same at every step: "
    "what does multiplying h_(t-1) by a fixed mask do to W_hh, and why is that harmless where a fresh mask was not?"
)


def _faults(placement: dict, variational: bool, L: int, carried: bool) -> list[str]:
    """What a matching placement gets wrong, in the notebook's words, most telling first."""
    faults = []
    recurrent = [p for p in placement if p[0] == "recurrent"]
    if not variational and any(placement[p] is not None for p in recurrent):
        where = _list([f"layer {p[1] + 1}" for p in recurrent if placement[p] is not None])
        faults.append(_RECURRENT_STANDARD.format(where=f"in {where}"))
    if variational:
        missing = [p for p in recurrent if placement[p] is None]
        if missing:
            faults.append(
                _RECURRENT_MISSING.format(
                    where=_list([_place_name(p, L) for p in missing]), verb="has" if len(missing) == 1 else "have"
                )
            )
    if carried:
        faults.append(
            "the recurrent mask multiplies h_t after the cell, and the dropped state is carried forward AND sent "
            "up: the recurrent mask also drops what goes up to the next layer. Which arrow does that mask belong "
            "to, and at which point of step t does a value cross it?"
        )
    left = [p for p in placement if p[0] != "recurrent" and placement[p] is None]
    if left:
        verb = "is" if len(left) == 1 else "are"
        faults.append(
            f"{_list([_place_name(p, L) for p in left])} {verb} not dropped (no mask reaches it). A value "
            f"crosses such an arrow once, at its own step: is the scheme's mask sound there, and what would keep "
            f"it off?"
        )
    used = Counter(i for i in placement.values() if i is not None)
    for index, count in used.items():
        if count > 1:
            shared = [_place_name(p, L) for p in placement if placement[p] == index]
            faults.append(
                f"one mask (call {index + 1} of mask) is used for {_list(shared)}: the contract asks for one "
                f"mask per connection, none shared. What does one mask on two places do to their units?"
            )
    return faults


def _from_calls(calls, case, N: int, T: int, D: int, H: int, L: int) -> str | None:
    """A mistake the calls of mask show by themselves, whatever else is wrong, or None."""
    training, variational = case["training"], case["variational"]
    if not training:
        if calls:
            return (
                f"dropout is left on at evaluation (training=False): mask was called {len(calls)} time(s). "
                f"Evaluation (model.eval()) uses every unit: no mask at all."
            )
        return None
    if not calls:
        return "no dropout at all while training (mask was never called)."
    allowed = {(N, D), (N, H)} if variational else {(N, T, D), (N, T, H)}
    per_seq = [c for c in calls if len(c) == 2 and c[0] == N]  # (N, F): once per sequence, or once per step
    whole = [c for c in calls if len(c) == 3 and c[:2] == (N, T)]  # (N, T, F): a different mask at every step
    expected = 2 * L + 1 if variational else L + 1
    if variational and whole:
        return (
            f"in the variational mode you drew {len(whole)} mask(s) of a whole sequence's shape "
            f"{whole[0]}: such a mask differs from step to step. Gal & Ghahramani's masks have shape (N, F): "
            f"drawn once per sequence, the same at every one of the T = {T} steps."
        )
    if variational and len(per_seq) - expected >= T - 1:  # at least one connection drawn T times, not once
        return (
            f"a fresh mask at every step: mask was called {len(per_seq)} times for one sequence of T = {T} "
            f"steps through {L} layer(s). In the variational mode each connection's mask is drawn once per "
            f"sequence and the same mask is used at every step."
        )
    if not variational and per_seq and len(whole) == L + 1:
        return _RECURRENT_STANDARD.format(
            where=f"{len(per_seq)} mask(s) of shape {per_seq[0]} beside its {L + 1} sequence masks"
        )
    if not variational and per_seq:
        return (
            f"in the standard mode you drew {len(per_seq)} mask(s) of shape {per_seq[0]}: its masks have "
            f"the shape (N, T, F) of the whole tensor they drop, so that each step gets its own."
        )
    odd = [c for c in calls if c not in allowed]
    if odd:
        wanted = "(N, F)" if variational else "(N, T, F)"
        return (
            f"mask was asked for shape {odd[0]}; in the {'variational' if variational else 'standard'} mode "
            f"every mask has the shape {wanted} (N = {N}, T = {T}, F = {D} for the input, {H} for states)."
        )
    return None


def _assignments(options: dict) -> int:
    return math.prod(len(v) for v in options.values())


def _bijections(places: list, recorded, D: int, H: int) -> list[tuple]:
    """Every assignment of the recorded masks to the places, one each, a mask to a place of its width."""
    groups = {}
    for place in places:
        groups.setdefault(_width(place, D, H), []).append(place)
    per_width = [
        [
            dict(zip(group, perm))
            for perm in itertools.permutations([i for i, m in enumerate(recorded) if m.shape[-1] == width], len(group))
        ]
        for width, group in groups.items()
    ]
    combos = []
    for parts in itertools.product(*per_width):
        merged = {k: v for part in parts for k, v in part.items()}
        combos.append(tuple(merged[place] for place in places))
    return combos


def _bijective_match(got, x, layers, recorded, L: int, D: int, H: int, variational: bool) -> bool:
    places = _connections(L, variational)
    return bool(_matching(got, x, layers, recorded, places, _bijections(places, recorded, D, H)))


def _stack_judge(cases, results):
    for name, case in cases.items():
        x = tensor(case["x"])
        layers = [tuple(tensor(w) for w in layer) for layer in case["layers"]]
        training, variational = case["training"], case["variational"]
        N, T, D = x.shape
        H, L = layers[0][1].shape[0], len(layers)
        out, calls = result_of(results, name, "stacked_rnn_dropout")
        got = as_tensor(out, f"the output on '{name}'")
        where = f"case '{name}'"
        calls = [tuple(int(s) for s in c) for c in calls]
        message = _from_calls(calls, case, N, T, D, H, L)
        if message:
            raise CheckFailure(f"{where}: {message}")
        if tuple(got.shape) != (N, T, H):
            raise CheckFailure(f"{where}: the output has shape {tuple(got.shape)}; expected (N, T, H) = {(N, T, H)}.")
        assert_dtype(got, x.dtype, f"the output on '{name}'")
        g = torch.Generator().manual_seed(case["seed"])
        recorded = [_draw(g, c, case["p"], x.dtype) for c in calls]
        if not training:
            expected = _stacked(x, layers, {}, 1)[0]
            assert_close(
                got,
                expected,
                f"the output on '{name}' (compared with nn.RNNCell layer by layer)",
                **tolerance(x.dtype),
                hint="Each layer starts from h_0 = 0; at evaluation nothing is dropped.",
            )
            continue
        wanted = Counter(
            ((N, _width(p, D, H)) if variational else (N, T, _width(p, D, H))) for p in _connections(L, variational)
        )
        places = _connections(L, variational)
        if Counter(calls) == wanted and math.factorial(len(places)) <= _SEARCH_LIMIT:
            if _matching(got, x, layers, recorded, places, _bijections(places, recorded, D, H)):
                continue
        # one fault at a time: any recorded mask (or none) at any place, the recurrent places in both modes
        options = {
            p: [None]
            + [
                i
                for i, m in enumerate(recorded)
                if m.shape[-1] == _width(p, D, H) and (p[0] == "recurrent" or m.dim() == (2 if variational else 3))
            ]
            for p in _connections(L, True)
        }
        found, carried = [], False
        if 2 * _assignments(options) <= _SEARCH_LIMIT:
            found = _matches(got, x, layers, recorded, options)
            if not found and any(len(v) > 1 for p, v in options.items() if p[0] == "recurrent"):
                found, carried = _matches(got, x, layers, recorded, options, carried=True), True
        if not found and 2 * _assignments(options) <= _SEARCH_LIMIT:
            unscaled = [(m != 0).to(m.dtype) for m in recorded]  # a mask used as 0 / 1
            if _matches(got, x, layers, unscaled, options) or _bijective_match(
                got, x, layers, unscaled, L, D, H, variational
            ):
                raise CheckFailure(
                    f"{where}: the kept units are not scaled: the mask is used as 0 / 1 (its non-zero entries made "
                    f"1), which lowers each unit's expected value to (1 - p) times its own. What do the kept "
                    f"entries of a mask that mask(shape) returns hold?"
                )
        faults = min((_faults(p, variational, L, carried) for p in found), key=len, default=None)
        if faults:
            raise CheckFailure(f"{where}: " + "\n  ".join(faults))
        if faults == []:  # the right values, from more masks than the scheme's connections need
            raise CheckFailure(
                f"{where}: the values are right, but mask was called {len(calls)} times where the "
                f"{'variational' if variational else 'standard'} scheme's {sum(wanted.values())} connections need "
                f"one mask each: draw a mask only for a connection that uses it (the check reads your calls)."
            )
        scheme = "variational" if variational else "standard"
        raise CheckFailure(
            f"{where}: the output matches no placement of the {len(calls)} mask(s) you drew "
            f"(each at a connection, or none), compared with nn.RNNCell stepped layer by layer "
            f"(the {scheme} scheme). Each layer starts from h_0 = 0 and reads the states of the layer below; a "
            f"dropped tensor is the tensor times its mask.\n  "
            + show_difference(got, _stacked(x, layers, {}, 1)[0], x.dtype)
            + " (the differences are from the stack without any mask)"
        )


RNN_DROPOUT_ALONE = Exercise(
    "stacked_rnn_dropout", "stacked_rnn_dropout", visible_first(_stack_cases), _stack_run, _stack_judge
)
# exercises 8 and 9 are graded as one: dropout, the one idea the stack's masks are made of, is checked first
RNN_DROPOUT = together(RNN_DROPOUT_ALONE, DROPOUT)

check_stacked_rnn_dropout = RNN_DROPOUT.check
