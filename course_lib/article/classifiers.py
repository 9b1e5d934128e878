"""The article's sentiment classifiers: SimpleRNN, SimpleLSTM and SimpleGRU, as it publishes them.

"From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" (AI Cyberspace) reads a
sentence as one-hot column vectors ``x_t`` (V, 1) (``text2onehot``), runs one cell over it from
``h_0 = 0`` and classifies the last state: ``y = log_softmax(W_hy h_T + b_y)`` over C = 2 classes,
trained with NLL by SGD (lr 0.1) one sentence at a time, 1000 epochs.  The cells, in its notation::

    SimpleRNN   h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)
    SimpleLSTM  i_t = σ(W_xi x_t + W_hi h_{t-1} + b_i)      f_t = σ(W_xf x_t + W_hf h_{t-1} + b_f)
                o_t = σ(W_xo x_t + W_ho h_{t-1} + b_o)      c̃_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c)
                c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t           h_t = o_t ⊙ tanh(c_t)
    SimpleGRU   z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)      r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)
                h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t-1}) + b_h)
                h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

Initialisation, as published: SimpleRNN draws every weight *and bias* from N(0, 1); SimpleLSTM and
SimpleGRU draw weights from N(0, 0.1²) and start biases at zero.

One addition that does not change the maths: ``copies`` K independent models are stacked on a leading
axis (``W_xh``: (K, H, D), states (K, H, 1)) and trained side by side.  Each copy's loss depends on its
own weights only, so the gradient of the summed loss is every copy's own gradient, and one SGD step
updates each copy exactly as the article's loop would: K initialisations for the price of one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from course_lib.data.sentiment import ARTICLE_VOCAB, Example

__all__ = ["SimpleGRU", "SimpleLSTM", "SimpleRNN", "accuracy", "predict", "text2onehot", "train_article"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block: these matrices are tiny, and on a busy 2-core machine two
    threads that wait for each other made the article's loop 15x slower (measured: 40 s instead of 2.3 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def text2onehot(tokens: Sequence[str], vocab: Sequence[str] = ARTICLE_VOCAB) -> torch.Tensor:
    """Tokens -> one-hot rows (T, V), the article's ``text2onehot``: a word outside ``vocab`` is all zeros."""
    index = {word: i for i, word in enumerate(vocab)}
    x = torch.zeros(len(tokens), len(vocab))
    for t, word in enumerate(tokens):
        if word in index:
            x[t, index[word]] = 1.0
    return x


class _ArticleClassifier(nn.Module):
    """K copies of a one-layer recurrent classifier on the last state; subclasses define the cell."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int = 2,
        copies: int = 1,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.input_dim, self.hidden_dim, self.output_dim, self.copies = input_dim, hidden_dim, output_dim, copies
        self._generator = generator

    def _normal(self, rows: int, cols: int, scale: float = 1.0) -> nn.Parameter:
        return nn.Parameter(scale * torch.randn(self.copies, rows, cols, generator=self._generator))

    def _zeros(self, rows: int) -> nn.Parameter:
        return nn.Parameter(torch.zeros(self.copies, rows, 1))

    def _gates(self, gates: str) -> None:
        """W_x<g> (H, D), W_h<g> (H, H) ~ N(0, 0.1²) and b_<g> = 0 for each gate, in the article's order, then
        W_hy ~ N(0, 0.1²), b_y = 0: the initialisation of the article's SimpleLSTM and SimpleGRU."""
        H, D, C = self.hidden_dim, self.input_dim, self.output_dim
        for gate in gates:
            setattr(self, f"W_x{gate}", self._normal(H, D, 0.1))
            setattr(self, f"W_h{gate}", self._normal(H, H, 0.1))
            setattr(self, f"b_{gate}", self._zeros(H))
        self.W_hy, self.b_y = self._normal(C, H, 0.1), self._zeros(C)

    def last_state(self, x_seq: torch.Tensor) -> torch.Tensor:
        """x_seq (T, D) one-hot rows -> h_T (K, H, 1), the cell run over the sentence from h_0 = 0."""
        raise NotImplementedError

    def forward(self, x_seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_seq (T, D) one-hot rows -> log-probabilities (K, C, 1) and the last state h_T (K, H, 1)."""
        h_T = self.last_state(x_seq)
        return torch.log_softmax(self.W_hy @ h_T + self.b_y, dim=1), h_T

    def _zeros_state(self, x_seq: torch.Tensor) -> torch.Tensor:
        return torch.zeros(self.copies, self.hidden_dim, 1, dtype=x_seq.dtype)


# The cells are written out inside each model's loop over one sentence from h_0 = 0, not as a step function of a
# given state: such a function, in column form, would be notebook 02's rnn_cell and 04's lstm_cell with a
# transpose (tests/checks/test_no_helper_solves.py).


class SimpleRNN(_ArticleClassifier):
    """The article's SimpleRNN: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h), every parameter ~ N(0, 1)."""

    def __init__(self, input_dim, hidden_dim, output_dim=2, copies=1, generator=None):
        super().__init__(input_dim, hidden_dim, output_dim, copies, generator)
        H, D, C = hidden_dim, input_dim, output_dim
        self.W_xh, self.W_hh, self.W_hy = self._normal(H, D), self._normal(H, H), self._normal(C, H)
        self.b_h, self.b_y = self._normal(H, 1), self._normal(C, 1)

    def last_state(self, x_seq):
        h = self._zeros_state(x_seq)  # (K, H, 1)
        for t in range(x_seq.shape[0]):
            x_t = x_seq[t].unsqueeze(1)  # (D, 1), a column
            h = torch.tanh(self.W_hh @ h + self.W_xh @ x_t + self.b_h)
        return h


class SimpleLSTM(_ArticleClassifier):
    """The article's SimpleLSTM (equations in the module docstring); weights ~ N(0, 0.1²), biases 0."""

    def __init__(self, input_dim, hidden_dim, output_dim=2, copies=1, generator=None):
        super().__init__(input_dim, hidden_dim, output_dim, copies, generator)
        self._gates("ifoc")

    def last_state(self, x_seq):
        h = c = self._zeros_state(x_seq)  # (K, H, 1) each
        for t in range(x_seq.shape[0]):
            x_t = x_seq[t].unsqueeze(1)  # (D, 1), a column
            i_t = torch.sigmoid(self.W_xi @ x_t + self.W_hi @ h + self.b_i)
            f_t = torch.sigmoid(self.W_xf @ x_t + self.W_hf @ h + self.b_f)
            o_t = torch.sigmoid(self.W_xo @ x_t + self.W_ho @ h + self.b_o)
            c_tilde = torch.tanh(self.W_xc @ x_t + self.W_hc @ h + self.b_c)
            c = f_t * c + i_t * c_tilde
            h = o_t * torch.tanh(c)
        return h


class SimpleGRU(_ArticleClassifier):
    """The article's SimpleGRU: h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t, reset applied to h_{t-1} before W_hh."""

    def __init__(self, input_dim, hidden_dim, output_dim=2, copies=1, generator=None):
        super().__init__(input_dim, hidden_dim, output_dim, copies, generator)
        self._gates("zrh")

    def last_state(self, x_seq):
        h = self._zeros_state(x_seq)  # (K, H, 1)
        for t in range(x_seq.shape[0]):
            x_t = x_seq[t].unsqueeze(1)  # (D, 1), a column
            z_t = torch.sigmoid(self.W_xz @ x_t + self.W_hz @ h + self.b_z)
            r_t = torch.sigmoid(self.W_xr @ x_t + self.W_hr @ h + self.b_r)
            h_tilde = torch.tanh(self.W_xh @ x_t + self.W_hh @ (r_t * h) + self.b_h)
            h = (1 - z_t) * h + z_t * h_tilde
        return h


def train_article(
    model: _ArticleClassifier,
    examples: Sequence[Example],
    epochs: int = 1000,
    lr: float = 0.1,
    vocab: Sequence[str] = ARTICLE_VOCAB,
) -> torch.Tensor:
    """The article's training loop: for each epoch, for each sentence in order, one SGD step on its NLL.

    Plain SGD (no momentum, no weight decay): ``p <- p - lr * dL/dp``, the update ``optim.SGD(lr=lr)``
    makes, applied to the summed loss of the K copies (each copy receives its own gradient).
    Returns the mean loss of each epoch, per copy: (epochs, K) -- the article prints it every 100 epochs.
    """
    inputs = [text2onehot(e.tokens, vocab) for e in examples]
    labels = [int(e.label) for e in examples]
    params = list(model.parameters())
    history = torch.zeros(epochs, model.copies)
    model.train()
    with one_thread():
        for epoch in range(epochs):
            for x_seq, label in zip(inputs, labels):
                log_probs, _ = model(x_seq)
                loss = -log_probs[:, label, 0]  # NLL of each copy: (K,)
                grads = torch.autograd.grad(loss.sum(), params)
                with torch.no_grad():
                    for p, g in zip(params, grads):
                        p.add_(g, alpha=-lr)
                history[epoch] += loss.detach()
    model.eval()
    return history / max(len(examples), 1)


@torch.no_grad()
def predict(model: _ArticleClassifier, tokens: Sequence[str], vocab: Sequence[str] = ARTICLE_VOCAB) -> torch.Tensor:
    """The predicted class of each copy: (K,) long (the article's ``argmax`` of the log-probabilities)."""
    log_probs, _ = model(text2onehot(tokens, vocab))
    return log_probs[:, :, 0].argmax(dim=1)


def accuracy(
    model: _ArticleClassifier, examples: Sequence[Example], vocab: Sequence[str] = ARTICLE_VOCAB
) -> torch.Tensor:
    """The share of ``examples`` each copy classifies right: (K,) float."""
    right = torch.zeros(model.copies)
    for example in examples:
        right += (predict(model, example.tokens, vocab) == int(example.label)).float()
    return right / max(len(examples), 1)
