"""Does ``check_state_grad_norms_by_hand`` accept a correct ``||dL/dh_t||`` recursion and name the typical mistakes?

The correct implementation is written here, independently of the solution notebook.  Each mistake is the
one-line slip a learner makes; its case asserts that the check's message names it.  Correct answers and
mistakes are also run on several seeds, because grading uses secret seeds.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb03_vanishing_gradients import STATE_GRAD_NORMS, check_state_grad_norms_by_hand
from tests.checks.nb03_vanishing_gradients.conftest import CORRECT_RUNS
from tests.conftest import fails_with


def grad_norms(h, W_hh, g_T, *, deriv=True, transpose=False, shift=False, norm=lambda g: g.norm(), keep_order=True):
    """The correct recursion by default; the keyword arguments switch on one typical mistake at a time."""
    T = h.shape[1]
    W = W_hh.T if transpose else W_hh
    g, norms = g_T, [norm(g_T)]
    for t in range(T - 1, 0, -1):  # g holds dL/dh_{t+1} (0-based index t); step back to index t - 1
        d = 1 - h[:, t - 1 if shift else t] ** 2
        g = (g * d if deriv else g) @ W
        norms.append(norm(g))
    norms = torch.stack(norms)
    return norms.flip(0) if keep_order else norms


@pytest.mark.parametrize("hidden, seed", CORRECT_RUNS)
def test_accepts_correct(hidden, seed):
    STATE_GRAD_NORMS.check(grad_norms, hidden=hidden, seed=seed)


def test_accepts_preallocated_loop():
    def by_index(h, W_hh, g_T):
        N, T, H = h.shape
        out = torch.empty(T, dtype=h.dtype)
        g = g_T
        for t in reversed(range(T)):
            out[t] = torch.linalg.vector_norm(g)
            g = (g * (1 - h[:, t] ** 2)) @ W_hh
        return out

    check_state_grad_norms_by_hand(by_index, hidden=True)


# ------------------------------------------------------------------------------------------- named mistakes


def with_mistake(**mistake):
    """:func:`grad_norms` with one mistake switched on."""
    return lambda h, W, g: grad_norms(h, W, g, **mistake)


def pre_tanh_gradient(h, W_hh, g_T):
    g, out = g_T, []
    for t in reversed(range(h.shape[1])):
        delta = g * (1 - h[:, t] ** 2)
        out.append(delta.norm())
        g = delta @ W_hh
    return torch.stack(out[::-1])


def with_h0(h, W_hh, g_T):
    norms = grad_norms(h, W_hh, g_T)
    g0 = g_T  # any extra entry in front
    return torch.cat([g0.norm()[None], norms])


MISTAKES = [  # (the learner's function, a pattern its failure message must match)
    pytest.param(
        lambda h, W, g: h.transpose(0, 1).flatten(1).norm(dim=1),
        r"norm of the wrong tensor: you returned \|\|h_t\|\|",
        id="norm_of_hidden_state",
    ),
    pytest.param(pre_tanh_gradient, r"norm of the wrong tensor.*pre-activation", id="pre_tanh_gradient"),
    pytest.param(with_mistake(norm=lambda x: (x**2).sum()), "forgot the square root", id="missing_square_root"),
    pytest.param(with_mistake(keep_order=False), "reversed time order", id="reversed_time_order"),
    pytest.param(with_mistake(deriv=False), r"missing \(1 - h_t²\)", id="missing_tanh_derivative"),
    pytest.param(with_mistake(transpose=True), r"W_hh\.T", id="transposed_W_hh"),
    pytest.param(with_mistake(shift=True), r"1 - h_\{t-1\}² instead of 1 - h_t²", id="derivative_one_step_off"),
    pytest.param(with_mistake(norm=lambda x: x.norm(dim=1).mean()), "averaged the norms", id="per_example_average"),
    pytest.param(with_h0, "did you include dL/dh_0", id="extra_step_h0"),
    pytest.param(lambda h, W, g: list(grad_norms(h, W, g)), "torch.stack", id="list_not_stacked"),
]


@pytest.mark.parametrize("wrong, pattern", MISTAKES)
def test_names_mistake(wrong, pattern, case_seeds):
    fails_with(check_state_grad_norms_by_hand, wrong, pattern)
