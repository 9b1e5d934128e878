"""How fast is an LSTM written in Python against nn.LSTM? Forward + backward on one batch (notebook 04).

Four implementations of one LSTM layer, all with the same weights (PyTorch's stacked order i, f, g, o):

- ``textbook``     the article's equations step by step: eight matrix products per step (one per gate and input);
- ``fused, xp[t]`` the inputs of all steps projected in one product before the loop, indexed ``xp[t]``;
- ``fused``        the same, iterating ``xp.unbind(1)``: one product per step, ``addmm(xp_t, h, W_hh^T)``;
- ``nn.LSTM``      PyTorch's C++ loop (MKL-DNN on CPU).

Why ``xp[t]`` is slower than ``unbind``: every ``xp[:, t]`` is its own autograd node, and its backward
writes the step's gradient into a fresh zero tensor of the full (N, T, 4H) size, which autograd then sums:
T full-size zero-fills and additions.  ``unbind`` is one node whose backward stacks the T gradients once.

The implementations are defined here (not imported from the solution notebook), so the benchmark runs
on its own.  Usage::

    python benchmarks/lstm_speed.py [--batch 64 --steps 100 --inputs 32 --hidden 128 --repeats 15 --threads 1,2]

Prints the median milliseconds of forward + backward for each and the ratios to nn.LSTM, for each torch
thread count asked for (default 1, as notebook 04 runs: with several threads on a busy machine, OpenMP's
waiting threads make every timing, nn.LSTM's most of all, erratic).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn


def textbook(x, W_ih, W_hh, b):
    """Eight products per step (the article's W_x? x_t and W_h? h_{t-1} for each gate)."""
    N, T, _ = x.shape
    H = W_hh.shape[1]
    Wx, Wh, bs = W_ih.chunk(4), W_hh.chunk(4), b.chunk(4)
    h = c = x.new_zeros(N, H)
    outs = []
    for t in range(T):
        x_t = x[:, t]
        i = torch.sigmoid(x_t @ Wx[0].T + h @ Wh[0].T + bs[0])
        f = torch.sigmoid(x_t @ Wx[1].T + h @ Wh[1].T + bs[1])
        g = torch.tanh(x_t @ Wx[2].T + h @ Wh[2].T + bs[2])
        o = torch.sigmoid(x_t @ Wx[3].T + h @ Wh[3].T + bs[3])
        c = f * c + i * g
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1)


def _fused_step(xp_t, h, c, W_hh_T):
    i, f, g, o = torch.addmm(xp_t, h, W_hh_T).chunk(4, 1)  # (N, 4H) -> four (N, H) views
    c = torch.addcmul(torch.sigmoid(f) * c, torch.sigmoid(i), torch.tanh(g))
    return torch.sigmoid(o) * torch.tanh(c), c


def fused_indexed(x, W_ih, W_hh, b):
    """Inputs projected once, then ``xp[:, t]`` in the loop."""
    N, T, D = x.shape
    H = W_hh.shape[1]
    xp = torch.addmm(b, x.reshape(N * T, D), W_ih.T).view(N, T, 4 * H)  # (N, T, 4H)
    h = c = x.new_zeros(N, H)
    W_hh_T, outs = W_hh.T, []
    for t in range(T):
        h, c = _fused_step(xp[:, t], h, c, W_hh_T)
        outs.append(h)
    return torch.stack(outs, 1)


def fused(x, W_ih, W_hh, b):
    """Inputs projected once, then ``xp.unbind(1)``: one autograd node for all the slices."""
    N, T, D = x.shape
    H = W_hh.shape[1]
    xp = torch.addmm(b, x.reshape(N * T, D), W_ih.T).view(N, T, 4 * H)  # (N, T, 4H)
    h = c = x.new_zeros(N, H)
    W_hh_T, outs = W_hh.T, []
    for xp_t in xp.unbind(1):
        h, c = _fused_step(xp_t, h, c, W_hh_T)
        outs.append(h)
    return torch.stack(outs, 1)


def time_all(N=64, T=100, D=32, H=128, repeats=15, seed=0) -> dict[str, float]:
    """Median seconds of forward + backward (loss = out.sum()) of each implementation, interleaved."""
    torch.manual_seed(seed)
    lstm = nn.LSTM(D, H, batch_first=True)
    W_ih, W_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().requires_grad_()
    x = torch.randn(N, T, D)
    runs = {
        "textbook loop": lambda: textbook(x, W_ih, W_hh, b),
        "fused, xp[:, t]": lambda: fused_indexed(x, W_ih, W_hh, b),
        "fused, unbind": lambda: fused(x, W_ih, W_hh, b),
        "nn.LSTM": lambda: lstm(x)[0],
    }
    reference = runs["nn.LSTM"]().detach()
    for name, run in runs.items():
        assert torch.allclose(run(), reference, atol=1e-5), f"{name} disagrees with nn.LSTM"
    params = [W_ih, W_hh, b, *lstm.parameters()]

    def once(run) -> float:
        start = time.perf_counter()
        run().sum().backward()
        elapsed = time.perf_counter() - start
        for p in params:
            p.grad = None
        return elapsed

    for run in runs.values():  # warm up (allocator, MKL-DNN primitives)
        once(run)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):  # interleaved, so a noisy neighbour slows every implementation alike
        for name, run in runs.items():
            times[name].append(once(run))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--inputs", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", default="1", help="comma-separated torch thread counts, e.g. 1,2")
    args = parser.parse_args()
    for threads in (int(n) for n in args.threads.split(",")):
        torch.set_num_threads(threads)
        medians = time_all(args.batch, args.steps, args.inputs, args.hidden, args.repeats)
        base = medians["nn.LSTM"]
        print(
            f"forward + backward, N={args.batch}, T={args.steps}, D={args.inputs}, H={args.hidden}, "
            f"{threads} thread(s), median of {args.repeats}"
        )
        for name, seconds in medians.items():
            print(f"  {name:16s} {seconds * 1e3:8.1f} ms   {seconds / base:5.2f} x nn.LSTM")
        print(f"fused-vs-nn.LSTM ratio ({threads} thread(s)): {medians['fused, unbind'] / base:.2f}")


if __name__ == "__main__":
    main()
