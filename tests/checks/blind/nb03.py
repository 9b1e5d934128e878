# ruff: noqa: F811, F841
# Copied from the independent blind suite (written from the learner notebooks' text only), reformatted by ruff; see README.md.
"""Blind suite for notebook 03_vanishing_gradients: realistic wrong and correct-alternative implementations."""

import math

import numpy as np
import torch

NB = "03_vanishing_gradients"
CASES = []


def case(exercise, kind, name, what):
    def deco(fn):
        CASES.append(dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn))
        return fn

    return deco


# ---------------------------------------------------------------- state_grad_norms_by_hand
@case(
    "state_grad_norms_by_hand",
    "correct",
    "list_reversed",
    "Walks back, appends norms to a list and reverses it at the end.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(g.norm())
        g = (g * (1 - h[:, t] ** 2)) @ W_hh
    return torch.stack(norms[::-1])


@case(
    "state_grad_norms_by_hand",
    "correct",
    "prealloc_sqrt_sum",
    "Fills a preallocated (T,) tensor from the end; norm as sqrt of the sum of squares.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    T = h.shape[1]
    norms = torch.empty(T, dtype=g_T.dtype, device=g_T.device)
    g = g_T
    for t in range(T - 1, -1, -1):
        norms[t] = torch.sqrt((g * g).sum())
        if t > 0:
            g = torch.einsum("nh,hk->nk", g * (1 - h[:, t].pow(2)), W_hh)
    return norms


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "norm_after_step",
    "I step back through the tanh first and record the norm afterwards (everything shifted by one).",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    T = h.shape[1]
    norms = torch.empty(T, dtype=g_T.dtype)
    g = g_T
    for t in reversed(range(T)):
        g = (g * (1 - h[:, t] ** 2)) @ W_hh
        norms[t] = g.norm()
    return norms


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "W_hh_transposed",
    "I multiply by W_hh.T, since the forward pass uses W_hh.T.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(g.norm())
        g = (g * (1 - h[:, t] ** 2)) @ W_hh.T
    return torch.stack(norms[::-1])


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "mean_row_norm",
    "I take the norm of each example's gradient and average over the batch.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(g.norm(dim=1).mean())
        g = (g * (1 - h[:, t] ** 2)) @ W_hh
    return torch.stack(norms[::-1])


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "not_reversed",
    "I return the norms in the order I computed them, last step first.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(g.norm())
        g = (g * (1 - h[:, t] ** 2)) @ W_hh
    return torch.stack(norms)


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "derivative_one_minus_h",
    "I used 1 - h_t as tanh's derivative instead of 1 - h_t**2.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(g.norm())
        g = (g * (1 - h[:, t])) @ W_hh
    return torch.stack(norms[::-1])


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "wrong_state_index",
    "I use h[:, t-1] (the previous state) for the tanh derivative at step t.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(g.norm())
        g = (g * (1 - h[:, t - 1] ** 2)) @ W_hh
    return torch.stack(norms[::-1])


@case(
    "state_grad_norms_by_hand",
    "mistake",
    "float32_norms",
    "I collect the norms with torch.tensor([float(...)]), which is float32.",
)
def state_grad_norms_by_hand(h, W_hh, g_T):
    g, norms = g_T, []
    for t in reversed(range(h.shape[1])):
        norms.append(float(g.norm()))
        g = (g * (1 - h[:, t] ** 2)) @ W_hh
    return torch.tensor(norms[::-1])


# ---------------------------------------------------------------- rescale_spectral_radius
@case(
    "rescale_spectral_radius",
    "correct",
    "numpy_eigvals",
    "np.linalg.eigvals on a float64 copy; scales a new tensor of W's dtype.",
)
def rescale_spectral_radius(W, rho):
    radius = float(np.abs(np.linalg.eigvals(W.detach().cpu().double().numpy())).max())
    return W * (rho / radius)


@case(
    "rescale_spectral_radius",
    "correct",
    "eig_float64_then_cast",
    "torch.linalg.eig in float64, then W.double() scaled and cast back with .to(W.dtype).",
)
def rescale_spectral_radius(W, rho):
    lam, _ = torch.linalg.eig(W.double())
    radius = lam.abs().max()
    return (W.double() * (rho / radius)).to(W.dtype)


@case(
    "rescale_spectral_radius",
    "mistake",
    "spectral_norm",
    "I divide by the largest singular value (matrix 2-norm) instead of the spectral radius.",
)
def rescale_spectral_radius(W, rho):
    return W * (rho / torch.linalg.matrix_norm(W, ord=2))


@case(
    "rescale_spectral_radius",
    "mistake",
    "max_real_part",
    "I take the largest real part of the eigenvalues, not the largest modulus.",
)
def rescale_spectral_radius(W, rho):
    return W * (rho / torch.linalg.eigvals(W).real.max())


@case(
    "rescale_spectral_radius", "mistake", "eigvalsh", "I used torch.linalg.eigvalsh, which assumes a symmetric matrix."
)
def rescale_spectral_radius(W, rho):
    return W * (rho / torch.linalg.eigvalsh(W).abs().max())


@case("rescale_spectral_radius", "mistake", "in_place", "I scale W in place with W.mul_ and return it.")
def rescale_spectral_radius(W, rho):
    radius = torch.linalg.eigvals(W).abs().max()
    return W.mul_(rho / radius)


@case(
    "rescale_spectral_radius",
    "mistake",
    "complex_result",
    "I multiply by the complex eigenvalue's ratio, so the result is a complex tensor.",
)
def rescale_spectral_radius(W, rho):
    lam = torch.linalg.eigvals(W)
    top = lam[lam.abs().argmax()]
    return W * (rho / top.abs().to(lam.dtype))


@case("rescale_spectral_radius", "mistake", "inverted_ratio", "I multiply by radius / rho instead of rho / radius.")
def rescale_spectral_radius(W, rho):
    return W * (torch.linalg.eigvals(W).abs().max() / rho)


@case("rescale_spectral_radius", "mistake", "frobenius", "I divide by the Frobenius norm of W.")
def rescale_spectral_radius(W, rho):
    return W * (rho / W.norm())


@case("rescale_spectral_radius", "mistake", "float32_result", "I compute with W.float() so the result is float32.")
def rescale_spectral_radius(W, rho):
    Wf = W.float()
    return Wf * (rho / torch.linalg.eigvals(Wf).abs().max())


# ---------------------------------------------------------------- clip_grad_norm
@case(
    "clip_grad_norm",
    "correct",
    "torch_style_clamp",
    "Lists the grads once, total norm of the stacked norms, always multiplies by min(1, c/(n+1e-6)).",
)
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.to(g.dtype))
    return total


@case(
    "clip_grad_norm",
    "correct",
    "python_floats",
    "Sums squared norms as Python floats, math.sqrt, scales only above the threshold.",
)
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in params:
            p.grad.mul_(scale)
    return total


@case(
    "clip_grad_norm",
    "mistake",
    "generator_twice",
    "I go through `parameters` twice: once for the norm, once to scale (a generator is empty the second time).",
)
def clip_grad_norm(parameters, max_norm):
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in parameters if p.grad is not None))
    if total > max_norm:
        for p in parameters:
            if p.grad is not None:
                p.grad.mul_(max_norm / (total + 1e-6))
    return total


@case("clip_grad_norm", "mistake", "per_parameter", "I clip each parameter's gradient to max_norm on its own.")
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    for p in params:
        n = float(p.grad.norm())
        if n > max_norm:
            p.grad.mul_(max_norm / (n + 1e-6))
    return total


@case(
    "clip_grad_norm",
    "mistake",
    "always_scale",
    "I always multiply by max_norm / total_norm, also when the norm is already below the threshold.",
)
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    for p in params:
        p.grad.mul_(max_norm / (total + 1e-6))
    return total


@case("clip_grad_norm", "mistake", "returns_clipped_norm", "I return the total norm after clipping.")
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    if total > max_norm:
        for p in params:
            p.grad.mul_(max_norm / (total + 1e-6))
    return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))


@case(
    "clip_grad_norm",
    "mistake",
    "sum_of_norms",
    "My total norm is the sum of the parameters' norms, not the root of the sum of squares.",
)
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = sum(float(p.grad.norm()) for p in params)
    if total > max_norm:
        for p in params:
            p.grad.mul_(max_norm / (total + 1e-6))
    return total


@case("clip_grad_norm", "mistake", "none_grad_crash", "I did not skip parameters whose .grad is None.")
def clip_grad_norm(parameters, max_norm):
    params = list(parameters)
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    if total > max_norm:
        for p in params:
            p.grad.mul_(max_norm / (total + 1e-6))
    return total


@case(
    "clip_grad_norm",
    "mistake",
    "rebinds_grad",
    "I assign p.grad = p.grad * scale, a new tensor, instead of scaling in place.",
)
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    if total > max_norm:
        for p in params:
            p.grad = p.grad * (max_norm / (total + 1e-6))
    return total


@case("clip_grad_norm", "mistake", "scales_data", "I scale the parameters' values (p.data) instead of their gradients.")
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))
    if total > max_norm:
        with torch.no_grad():
            for p in params:
                p.mul_(max_norm / (total + 1e-6))
    return total


@case(
    "clip_grad_norm", "mistake", "squared_norm", "I return and compare the squared total norm (forgot the square root)."
)
def clip_grad_norm(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    total = sum(float(p.grad.pow(2).sum()) for p in params)
    if total > max_norm:
        for p in params:
            p.grad.mul_(max_norm / (total + 1e-6))
    return total
