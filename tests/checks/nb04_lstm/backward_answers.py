"""An LSTM backward pass by hand, written for the tests independently of the solution notebook, with switches
that make each classic mistake (so the tests can ask whether the checks name it).

Gates stacked i, f, g, o (PyTorch's order); one bias; rows are examples.
"""

from __future__ import annotations

import torch


def step_forward(x, h_prev, c_prev, weight_ih, weight_hh, bias):
    z = x @ weight_ih.T + h_prev @ weight_hh.T + bias
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    cache = {
        "x": x,
        "h_prev": h_prev,
        "c_prev": c_prev,
        "i": i,
        "f": f,
        "g": g,
        "o": o,
        "c": c,
        "weight_ih": weight_ih,
        "weight_hh": weight_hh,
    }
    return h, c, cache


def step_backward(
    dh, dc_next, cache, *, tanh_c=True, use_dc=True, through_f=True, sigmoid=True, tanh_g=True, order="ifgo"
):
    i, f, g, o, c = (cache[k] for k in "ifgoc")
    tc = torch.tanh(c)
    dc = (dc_next if use_dc else 0) + dh * o * ((1 - tc**2) if tanh_c else 1)
    do, di, dg, df = dh * tc, dc * g, dc * i, dc * cache["c_prev"]
    s = (lambda a: a * (1 - a)) if sigmoid else (lambda a: 1)
    dz = {"i": di * s(i), "f": df * s(f), "g": dg * ((1 - g**2) if tanh_g else 1), "o": do * s(o)}
    dz = torch.cat([dz[k] for k in order], dim=1)
    return {
        "dx": dz @ cache["weight_ih"],
        "dh_prev": dz @ cache["weight_hh"],
        "dc_prev": dc * f if through_f else dc,
        "dweight_ih": dz.T @ cache["x"],
        "dweight_hh": dz.T @ cache["h_prev"],
        "dbias": dz.sum(0),
    }


def lstm_backward(
    x,
    h0,
    c0,
    weight_ih,
    weight_hh,
    bias,
    dhs,
    *,
    carry_h=True,
    carry_c=True,
    accumulate=True,
    reverse=True,
    **step_mistakes,
):
    T = x.shape[1]
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = step_forward(x[:, t], h, c, weight_ih, weight_hh, bias)
        caches.append(cache)
    dx = torch.zeros_like(x)
    dW_ih, dW_hh, db = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias)
    dh_next, dc_next = torch.zeros_like(h0), torch.zeros_like(c0)
    for t in reversed(range(T)) if reverse else range(T):
        step = step_backward(dhs[:, t] + dh_next, dc_next, caches[t], **step_mistakes)
        dx[:, t] = step["dx"]
        dh_next = step["dh_prev"] if carry_h else torch.zeros_like(h0)
        dc_next = step["dc_prev"] if carry_c else torch.zeros_like(c0)
        if accumulate:
            dW_ih, dW_hh, db = dW_ih + step["dweight_ih"], dW_hh + step["dweight_hh"], db + step["dbias"]
        else:
            dW_ih, dW_hh, db = step["dweight_ih"], step["dweight_hh"], step["dbias"]
    return {"dx": dx, "dh0": dh_next, "dc0": dc_next, "dweight_ih": dW_ih, "dweight_hh": dW_hh, "dbias": db}
