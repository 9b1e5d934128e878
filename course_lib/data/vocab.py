"""A token vocabulary with the course's four special tokens.

Index layout (fixed for the whole course): ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3,
then the tokens by descending count, ties in order of first appearance.  Notebook 01 builds exactly
this by hand; notebooks 02-06 use this class.
"""

from __future__ import annotations

import collections
from typing import Iterable, Sequence

import torch

__all__ = ["PAD", "UNK", "BOS", "EOS", "SPECIALS", "Vocab"]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """Maps tokens to ids and back.  ``itos[i]`` is the token of id ``i``; ``stoi`` the inverse."""

    def __init__(self, sequences: Iterable[Sequence[str]], min_freq: int = 1):
        counts = collections.Counter(token for seq in sequences for token in seq)
        words = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
        self.itos: list[str] = list(SPECIALS) + words
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def bos_id(self) -> int:
        return self.stoi[BOS]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]

    def encode(self, tokens: Sequence[str], bos: bool = False, eos: bool = False) -> torch.Tensor:
        """tokens -> ids: (T,) long; unknown tokens become ``<unk>``."""
        unk = self.stoi[UNK]
        ids = [self.stoi.get(t, unk) for t in tokens]
        return torch.tensor(([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else []), dtype=torch.long)

    def decode(self, ids: Iterable[int], stop_at_eos: bool = True) -> list[str]:
        """ids -> tokens, dropping ``<pad>`` and ``<bos>``; stops at the first ``<eos>`` if asked."""
        out = []
        for i in (int(i) for i in ids):
            if stop_at_eos and i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self.itos[i])
        return out
