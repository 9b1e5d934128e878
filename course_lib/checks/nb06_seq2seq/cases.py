"""What notebook 06's cases are made of: the special token ids, the dtypes a case names, target rows that end
in <eos> and are padded (:func:`with_eos`), a decoder step's random weights (:func:`decoder_weights`, notebook 07's
too), torch's modules loaded with a case's weights (:func:`loaded`), and the GRU cell whose forward refuses
(:class:`WeightsOnlyGRUCell`) that the from-the-weights exercises receive.

A result crosses from the learner's kernel to the judge as plain data and back (the toolkit's
:func:`~course_lib.checks.toolkit.plain` and :func:`~course_lib.checks.toolkit.as_tensor`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.toolkit import randn
from course_lib.data.vocab import BOS, EOS, PAD, SPECIALS, UNK

__all__ = [
    "BOS_ID",
    "DTYPES",
    "EOS_ID",
    "PAD_ID",
    "UNK_ID",
    "WeightsOnlyGRUCell",
    "decoder_weights",
    "loaded",
    "with_eos",
]

PAD_ID, UNK_ID, BOS_ID, EOS_ID = (SPECIALS.index(t) for t in (PAD, UNK, BOS, EOS))
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def decoder_weights(g: torch.Generator, V: int, E: int, H: int) -> dict[str, np.ndarray]:
    """Random weights of a decoder step ('module.parameter' -> array): embedding (V, E), a GRU cell fed
    cat([embedding, context]) (E + H -> H), and the output layer (H -> V)."""
    return {
        "embedding.weight": randn(g, V, E),
        "cell.weight_ih": randn(g, 3 * H, E + H, scale=0.6),
        "cell.weight_hh": randn(g, 3 * H, H, scale=0.6),
        "cell.bias_ih": randn(g, 3 * H, scale=0.5),
        "cell.bias_hh": randn(g, 3 * H, scale=0.5),
        "out.weight": randn(g, V, H),
        "out.bias": randn(g, V, scale=0.5),
    }


class WeightsOnlyGRUCell(nn.GRUCell):
    """An ``nn.GRUCell`` whose forward raises: the exercises that compute the decoder's step from the cell's
    parameters (``context_gates``, ``decoder_step``) get this one, so a call of ``cell(...)`` says why it fails
    instead of passing unnoticed."""

    def forward(self, input, hx=None):  # noqa: A002 -- nn.GRUCell's own argument names
        raise RuntimeError(
            "this exercise computes the step from the cell's parameters (cell.weight_ih, cell.weight_hh, "
            "cell.bias_ih, cell.bias_hh), not by calling cell(...)"
        )


def loaded(modules: dict[str, nn.Module], case) -> tuple[nn.Module, ...]:
    """The modules with the case's weights ('module.parameter' -> array) copied in, in the case's dtype."""
    with torch.no_grad():
        for key, value in case["weights"].items():
            module, name = key.split(".")
            getattr(modules[module], name).copy_(torch.from_numpy(value))
    return tuple(m.to(DTYPES[case["dtype"]]) for m in modules.values())


def with_eos(g: torch.Generator, N: int, T: int, V: int, min_len: int = 1, mixed: bool = False) -> torch.Tensor:
    """N target rows of random content ending in <eos> and padded to T.  ``mixed``: the first row fills all T
    steps and the last is at most half as long, so padding is present and rows differ in length whatever the
    seed (the masked-loss mistakes only show on such a batch)."""
    lengths = torch.randint(min_len, T + 1, (N,), generator=g)
    if mixed:
        lengths[0], lengths[-1] = T, min(int(lengths[-1]), max(T // 2, 1))
    seqs = torch.randint(4, V, (N, T), generator=g)
    for row, n in enumerate(lengths.tolist()):
        seqs[row, n - 1] = EOS_ID
        seqs[row, n:] = PAD_ID
    return seqs
