"""A character language model of the Tang corpus: the model, its training, perplexity, n-gram baselines, checkpoint.

Shapes: N poems, T steps, E embedding, H hidden, V vocabulary.  A poem is ``<bos>`` + characters + ``<eos>``;
inputs are ids[:-1] and targets ids[1:], padded with ``<pad>`` (id 0) to the longest poem of the batch.

The measure is the mean cross-entropy per predicted character over every real (non-padding) target,
and its exponential, the perplexity:

    CE  = -(1/M) sum_{n,t: y_nt != pad} log p(y_nt | y_n,<t),      PPL = exp(CE)

(M the number of real targets): a model with perplexity k is as unsure as a uniform choice among k characters.

Dropout (Srivastava et al. 2014) goes where Zaremba, Sutskever & Vinyals (2014, "Recurrent neural network
regularization") put it: on the non-recurrent connections -- the embedded input, between stacked layers
(``nn.GRU(dropout=p)``) and the output of the last layer -- never on h_{t-1} -> h_t, where a fresh mask at
every step would erase the memory.  Gal & Ghahramani (2016) showed that one mask per *sequence*, reused at
every step, can be applied to the recurrent connection too ("variational" dropout); it needs a hand-written
loop (``nn.GRU`` has no such option), so the course uses Zaremba's placement.

Baselines (no recurrence): the unigram model p(y_t) and the bigram model p(y_t | y_{t-1}), both counted on
the training poems with add-alpha smoothing, p = (count + alpha) / (total + alpha V); alpha = 0.03 is the
value (of 1, 0.3, 0.1, 0.03, 0.01, 0.003) with the lowest validation perplexity of the bigram.

The shipped checkpoint ``files/tang_gru.pt`` and the curves ``files/tang_curves.json`` are written by
``tools/train_tang_gru.py`` (which calls :func:`train_char_model`); loading them needs no network.
"""

from __future__ import annotations

import importlib.resources
import io
import json
import math
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from course_lib.data.vocab import PAD, Vocab

__all__ = [
    "CHECKPOINT",
    "CURVES",
    "CharGRU",
    "NGram",
    "cross_entropy",
    "encode_poems",
    "load_char_model",
    "load_tang_gru",
    "ngram_cross_entropy",
    "poem_batches",
    "save_checkpoint",
    "tang_curves",
    "train_char_model",
]

CHECKPOINT, CURVES = "tang_gru.pt", "tang_curves.json"


class CharGRU(nn.Module):
    """Embedding (V -> E) -> dropout -> GRU (E -> H, ``layers`` deep) -> dropout -> linear read-out (H -> V).

    ``dropout`` p is applied to the embedded input, between GRU layers and to the last layer's output, never
    on the recurrent connection (see the module docstring).  forward(ids: (N, T)) -> logits (N, T, V), h_T.
    """

    def __init__(self, V: int, E: int = 64, H: int = 128, layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.config = {"V": V, "E": E, "H": H, "layers": layers, "dropout": dropout}
        self.embed = nn.Embedding(V, E)
        self.drop = nn.Dropout(dropout)
        self.gru = nn.GRU(E, H, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.out = nn.Linear(H, V)

    def forward(self, ids: torch.Tensor, h0: torch.Tensor | None = None):
        hs, h_T = self.gru(self.drop(self.embed(ids)), h0)  # (N, T, H), (layers, N, H)
        return self.out(self.drop(hs)), h_T  # (N, T, V)


def encode_poems(texts: Sequence[str], vocab: Vocab) -> list[torch.Tensor]:
    """Each text as ids (T + 2,): <bos> + characters + <eos>; characters outside the vocabulary are <unk>."""
    return [vocab.encode(list(text), bos=True, eos=True) for text in texts]


def poem_batches(
    sequences: Sequence[torch.Tensor], batch_size: int, generator: torch.Generator | None = None, pad_id: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, targets) pairs, each (N, T) padded with ``pad_id``; shuffled when a generator is given."""
    order = torch.randperm(len(sequences), generator=generator) if generator is not None else range(len(sequences))
    order = [int(i) for i in order]
    out = []
    for start in range(0, len(order), batch_size):
        ids = pad_sequence(
            [sequences[i] for i in order[start : start + batch_size]], batch_first=True, padding_value=pad_id
        )  # (N, T + 1)
        out.append((ids[:, :-1], ids[:, 1:]))
    return out


@torch.no_grad()
def cross_entropy(model: nn.Module, sequences: Sequence[torch.Tensor], pad_id: int = 0, batch_size: int = 64) -> float:
    """The mean cross-entropy (nats per predicted character) of ``model`` over every real target.

    Sums the loss over batches and divides once by the number of real targets, so batches of different
    sizes and padding weigh exactly what their characters weigh.  exp() of it is the perplexity.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for inputs, targets in poem_batches(sequences, batch_size, pad_id=pad_id):
        logits = model(inputs)[0]
        total += float(
            F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id, reduction="sum"
            )
        )
        count += int((targets != pad_id).sum())
    model.train(was_training)
    return total / count


class NGram:
    """The add-alpha unigram (order 1) or bigram (order 2) model of ``train``, counted once.

    unigram: p(y) = (c(y) + alpha) / (M + alpha V);  bigram: p(y | x) = (c(x, y) + alpha) / (c(x) + alpha V),
    counted over every (previous, next) pair of the sequences, <bos> and <eos> included as in the RNN's targets.
    The bigram keeps only the pairs that occur (sorted keys x V + y), not a dense V x V table.
    """

    def __init__(self, train: Sequence[torch.Tensor], V: int, order: int, alpha: float = 0.03):
        if order not in (1, 2):
            raise ValueError(f"order must be 1 (unigram) or 2 (bigram), got {order}")
        self.V, self.order, self.alpha = V, order, alpha
        prev, nxt = torch.cat([s[:-1] for s in train]), torch.cat([s[1:] for s in train])
        if order == 1:
            self.counts = torch.bincount(nxt, minlength=V).double()  # c(y)
        else:
            self.keys, pairs = torch.unique(prev * V + nxt, return_counts=True)  # c(x, y) at key x V + y
            self.pair_counts = pairs.double()
            self.context = torch.bincount(prev, minlength=V).double()  # c(x) as a context

    def cross_entropy(self, held_out: Sequence[torch.Tensor]) -> float:
        """Mean cross-entropy (nats per predicted character) on ``held_out``."""
        prev, nxt = torch.cat([s[:-1] for s in held_out]), torch.cat([s[1:] for s in held_out])
        V, alpha = self.V, self.alpha
        if self.order == 1:
            log_p = ((self.counts[nxt] + alpha) / (self.counts.sum() + alpha * V)).log()
        else:
            query = prev * V + nxt
            at = torch.searchsorted(self.keys, query).clamp(max=len(self.keys) - 1)
            pair = torch.where(self.keys[at] == query, self.pair_counts[at], 0.0)
            log_p = ((pair + alpha) / (self.context[prev] + alpha * V)).log()
        return float(-log_p.mean())


def ngram_cross_entropy(
    train: Sequence[torch.Tensor], held_out: Sequence[torch.Tensor], V: int, order: int, alpha: float = 0.03
) -> float:
    """Mean cross-entropy on ``held_out`` of the add-alpha unigram (order 1) or bigram (order 2) model of ``train``."""
    return NGram(train, V, order, alpha).cross_entropy(held_out)


def train_char_model(
    model: nn.Module,
    train: Sequence[torch.Tensor],
    valid: Sequence[torch.Tensor],
    epochs: int,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
    monitor: int = 2000,
    clip: float = 1.0,
    log=print,
) -> dict[str, list[float]]:
    """Adam on the mean cross-entropy (padding ignored), with gradient-norm clipping; returns the curves.

    After every epoch the model is measured with dropout off: perplexity on (the first ``monitor`` of)
    the training poems and on ``valid``.  Returns {"epoch", "train", "valid", "seconds"} (epoch 0 = untrained).
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_probe = list(train[:monitor])
    history = {
        "epoch": [0],
        "train": [math.exp(cross_entropy(model, train_probe))],
        "valid": [math.exp(cross_entropy(model, valid))],
        "seconds": [0.0],
    }
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for inputs, targets in poem_batches(train, batch_size, generator):
            logits = model(inputs)[0]
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=0)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        history["epoch"].append(epoch)
        history["train"].append(math.exp(cross_entropy(model, train_probe)))
        history["valid"].append(math.exp(cross_entropy(model, valid)))
        history["seconds"].append(round(time.perf_counter() - start, 1))
        if log:
            log(
                f"epoch {epoch}: train ppl {history['train'][-1]:.1f}, valid ppl {history['valid'][-1]:.1f} "
                f"({history['seconds'][-1]:.0f} s)"
            )
    model.eval()
    return history


def save_checkpoint(model: CharGRU, vocab: Vocab, info: dict, path) -> None:
    """The weights in float16 (half the bytes; the perplexity changes in the 4th digit), config, vocab, info."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    info = json.loads(json.dumps(info))  # plain str/float/list/dict only: torch.load(weights_only=True) reads it
    torch.save({"state": state, "config": model.config, "itos": vocab.itos, "info": info}, path)


def load_char_model(source) -> tuple[CharGRU, Vocab, dict]:
    """A checkpoint of :func:`save_checkpoint` (a path or bytes): the model (eval mode, float32), vocabulary, info.

    Read with ``torch.load(weights_only=True)``: tensors and plain data only, no code runs from the file.
    """
    raw = io.BytesIO(source) if isinstance(source, bytes) else source
    saved = torch.load(raw, map_location="cpu", weights_only=True)
    model = CharGRU(**saved["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state"].items()})
    if not saved["itos"] or saved["itos"][0] != PAD:
        raise ValueError(f"{CHECKPOINT}: the vocabulary must start with {PAD}")
    vocab = Vocab.from_itos(list(saved["itos"]))
    return model.eval(), vocab, saved["info"]


def load_tang_gru() -> tuple[CharGRU, Vocab, dict]:
    """The shipped corpus model (eval mode, float32), its vocabulary and how it was trained (``info``)."""
    return load_char_model(importlib.resources.files("course_lib.data").joinpath("files", CHECKPOINT).read_bytes())


def tang_curves() -> dict:
    """The pre-computed training curves of ``tools/train_tang_gru.py`` (perplexity per epoch, per run)."""
    return json.loads(importlib.resources.files("course_lib.data").joinpath("files", CURVES).read_text("utf-8"))
