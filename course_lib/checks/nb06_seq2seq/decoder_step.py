"""Check of ``decoder_step``: one step of the GRU decoder computed from the cell's parameters, given the
context's part of the input gates (``context_gates``, once per sentence).

The model is ``nn.GRUCell(E + H, H)`` run on x = [e(y_{t-1}); c] from s_{t-1}, then ``out``; the exercise
computes the same s_t without calling the cell, from weight_ih's embedding columns, the given
``gates_c = W_c c + bias_ih`` and the hidden side ``weight_hh s_{t-1} + bias_hh``, in PyTorch's gate order
(r, z, n) with the reset inside the hidden part of the candidate (``torch.nn.GRUCell``'s documentation).

The reference is ``nn.GRUCell`` on the concatenation and ``nn.Linear``, loaded with the case's weights; the
learner's cell is a :class:`~.cases.WeightsOnlyGRUCell`, whose forward raises.  Named mistakes: the old state
returned; the GRU formula wrong (r and z swapped, the reset outside bias_hh or applied to s_{t-1} before the
matmul, no reset, (1 - z) on the wrong term -- notebook 05's :func:`~course_lib.checks.nb05_gru.variants.name_mistakes`,
on x = [e; c]); the embedding read by the context's columns; bias_ih added again or bias_hh missing; logits
from the old state, softmax or log_softmax applied; h_new detached from the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from course_lib.checks.core import CheckFailure, Exercise, result_of, together
from course_lib.checks.nb05_gru.variants import gru_variant, name_mistakes
from course_lib.checks.nb06_seq2seq.cases import DTYPES, WeightsOnlyGRUCell, decoder_weights, loaded
from course_lib.checks.nb06_seq2seq.context_gates import CONTEXT_GATES, _context_projection
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_gradients,
    close,
    first_named_mistake,
    generator,
    gradients,
    pair,
    plain,
    randn,
    tolerance,
    visible_first,
)

__all__ = ["DECODER_STEP", "DECODER_STEP_ALONE", "STEP_MISTAKES"]

# notebook 05's GRU mistakes, said for a decoder step: what h_new matches and where, then a question (the
# learner reads the equations in nn.GRUCell's documentation; a message never writes the right one out)
STEP_MISTAKES = {
    "cho": (
        "h_new matches the Cho et al. variant of the GRU (Cho et al. 2014): the reset gate multiplies s_{t-1} before "
        "the product with W_hn (rows 2H:3H of weight_hh). It is a valid GRU, but not the one these weights were "
        "trained in: where does torch.nn.GRUCell's documentation put r_t in the candidate n_t?"
    ),
    "bhn_outside": (
        "b_hn is outside the reset product: h_new matches a candidate whose b_hn (rows 2H:3H of bias_hh) is added "
        "after r_t has multiplied, so the reset never reaches it. Which terms of n_t does r_t multiply in "
        "torch.nn.GRUCell's equation?"
    ),
    "no_reset": (
        "the reset gate is never applied: h_new matches a candidate n_t in which r_t multiplies nothing. Which "
        "term of n_t does r_t multiply in torch.nn.GRUCell's equation?"
    ),
    "swap_update": (
        "(1 - z) is on the wrong term: h_new matches z_t ⊙ n_t + (1 - z_t) ⊙ s_{t-1}. In nn.GRUCell, does z_t "
        "close to 1 keep the old state or take the candidate?"
    ),
    "article": (
        'h_new matches the GRU as the article "From RNNs to LSTMs and GRUs" writes it, which differs from '
        "nn.GRUCell twice: the reset is applied to s_{t-1} before the product with W_hn, and z_t weighs the "
        "candidate. In torch.nn.GRUCell's equations, which term does z_t weigh, and where does r_t enter n_t?"
    ),
    "swap_rz": (
        "r/z swapped: h_new matches the step with the reset gate read from the update gate's rows and the update "
        "gate from the reset gate's. In which order are the three gates' rows stacked in weight_ih, weight_hh, "
        "bias_ih and bias_hh?"
    ),
}


def _step_cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
    g = generator(seed)
    shapes = [("N=3, V=7, E=4, H=5", 3, 7, 4, 5, "float32"), ("gradients, float64, N=2", 2, 6, 3, 4, "float64")]
    if hidden:
        shapes += [
            ("float64, E == H", 4, 9, 6, 6, "float64"),
            ("float64, one row, E > H", 1, 6, 3, 2, "float64"),
            ("gradients, float64, N=3, E == H", 3, 5, 4, 4, "float64"),
        ]
    cases = {}
    for name, N, V, E, H, dtype in shapes:
        cases[name] = {
            "weights": decoder_weights(g, V, E, H),
            "y_prev": torch.randint(2, V, (N,), generator=g).numpy(),
            "h": np.tanh(randn(g, N, H)),
            "context": np.tanh(randn(g, N, H)),
            "dtype": dtype,
        }
        if name.startswith("gradients"):  # h_new and logits stay in the graph: training backpropagates through them
            cases[name].update(kind="gradients", d_logits=randn(g, N, V), d_h_new=randn(g, N, H))
    return cases


def _modules(case, cell_type=nn.GRUCell) -> tuple[nn.Embedding, nn.GRUCell, nn.Linear]:
    V, E = case["weights"]["embedding.weight"].shape
    H = case["weights"]["cell.weight_hh"].shape[1]
    return loaded({"embedding": nn.Embedding(V, E), "cell": cell_type(E + H, H), "out": nn.Linear(H, V)}, case)


def _step_run(fn, case):
    embedding, cell, out = _modules(case, WeightsOnlyGRUCell)
    dtype = DTYPES[case["dtype"]]
    h, context = (torch.from_numpy(case[k]).to(dtype) for k in ("h", "context"))
    y_prev = torch.from_numpy(case["y_prev"])
    if case.get("kind") != "gradients":
        with torch.no_grad():
            gates_c = _context_projection(cell.weight_ih, cell.bias_ih, context)
        return plain(fn(embedding, cell, out, y_prev, h, gates_c))
    h.requires_grad_(True)
    context.requires_grad_(True)
    result = fn(embedding, cell, out, y_prev, h, _context_projection(cell.weight_ih, cell.bias_ih, context))
    upstream = [torch.from_numpy(case["d_logits"]), torch.from_numpy(case["d_h_new"])]
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return plain(result)  # the judge names the form
    wrt = [h, context, cell.weight_ih, cell.weight_hh, cell.bias_hh]
    return plain(tuple(result)) + tuple(gradients(list(result), upstream, wrt))


_WRT = ("h", "context (through gates_c)", "cell.weight_ih", "cell.weight_hh", "cell.bias_hh")


def _cell_with(cell: nn.GRUCell, **changes: torch.Tensor) -> nn.GRUCell:
    """A copy of ``cell`` with some parameters replaced: the model a typical mistake computes."""
    other = nn.GRUCell(cell.input_size, cell.hidden_size).double()
    with torch.no_grad():
        for name, param in other.named_parameters():
            param.copy_(changes.get(name, getattr(cell, name)))
    return other


def _step_judge(cases, results):
    for name, case in cases.items():
        embedding, cell, out = (m.double() for m in _modules(case))
        y_prev = torch.from_numpy(case["y_prev"])
        h, context = torch.from_numpy(case["h"]), torch.from_numpy(case["context"])
        N, H = h.shape
        E = embedding.embedding_dim
        V = out.out_features
        emb = embedding(y_prev).detach()
        x = torch.cat([emb, context], dim=-1)  # (N, E + H), the order the cell is trained on

        def reference(model: nn.GRUCell):
            with torch.no_grad():
                h_new = model(x, h)
                return out(h_new), h_new

        logits_ref, h_ref = reference(cell)
        value = result_of(results, name, "decoder_step")
        grads = None
        if case.get("kind") == "gradients" and isinstance(value, tuple) and len(value) == 2 + len(_WRT):
            value, grads = value[:2], list(value[2:])
        logits, h_new = pair(value, "decoder_step", "logits, h_new")
        logits = as_tensor(logits, f"logits on case '{name}'", (N, V), "(N, V)")
        h_new = as_tensor(h_new, f"h_new on case '{name}'", (N, H), "(N, H)")
        tol = tolerance(case["dtype"])
        if close(h_new, h, case["dtype"]) and not close(h_new, h_ref, case["dtype"]):
            raise CheckFailure(
                f"case '{name}': h_new equals the old state h, s_{{t-1}}: which state does the step return?"
            )
        if not close(h_new, h_ref, case["dtype"]):
            _name_state_mistake(name, case, h_new, h_ref, cell, x, h, E)
        assert_close(
            h_new.double(),
            h_ref,
            f"h_new on case '{name}'",
            **tol,
            hint="h_new is s_t: what nn.GRUCell, with the same parameters, gives on [e(y_{t-1}); c] from s_{t-1}.",
            letters="N H",
        )
        if close(logits, out(h).detach(), case["dtype"]) and not close(logits_ref, out(h).detach(), case["dtype"]):
            raise CheckFailure(
                f"case '{name}': the logits were computed from the old state h. Which state do the scores of y_t "
                f"come from?"
            )
        if close(logits, logits_ref.softmax(-1), case["dtype"]) or close(
            logits, logits_ref.log_softmax(-1), case["dtype"]
        ):
            raise CheckFailure(
                f"case '{name}': the logits went through a softmax or a log_softmax; the contract asks for raw "
                f"logits. What do cross-entropy and argmax take?"
            )
        assert_close(
            logits.double(),
            logits_ref,
            f"logits on case '{name}'",
            **tol,
            hint="The logits are read out of the new state.",
        )
        if grads is not None:
            _judge_gradients(name, case, grads, embedding, cell, out, y_prev, h, context)


def _name_state_mistake(name, case, h_new, h_ref, cell, x, h, E) -> None:
    """Raise the named mistake that reproduces ``h_new``, if one does."""
    __tracebackhide__ = True
    W_ih, b_ih, b_hh = cell.weight_ih.detach(), cell.bias_ih.detach(), cell.bias_hh.detach()

    def state(model: nn.GRUCell) -> torch.Tensor:
        with torch.no_grad():
            return model(x, h)

    wrong = [
        (
            "the embedding was multiplied by the last E columns of weight_ih, which read the context. The cell "
            "was trained on [e(y_{t-1}); c]: which columns read e(y_{t-1})?",
            lambda: state(_cell_with(cell, weight_ih=torch.cat([W_ih[:, -E:], W_ih[:, E:]], dim=1))),
        ),
        (
            "bias_ih is added twice: gates_c already holds it (context_gates adds it once per sentence)",
            lambda: state(_cell_with(cell, bias_ih=2 * b_ih)),
        ),
        (
            "bias_hh is missing: h_new matches the step without it. gates_c holds bias_ih only: where does "
            "bias_hh enter the step?",
            lambda: state(_cell_with(cell, bias_hh=torch.zeros_like(b_hh))),
        ),
    ]
    message = first_named_mistake(h_new.double(), h_ref, wrong, same=lambda a, b: close(a, b, case["dtype"]))
    if message is None:
        weights = (W_ih, cell.weight_hh.detach(), b_ih, b_hh)
        message = name_mistakes([h_new], lambda kwargs: [gru_variant(x, h, *weights, **kwargs)], STEP_MISTAKES)
    if message:
        raise CheckFailure(f"case '{name}': h_new: {message}")


def _judge_gradients(name, case, grads, embedding, cell, out, y_prev, h, context) -> None:
    """d/d(h, context, the cell's weights) of <d_logits, logits> + <d_h_new, h_new>, against autograd through
    nn.GRUCell on the concatenation."""
    __tracebackhide__ = True
    h, context = h.clone().requires_grad_(True), context.clone().requires_grad_(True)
    wrt = [h, context, cell.weight_ih, cell.weight_hh, cell.bias_hh]
    upstream = [torch.from_numpy(case["d_logits"]), torch.from_numpy(case["d_h_new"])]
    h_new = cell(torch.cat([embedding(y_prev), context], dim=-1), h)
    expected = gradients([out(h_new), h_new], upstream, wrt)
    if grads[0] is not None and grads[0].shape == expected[0].shape:
        fresh = cell(torch.cat([embedding(y_prev), context], dim=-1), h)  # a graph of its own: the first is spent
        only_logits = gradients([out(fresh)], upstream[:1], [h])[0]
        if close(torch.as_tensor(grads[0]), only_logits) and not close(only_logits, expected[0]):
            raise CheckFailure(
                f"decoder_step (case '{name}'): the values are right, but the h_new you return is detached from "
                f"the graph (h_new.detach(), .data, or a copy made under torch.no_grad()): a gradient reaching h_new "
                f"at the next step no longer flows back into h and the weights, so teacher forcing trains one step "
                f"only. Return the state you computed itself."
            )
    assert_gradients(grads, expected, _WRT, f"decoder_step (case '{name}')")


DECODER_STEP_ALONE = Exercise("decoder_step", "decoder_step", visible_first(_step_cases), _step_run, _step_judge)
# exercise 2 of the notebook: context_gates (2a), the one idea decoder_step builds on, graded with it (2b)
DECODER_STEP = together(DECODER_STEP_ALONE, CONTEXT_GATES)
