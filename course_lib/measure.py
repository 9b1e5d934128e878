"""Measurements on recurrent networks, by autograd: how large dL/dh_t is at every time step.

Notebook 03 derives the same numbers by hand, from dh_T/dh_t = prod_k diag(1 - h_k^2) W_hh; this module is
the autograd measurement that notebooks 04 and 05 reuse for the LSTM and the GRU, whose Jacobians are
longer to write out.
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["state_grad_norms", "rnn_state_grad_norms", "first_last_ratio"]


def state_grad_norms(loss: torch.Tensor, states: Sequence[torch.Tensor]) -> torch.Tensor:
    """||dL/dh_t|| for t = 1..T: (T,) float64.

    loss:   a scalar computed from the states (for example the loss on the last step).
    states: the T hidden states h_1..h_T, each (N, H), as they were used in the forward graph.
    A state that does not influence the loss gets norm 0.  The graph is kept (retain_graph=True).
    """
    grads = torch.autograd.grad(loss, list(states), retain_graph=True, allow_unused=True)
    return torch.tensor([0.0 if g is None else float(g.double().norm()) for g in grads], dtype=torch.float64)


def rnn_state_grad_norms(rnn: torch.nn.RNN, x: torch.Tensor, loss_of_last) -> torch.Tensor:
    """||dL/dh_t|| for t = 1..T of a one-layer batch-first ``nn.RNN`` started from zeros: (T,) float64.

    x: (N, T, D); loss_of_last: a function of the last state h_T (N, H) returning a scalar loss.  The module is
    called one step at a time so that every state is a node of the graph (one call over the whole sequence keeps
    the recurrence inside the call, and its per-step outputs reach the loss only through themselves).
    """
    h = x.new_zeros(1, x.shape[0], rnn.hidden_size)  # nn.RNN's state: (layers, N, H)
    states = []
    for x_t in x.unbind(1):
        _, h = rnn(x_t[:, None], h)  # one step: input (N, 1, D)
        states.append(h)
    return state_grad_norms(loss_of_last(h[0]), states)


def first_last_ratio(norms: torch.Tensor) -> float:
    """||dL/dh_1|| / ||dL/dh_T||: below 0.1 the first steps barely learn (the article's vanishing criterion)."""
    last = float(norms[-1])
    return float(norms[0]) / last if last > 0 else float("inf")
