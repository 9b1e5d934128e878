"""Does each notebook-03 check accept a correct implementation and name the typical mistakes?

The correct implementations are written here, independently of the solution notebook.  Each mistake is the
one-line slip a learner makes; its test asserts that the check's message names it.  Correct answers are also
run on several seeds, because grading uses secret seeds.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb03_vanishing_gradients import (
    CLIP_GRAD_NORM,
    RESCALE_SPECTRAL_RADIUS,
    STATE_GRAD_NORMS,
    check_clip_grad_norm,
    check_rescale_spectral_radius,
    check_state_grad_norms_by_hand,
)
from tests.conftest import fails_with, stub

ALL_CHECKS = [check_state_grad_norms_by_hand, check_rescale_spectral_radius, check_clip_grad_norm]
SEEDS = [0, 1, 7, 123, 20261126]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__self__.name)
@pytest.mark.parametrize("hidden", [False, True])
def test_untouched_stub_fails_and_says_not_implemented(check, hidden):
    fails_with(check, stub, "not implemented yet", hidden=hidden)


# ------------------------------------------------------------------------------------------- ||dL/dh_t|| by hand


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


@pytest.mark.parametrize("hidden", [False, True])
def test_state_grad_norms_accepts_correct(hidden):
    check_state_grad_norms_by_hand(grad_norms, hidden=hidden)


@pytest.mark.parametrize("seed", SEEDS)
def test_state_grad_norms_accepts_correct_on_other_seeds(seed):
    STATE_GRAD_NORMS.check(grad_norms, hidden=True, seed=seed)


def test_state_grad_norms_accepts_preallocated_loop():
    def by_index(h, W_hh, g_T):
        N, T, H = h.shape
        out = torch.empty(T, dtype=h.dtype)
        g = g_T
        for t in reversed(range(T)):
            out[t] = torch.linalg.vector_norm(g)
            g = (g * (1 - h[:, t] ** 2)) @ W_hh
        return out

    check_state_grad_norms_by_hand(by_index, hidden=True)


def test_state_grad_norms_names_norm_of_hidden_state():
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: h.transpose(0, 1).flatten(1).norm(dim=1),
               r"norm of the wrong tensor: you returned \|\|h_t\|\|")


def test_state_grad_norms_names_pre_tanh_gradient():
    def wrong(h, W_hh, g_T):
        g, out = g_T, []
        for t in reversed(range(h.shape[1])):
            delta = g * (1 - h[:, t] ** 2)
            out.append(delta.norm())
            g = delta @ W_hh
        return torch.stack(out[::-1])

    fails_with(check_state_grad_norms_by_hand, wrong, r"norm of the wrong tensor.*pre-activation")


def test_state_grad_norms_names_missing_square_root():
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: grad_norms(h, W, g, norm=lambda x: (x**2).sum()),
               "forgot the square root")


def test_state_grad_norms_names_reversed_time_order():
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: grad_norms(h, W, g, keep_order=False),
               "reversed time order")


def test_state_grad_norms_names_missing_tanh_derivative():
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: grad_norms(h, W, g, deriv=False),
               r"missing \(1 - h_t²\)")


def test_state_grad_norms_names_transposed_W_hh():
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: grad_norms(h, W, g, transpose=True), r"W_hh\.T")


def test_state_grad_norms_names_derivative_one_step_off():
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: grad_norms(h, W, g, shift=True),
               r"1 - h_\{t-1\}² instead of 1 - h_t²")


def test_state_grad_norms_names_per_example_average():
    fails_with(check_state_grad_norms_by_hand,
               lambda h, W, g: grad_norms(h, W, g, norm=lambda x: x.norm(dim=1).mean()), "averaged the norms")


def test_state_grad_norms_names_extra_step_and_list():
    def with_h0(h, W_hh, g_T):
        norms = grad_norms(h, W_hh, g_T)
        g0 = g_T  # any extra entry in front
        return torch.cat([g0.norm()[None], norms])

    fails_with(check_state_grad_norms_by_hand, with_h0, "did you include dL/dh_0")
    fails_with(check_state_grad_norms_by_hand, lambda h, W, g: list(grad_norms(h, W, g)), "torch.stack")


# ------------------------------------------------------------------------------------------- spectral radius


def rescale(W, rho):
    return W * (rho / torch.linalg.eigvals(W).abs().max()).to(W.dtype)


@pytest.mark.parametrize("hidden", [False, True])
def test_rescale_accepts_correct(hidden):
    check_rescale_spectral_radius(rescale, hidden=hidden)


@pytest.mark.parametrize("seed", SEEDS)
def test_rescale_accepts_correct_on_other_seeds(seed):
    RESCALE_SPECTRAL_RADIUS.check(lambda W, rho: rho * W / float(torch.linalg.eigvals(W).abs().max()),
                                  hidden=True, seed=seed)


def test_rescale_names_spectral_norm():
    fails_with(check_rescale_spectral_radius, lambda W, rho: W * rho / torch.linalg.matrix_norm(W, ord=2),
               "largest singular value")


def test_rescale_names_in_place_change():
    def wrong(W, rho):
        W *= rho / torch.linalg.eigvals(W).abs().max()
        return W

    fails_with(check_rescale_spectral_radius, wrong, "modified its input W in place")


def test_rescale_names_in_place_change_returning_a_copy():
    def wrong(W, rho):
        W.mul_(rho / torch.linalg.eigvals(W).abs().max())
        return W.clone()

    fails_with(check_rescale_spectral_radius, wrong, "modified its input W in place")


def test_rescale_names_symmetric_only_eigvalsh():
    fails_with(check_rescale_spectral_radius, lambda W, rho: W * rho / torch.linalg.eigvalsh(W).abs().max(),
               "wrong for non-symmetric")


def test_rescale_names_real_part():
    fails_with(check_rescale_spectral_radius, lambda W, rho: W * rho / torch.linalg.eigvals(W).real.abs().max(),
               "real part", hidden=True)


def test_rescale_names_complex_result():
    def wrong(W, rho):
        eig = torch.linalg.eigvals(W)
        return W * rho / eig[eig.abs().argmax()]

    fails_with(check_rescale_spectral_radius, wrong, "complex")


def test_rescale_names_signed_largest_eigenvalue():
    fails_with(check_rescale_spectral_radius, lambda W, rho: W * rho / torch.linalg.eigvals(W).real.max(),
               r"largest \|eigenvalue\|", hidden=True)


def test_rescale_names_dtype_change():
    fails_with(check_rescale_spectral_radius, lambda W, rho: rescale(W, rho).double(), "keep W's dtype", hidden=True)


def test_rescale_names_lost_direction():
    def wrong(W, rho):
        Q, _ = torch.linalg.qr(W)
        return rho * Q

    fails_with(check_rescale_spectral_radius, wrong, "not W times a positive number")


# ------------------------------------------------------------------------------------------- gradient clipping


def clip(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])) if grads else torch.tensor(0.0)
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total


@pytest.mark.parametrize("hidden", [False, True])
def test_clip_accepts_correct(hidden):
    check_clip_grad_norm(clip, hidden=hidden)


@pytest.mark.parametrize("seed", SEEDS)
def test_clip_accepts_correct_on_other_seeds(seed):
    CLIP_GRAD_NORM.check(clip, hidden=True, seed=seed)


def test_clip_accepts_python_floats_and_new_grad_tensors():
    def floats(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = sum(float((p.grad**2).sum()) for p in params) ** 0.5
        if total > max_norm:
            for p in params:
                p.grad = p.grad * (max_norm / total)
        return total

    check_clip_grad_norm(floats, hidden=True)


def test_clip_names_per_parameter_clipping():
    def wrong(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = torch.sqrt(sum((p.grad**2).sum() for p in params))
        for p in params:
            n = p.grad.norm()
            if n > max_norm:
                p.grad.mul_(max_norm / n)
        return total

    fails_with(check_clip_grad_norm, wrong, "clipped each parameter separately")


def test_clip_names_missing_square_root():
    def wrong(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = sum(float((p.grad**2).sum()) for p in params)
        if total > max_norm:
            for p in params:
                p.grad.mul_(max_norm / total)
        return total

    fails_with(check_clip_grad_norm, wrong, "forgot the square root")


def test_clip_names_clipping_under_the_norm():
    def wrong(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = torch.sqrt(sum((p.grad**2).sum() for p in params))
        for p in params:
            p.grad.mul_(max_norm / total)
        return total

    fails_with(check_clip_grad_norm, wrong, "clipping when under the norm")


def test_clip_names_norm_after_clipping():
    def wrong(parameters, max_norm):
        params = list(parameters)
        clip(params, max_norm)
        return torch.sqrt(sum((p.grad**2).sum() for p in params if p.grad is not None))

    fails_with(check_clip_grad_norm, wrong, "returned the norm after clipping")


def test_clip_names_changing_the_parameters():
    def wrong(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = torch.sqrt(sum((p.grad**2).sum() for p in params))
        if total > max_norm:
            for p in params:
                p.data.mul_(max_norm / total)  # scales the weights, not the gradients
        return total

    fails_with(check_clip_grad_norm, wrong, "parameter 0 itself changed")


def test_clip_names_missing_none_guard():
    def wrong(parameters, max_norm):
        params = list(parameters)
        total = torch.sqrt(sum((p.grad**2).sum() for p in params))
        if total > max_norm:
            for p in params:
                p.grad.mul_(max_norm / total)
        return total

    fails_with(check_clip_grad_norm, wrong, r"p\.grad is None")


def test_clip_names_generator_used_twice():
    def wrong(parameters, max_norm):
        total = torch.sqrt(sum((p.grad**2).sum() for p in parameters if p.grad is not None))
        if total > max_norm:
            for p in parameters:  # empty: the generator was used up above
                p.grad.mul_(max_norm / total)
        return total

    fails_with(check_clip_grad_norm, wrong, "generator")


def test_clip_names_zero_division():
    def wrong(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = sum(float((p.grad**2).sum()) for p in params) ** 0.5
        factor = min(1.0, max_norm / total)
        for p in params:
            p.grad.mul_(factor)
        return total

    fails_with(check_clip_grad_norm, wrong, "division by zero", hidden=True)


def test_clip_names_nan_from_zero_norm():
    def wrong(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = torch.sqrt(sum((p.grad**2).sum() for p in params))
        factor = torch.clamp(max_norm / total, max=1.0) if total > 0 else max_norm / total
        for p in params:
            p.grad.mul_(factor)
        return total

    fails_with(check_clip_grad_norm, wrong, "NaN or inf", hidden=True)


def test_clip_names_missing_return():
    fails_with(check_clip_grad_norm, lambda parameters, max_norm: clip(list(parameters), max_norm) and None,
               "should return the total norm")


# ------------------------------------------------------------------------------------------- robustness

NAMED_MISTAKE_TESTS = sorted(name for name in dir() if name.startswith("test_") and "_names_" in name)


@pytest.mark.parametrize("seed", SEEDS[1:])
@pytest.mark.parametrize("test_name", NAMED_MISTAKE_TESTS)
def test_named_mistakes_are_named_on_other_seeds(test_name, seed, monkeypatch):
    """Grading draws its own seeds: every mistake must be named whatever the seed, not only on the default one."""
    from course_lib.checks import core

    monkeypatch.setattr(core, "VISIBLE_SEED", seed)
    monkeypatch.setattr(core, "HIDDEN_SEED", seed + 1)
    globals()[test_name]()
