# ruff: noqa: F811, F841
# Copied from the independent blind suite (written from the learner notebooks' text only), reformatted by ruff; see README.md.
"""Blind suite for notebook 02_rnn: realistic wrong and correct-alternative implementations."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NB = "02_rnn"
CASES = []


def case(exercise, kind, name, what):
    def deco(fn):
        CASES.append(dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn))
        return fn

    return deco


# correct helpers (used by exercises that build on others)
def _cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


def _forward(x, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    for x_t in x.unbind(1):
        h = _cell(x_t, h, W_xh, W_hh, b_h)
        states.append(h)
    hs = torch.stack(states, dim=1)
    return hs, hs[:, -1]


# ---------------------------------------------------------------- rnn_cell
@case("rnn_cell", "correct", "F_linear", "Two F.linear calls (which apply W.T themselves), bias on the first.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(F.linear(x_t, W_xh, b_h) + F.linear(h_prev, W_hh))


@case("rnn_cell", "correct", "columns", "The article's column form: (W_xh @ x.T + W_hh @ h.T + b[:, None]).T.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(W_xh @ x_t.T + W_hh @ h_prev.T + b_h[:, None]).T


@case("rnn_cell", "correct", "einsum_addmm", "einsum for the input term and torch.addmm for bias + recurrent term.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(torch.einsum("nd,hd->nh", x_t, W_xh) + torch.addmm(b_h, h_prev, W_hh.T))


@case("rnn_cell", "mistake", "no_bias", "I forgot to add the bias b_h.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T)


@case(
    "rnn_cell",
    "mistake",
    "W_hh_not_transposed",
    "I multiply h_prev @ W_hh (it is square, so the shapes fit) without the transpose.",
)
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh + b_h)


@case("rnn_cell", "mistake", "sigmoid", "I used a sigmoid instead of tanh.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.sigmoid(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


@case("rnn_cell", "mistake", "bias_outside_tanh", "I add the bias after the tanh.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T) + b_h


@case("rnn_cell", "mistake", "tanh_only_input", "I squash only the input term and add the recurrent term afterwards.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + b_h) + h_prev @ W_hh.T


@case("rnn_cell", "mistake", "float32", "I call .float() on the inputs so the matmuls always agree in dtype.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t.float() @ W_xh.float().T + h_prev.float() @ W_hh.float().T + b_h.float())


@case("rnn_cell", "mistake", "no_recurrent_term", "I forgot the h_prev @ W_hh.T term.")
def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + b_h)


# ---------------------------------------------------------------- rnn_forward
@case(
    "rnn_forward",
    "correct",
    "project_then_loop",
    "Projects all inputs at once (x @ W_xh.T + b), then loops over unbind(1).",
)
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    xp = x @ W_xh.T + b_h
    h, states = h0, []
    for xp_t in xp.unbind(1):
        h = torch.tanh(xp_t + h @ W_hh.T)
        states.append(h)
    hs = torch.stack(states, 1)
    return hs, h


@case("rnn_forward", "correct", "index_loop_cat", "Indexes x[:, t] with range(T) and concatenates unsqueezed states.")
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h = h0
    outs = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)
        outs.append(h.unsqueeze(1))
    hs = torch.cat(outs, dim=1)
    return hs, hs[:, -1]


@case(
    "rnn_forward",
    "mistake",
    "includes_h0",
    "My hs starts with h0, so hs[:, t] is the state before x[:, t] and the last state is missing.",
)
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    for x_t in x.unbind(1):
        states.append(h)
        h = _cell(x_t, h, W_xh, W_hh, b_h)
    hs = torch.stack(states, 1)
    return hs, hs[:, -1]


@case(
    "rnn_forward",
    "mistake",
    "state_not_carried",
    "I call the cell with h0 at every step, so the state is never carried.",
)
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    states = [_cell(x_t, h0, W_xh, W_hh, b_h) for x_t in x.unbind(1)]
    hs = torch.stack(states, 1)
    return hs, hs[:, -1]


@case("rnn_forward", "mistake", "reversed_time", "I iterate the steps from the last to the first.")
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    for t in reversed(range(x.shape[1])):
        h = _cell(x[:, t], h, W_xh, W_hh, b_h)
        states.append(h)
    hs = torch.stack(states[::-1], 1)
    return hs, h


@case("rnn_forward", "mistake", "stack_dim0", "I stack the states on dim 0, giving (T, N, H).")
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h, states = h0, []
    for x_t in x.unbind(1):
        h = _cell(x_t, h, W_xh, W_hh, b_h)
        states.append(h)
    return torch.stack(states), h


@case("rnn_forward", "mistake", "last_is_first", "I return hs[:, 0] as the last state.")
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    hs, _ = _forward(x, h0, W_xh, W_hh, b_h)
    return hs, hs[:, 0]


@case(
    "rnn_forward",
    "mistake",
    "loops_over_batch",
    "I loop over x (its first axis) thinking it is time: I mix up batch and time.",
)
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h = h0
    states = []
    for x_n in x:  # (T, D): really one sequence
        h = _cell(x_n, h, W_xh, W_hh, b_h)
        states.append(h)
    hs = torch.stack(states, 1)
    return hs, hs[:, -1]


@case(
    "rnn_forward",
    "mistake",
    "float32_cpu_buffer",
    "I write the states into torch.zeros(N, T, H), a float32 CPU buffer, so float64 (or GPU) inputs lose their dtype/device.",
)
def rnn_forward(x, h0, W_xh, W_hh, b_h):
    N, T, _ = x.shape
    hs = torch.zeros(N, T, h0.shape[1])
    h = h0
    for t in range(T):
        h = _cell(x[:, t], h, W_xh, W_hh, b_h)
        hs[:, t] = h
    return hs, h


# ---------------------------------------------------------------- rnn_backward
def _bw_reference(x, h0, W_xh, W_hh, b_h, hs, dhs):
    N, T, D = x.shape
    dx = torch.zeros_like(x)
    dW_xh, dW_hh, db_h = torch.zeros_like(W_xh), torch.zeros_like(W_hh), torch.zeros_like(b_h)
    dh_next = torch.zeros_like(h0)
    for t in reversed(range(T)):
        h_t = hs[:, t]
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - h_t**2)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ h_prev
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh
        dh_next = da @ W_hh
    return {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward",
    "correct",
    "loop_then_vectorised_weights",
    "Loops only for the da's, then computes all weight gradients with einsum over (n, t).",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    das = [None] * T
    dh_next = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        das[t] = (dhs[:, t] + dh_next) * (1 - hs[:, t] * hs[:, t])
        dh_next = das[t] @ W_hh
    da = torch.stack(das, 1)  # (N, T, H)
    h_prevs = torch.cat([h0[:, None], hs[:, :-1]], 1)
    return {
        "dx": da @ W_xh,
        "dh0": dh_next,
        "dW_xh": torch.einsum("nth,ntd->hd", da, x),
        "dW_hh": torch.einsum("nth,ntk->hk", da, h_prevs),
        "db_h": da.sum((0, 1)),
    }


@case(
    "rnn_backward",
    "correct",
    "list_and_stack",
    "Collects dx_t in a list (reversed) and accumulates weights with sums, no in-place on outputs.",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dxs = []
    dW_xh = dW_hh = db_h = 0
    dh_next = h0.new_zeros(h0.shape)
    for t in reversed(range(T)):
        h_prev = h0 if t == 0 else hs[:, t - 1]
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t].pow(2))
        dW_xh = dW_xh + da.T @ x[:, t]
        dW_hh = dW_hh + da.T @ h_prev
        db_h = db_h + da.sum(0)
        dxs.append(da @ W_xh)
        dh_next = da @ W_hh
    return {"dx": torch.stack(dxs[::-1], 1), "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward",
    "mistake",
    "no_dh_next",
    "I use only dhs[:, t] at each step and forget the gradient coming from step t+1.",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    return _bw_no_next(x, h0, W_xh, W_hh, b_h, hs, dhs)


def _bw_no_next(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dx = torch.zeros_like(x)
    dW_xh, dW_hh, db_h = torch.zeros_like(W_xh), torch.zeros_like(W_hh), torch.zeros_like(b_h)
    dh0 = torch.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = dhs[:, t] * (1 - hs[:, t] ** 2)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ h_prev
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh
        if t == 0:
            dh0 = da @ W_hh
    return {"dx": dx, "dh0": dh0, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward",
    "mistake",
    "forward_in_time",
    "My loop runs t = 0..T-1 (forward), passing dh_next on to the next step.",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dx = torch.zeros_like(x)
    dW_xh, dW_hh, db_h = torch.zeros_like(W_xh), torch.zeros_like(W_hh), torch.zeros_like(b_h)
    dh_next = torch.zeros_like(h0)
    for t in range(T):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ h_prev
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh
        dh_next = da @ W_hh
    return {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case("rnn_backward", "mistake", "no_dh0", "I return zeros for dh0 (I thought h0 is not a parameter).")
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    g = _bw_reference(x, h0, W_xh, W_hh, b_h, hs, dhs)
    g["dh0"] = torch.zeros_like(h0)
    return g


@case("rnn_backward", "mistake", "h_t_instead_of_h_prev", "dW_hh uses h_t instead of h_{t-1}.")
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dx = torch.zeros_like(x)
    dW_xh, dW_hh, db_h = torch.zeros_like(W_xh), torch.zeros_like(W_hh), torch.zeros_like(b_h)
    dh_next = torch.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ hs[:, t]
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh
        dh_next = da @ W_hh
    return {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward", "mistake", "tanh_deriv_prev_state", "I take tanh's derivative at the previous state, 1 - h_{t-1}^2."
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dx = torch.zeros_like(x)
    dW_xh, dW_hh, db_h = torch.zeros_like(W_xh), torch.zeros_like(W_hh), torch.zeros_like(b_h)
    dh_next = torch.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - h_prev**2)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ h_prev
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh
        dh_next = da @ W_hh
    return {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward",
    "mistake",
    "W_hh_transposed_back",
    "I send the gradient back with da @ W_hh.T (the forward used W_hh.T, so I kept it).",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    return _bw_reference(x, h0, W_xh, W_hh.T, b_h, hs, dhs)


@case(
    "rnn_backward",
    "mistake",
    "modifies_dhs",
    "I add dh_next into dhs[:, t-1] in place, which changes the caller's tensor.",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dx = torch.zeros_like(x)
    dW_xh, dW_hh, db_h = torch.zeros_like(W_xh), torch.zeros_like(W_hh), torch.zeros_like(b_h)
    dh0 = None
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = dhs[:, t] * (1 - hs[:, t] ** 2)
        dW_xh += da.T @ x[:, t]
        dW_hh += da.T @ h_prev
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh
        if t > 0:
            dhs[:, t - 1] += da @ W_hh
        else:
            dh0 = da @ W_hh
    return {"dx": dx, "dh0": dh0, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward",
    "mistake",
    "weights_overwritten",
    "I assign dW_xh = da.T @ x_t at each step instead of adding, so only step 1 survives.",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    T = x.shape[1]
    dx = torch.zeros_like(x)
    dh_next = torch.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dW_xh = da.T @ x[:, t]
        dW_hh = da.T @ h_prev
        db_h = da.sum(0)
        dx[:, t] = da @ W_xh
        dh_next = da @ W_hh
    return {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


@case(
    "rnn_backward",
    "mistake",
    "float32_accumulators",
    "My accumulators are torch.zeros(H, D) etc. (float32), so float64 inputs lose precision.",
)
def rnn_backward(x, h0, W_xh, W_hh, b_h, hs, dhs):
    H, D = W_xh.shape
    N, T, _ = x.shape
    dx = torch.zeros(N, T, D)
    dW_xh, dW_hh, db_h = torch.zeros(H, D), torch.zeros(H, H), torch.zeros(H)
    dh_next = torch.zeros(N, H)
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = ((dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)).float()
        dW_xh += da.T @ x[:, t].float()
        dW_hh += da.T @ h_prev.float()
        db_h += da.sum(0)
        dx[:, t] = da @ W_xh.float()
        dh_next = da @ W_hh.float()
    return {"dx": dx, "dh0": dh_next, "dW_xh": dW_xh, "dW_hh": dW_hh, "db_h": db_h}


# ---------------------------------------------------------------- tbptt
@case("tbptt", "correct", "split_chunks", "x.split(k, dim=1) and y.split(k, dim=1), zip over the chunks.")
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for xc, yc in zip(x.split(k, dim=1), y.split(k, dim=1)):
        h = h.detach()
        loss = 0
        for x_t, y_t in zip(xc.unbind(1), yc.unbind(1)):
            h, loss_t = step(x_t, y_t, h)
            loss = loss + loss_t
        loss.backward()
        total += float(loss)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h.detach(), total


@case(
    "tbptt",
    "correct",
    "while_loop_stack",
    "A while loop over chunk starts; the chunk loss is torch.stack(losses).sum().",
)
def tbptt(step, x, y, h0, k, optimizer=None):
    T = x.shape[1]
    start, total, h = 0, 0.0, h0
    while start < T:
        h = h.detach()
        losses = []
        for t in range(start, min(start + k, T)):
            h, loss_t = step(x[:, t], y[:, t], h)
            losses.append(loss_t)
        chunk = torch.stack(losses).sum()
        chunk.backward()
        total += chunk.item()
        if optimizer:
            optimizer.step()
            optimizer.zero_grad()
        start += k
    return h.detach(), total


@case(
    "tbptt",
    "mistake",
    "no_detach",
    "I never detach the carried state, so backward runs into the previous chunk's freed graph.",
)
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1], k):
        loss = 0
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h)
            loss = loss + lt
        loss.backward(retain_graph=True)
        total += float(loss)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h.detach(), total


@case("tbptt", "mistake", "detach_every_step", "I detach h at every time step instead of at each chunk boundary.")
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1], k):
        loss = 0
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h.detach())
            loss = loss + lt
        loss.backward()
        total += float(loss)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h.detach(), total


@case(
    "tbptt",
    "mistake",
    "zero_grad_before_step",
    "I call optimizer.zero_grad() before optimizer.step(), so the step sees no gradient.",
)
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1], k):
        h = h.detach()
        loss = 0
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h)
            loss = loss + lt
        loss.backward()
        total += float(loss)
        if optimizer is not None:
            optimizer.zero_grad()
            optimizer.step()
    return h.detach(), total


@case(
    "tbptt",
    "mistake",
    "drops_last_partial_chunk",
    "My chunk loop is range(0, T - k + 1, k), which skips a shorter last chunk.",
)
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1] - k + 1, k):
        h = h.detach()
        loss = 0
        for t in range(s, s + k):
            h, lt = step(x[:, t], y[:, t], h)
            loss = loss + lt
        loss.backward()
        total += float(loss)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h.detach(), total


@case("tbptt", "mistake", "mean_of_chunk", "I backpropagate the mean of the chunk's losses instead of their sum.")
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1], k):
        h = h.detach()
        losses = []
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h)
            losses.append(lt)
        loss = torch.stack(losses).mean()
        loss.backward()
        total += float(torch.stack(losses).sum())
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h.detach(), total


@case("tbptt", "mistake", "total_is_last_chunk", "My returned total is the loss of the last chunk only.")
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1], k):
        h = h.detach()
        loss = 0
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h)
            loss = loss + lt
        loss.backward()
        total = float(loss)
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h.detach(), total


@case(
    "tbptt", "mistake", "step_once_at_end", "I call optimizer.step() once after all chunks instead of after each chunk."
)
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0.0
    for s in range(0, x.shape[1], k):
        h = h.detach()
        loss = 0
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h)
            loss = loss + lt
        loss.backward()
        total += float(loss)
    if optimizer is not None:
        optimizer.step()
        optimizer.zero_grad()
    return h.detach(), total


@case(
    "tbptt",
    "mistake",
    "h_not_detached_on_return",
    "I return h as it is, still attached to the last chunk's graph, and the total as a tensor.",
)
def tbptt(step, x, y, h0, k, optimizer=None):
    h, total = h0, 0
    for s in range(0, x.shape[1], k):
        h = h.detach()
        loss = 0
        for t in range(s, min(s + k, x.shape[1])):
            h, lt = step(x[:, t], y[:, t], h)
            loss = loss + lt
        loss.backward(retain_graph=True)
        total = total + loss
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad()
    return h, total


# ---------------------------------------------------------------- sample
@case("sample", "correct", "prealloc_buffer", "Preallocates a (T0 + steps,) buffer (a copy), fills it step by step.")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    T0 = start_ids.shape[0]
    ids = torch.empty(T0 + steps, dtype=torch.long, device=start_ids.device)
    ids[:T0] = start_ids
    for t in range(T0, T0 + steps):
        logits = logits_fn(ids[:t])
        if temperature == 0:
            nxt = logits.argmax()
        else:
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs, num_samples=1, generator=generator)[0]
        ids[t] = nxt
    return ids


@case(
    "sample", "correct", "exp_log_softmax_cat", "probs = exp(log_softmax(logits / tau)); concatenates with torch.cat."
)
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        if not temperature:
            nxt = torch.argmax(logits).view(1)
        else:
            probs = F.log_softmax(logits / temperature, dim=-1).exp()
            nxt = torch.multinomial(probs, num_samples=1, generator=generator)
        ids = torch.cat([ids, nxt.to(ids.dtype)])
    return ids


@case("sample", "mistake", "temperature_multiplied", "I multiply the logits by the temperature.")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            nxt = torch.multinomial(torch.softmax(logits * temperature, -1), num_samples=1, generator=generator)
        ids = torch.cat([ids, nxt])
    return ids


@case("sample", "mistake", "no_greedy_branch", "I always divide by the temperature, so temperature 0 gives inf/nan.")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        probs = torch.softmax(logits_fn(ids) / temperature, -1)
        ids = torch.cat([ids, torch.multinomial(probs, num_samples=1, generator=generator)])
    return ids


@case("sample", "mistake", "generator_ignored", "I call torch.multinomial without the generator.")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            nxt = torch.multinomial(torch.softmax(logits / temperature, -1), num_samples=1)
        ids = torch.cat([ids, nxt])
    return ids


@case("sample", "mistake", "only_generated", "I return only the generated ids, without the prompt.")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            nxt = torch.multinomial(torch.softmax(logits / temperature, -1), num_samples=1, generator=generator)
        ids = torch.cat([ids, nxt])
    return ids[len(start_ids) :]


@case("sample", "mistake", "feeds_last_id_only", "I pass only the last id to logits_fn, not all the ids so far.")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids[-1:])
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            nxt = torch.multinomial(torch.softmax(logits / temperature, -1), num_samples=1, generator=generator)
        ids = torch.cat([ids, nxt])
    return ids


@case(
    "sample",
    "mistake",
    "inplace_logits",
    "I divide the logits in place (logits /= temperature), which changes the model's tensor.",
)
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            logits /= temperature
            nxt = torch.multinomial(torch.softmax(logits, -1), num_samples=1, generator=generator)
        ids = torch.cat([ids, nxt])
    return ids


@case("sample", "mistake", "argmax_of_probs", "With a temperature I still take the argmax of the softmax (no draw).")
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        probs = torch.softmax(logits / (temperature if temperature else 1.0), -1)
        ids = torch.cat([ids, probs.argmax().view(1)])
    return ids


@case(
    "sample",
    "mistake",
    "categorical_no_generator",
    "I draw with torch.distributions.Categorical(logits=...).sample(), which ignores the generator.",
)
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids.clone()
    for _ in range(steps):
        logits = logits_fn(ids)
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            nxt = torch.distributions.Categorical(logits=logits / temperature).sample().view(1)
        ids = torch.cat([ids, nxt])
    return ids


@case(
    "sample",
    "mistake",
    "appends_to_prompt_inplace",
    "I overwrite the last id of start_ids in place with each new id (modifies the caller's prompt).",
)
def sample(logits_fn, start_ids, steps, temperature=1.0, generator=None):
    ids = start_ids
    for _ in range(steps):
        logits = logits_fn(ids)
        if temperature == 0:
            nxt = logits.argmax().view(1)
        else:
            nxt = torch.multinomial(torch.softmax(logits / temperature, -1), num_samples=1, generator=generator)
        ids = torch.cat([ids, nxt])
        start_ids[-1] = nxt[0]  # "keep the prompt up to date"
    return ids


# ---------------------------------------------------------------- RNNLM
@case(
    "RNNLM",
    "correct",
    "column_lookup",
    "Indexes the columns of W_xh with the ids (W_xh.T[ids]) instead of multiplying by one-hot vectors.",
)
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = nn.Parameter(torch.empty(H, V).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(H, H).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.empty(H).uniform_(-k, k))
        self.W_hy = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.b_y = nn.Parameter(torch.empty(V).uniform_(-k, k))

    def forward(self, ids, h0=None):
        N, T = ids.shape
        if h0 is None:
            h0 = self.W_hh.new_zeros(N, self.H)
        h, states = h0, []
        for t in range(T):
            h = torch.tanh(self.W_xh.T[ids[:, t]] + h @ self.W_hh.T + self.b_h)
            states.append(h)
        hs = torch.stack(states, 1)
        return hs @ self.W_hy.T + self.b_y, h


@case(
    "RNNLM",
    "correct",
    "one_hot_rnn_forward",
    "Builds one-hot inputs and calls a correct rnn_forward; nn.init.uniform_ for the parameters.",
)
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        self.W_xh = nn.Parameter(torch.empty(H, V))
        self.W_hh = nn.Parameter(torch.empty(H, H))
        self.b_h = nn.Parameter(torch.empty(H))
        self.W_hy = nn.Parameter(torch.empty(V, H))
        self.b_y = nn.Parameter(torch.empty(V))
        for p in self.parameters():
            nn.init.uniform_(p, -1 / math.sqrt(H), 1 / math.sqrt(H))

    def forward(self, ids, h0=None):
        x = F.one_hot(ids, self.V).to(self.W_xh.dtype)
        if h0 is None:
            h0 = torch.zeros(ids.shape[0], self.H, dtype=self.W_xh.dtype, device=ids.device)
        hs, h_T = _forward(x, h0, self.W_xh, self.W_hh, self.b_h)
        return F.linear(hs, self.W_hy, self.b_y), h_T


def _lm_forward(self, ids, h0=None):
    x = F.one_hot(ids, self.V).to(self.W_xh.dtype)
    if h0 is None:
        h0 = torch.zeros(ids.shape[0], self.H, dtype=self.W_xh.dtype, device=ids.device)
    hs, h_T = _forward(x, h0, self.W_xh, self.W_hh, self.b_h)
    return hs @ self.W_hy.T + self.b_y, h_T


@case("RNNLM", "mistake", "randn_init", "I initialised the parameters with torch.randn (N(0, 1)), like the article.")
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        self.W_xh = nn.Parameter(torch.randn(H, V))
        self.W_hh = nn.Parameter(torch.randn(H, H))
        self.b_h = nn.Parameter(torch.randn(H))
        self.W_hy = nn.Parameter(torch.randn(V, H))
        self.b_y = nn.Parameter(torch.randn(V))

    forward = _lm_forward


@case("RNNLM", "mistake", "W_xh_transposed_shape", "I made W_xh of shape (V, H) and multiply x @ W_xh.")
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(H, H).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.empty(H).uniform_(-k, k))
        self.W_hy = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.b_y = nn.Parameter(torch.empty(V).uniform_(-k, k))

    def forward(self, ids, h0=None):
        x = F.one_hot(ids, self.V).to(self.W_xh.dtype)
        if h0 is None:
            h0 = torch.zeros(ids.shape[0], self.H, dtype=self.W_xh.dtype, device=ids.device)
        hs, h_T = _forward(x, h0, self.W_xh.T, self.W_hh, self.b_h)
        return hs @ self.W_hy.T + self.b_y, h_T


@case(
    "RNNLM",
    "mistake",
    "plain_tensors",
    "I stored the weights as plain tensors with requires_grad, not nn.Parameter, so they are not registered.",
)
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = torch.empty(H, V).uniform_(-k, k).requires_grad_()
        self.W_hh = torch.empty(H, H).uniform_(-k, k).requires_grad_()
        self.b_h = torch.empty(H).uniform_(-k, k).requires_grad_()
        self.W_hy = torch.empty(V, H).uniform_(-k, k).requires_grad_()
        self.b_y = torch.empty(V).uniform_(-k, k).requires_grad_()

    forward = _lm_forward


@case("RNNLM", "mistake", "logits_last_step_only", "I read out only the last state: logits (N, V), an N-1 model.")
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = nn.Parameter(torch.empty(H, V).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(H, H).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.empty(H).uniform_(-k, k))
        self.W_hy = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.b_y = nn.Parameter(torch.empty(V).uniform_(-k, k))

    def forward(self, ids, h0=None):
        x = F.one_hot(ids, self.V).to(self.W_xh.dtype)
        if h0 is None:
            h0 = torch.zeros(ids.shape[0], self.H, dtype=self.W_xh.dtype, device=ids.device)
        hs, h_T = _forward(x, h0, self.W_xh, self.W_hh, self.b_h)
        return h_T @ self.W_hy.T + self.b_y, h_T


@case("RNNLM", "mistake", "h0_ignored", "I always start from zeros, even when h0 is given.")
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = nn.Parameter(torch.empty(H, V).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(H, H).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.empty(H).uniform_(-k, k))
        self.W_hy = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.b_y = nn.Parameter(torch.empty(V).uniform_(-k, k))

    def forward(self, ids, h0=None):
        return _lm_forward(self, ids, None)


@case("RNNLM", "mistake", "softmax_output", "My forward returns softmax probabilities instead of logits.")
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = nn.Parameter(torch.empty(H, V).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(H, H).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.empty(H).uniform_(-k, k))
        self.W_hy = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.b_y = nn.Parameter(torch.empty(V).uniform_(-k, k))

    def forward(self, ids, h0=None):
        logits, h_T = _lm_forward(self, ids, h0)
        return torch.softmax(logits, -1), h_T


@case("RNNLM", "mistake", "no_readout_bias", "I left out b_y (created it but do not add it in forward).")
class RNNLM(nn.Module):
    def __init__(self, V, H):
        super().__init__()
        self.V, self.H = V, H
        k = 1 / math.sqrt(H)
        self.W_xh = nn.Parameter(torch.empty(H, V).uniform_(-k, k))
        self.W_hh = nn.Parameter(torch.empty(H, H).uniform_(-k, k))
        self.b_h = nn.Parameter(torch.empty(H).uniform_(-k, k))
        self.W_hy = nn.Parameter(torch.empty(V, H).uniform_(-k, k))
        self.b_y = nn.Parameter(torch.empty(V).uniform_(-k, k))

    def forward(self, ids, h0=None):
        logits, h_T = _lm_forward(self, ids, h0)
        return logits - self.b_y, h_T


# ---------------------------------------------------------------- perplexity
@case("perplexity", "correct", "log_softmax_gather_mask", "log_softmax, gather at clamped targets, masked mean, exp.")
def perplexity(logits, targets, pad_id):
    mask = targets != pad_id
    logp = torch.log_softmax(logits, -1)
    picked = logp.gather(-1, torch.where(mask, targets, torch.zeros_like(targets)).unsqueeze(-1)).squeeze(-1)
    return torch.exp(-(picked * mask).sum() / mask.sum())


@case(
    "perplexity",
    "correct",
    "cross_entropy_ignore_index",
    "F.cross_entropy on flattened logits with ignore_index=pad_id.",
)
def perplexity(logits, targets, pad_id):
    V = logits.shape[-1]
    return torch.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id))


@case(
    "perplexity", "correct", "select_then_logsumexp", "Selects the real positions first, then logsumexp - picked logit."
)
def perplexity(logits, targets, pad_id):
    keep = targets != pad_id
    z = logits[keep]  # (M, V)
    y = targets[keep]  # (M,)
    nll = torch.logsumexp(z, -1) - z.gather(1, y[:, None]).squeeze(1)
    return nll.mean().exp()


@case(
    "perplexity",
    "mistake",
    "pad_counted",
    "I call F.cross_entropy without ignore_index, so the padding counts (unless pad_id happens to be -100).",
)
def perplexity(logits, targets, pad_id):
    V = logits.shape[-1]
    return torch.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)))


@case("perplexity", "mistake", "exp_of_sum", "I exponentiate the summed cross-entropy instead of its mean.")
def perplexity(logits, targets, pad_id):
    V = logits.shape[-1]
    return torch.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id, reduction="sum"))


@case("perplexity", "mistake", "bits_with_exp", "I compute the cross-entropy in bits (log2) and then take exp of it.")
def perplexity(logits, targets, pad_id):
    V = logits.shape[-1]
    ce = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id)
    return torch.exp(ce / math.log(2))


@case(
    "perplexity",
    "mistake",
    "mean_of_sequence_means",
    "I average each sequence's cross-entropy, then average over sequences.",
)
def perplexity(logits, targets, pad_id):
    mask = targets != pad_id
    logp = torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    per_seq = -(logp * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.exp(per_seq[mask.any(1)].mean())


@case("perplexity", "mistake", "ignore_index_zero", "I used ignore_index=0 because <pad> is 0 in our vocabulary.")
def perplexity(logits, targets, pad_id):
    V = logits.shape[-1]
    return torch.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=0))


@case(
    "perplexity",
    "mistake",
    "gather_before_mask",
    "I gather log-probabilities at the raw targets and mask afterwards (fails for a negative pad id like -100).",
)
def perplexity(logits, targets, pad_id):
    logp = torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mask = targets != pad_id
    return torch.exp(-(logp * mask).sum() / mask.sum())


@case(
    "perplexity",
    "mistake",
    "classes_wrong_axis",
    "I passed (N, T, V) logits straight to F.cross_entropy, which reads dim 1 as the classes.",
)
def perplexity(logits, targets, pad_id):
    N, T, V = logits.shape
    return torch.exp(F.cross_entropy(logits.reshape(N, V, T), targets, ignore_index=pad_id))


@case(
    "perplexity",
    "mistake",
    "perplexity_per_sequence_mean",
    "I compute a perplexity per sequence and return the mean of those perplexities.",
)
def perplexity(logits, targets, pad_id):
    mask = targets != pad_id
    logp = torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    per_seq = torch.exp(-(logp * mask).sum(1) / mask.sum(1).clamp(min=1))
    return per_seq[mask.any(1)].mean()


@case(
    "perplexity",
    "mistake",
    "softmax_then_log_float32",
    "I take log(softmax(logits.float())), which gives -inf for a confident model and drops float64.",
)
def perplexity(logits, targets, pad_id):
    mask = targets != pad_id
    p = torch.softmax(logits.float(), -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.exp(-(torch.log(p) * mask).sum() / mask.sum())
