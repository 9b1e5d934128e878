"""Check of ``RNNLM``: a small RNN language model that must overfit a tiny set.

    x_t = one_hot(ids[:, t]): (N, V),   h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h),   h_0 = 0
    logits_t = h_t W_hy^T + b_y: (N, V)
    W_xh: (H, V), W_hh: (H, H), b_h: (H,), W_hy: (V, H), b_y: (V,)

The learner's model, built on their rnn_forward, is trained here on a tiny set; the judge recomputes the
loss of the trained parameters with nn.RNN, so the verdict does not rest on numbers the model reports.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.nb02_rnn.recurrence import rnn_module
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_gradients,
    close,
    generator,
    randn,
    tensor,
    visible_first,
)

__all__ = ["LM_LOSS_TARGET", "RNN_LM", "check_rnn_lm"]

_LM_PARAMS = {"W_xh": ("H", "V"), "W_hh": ("H", "H"), "b_h": ("H",), "W_hy": ("V", "H"), "b_y": ("V",)}
LM_LOSS_TARGET = 0.05  # "near zero": the cross-entropy the trained model must reach on the tiny set


def _lm_case(ids: torch.Tensor, V: int, H: int, steps: int, seed: int) -> dict:
    return {"kind": "training", "ids": ids.numpy(), "V": V, "H": H, "steps": steps, "lr": 0.05, "seed": seed}


def _lm_cases(seed, hidden):
    """Kinds: ``training`` (the model overfits a tiny set; its logits are recomputed with nn.RNN) and
    ``gradients`` (of the loss at initialisation, to every parameter, against autograd through nn.RNN: the state
    must carry gradients through time)."""
    g = generator(seed)
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    chars = sorted(set(poem))
    ids = torch.tensor([[chars.index(c) for c in line] for line in (poem[:12], poem[12:])])
    cases = {
        "静夜思, two lines of 12 characters": _lm_case(ids, len(chars), 16, 100, seed),
        "gradients at initialisation, 静夜思": {**_lm_case(ids, len(chars), 8, 0, seed + 2), "kind": "gradients"},
        "a given h0, 静夜思": {
            **_lm_case(ids, len(chars), 6, 0, seed + 4),
            "kind": "given state",
            "h0": randn(g, 2, 6),
        },
    }
    if hidden:
        cases["gradients at initialisation, V=7"] = {
            **_lm_case(torch.randint(0, 7, (3, 9), generator=g), 7, 5, 0, seed + 3),
            "kind": "gradients",
        }
        V = 11
        rows = [
            torch.cat([torch.tensor([first]), torch.randint(0, V, (9,), generator=g)])
            for first in torch.randperm(V, generator=g)[:3].tolist()
        ]  # distinct first ids: learnable
        cases["3 random sequences, V=11"] = _lm_case(torch.stack(rows), V, 16, 100, seed + 1)
        cases["a given h0, V=5, N=1"] = {
            **_lm_case(torch.randint(0, 5, (1, 6), generator=g), 5, 3, 0, seed + 5),
            "kind": "given state",
            "h0": randn(g, 1, 3),
        }
    return cases


def _lm_run(fn, case):
    ids = tensor(case["ids"])
    X, Y, V, H = ids[:, :-1], ids[:, 1:], case["V"], case["H"]
    state = torch.get_rng_state()
    try:
        torch.manual_seed(case["seed"])
        model = fn(V, H)
    finally:
        torch.set_rng_state(state)
    if not isinstance(model, nn.Module):
        return {"error": f"RNNLM(V, H) should build an nn.Module, got {type(model).__name__}"}
    params = dict(model.named_parameters())
    init = {k: p.detach().clone() for k, p in params.items() if k in _LM_PARAMS}
    if case["kind"] == "given state":
        with torch.no_grad():
            logits, h_T = model(X, tensor(case["h0"]).to(next(model.parameters()).dtype))
        return {"init": init, "final": init, "names": sorted(params), "no_grad": [], "logits": logits, "h_T": h_T}
    if case["kind"] == "gradients":
        logits, _ = model(X)
        loss = F.cross_entropy(logits.reshape(-1, V), Y.reshape(-1))
        wrt = [params[k] for k in _LM_PARAMS if k in params]
        grads = torch.autograd.grad(loss, wrt, allow_unused=True) if loss.requires_grad else [None] * len(wrt)
        return {
            "init": init,
            "final": init,
            "names": sorted(params),
            "no_grad": [],
            "grads": [None if g is None else g.detach() for g in grads],
        }
    optimizer = torch.optim.Adam(model.parameters(), lr=case["lr"])
    losses, no_grad = [], []
    for step in range(case["steps"]):
        logits, _ = model(X)
        loss = F.cross_entropy(logits.reshape(-1, V), Y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            no_grad = [k for k in _LM_PARAMS if k in params and params[k].grad is None]
        optimizer.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        logits, h_T = model(X)
    return {
        "init": init,
        "final": {k: p.detach() for k, p in params.items() if k in _LM_PARAMS},
        "names": sorted(params),
        "losses": losses,
        "logits": logits,
        "h_T": h_T,
        "no_grad": no_grad,
    }


def _lm_reference(params: dict[str, torch.Tensor], X: torch.Tensor, V: int, h0: torch.Tensor | None = None):
    """Logits (N, T, V) and h_T (N, H) of the same parameters, computed with nn.RNN and F.linear."""
    W_xh = params["W_xh"]
    rnn = rnn_module(W_xh, params["W_hh"], params["b_h"])
    hs, h_T = rnn(F.one_hot(X, V).to(W_xh.dtype), None if h0 is None else h0[None].to(W_xh.dtype))
    return F.linear(hs, params["W_hy"], params["b_y"]).detach(), h_T[0].detach()


def _lm_judge(cases, results):
    for name, case in cases.items():
        value = result_of(results, name, "RNNLM")
        if "error" in value:
            raise CheckFailure(value["error"])
        V, H = case["V"], case["H"]
        sizes = {"V": V, "H": H}
        for key, letters in _LM_PARAMS.items():
            if key not in value["final"]:
                raise CheckFailure(
                    f"RNNLM has no parameter named {key!r} (it has {value['names']}). Register it "
                    f"with self.{key} = nn.Parameter(...), shape {letters}."
                )
            shape = tuple(sizes[s] for s in letters)
            as_tensor(value["final"][key], f"RNNLM.{key}", shape, "(" + ", ".join(letters) + ")")
        if value["no_grad"]:
            raise CheckFailure(
                f"RNNLM.{value['no_grad'][0]} gets no gradient: the loss does not depend on it. Use "
                f"the parameters themselves in forward (no .detach(), .data or torch.no_grad())."
            )
        _judge_initialisation(value["init"], H)
        if case["kind"] == "gradients":
            _judge_lm_gradients(name, case, value)
            continue
        if case["kind"] == "given state":
            _judge_given_state(name, case, value)
            continue
        ids = tensor(case["ids"])
        X, Y = ids[:, :-1], ids[:, 1:]
        final = {k: tensor(v) for k, v in value["final"].items()}
        ref_logits, ref_h = _lm_reference(final, X, V)
        logits = as_tensor(
            value["logits"], f"the logits of RNNLM on case '{name}'", tuple(ref_logits.shape), "(N, T, V)"
        )
        h_T = as_tensor(value["h_T"], f"the h_T of RNNLM on case '{name}'", tuple(ref_h.shape), "(N, H)")
        tol = {"rtol": 1e-4, "atol": 1e-5}
        hs_ref = rnn_module(final["W_xh"], final["W_hh"], final["b_h"])(F.one_hot(X, V).to(final["W_xh"].dtype))[0]
        late = F.linear(
            torch.cat([torch.zeros_like(hs_ref[:, :1]), hs_ref[:, :-1]], dim=1), final["W_hy"], final["b_y"]
        )
        if close(logits, late.detach(), **tol):
            raise CheckFailure(
                f"case '{name}': the logits at step t are computed from h_{{t-1}}; use h_t, the state "
                f"after reading ids[:, t]."
            )
        assert_close(
            logits,
            ref_logits,
            f"RNNLM's logits on case '{name}' (compared with nn.RNN + a linear read-out on RNNLM's own parameters)",
            **tol,
            hint="Each step's logits are the read-out of the state after reading that step's id, the sequence "
            "started from zeros.",
            letters="N T V",
        )
        assert_close(h_T, ref_h, f"RNNLM's h_T on case '{name}'", **tol, hint="Return rnn_forward's last state.")
        loss = float(F.cross_entropy(ref_logits.reshape(-1, V).double(), Y.reshape(-1)))
        first = value["losses"][0] if value["losses"] else float("nan")
        if not loss < LM_LOSS_TARGET:
            raise CheckFailure(
                f"case '{name}': after {case['steps']} Adam steps (lr {case['lr']}) the loss went from {first:.3f} "
                f"to {loss:.3f}; a correct model drives it below {LM_LOSS_TARGET} on this tiny set. Check that "
                f"gradients reach every parameter (nn.Parameter, no .detach()) and that the weights start small "
                f"(uniform in ±1/sqrt(H)); large random weights saturate tanh."
            )


def _lm_gradients_reference(params: dict[str, torch.Tensor], case: dict, detach_state: bool = False):
    """d loss / d (W_xh, W_hh, b_h, W_hy, b_y) of the cross-entropy at these parameters, by autograd, step by step
    (with ``detach_state``: the state detached at every step, the mistake)."""
    ids = tensor(case["ids"])
    X, Y, V = ids[:, :-1], ids[:, 1:], case["V"]
    leaves = {k: params[k].double().requires_grad_(True) for k in _LM_PARAMS}
    x = F.one_hot(X, V).double()
    h, hs = torch.zeros(len(X), len(leaves["W_hh"]), dtype=torch.float64), []
    for x_t in x.unbind(1):  # torch's own tanh RNN step (nn.RNNCell's kernel), the second bias absent
        h = torch.rnn_tanh_cell(x_t, h.detach() if detach_state else h, leaves["W_xh"], leaves["W_hh"], leaves["b_h"])
        hs.append(h)
    logits = F.linear(torch.stack(hs, 1), leaves["W_hy"], leaves["b_y"])
    loss = F.cross_entropy(logits.reshape(-1, V), Y.reshape(-1))
    return list(torch.autograd.grad(loss, list(leaves.values())))


def _judge_initialisation(init: dict, H: int) -> None:
    """The docstring fixes it: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)], as nn.RNN's."""
    __tracebackhide__ = True
    bound = 1 / H**0.5
    for key, value in init.items():
        v = tensor(value).double().reshape(-1)
        problem = None
        if float(v.abs().max()) > bound * (1 + 1e-6):
            problem = f"has values up to {float(v.abs().max()):.3g} in size, outside ±1/sqrt(H) = ±{bound:.3g}"
        elif v.numel() >= 4 and float(v.abs().max()) == 0:
            problem = (
                "starts at zero (the weights start at zero: every hidden unit then gets the same gradient and "
                "they never become different)"
            )
        elif v.numel() >= 4 and float(v.max() - v.min()) == 0:
            problem = f"starts with every value equal to {float(v[0]):.3g}"
        elif v.numel() >= 16 and float(v.min()) >= 0:
            problem = "starts with no negative value"
        elif v.numel() >= 32 and not 0.5 < float(v.std()) / (bound / 3**0.5) < 1.6:
            problem = (
                f"has a spread (standard deviation {float(v.std()):.3g}) unlike uniform(-{bound:.3g}, {bound:.3g}), "
                f"whose is {bound / 3**0.5:.3g}"
            )
        if problem:
            raise CheckFailure(
                f"RNNLM's initialisation: {key} {problem}. The docstring fixes every parameter, biases too, "
                f"uniform in [-1/sqrt(H), 1/sqrt(H)] as nn.RNN does (torch.empty(...).uniform_(-k, k))."
            )


def _judge_given_state(name: str, case: dict, value: dict) -> None:
    __tracebackhide__ = True
    ids, V = tensor(case["ids"]), case["V"]
    X = ids[:, :-1]
    init = {k: tensor(v) for k, v in value["init"].items()}
    h0 = tensor(case["h0"])
    ref_logits, ref_h = _lm_reference(init, X, V, h0)
    logits = as_tensor(value["logits"], f"the logits of RNNLM on case '{name}'", tuple(ref_logits.shape), "(N, T, V)")
    tol = {"rtol": 1e-4, "atol": 1e-5}
    if not close(logits, ref_logits, **tol) and close(logits, _lm_reference(init, X, V)[0], **tol):
        raise CheckFailure(
            f"case '{name}': forward(ids, h0) ignores the h0 it is given and starts from zeros; start from h0 "
            f"when one is passed, from zeros only when h0 is None."
        )
    assert_close(logits, ref_logits, f"RNNLM's logits with a given h0 on case '{name}'", **tol, letters="N T V")
    h_T = as_tensor(value["h_T"], f"the h_T of RNNLM on case '{name}'", tuple(ref_h.shape), "(N, H)")
    assert_close(h_T, ref_h, f"RNNLM's h_T with a given h0 on case '{name}'", **tol)


def _judge_lm_gradients(name: str, case: dict, value: dict) -> None:
    __tracebackhide__ = True
    init = {k: tensor(v) for k, v in value["init"].items()}
    got = value.get("grads")
    got = list(got) if isinstance(got, (list, tuple)) and len(got) == len(_LM_PARAMS) else [None] * len(_LM_PARAMS)
    reference = _lm_gradients_reference(init, case)
    assert_gradients(
        got,
        reference,
        tuple(_LM_PARAMS),
        f"RNNLM's loss at initialisation (case '{name}')",
        detached=lambda: _lm_gradients_reference(init, case, detach_state=True),
    )


RNN_LM = Exercise("rnn_lm", "RNNLM", visible_first(_lm_cases), _lm_run, _lm_judge)

check_rnn_lm = RNN_LM.check
