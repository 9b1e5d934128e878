"""The stand-in decoder the decoding checks run (it is not the notebook's decoder), and the judge's replay of it.

``decode_train``, ``greedy_decode`` and ``beam_search`` are checked on :class:`ToyDecoder`, a small random
recurrent model with the notebook's call contract ``decoder(y_prev, h, context)``.  :func:`replay` feeds it
given inputs in float64, the reference each of those checks compares the learner's outputs with, and
:func:`shift_right` makes the inputs of teacher forcing (<bos>, then the tokens but the last).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks.compare import describe
from course_lib.checks.nb06_seq2seq.cases import BOS_ID, DTYPES, EOS_ID, PAD_ID, UNK_ID
from course_lib.checks.toolkit import randn

NEVER = 10**6  # "this row never ends" in a ToyDecoder's end-of-sequence schedule


class ToyDecoder(nn.Module):
    """A small random recurrent decoder with the notebook's contract ``decoder(y_prev, h, context)``.

    The checks of ``decode_train``, ``greedy_decode`` and ``beam_search`` call the learner's loop with this
    model, so those exercises do not depend on the learner's own ``decoder_step``.

    state ``h`` and ``context``: (N, 2 + R), laid out as [row code, step, r] (h_0 = context, step 0)::

        r_t    = tanh(r_{t-1} A^T + B[y_prev] + c C^T)      (c = context[:, 2:])
        logits = r_t W^T + b                                  <pad>, <unk>, <bos> at -1e4: never chosen

    With an end schedule ``ends`` (one step per row code) the <eos> logit is +50 from step ``ends[code]``
    on and -50 before it, so each row of a batch ends at its own, known step.  With a ``pads`` schedule the
    <pad> logit is +30 at step ``pads[code]``: the model emits <pad> as an ordinary token there (-1 never).
    ``widest`` counts the most rows one call was given (a beam of width k never feeds more than k hypotheses);
    ``calls`` records every call's inputs and outputs (:func:`trace` reads a search from them).
    """

    def __init__(self, model: dict[str, Any]):
        super().__init__()
        dtype = DTYPES[model["dtype"]]
        self.A, self.B, self.C, self.W, self.b = (torch.from_numpy(model[k]).to(dtype) for k in "ABCWb")
        self.ends = None if model.get("ends") is None else torch.from_numpy(model["ends"])
        self.pads = None if model.get("pads") is None else torch.from_numpy(model["pads"])
        self.R, self.V = self.A.shape[0], self.W.shape[0]
        self.widest = 0  # the most rows (sequences, or hypotheses of a beam) fed to one call so far
        self.calls: list[tuple[torch.Tensor, ...]] = []  # (y_prev, h, logits, h_new) of every call, detached

    def forward(self, y_prev: torch.Tensor, h: torch.Tensor, context: torch.Tensor):
        self._validate(y_prev, h, context)
        self.widest = max(self.widest, int(y_prev.shape[0]))
        code, step, r = h[:, 0], h[:, 1], h[:, 2:]
        r_new = torch.tanh(r @ self.A.T + self.B[y_prev] + context[:, 2:] @ self.C.T)  # (N, R)
        logits = r_new @ self.W.T + self.b  # (N, V)
        junk = torch.zeros(self.V, dtype=logits.dtype)
        junk[[PAD_ID, UNK_ID, BOS_ID]] = -1e4
        logits = logits + junk
        if self.ends is not None:
            ends = self.ends[code.round().long().clamp(0, len(self.ends) - 1)]
            eos = torch.where(step >= ends.to(step.dtype), 50.0, -50.0).to(logits.dtype)
            logits = logits + F.one_hot(torch.tensor(EOS_ID), self.V).to(logits.dtype) * eos[:, None]
        if self.pads is not None:  # <pad> chosen as an ordinary token at its scheduled step (+30 < the <eos> +50)
            pads = self.pads[code.round().long().clamp(0, len(self.pads) - 1)]
            logits[:, PAD_ID] = torch.where(step == pads.to(step.dtype), 30.0, -1e4).to(logits.dtype)
        h_new = torch.cat([code[:, None], step[:, None] + 1, r_new], dim=1)
        self.calls.append(tuple(t.detach().clone() for t in (y_prev, h, logits, h_new)))
        return logits, h_new

    def _validate(self, y_prev, h, context) -> None:
        width = 2 + self.R
        if not isinstance(y_prev, torch.Tensor) or y_prev.dtype != torch.long or y_prev.dim() != 1:
            raise TypeError(
                f"the decoder was called with y_prev = {describe(y_prev)}; it takes the previous token "
                f"ids of every row: a LongTensor of shape (N,)"
            )
        for what, value in (("h", h), ("context", context)):
            if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[1] != width:
                raise ValueError(
                    f"the decoder was called with {what} = {describe(value)}; expected a tensor of shape "
                    f"(N, {width}) like the context you were given"
                )
            if value.dtype != self.A.dtype:
                raise TypeError(
                    f"the decoder was called with {what} of dtype {value.dtype}, but the context it was "
                    f"given is {self.A.dtype}: keep the context's dtype for the state"
                )
        if not (y_prev.shape[0] == h.shape[0] == context.shape[0]):
            raise ValueError(
                f"the decoder was called with {y_prev.shape[0]} previous tokens, a state of "
                f"{h.shape[0]} rows and a context of {context.shape[0]} rows; all three need one row per "
                f"sequence being decoded (expand the context to the number of rows)"
            )
        if ((y_prev < 0) | (y_prev >= self.V)).any():
            raise ValueError(f"the decoder was called with token ids {y_prev.tolist()} outside [0, {self.V})")


def toy_model(
    g: torch.Generator,
    V: int,
    R: int,
    dtype: str,
    scale: float = 1.5,
    ends: list[int] | None = None,
    pads: list[int] | None = None,
) -> dict[str, Any]:
    model = {
        "A": randn(g, R, R, scale=0.8 / R**0.5),
        "B": randn(g, V, R),
        "C": randn(g, R, R, scale=0.5),
        "W": randn(g, V, R, scale=scale),
        "b": randn(g, V, scale=0.3),
        "dtype": dtype,
        "ends": None if ends is None else np.array(ends, dtype=np.int64),
    }
    if pads is not None:
        model["pads"] = np.array(pads, dtype=np.int64)
    return model


def toy_context(g: torch.Generator, codes: list[int], R: int, dtype: str) -> np.ndarray:
    context = torch.cat(
        [
            torch.tensor(codes, dtype=torch.float64)[:, None],
            torch.zeros(len(codes), 1),
            torch.tanh(torch.randn(len(codes), R, generator=g, dtype=torch.float64)),
        ],
        dim=1,
    )
    return context.to(DTYPES[dtype]).to(torch.float64).numpy()


def replay(
    model: dict[str, Any],
    context: np.ndarray,
    inputs: torch.Tensor,
    h0: torch.Tensor | None = None,
    step_context: str = "context",
) -> torch.Tensor:
    """Logits (N, T, V) of the toy decoder fed the given inputs (N, T), in float64 (the judge's reference)."""
    decoder = ToyDecoder({**model, "dtype": "float64"})
    ctx = torch.from_numpy(context).double()
    h = ctx if h0 is None else h0
    steps = []
    with torch.no_grad():
        for t in range(inputs.shape[1]):
            logits, h_next = decoder(inputs[:, t], h, ctx if step_context == "context" else h)
            steps.append(logits)
            h = h_next
    return torch.stack(steps, 1) if steps else torch.zeros(inputs.shape[0], 0, decoder.V, dtype=torch.float64)


def trace(decoder: ToyDecoder, context: torch.Tensor) -> list[dict[str, np.ndarray]]:
    """The calls of a search as plain data: per call, the tokens fed (B,), each row's parent -- the row of the
    previous call's new states its state equals, bit for bit (the first call's: 0 for the context) or -1 if none
    does -- and the log-softmax of the logits (B, V) in float64."""
    steps, previous = [], context.detach()
    for y_prev, h, logits, h_new in decoder.calls:
        parents = [next((j for j in range(previous.shape[0]) if torch.equal(row, previous[j])), -1) for row in h]
        steps.append(
            {
                "tokens": y_prev.numpy().copy(),
                "parents": np.array(parents, dtype=np.int64),
                "log_probs": logits.double().log_softmax(-1).numpy(),
            }
        )
        previous = h_new
    return steps


def shift_right(tokens: torch.Tensor) -> torch.Tensor:
    """<bos>, tokens[:, 0], ..., tokens[:, T-2]: the inputs of teacher forcing."""
    bos = torch.full((tokens.shape[0], 1), BOS_ID, dtype=torch.long)
    return torch.cat([bos, tokens[:, :-1]], dim=1)
