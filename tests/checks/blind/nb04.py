# ruff: noqa: F811, F841
# Copied from the independent blind suite (written from the learner notebooks' text only), reformatted by ruff; see README.md.
"""Blind suite for notebook 04_lstm: realistic wrong and correct-alternative implementations."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NB = "04_lstm"
CASES = []


def case(exercise, kind, name, what):
    def deco(fn):
        CASES.append(dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn))
        return fn

    return deco


# ---------------------------------------------------------------- helpers (correct)
def _pre(x_t, h_prev, params, k):
    return x_t @ params[f"W_x{k}"].T + h_prev @ params[f"W_h{k}"].T + params[f"b_{k}"]


def _fused_cell(xp_t, h_prev, c_prev, weight_hh):
    i, f, g, o = torch.addmm(xp_t, h_prev, weight_hh.T).chunk(4, dim=1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def lstm_step_forward(x_t, h_prev, c_prev, weight_ih, weight_hh, bias):
    """The notebook's given forward step (cache layout as documented there)."""
    z_i, z_f, z_g, z_o = (x_t @ weight_ih.T + h_prev @ weight_hh.T + bias).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
    c_t = f * c_prev + i * g
    h_t = o * torch.tanh(c_t)
    cache = {
        "x": x_t,
        "h_prev": h_prev,
        "c_prev": c_prev,
        "i": i,
        "f": f,
        "g": g,
        "o": o,
        "c": c_t,
        "weight_ih": weight_ih,
        "weight_hh": weight_hh,
    }
    return h_t, c_t, cache


def _step_backward(dh_t, dc_t, cache):
    i, f, g, o, c = cache["i"], cache["f"], cache["g"], cache["o"], cache["c"]
    tc = torch.tanh(c)
    dc = dc_t + dh_t * o * (1 - tc**2)
    do = dh_t * tc
    di, dg, df = dc * g, dc * i, dc * cache["c_prev"]
    dz = torch.cat([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], dim=1)
    return {
        "dx": dz @ cache["weight_ih"],
        "dh_prev": dz @ cache["weight_hh"],
        "dc_prev": dc * f,
        "dweight_ih": dz.T @ cache["x"],
        "dweight_hh": dz.T @ cache["h_prev"],
        "dbias": dz.sum(0),
    }


# ---------------------------------------------------------------- lstm_cell
@case(
    "lstm_cell",
    "correct",
    "stacked_one_matmul",
    "Stacks the four gates' weights (i, f, o, c) and does one product each for x and h.",
)
def lstm_cell(x_t, h_prev, c_prev, params):
    Wx = torch.cat([params[f"W_x{k}"] for k in "ifoc"])
    Wh = torch.cat([params[f"W_h{k}"] for k in "ifoc"])
    b = torch.cat([params[f"b_{k}"] for k in "ifoc"])
    zi, zf, zo, zc = (x_t @ Wx.T + h_prev @ Wh.T + b).chunk(4, dim=1)
    c_t = torch.sigmoid(zf) * c_prev + torch.sigmoid(zi) * torch.tanh(zc)
    return torch.sigmoid(zo) * torch.tanh(c_t), c_t


@case("lstm_cell", "correct", "F_linear_addcmul", "F.linear per gate; c_t with torch.addcmul.")
def lstm_cell(x_t, h_prev, c_prev, params):
    def gate(k):
        return F.linear(x_t, params[f"W_x{k}"], params[f"b_{k}"]) + F.linear(h_prev, params[f"W_h{k}"])

    i, f, o = torch.sigmoid(gate("i")), torch.sigmoid(gate("f")), torch.sigmoid(gate("o"))
    c_t = torch.addcmul(f * c_prev, i, torch.tanh(gate("c")))
    return o * torch.tanh(c_t), c_t


@case(
    "lstm_cell", "mistake", "o_and_candidate_swapped", "I used tanh for the output gate and sigmoid for the candidate."
)
def lstm_cell(x_t, h_prev, c_prev, params):
    i, f = torch.sigmoid(_pre(x_t, h_prev, params, "i")), torch.sigmoid(_pre(x_t, h_prev, params, "f"))
    o, cc = torch.tanh(_pre(x_t, h_prev, params, "o")), torch.sigmoid(_pre(x_t, h_prev, params, "c"))
    c_t = f * c_prev + i * cc
    return o * torch.tanh(c_t), c_t


@case("lstm_cell", "mistake", "h_without_tanh", "h_t = o_t * c_t: I forgot the tanh on the cell.")
def lstm_cell(x_t, h_prev, c_prev, params):
    i, f, o = (torch.sigmoid(_pre(x_t, h_prev, params, k)) for k in "ifo")
    c_t = f * c_prev + i * torch.tanh(_pre(x_t, h_prev, params, "c"))
    return o * c_t, c_t


@case(
    "lstm_cell",
    "mistake",
    "input_forget_swapped",
    "I multiplied c_{t-1} by the input gate and the candidate by the forget gate.",
)
def lstm_cell(x_t, h_prev, c_prev, params):
    i, f, o = (torch.sigmoid(_pre(x_t, h_prev, params, k)) for k in "ifo")
    c_t = i * c_prev + f * torch.tanh(_pre(x_t, h_prev, params, "c"))
    return o * torch.tanh(c_t), c_t


@case("lstm_cell", "mistake", "W_h_not_transposed", "I wrote h_prev @ W_hk (square, so no error) without .T.")
def lstm_cell(x_t, h_prev, c_prev, params):
    def pre(k):
        return x_t @ params[f"W_x{k}"].T + h_prev @ params[f"W_h{k}"] + params[f"b_{k}"]

    i, f, o = (torch.sigmoid(pre(k)) for k in "ifo")
    c_t = f * c_prev + i * torch.tanh(pre("c"))
    return o * torch.tanh(c_t), c_t


@case("lstm_cell", "mistake", "no_bias", "My helper pre(k) has no bias.")
def lstm_cell(x_t, h_prev, c_prev, params):
    def pre(k):
        return x_t @ params[f"W_x{k}"].T + h_prev @ params[f"W_h{k}"].T

    i, f, o = (torch.sigmoid(pre(k)) for k in "ifo")
    c_t = f * c_prev + i * torch.tanh(pre("c"))
    return o * torch.tanh(c_t), c_t


@case("lstm_cell", "mistake", "returns_c_h", "I return (c_t, h_t) instead of (h_t, c_t).")
def lstm_cell(x_t, h_prev, c_prev, params):
    i, f, o = (torch.sigmoid(_pre(x_t, h_prev, params, k)) for k in "ifo")
    c_t = f * c_prev + i * torch.tanh(_pre(x_t, h_prev, params, "c"))
    return c_t, o * torch.tanh(c_t)


@case("lstm_cell", "mistake", "tanh_of_c_prev", "h_t uses tanh(c_{t-1}) instead of tanh(c_t).")
def lstm_cell(x_t, h_prev, c_prev, params):
    i, f, o = (torch.sigmoid(_pre(x_t, h_prev, params, k)) for k in "ifo")
    c_t = f * c_prev + i * torch.tanh(_pre(x_t, h_prev, params, "c"))
    return o * torch.tanh(c_prev), c_t


# ---------------------------------------------------------------- fused_lstm_cell
@case(
    "fused_lstm_cell", "correct", "view_unbind", "z.view(N, 4, H).unbind(1) for the blocks; sigmoid on all of z once."
)
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    N, H = h_prev.shape
    z = xp_t + h_prev @ weight_hh.T
    s = torch.sigmoid(z).view(N, 4, H)
    i, f, o = s[:, 0], s[:, 1], s[:, 3]
    g = torch.tanh(z.view(N, 4, H)[:, 2])
    c_t = f * c_prev + i * g
    return o * torch.tanh(c_t), c_t


@case("fused_lstm_cell", "correct", "split_einsum", "einsum for the product and torch.split(H, dim=1).")
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    H = h_prev.shape[1]
    z = xp_t + torch.einsum("nk,gk->ng", h_prev, weight_hh)
    zi, zf, zg, zo = torch.split(z, H, dim=1)
    c_t = torch.sigmoid(zf) * c_prev + torch.sigmoid(zi) * torch.tanh(zg)
    return torch.sigmoid(zo) * torch.tanh(c_t), c_t


@case(
    "fused_lstm_cell",
    "mistake",
    "article_order_ifoc",
    "I split the blocks in the article's order i, f, o, c instead of PyTorch's i, f, g, o.",
)
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    i, f, o, g = (xp_t + h_prev @ weight_hh.T).chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


@case(
    "fused_lstm_cell",
    "mistake",
    "addmm_inplace",
    "I used xp_t.addmm_(...) to save memory, which overwrites the caller's xp_t.",
)
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    z = xp_t.addmm_(h_prev, weight_hh.T)
    i, f, g, o = z.chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


@case("fused_lstm_cell", "mistake", "forgot_xp", "z = h_prev @ weight_hh.T only: I forgot to add the projected input.")
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    i, f, g, o = (h_prev @ weight_hh.T).chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


@case(
    "fused_lstm_cell",
    "mistake",
    "weight_not_transposed",
    "I reshaped weight_hh to (H, 4H) instead of transposing it, so the shapes fit but the numbers are scrambled.",
)
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    H = h_prev.shape[1]
    z = xp_t + h_prev @ weight_hh.reshape(H, 4 * H)
    i, f, g, o = z.chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


@case(
    "fused_lstm_cell",
    "mistake",
    "interleaved_blocks",
    "I take the gates as interleaved columns z[:, 0::4], z[:, 1::4], ... instead of contiguous blocks.",
)
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    z = xp_t + h_prev @ weight_hh.T
    i, f, g, o = z[:, 0::4], z[:, 1::4], z[:, 2::4], z[:, 3::4]
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


@case("fused_lstm_cell", "mistake", "sigmoid_candidate", "I applied sigmoid to all four blocks, the candidate g too.")
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    i, f, g, o = torch.sigmoid(xp_t + h_prev @ weight_hh.T).chunk(4, dim=1)
    c_t = f * c_prev + i * g
    return o * torch.tanh(c_t), c_t


@case("fused_lstm_cell", "mistake", "chunk_dim0", "I chunk z along dim 0 (the batch) instead of dim 1.")
def fused_lstm_cell(xp_t, h_prev, c_prev, weight_hh):
    z = xp_t + h_prev @ weight_hh.T
    H = h_prev.shape[1]
    i, f, g, o = z.reshape(4, -1, H).unbind(0)  # "four chunks of rows"
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


# ---------------------------------------------------------------- FusedLSTM
def _init_lstm(self, input_size, hidden_size, forget_bias):
    H = hidden_size
    self.weight_ih = nn.Parameter(torch.empty(4 * H, input_size))
    self.weight_hh = nn.Parameter(torch.empty(4 * H, H))
    self.bias = nn.Parameter(torch.empty(4 * H))


def _reset_ok(self, forget_bias=1.0):
    H = self.hidden_size
    k = 1 / math.sqrt(H)
    with torch.no_grad():
        self.weight_ih.uniform_(-k, k)
        self.weight_hh.uniform_(-k, k)
        self.bias.zero_()
        self.bias[H : 2 * H] = forget_bias


def _forward_ok(self, x, state=None):
    N, T, _ = x.shape
    H = self.hidden_size
    if state is None:
        h = x.new_zeros(N, H)
        c = x.new_zeros(N, H)
    else:
        h, c = state
    xp = x @ self.weight_ih.T + self.bias
    outs = []
    for xp_t in xp.unbind(1):
        h, c = _fused_cell(xp_t, h, c, self.weight_hh)
        outs.append(h)
    return torch.stack(outs, 1), (h, c)


@case(
    "FusedLSTM",
    "correct",
    "init_uniform_prealloc_out",
    "nn.init.uniform_ / zeros_ / fill_, projection via F.linear on (N*T, D); outputs written into a fresh list, stacked.",
)
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * H, H))
        self.bias = nn.Parameter(torch.empty(4 * H))
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias=1.0):
        H = self.hidden_size
        bound = 1.0 / math.sqrt(H)
        nn.init.uniform_(self.weight_ih, -bound, bound)
        nn.init.uniform_(self.weight_hh, -bound, bound)
        nn.init.zeros_(self.bias)
        with torch.no_grad():
            self.bias[H : 2 * H].fill_(forget_bias)

    def forward(self, x, state=None):
        N, T, D = x.shape
        H = self.hidden_size
        h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
        xp = F.linear(x.reshape(N * T, D), self.weight_ih, self.bias).view(N, T, 4 * H)
        hs = []
        for xp_t in xp.unbind(1):
            z = torch.addmm(xp_t, h, self.weight_hh.T)
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, dim=1), (h, c)


@case(
    "FusedLSTM",
    "correct",
    "einsum_projection",
    "Projection with einsum('ntd,gd->ntg'), parameters created with a concatenated bias.",
)
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias=1.0):
        H = self.hidden_size
        k = H**-0.5
        with torch.no_grad():
            self.weight_ih.copy_(torch.rand_like(self.weight_ih) * 2 * k - k)
            self.weight_hh.copy_(torch.rand_like(self.weight_hh) * 2 * k - k)
            self.bias.copy_(torch.cat([torch.zeros(H), torch.full((H,), float(forget_bias)), torch.zeros(2 * H)]))

    def forward(self, x, state=None):
        N = x.shape[0]
        H = self.hidden_size
        if state is None:
            state = (torch.zeros(N, H, dtype=x.dtype, device=x.device),) * 2
        h, c = state
        xp = torch.einsum("ntd,gd->ntg", x, self.weight_ih) + self.bias
        outs = []
        for xp_t in xp.unbind(1):
            h, c = _fused_cell(xp_t, h, c, self.weight_hh)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


@case("FusedLSTM", "mistake", "forget_bias_input_block", "I set the forget bias on bias[:H] (the first block).")
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias=1.0):
        H = self.hidden_size
        _reset_ok(self, 0.0)
        with torch.no_grad():
            self.bias[:H] = forget_bias

    forward = _forward_ok


@case(
    "FusedLSTM",
    "mistake",
    "forget_bias_g_block",
    "I set the forget bias on bias[2H:3H], counting the article's order i, f... wrongly.",
)
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias=1.0):
        H = self.hidden_size
        _reset_ok(self, 0.0)
        with torch.no_grad():
            self.bias[2 * H : 3 * H] = forget_bias

    forward = _forward_ok


@case(
    "FusedLSTM",
    "mistake",
    "forget_bias_arg_dropped",
    "__init__ calls self.reset_parameters() without passing forget_bias, so it is always 1.",
)
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters()

    reset_parameters = _reset_ok
    forward = _forward_ok


@case("FusedLSTM", "mistake", "init_uses_D", "I used k = 1/sqrt(input_size) for the uniform initialisation.")
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias=1.0):
        H, k = self.hidden_size, 1 / math.sqrt(self.input_size)
        with torch.no_grad():
            self.weight_ih.uniform_(-k, k)
            self.weight_hh.uniform_(-k, k)
            self.bias.zero_()
            self.bias[H : 2 * H] = forget_bias

    forward = _forward_ok


@case(
    "FusedLSTM",
    "mistake",
    "projection_inside_loop",
    "I compute x[:, t] @ weight_ih.T inside the loop (2T matrix products instead of T + 1).",
)
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    reset_parameters = _reset_ok

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.hidden_size
        h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
        outs = []
        for t in range(T):
            h, c = _fused_cell(x[:, t] @ self.weight_ih.T + self.bias, h, c, self.weight_hh)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


@case("FusedLSTM", "mistake", "state_ignored", "forward always starts from zeros, even when a state is passed.")
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    reset_parameters = _reset_ok

    def forward(self, x, state=None):
        return _forward_ok(self, x, None)


@case(
    "FusedLSTM",
    "mistake",
    "float32_zeros_state",
    "My zero state is torch.zeros(N, H): float32 on the CPU, whatever x is.",
)
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    reset_parameters = _reset_ok

    def forward(self, x, state=None):
        if state is None:
            state = (torch.zeros(x.shape[0], self.hidden_size), torch.zeros(x.shape[0], self.hidden_size))
        return _forward_ok(self, x, state)


@case("FusedLSTM", "mistake", "returns_c_h_swapped", "I return (c_T, h_T) as the final state.")
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    reset_parameters = _reset_ok

    def forward(self, x, state=None):
        out, (h, c) = _forward_ok(self, x, state)
        return out, (c, h)


@case("FusedLSTM", "mistake", "outputs_cell_states", "out collects c_t at every step instead of h_t.")
class FusedLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, forget_bias=1.0):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_lstm(self, input_size, hidden_size, forget_bias)
        self.reset_parameters(forget_bias)

    reset_parameters = _reset_ok

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.hidden_size
        h, c = state if state is not None else (x.new_zeros(N, H), x.new_zeros(N, H))
        xp = x @ self.weight_ih.T + self.bias
        outs = []
        for xp_t in xp.unbind(1):
            h, c = _fused_cell(xp_t, h, c, self.weight_hh)
            outs.append(c)
        return torch.stack(outs, 1), (h, c)


# ---------------------------------------------------------------- lstm_state_grad_norms
def _grad_norms(loss, states):
    grads = torch.autograd.grad(loss, states, allow_unused=True)
    return torch.tensor([0.0 if g is None else float(g.double().norm()) for g in grads], dtype=torch.float64)


@case(
    "lstm_state_grad_norms",
    "correct",
    "step_lstm_autograd_grad",
    "Steps nn.LSTM one step at a time carrying (h, c); torch.autograd.grad on the list of h's.",
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size)
    c = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        _, (h, c) = lstm(x_t[:, None], (h, c))
        states.append(h)
    return _grad_norms(loss_of_last(h[0]), states)


@case(
    "lstm_state_grad_norms",
    "correct",
    "backward_inputs",
    "torch.autograd.backward(loss, inputs=states) so only the states get .grad; reads their norms.",
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N, T, _ = x.shape
    H = lstm.hidden_size
    state = (x.new_zeros(1, N, H), x.new_zeros(1, N, H))
    hs = []
    for t in range(T):
        _, state = lstm(x[:, t : t + 1], state)
        hs.append(state[0])
    torch.autograd.backward(loss_of_last(state[0][0]), inputs=hs)
    return torch.stack([h.grad.double().norm() for h in hs]).cpu()


@case(
    "lstm_state_grad_norms",
    "correct",
    "lstmcell_copy",
    "Copies the layer's weights into an nn.LSTMCell and loops over it.",
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    cell = nn.LSTMCell(lstm.input_size, lstm.hidden_size, dtype=x.dtype, device=x.device)
    with torch.no_grad():
        cell.weight_ih.copy_(lstm.weight_ih_l0)
        cell.weight_hh.copy_(lstm.weight_hh_l0)
        cell.bias_ih.copy_(lstm.bias_ih_l0)
        cell.bias_hh.copy_(lstm.bias_hh_l0)
    N = x.shape[0]
    h = x.new_zeros(N, lstm.hidden_size)
    c = x.new_zeros(N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        h, c = cell(x_t, (h, c))
        states.append(h)
    return _grad_norms(loss_of_last(h), states)


@case("lstm_state_grad_norms", "mistake", "c_not_carried", "I carry h but restart the cell from zeros at every step.")
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        _, (h, _c) = lstm(x_t[:, None], (h, x.new_zeros(1, N, lstm.hidden_size)))
        states.append(h)
    return _grad_norms(loss_of_last(h[0]), states)


@case(
    "lstm_state_grad_norms", "mistake", "measures_cell", "I measure the gradient on the cell states c_t instead of h_t."
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size)
    c = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        _, (h, c) = lstm(x_t[:, None], (h, c))
        states.append(c)
    return _grad_norms(loss_of_last(h[0]), states)


@case(
    "lstm_state_grad_norms",
    "mistake",
    "whole_sequence_outputs",
    "I run nn.LSTM once over x and differentiate with respect to out[:, t].",
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    out, (h_n, _) = lstm(x)
    states = list(out.unbind(1))
    return _grad_norms(loss_of_last(states[-1]), states)


@case(
    "lstm_state_grad_norms",
    "mistake",
    "off_by_one_h0",
    "I record the state entering each step (h_0..h_{T-1}) instead of h_1..h_T.",
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size, requires_grad=True)
    c = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        states.append(h)
        _, (h, c) = lstm(x_t[:, None], (h, c))
    return _grad_norms(loss_of_last(h[0]), states)


@case(
    "lstm_state_grad_norms",
    "mistake",
    "detached_chain",
    "I detach (h, c) between steps (as in truncated BPTT), so only the last step gets a gradient.",
)
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size)
    c = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        _, (h, c) = lstm(x_t[:, None], (h.detach(), c.detach()))
        states.append(h)
    return _grad_norms(loss_of_last(h[0]), states)


@case("lstm_state_grad_norms", "mistake", "float32_result", "I return torch.tensor(list of floats), which is float32.")
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size)
    c = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        _, (h, c) = lstm(x_t[:, None], (h, c))
        states.append(h)
    grads = torch.autograd.grad(loss_of_last(h[0]), states)
    return torch.tensor([float(g.norm()) for g in grads])


@case("lstm_state_grad_norms", "mistake", "reversed_order", "I return the norms from the last step to the first.")
def lstm_state_grad_norms(lstm, x, loss_of_last):
    N = x.shape[0]
    h = x.new_zeros(1, N, lstm.hidden_size)
    c = x.new_zeros(1, N, lstm.hidden_size)
    states = []
    for x_t in x.unbind(1):
        _, (h, c) = lstm(x_t[:, None], (h, c))
        states.append(h)
    return _grad_norms(loss_of_last(h[0]), states).flip(0)


# ---------------------------------------------------------------- lstm_step_backward
@case(
    "lstm_step_backward",
    "correct",
    "einsum_blocks",
    "Gradient blocks filled into a new (N, 4H) tensor; weight gradients with einsum.",
)
def lstm_step_backward(dh_t, dc_t, cache):
    i, f, g, o, c = (cache[k] for k in ("i", "f", "g", "o", "c"))
    N, H = i.shape
    tanh_c = torch.tanh(c)
    dc = dc_t + dh_t * o * (1 - tanh_c * tanh_c)
    dz = dh_t.new_empty(N, 4 * H)
    dz[:, :H] = dc * g * i * (1 - i)
    dz[:, H : 2 * H] = dc * cache["c_prev"] * f * (1 - f)
    dz[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
    dz[:, 3 * H :] = dh_t * tanh_c * o * (1 - o)
    return {
        "dx": torch.einsum("ng,gd->nd", dz, cache["weight_ih"]),
        "dh_prev": torch.einsum("ng,gk->nk", dz, cache["weight_hh"]),
        "dc_prev": dc * f,
        "dweight_ih": torch.einsum("ng,nd->gd", dz, cache["x"]),
        "dweight_hh": torch.einsum("ng,nk->gk", dz, cache["h_prev"]),
        "dbias": dz.sum(dim=0),
    }


@case(
    "lstm_step_backward",
    "correct",
    "autograd_free_sigmoid_from_logit",
    "Same equations written with torch.mul and torch.cat; sigma' as s - s**2.",
)
def lstm_step_backward(dh_t, dc_t, cache):
    i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
    tc = torch.tanh(cache["c"])
    dc = torch.add(dc_t, torch.mul(dh_t * o, 1 - tc.pow(2)))
    dz = torch.cat(
        [
            torch.mul(dc * g, i - i**2),
            torch.mul(dc * cache["c_prev"], f - f**2),
            torch.mul(dc * i, 1 - g.pow(2)),
            torch.mul(dh_t * tc, o - o**2),
        ],
        dim=1,
    )
    return {
        "dx": dz.mm(cache["weight_ih"]),
        "dh_prev": dz.mm(cache["weight_hh"]),
        "dc_prev": dc * f,
        "dweight_ih": dz.t().mm(cache["x"]),
        "dweight_hh": dz.t().mm(cache["h_prev"]),
        "dbias": dz.sum(0),
    }


def _sb(
    dh_t,
    dc_t,
    cache,
    *,
    through_h=True,
    sig=lambda s: s * (1 - s),
    order="ifgo",
    df_src="c_prev",
    dc_prev_f=True,
    dg_deriv=lambda g: 1 - g**2,
    do_src="c",
):
    i, f, g, o, c = cache["i"], cache["f"], cache["g"], cache["o"], cache["c"]
    tc = torch.tanh(cache[do_src])
    dc = dc_t + (dh_t * o * (1 - torch.tanh(c) ** 2) if through_h else 0)
    do = dh_t * tc
    di, dg, df = dc * g, dc * i, dc * cache[df_src]
    blocks = {"i": di * sig(i), "f": df * sig(f), "g": dg * dg_deriv(g), "o": do * sig(o)}
    dz = torch.cat([blocks[k] for k in order], dim=1)
    return {
        "dx": dz @ cache["weight_ih"],
        "dh_prev": dz @ cache["weight_hh"],
        "dc_prev": dc * f if dc_prev_f else dc,
        "dweight_ih": dz.T @ cache["x"],
        "dweight_hh": dz.T @ cache["h_prev"],
        "dbias": dz.sum(0),
    }


@case(
    "lstm_step_backward",
    "mistake",
    "dc_missing_h_path",
    "dc = dc_t only: I forgot that c_t also reaches the loss through h_t.",
)
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, through_h=False)


@case("lstm_step_backward", "mistake", "sigmoid_deriv_wrong", "I used 1 - sigma**2 as the sigmoid's derivative.")
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, sig=lambda s: 1 - s**2)


@case("lstm_step_backward", "mistake", "dz_order_ifog", "I stacked dz in the order i, f, o, g.")
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, order="ifog")


@case("lstm_step_backward", "mistake", "dc_prev_no_forget", "dc_prev = dc: I forgot to multiply by the forget gate.")
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, dc_prev_f=False)


@case("lstm_step_backward", "mistake", "df_uses_c_t", "df = dc * c_t instead of dc * c_{t-1}.")
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, df_src="c")


@case("lstm_step_backward", "mistake", "dg_deriv_linear", "I used 1 - g as tanh's derivative for the candidate.")
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, dg_deriv=lambda g: 1 - g)


@case("lstm_step_backward", "mistake", "do_uses_c_prev", "do = dh_t * tanh(c_{t-1}) instead of tanh(c_t).")
def lstm_step_backward(dh_t, dc_t, cache):
    return _sb(dh_t, dc_t, cache, do_src="c_prev")


@case(
    "lstm_step_backward",
    "mistake",
    "weight_grads_transposed",
    "I compute dweight_ih = x.T @ dz, shape (D, 4H), and dweight_hh likewise.",
)
def lstm_step_backward(dh_t, dc_t, cache):
    g = _sb(dh_t, dc_t, cache)
    g["dweight_ih"] = g["dweight_ih"].T
    g["dweight_hh"] = g["dweight_hh"].T
    return g


# ---------------------------------------------------------------- lstm_backward
def _lstm_bw(
    x,
    h0,
    c0,
    weight_ih,
    weight_hh,
    bias,
    dhs,
    *,
    reverse=True,
    carry_c=True,
    accumulate=True,
    carry_h=True,
    step_bw=_step_backward,
):
    T = x.shape[1]
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = lstm_step_forward(x[:, t], h, c, weight_ih, weight_hh, bias)
        caches.append(cache)
    dx = [None] * T
    dW_ih, dW_hh, db = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias)
    dh_next, dc_next = torch.zeros_like(h0), torch.zeros_like(c0)
    order = reversed(range(T)) if reverse else range(T)
    for t in order:
        g = step_bw(dhs[:, t] + (dh_next if carry_h else 0), dc_next if carry_c else torch.zeros_like(c0), caches[t])
        dx[t] = g["dx"]
        dh_next, dc_next = g["dh_prev"], g["dc_prev"]
        if accumulate:
            dW_ih, dW_hh, db = dW_ih + g["dweight_ih"], dW_hh + g["dweight_hh"], db + g["dbias"]
        else:
            dW_ih, dW_hh, db = g["dweight_ih"], g["dweight_hh"], g["dbias"]
    return {
        "dx": torch.stack(dx, 1),
        "dh0": dh_next,
        "dc0": dc_next,
        "dweight_ih": dW_ih,
        "dweight_hh": dW_hh,
        "dbias": db,
    }


@case(
    "lstm_backward",
    "correct",
    "vectorised_weight_grads",
    "Loops backwards for dz only, then gets the weight gradients from all steps at once with einsum.",
)
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    T = x.shape[1]
    h, c, caches = h0, c0, []
    for x_t in x.unbind(1):
        h, c, cache = lstm_step_forward(x_t, h, c, weight_ih, weight_hh, bias)
        caches.append(cache)
    dzs, dxs = [None] * T, [None] * T
    dh, dc = torch.zeros_like(h0), torch.zeros_like(c0)
    for t in range(T - 1, -1, -1):
        k = caches[t]
        i, f, g, o = k["i"], k["f"], k["g"], k["o"]
        tc = torch.tanh(k["c"])
        dh_t = dhs[:, t] + dh
        dct = dc + dh_t * o * (1 - tc**2)
        dz = torch.cat(
            [dct * g * i * (1 - i), dct * k["c_prev"] * f * (1 - f), dct * i * (1 - g**2), dh_t * tc * o * (1 - o)], 1
        )
        dzs[t] = dz
        dxs[t] = dz @ weight_ih
        dh, dc = dz @ weight_hh, dct * f
    dZ = torch.stack(dzs, 1)  # (N, T, 4H)
    h_prev = torch.stack([k["h_prev"] for k in caches], 1)
    return {
        "dx": torch.stack(dxs, 1),
        "dh0": dh,
        "dc0": dc,
        "dweight_ih": torch.einsum("ntg,ntd->gd", dZ, x),
        "dweight_hh": torch.einsum("ntg,ntk->gk", dZ, h_prev),
        "dbias": dZ.sum((0, 1)),
    }


@case(
    "lstm_backward",
    "correct",
    "helper_out_of_place",
    "Forward with lstm_step_forward keeping caches, backward loop calling a step backward, weight gradients summed out of place, dx stacked from a list.",
)
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    return _lstm_bw(x, h0, c0, weight_ih, weight_hh, bias, dhs)


@case(
    "lstm_backward", "mistake", "dc_not_carried", "I start dc at zero at every step instead of carrying dc_prev back."
)
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    return _lstm_bw(x, h0, c0, weight_ih, weight_hh, bias, dhs, carry_c=False)


@case("lstm_backward", "mistake", "forward_loop", "My backward loop runs t = 1..T (forward in time).")
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    return _lstm_bw(x, h0, c0, weight_ih, weight_hh, bias, dhs, reverse=False)


@case(
    "lstm_backward",
    "mistake",
    "weights_overwritten",
    "I assign the weight gradients at every step instead of adding them up.",
)
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    return _lstm_bw(x, h0, c0, weight_ih, weight_hh, bias, dhs, accumulate=False)


@case(
    "lstm_backward",
    "mistake",
    "dh_not_carried",
    "I pass only dhs[:, t] as dh, dropping the gradient that comes back through h_t from step t+1.",
)
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    return _lstm_bw(x, h0, c0, weight_ih, weight_hh, bias, dhs, carry_h=False)


@case("lstm_backward", "mistake", "modifies_dhs", "I accumulate dh_next into dhs[:, t-1] in place.")
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    T = x.shape[1]
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = lstm_step_forward(x[:, t], h, c, weight_ih, weight_hh, bias)
        caches.append(cache)
    dx = torch.zeros_like(x)
    dW_ih, dW_hh, db = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh), torch.zeros_like(bias)
    dc = torch.zeros_like(c0)
    dh0 = None
    for t in reversed(range(T)):
        g = _step_backward(dhs[:, t], dc, caches[t])
        dx[:, t] = g["dx"]
        dc = g["dc_prev"]
        if t > 0:
            dhs[:, t - 1] += g["dh_prev"]
        else:
            dh0 = g["dh_prev"]
        dW_ih += g["dweight_ih"]
        dW_hh += g["dweight_hh"]
        db += g["dbias"]
    return {"dx": dx, "dh0": dh0, "dc0": dc, "dweight_ih": dW_ih, "dweight_hh": dW_hh, "dbias": db}


@case(
    "lstm_backward",
    "mistake",
    "cache_off_by_one",
    "I use the cache of step t+1 when going back through step t (caches[t + 1], clamped).",
)
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    T = x.shape[1]
    h, c, caches = h0, c0, []
    for t in range(T):
        h, c, cache = lstm_step_forward(x[:, t], h, c, weight_ih, weight_hh, bias)
        caches.append(cache)
    dxs = [None] * T
    dW_ih, dW_hh, db = 0, 0, 0
    dh, dc = torch.zeros_like(h0), torch.zeros_like(c0)
    for t in reversed(range(T)):
        g = _step_backward(dhs[:, t] + dh, dc, caches[min(t + 1, T - 1)])
        dxs[t] = g["dx"]
        dh, dc = g["dh_prev"], g["dc_prev"]
        dW_ih, dW_hh, db = dW_ih + g["dweight_ih"], dW_hh + g["dweight_hh"], db + g["dbias"]
    return {"dx": torch.stack(dxs, 1), "dh0": dh, "dc0": dc, "dweight_ih": dW_ih, "dweight_hh": dW_hh, "dbias": db}


@case("lstm_backward", "mistake", "no_dc0", "I return zeros for dc0 (only h0 felt like an input).")
def lstm_backward(x, h0, c0, weight_ih, weight_hh, bias, dhs):
    g = _lstm_bw(x, h0, c0, weight_ih, weight_hh, bias, dhs)
    g["dc0"] = torch.zeros_like(c0)
    return g
