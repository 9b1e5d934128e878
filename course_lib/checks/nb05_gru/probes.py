"""Probe cases of the GRU step: gates switched off or fully on through their biases, to say *where* a wrong
``gru_cell`` goes wrong when no formula of :mod:`.variants` reproduces it.

With the gate order r, z, n (rows ``0:H``, ``H:2H``, ``2H:3H``) and a bias of ±40 added to a gate's rows of
``bias_ih``, sigmoid gives exactly 0 or 1 in float64, so the step reduces to one part of the equations::

    z = 1:          h_t = h_{t-1}                                   (the update keeps the old state)
    z = 0, r = 0:   h_t = n_t = tanh(W_in x_t + b_in)               (the candidate's input part alone)
    z = 0, r = 1:   h_t = n_t = tanh(W_in x_t + b_in + W_hn h_{t-1} + b_hn)   (its hidden part added whole)
    z = 0:          h_t = n_t                                       (the reset between 0 and 1)

The expected values always come from ``nn.GRUCell`` on the probe's own weights; a probe only says which part
disagrees.  :func:`locate` reads the probes in that order and returns the first statement that holds.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["PROBES", "saturate", "locate"]

_SAT = 40.0  # sigmoid(-40) = 4e-18 and sigmoid(40) = 1 in float64: a gate switched off or fully on

# probe name -> the bias added to the r and z rows of bias_ih (a gate not named is left free)
PROBES = {
    "probe: update gate on (z = 1)": {"z": _SAT},
    "probe: z = 0, reset off (r = 0)": {"z": -_SAT, "r": -_SAT},
    "probe: z = 0, reset on (r = 1)": {"z": -_SAT, "r": _SAT},
    "probe: z = 0, reset free": {"z": -_SAT},
}
_ROWS = {"r": 0, "z": 1}


def saturate(weights: dict[str, np.ndarray], gates: dict[str, float]) -> dict[str, np.ndarray]:
    """A copy of ``weights`` (``gru_weights``' dict) with each named gate's rows of ``bias_ih`` shifted."""
    bias = weights["bias_ih"].copy()
    H = bias.shape[0] // 3
    for gate, shift in gates.items():
        bias[_ROWS[gate] * H : (_ROWS[gate] + 1) * H] += shift
    return {**weights, "bias_ih": bias}


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    return tuple(got.shape) == tuple(expected.shape) and bool(
        torch.allclose(got.double(), expected, rtol=1e-7, atol=1e-9)
    )


def _candidate_statement(got: torch.Tensor, expected: torch.Tensor) -> str:
    """What the candidate n computed with the reset off looks like, when that can be told from the values."""
    g = got.double()
    if bool(g.abs().max() < 1e-12):
        return " Yours is 0 everywhere there: the reset switched off more than the hidden part of n."
    pre = _atanh(expected)  # the pre-activation nn.GRUCell's tanh received
    if _close(g, torch.sigmoid(pre)):
        return " Yours is that pre-activation through a sigmoid: the candidate n uses tanh."
    if _close(g, pre):
        return " Yours is that pre-activation with no activation at all: the candidate n uses tanh."
    return ""


def _atanh(t: torch.Tensor) -> torch.Tensor:
    return torch.atanh(t.double().clamp(-1 + 1e-15, 1 - 1e-15))


def _constant(ratio: torch.Tensor) -> float | None:
    """The one value every entry of ``ratio`` holds (to 1e-6), or None."""
    if not bool(torch.isfinite(ratio).all()):
        return None
    c = float(ratio.mean())
    return c if bool(torch.allclose(ratio, torch.full_like(ratio, c), rtol=1e-6, atol=1e-6)) else None


def _gate_value(name: str, value: float | None, meant: int) -> str:
    if value is None or abs(value - meant) < 1e-6:
        return ""
    return (
        f" Your {name} is {value:.6g} there, where its bias of {'+' if meant else '-'}{_SAT:g} drives a sigmoid to "
        f"{meant}: {name}'s activation must be a sigmoid."
    )


def locate(probes: dict[str, tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]]) -> str:
    """``Where:`` the first probe that fails says, or "" when a probe gave no result.

    probes[name] = (the learner's h_t or None, nn.GRUCell's h_t, h_{t-1}) for every name of :data:`PROBES`; the
    probes share x_t, h_{t-1} and the weights, and differ only in the r and z rows of bias_ih.
    """
    if any(probes[name][0] is None for name in PROBES):
        return ""
    z1, r0, r1, free = (tuple(t.double() for t in probes[name]) for name in PROBES)
    if not _close(*z1[:2]):
        return (
            "Where: with the update gate fully on (z = 1, through its bias) h_t must be h_{t-1} unchanged, and yours "
            "is not: look at how z mixes h_{t-1} and the candidate n (which of the two does z = 1 keep?)."
        )
    if not _close(*r0[:2]):
        got, n, h = r0
        z = _constant((got - n) / (h - n))  # got = (1 - z) n + z h with the right n: which z?
        if z is not None:
            return "Where: with its bias at -40 the update gate z must be 0, so that h_t = n." + _gate_value("z", z, 0)
        return (
            "Where: with z = 0 and the reset off (r = 0), h_t is the candidate n with its hidden part switched off, "
            "and yours differs: the candidate's input part (W_in x_t + b_in: rows 2H:3H of weight_ih and bias_ih) or "
            "its activation." + _candidate_statement(got, n)
        )
    if not _close(*r1[:2]):
        inner = _atanh(r1[1]) - _atanh(r0[1])  # the hidden part W_hn h + b_hn, which r = 1 lets through whole
        r = _constant((_atanh(r1[0]) - _atanh(r0[1])) / inner)
        if r is not None and r != 0:
            return "Where: with its bias at +40 the reset gate r must be 1, so that n gets its hidden part whole." + (
                _gate_value("r", r, 1)
            )
        saturated = float((r1[0].abs() > 1 - 1e-9).double().mean()) >= 0.5 and not bool((r1[1].abs() > 1 - 1e-9).any())
        if saturated:
            return (
                "Where: with its bias at +40 the reset gate r must be 1; your candidate n is saturated at ±1 there, as "
                "if r were far above 1: r's activation must be a sigmoid."
            )
        return (
            "Where: with z = 0 the candidate n is right when the reset is off (r = 0) and wrong when it is fully on "
            "(r = 1): the hidden part of n (W_hn h_{t-1} + b_hn: rows 2H:3H of weight_hh and bias_hh) is wrong."
        )
    if not _close(*free[:2]):
        return (
            "Where: with z = 0 the candidate n is right when the reset is fully off or fully on and wrong in between: "
            "the reset gate r's own value (its rows 0:H, its sigmoid) or where r multiplies."
        )
    return (
        "Where: every probe with the update gate saturated (z = 0 or 1) is right, so n and the mixing are right: "
        "the update gate z's own value is wrong (its rows H:2H of the weights and biases, its sigmoid)."
    )
