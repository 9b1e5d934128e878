"""The article's two-layer character RNN on classical poems, its ``build_data`` windows and its generator.

"From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" (AI Cyberspace) cuts the
poem text into every window of ``seq_len = 10`` characters, the target being the window shifted by one,
reads one-hot characters through two tanh layers (24 then 12 units) and a log-softmax read-out::

    h1_t = tanh(W_hh1 h1_{t-1} + W_xh1 x_t + b_h1)        (24, 1)
    h2_t = tanh(W_hh2 h2_{t-1} + W_h1h2 h1_t + b_h2)      (12, 1)
    y_t  = log_softmax(W_hy h2_t + b_y)                    (V, 1)

Weights ~ N(0, 0.1²) (``randn * 0.1``), biases 0; the loss is the NLL averaged over a window's 10 steps;
SGD with lr 0.015, one window at a time, in order, 500 epochs.

Columns, as the article writes them: a batch of B windows is B columns side by side, ``x_t``: (V, B),
``h1_t``: (24, B); ``batch_size=1`` is the article's loop exactly.  A larger batch sums (does not average)
the windows' losses, so every window still moves the weights with the article's learning rate; one step
on the sum equals B consecutive single-window steps to first order in lr -- an approximation, and the
notebooks say so where they use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from course_lib.article.classifiers import one_thread

__all__ = ["TwoLayerRNN", "build_data", "generate", "train_poem_rnn"]


def build_data(text: str, seq_len: int, chars: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of ``seq_len`` characters: one-hot inputs (W, T, V) and next-character targets (W, T).

    W = len(text) - seq_len windows, T = seq_len; target t of window i is character i + t + 1.
    """
    if len(text) <= seq_len:
        raise ValueError(f"the text has {len(text)} characters: it needs more than seq_len={seq_len}")
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    starts = torch.arange(len(text) - seq_len)
    positions = starts[:, None] + torch.arange(seq_len)  # (W, T)
    return torch.eye(len(chars))[ids[positions]], ids[positions + 1]


class TwoLayerRNN(nn.Module):
    """The article's SimpleTwoLayerRNN (equations in the module docstring), column-vector convention."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim1: int = 24,
        hidden_dim2: int = 12,
        output_dim: int | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        V_out = input_dim if output_dim is None else output_dim

        def normal(rows, cols):
            return nn.Parameter(0.1 * torch.randn(rows, cols, generator=generator))

        self.W_xh1, self.W_hh1, self.b_h1 = (
            normal(hidden_dim1, input_dim),
            normal(hidden_dim1, hidden_dim1),
            nn.Parameter(torch.zeros(hidden_dim1, 1)),
        )
        self.W_h1h2, self.W_hh2, self.b_h2 = (
            normal(hidden_dim2, hidden_dim1),
            normal(hidden_dim2, hidden_dim2),
            nn.Parameter(torch.zeros(hidden_dim2, 1)),
        )
        self.W_hy, self.b_y = normal(V_out, hidden_dim2), nn.Parameter(torch.zeros(V_out, 1))

    def initial_state(self, B: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(self.W_hh1.shape[0], B), torch.zeros(self.W_hh2.shape[0], B)

    def step(self, x_t: torch.Tensor, h1: torch.Tensor, h2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_t (V, B), h1 (24, B), h2 (12, B) -> the new (h1, h2)."""
        h1 = torch.tanh(self.W_hh1 @ h1 + self.W_xh1 @ x_t + self.b_h1)
        h2 = torch.tanh(self.W_hh2 @ h2 + self.W_h1h2 @ h1 + self.b_h2)
        return h1, h2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, V) one-hot windows -> log-probabilities (B, T, V) of the next character."""
        h1, h2 = self.initial_state(x.shape[0])
        outputs = []
        for t in range(x.shape[1]):
            h1, h2 = self.step(x[:, t].T, h1, h2)  # x_t: (V, B), B columns
            outputs.append(torch.log_softmax(self.W_hy @ h2 + self.b_y, dim=0).T)  # (B, V)
        return torch.stack(outputs, dim=1)


def train_poem_rnn(
    model: TwoLayerRNN,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    epochs: int = 500,
    lr: float = 0.015,
    batch_size: int = 1,
) -> torch.Tensor:
    """SGD over the windows in order: each step on the *sum* of its windows' mean NLL.

    ``batch_size=1`` is the article's loop; returns the mean window loss of each epoch: (epochs,).
    """
    params = list(model.parameters())
    history = torch.zeros(epochs)
    model.train()
    with one_thread():
        for epoch in range(epochs):
            for start in range(0, len(inputs), batch_size):
                x, y = inputs[start : start + batch_size], targets[start : start + batch_size]
                log_probs = model(x)  # (B, T, V)
                window_loss = -log_probs.gather(2, y.unsqueeze(2)).squeeze(2).mean(dim=1)  # (B,)
                grads = torch.autograd.grad(window_loss.sum(), params)
                with torch.no_grad():
                    for p, g in zip(params, grads):
                        p.add_(g, alpha=-lr)
                history[epoch] += float(window_loss.detach().sum())
    model.eval()
    return history / len(inputs)


@torch.no_grad()
def generate(
    model: TwoLayerRNN, prefix: str, chars: Sequence[str], max_len: int = 20, as_published: bool = True
) -> str:
    """Greedy continuation of ``prefix`` up to ``max_len`` characters in all.

    ``as_published=True`` follows the article's ``generate_text``: after reading the prefix it feeds the
    prefix's last character a second time before predicting.  ``False`` reads every character once.
    """
    index = {c: i for i, c in enumerate(chars)}
    eye = torch.eye(len(chars))
    h1, h2 = model.initial_state()
    text = list(prefix)
    for c in prefix if as_published else prefix[:-1]:
        h1, h2 = model.step(eye[index[c]].unsqueeze(1), h1, h2)
    while len(text) < max_len:
        h1, h2 = model.step(eye[index[text[-1]]].unsqueeze(1), h1, h2)
        text.append(chars[int((model.W_hy @ h2 + model.b_y).argmax())])
    return "".join(text)
