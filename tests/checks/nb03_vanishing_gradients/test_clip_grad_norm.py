"""Does ``check_clip_grad_norm`` accept a correct gradient-norm clipping and name the typical mistakes?

The correct implementation is written here, independently of the solution notebook.  Each mistake is the
one-line slip a learner makes; its case asserts that the check's message names it.  Correct answers and
mistakes are also run on several seeds, because grading uses secret seeds.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb03_vanishing_gradients import CLIP_GRAD_NORM, check_clip_grad_norm
from tests.checks.nb03_vanishing_gradients.conftest import CORRECT_RUNS
from tests.conftest import fails_with


def clip(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = (
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        if grads
        else torch.tensor(0.0)
    )
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total


@pytest.mark.parametrize("hidden, seed", CORRECT_RUNS)
def test_accepts_correct(hidden, seed):
    CLIP_GRAD_NORM.check(clip, hidden=hidden, seed=seed)


def test_accepts_python_floats_and_new_grad_tensors():
    def floats(parameters, max_norm):
        params = [p for p in parameters if p.grad is not None]
        total = sum(float((p.grad**2).sum()) for p in params) ** 0.5
        if total > max_norm:
            for p in params:
                p.grad = p.grad * (max_norm / total)
        return total

    check_clip_grad_norm(floats, hidden=True)


# ------------------------------------------------------------------------------------------- named mistakes


def per_parameter_clipping(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((p.grad**2).sum() for p in params))
    for p in params:
        n = p.grad.norm()
        if n > max_norm:
            p.grad.mul_(max_norm / n)
    return total


def missing_square_root(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = sum(float((p.grad**2).sum()) for p in params)
    if total > max_norm:
        for p in params:
            p.grad.mul_(max_norm / total)
    return total


def clipping_under_the_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((p.grad**2).sum() for p in params))
    for p in params:
        p.grad.mul_(max_norm / total)
    return total


def norm_after_clipping(parameters, max_norm):
    params = list(parameters)
    clip(params, max_norm)
    return torch.sqrt(sum((p.grad**2).sum() for p in params if p.grad is not None))


def changing_the_parameters(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((p.grad**2).sum() for p in params))
    if total > max_norm:
        for p in params:
            p.data.mul_(max_norm / total)  # scales the weights, not the gradients
    return total


def missing_none_guard(parameters, max_norm):
    params = list(parameters)
    total = torch.sqrt(sum((p.grad**2).sum() for p in params))
    if total > max_norm:
        for p in params:
            p.grad.mul_(max_norm / total)
    return total


def generator_used_twice(parameters, max_norm):
    total = torch.sqrt(sum((p.grad**2).sum() for p in parameters if p.grad is not None))
    if total > max_norm:
        for p in parameters:  # empty: the generator was used up above
            p.grad.mul_(max_norm / total)
    return total


def zero_division(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = sum(float((p.grad**2).sum()) for p in params) ** 0.5
    factor = min(1.0, max_norm / total)
    for p in params:
        p.grad.mul_(factor)
    return total


def nan_from_zero_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((p.grad**2).sum() for p in params))
    factor = torch.clamp(max_norm / total, max=1.0) if total > 0 else max_norm / total
    for p in params:
        p.grad.mul_(factor)
    return total


MISTAKES = [  # (the learner's function, a pattern its failure message must match, on hidden cases?)
    pytest.param(per_parameter_clipping, "clipped each parameter separately", False, id="per_parameter_clipping"),
    pytest.param(missing_square_root, "forgot the square root", False, id="missing_square_root"),
    pytest.param(clipping_under_the_norm, "clipping when under the norm", False, id="clipping_under_the_norm"),
    pytest.param(norm_after_clipping, "returned the norm after clipping", False, id="norm_after_clipping"),
    pytest.param(changing_the_parameters, "parameter 0 itself changed", False, id="changing_the_parameters"),
    pytest.param(missing_none_guard, r"p\.grad is None", False, id="missing_none_guard"),
    pytest.param(generator_used_twice, "generator", False, id="generator_used_twice"),
    pytest.param(zero_division, "division by zero", False, id="zero_division"),
    pytest.param(nan_from_zero_norm, "NaN or inf", False, id="nan_from_zero_norm"),
    pytest.param(
        lambda parameters, max_norm: clip(list(parameters), max_norm) and None,
        "should return the total norm",
        False,
        id="missing_return",
    ),
]


@pytest.mark.parametrize("wrong, pattern, hidden", MISTAKES)
def test_names_mistake(wrong, pattern, hidden, case_seeds):
    fails_with(check_clip_grad_norm, wrong, pattern, hidden=hidden)


def test_the_generator_message_names_the_cause_not_the_line():
    """Issue 24: the message ended with the line to type, "params = list(parameters)"."""
    message = fails_with(check_clip_grad_norm, generator_used_twice, "generator")
    assert "list(parameters)" not in message and "make a list" not in message, message
