"""A token vocabulary with the course's four special tokens.

Index layout (fixed for the whole course): ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3,
then the tokens.  Notebook 01's ``build_vocab`` orders them by descending count and drops the rare ones; this
class, which notebooks 01-07 use so that a learner stuck in 01 can go on, stops short of that exercise: it
keeps every token, in order of first appearance (``Vocab(sequences)``), or takes a layout already made
(``Vocab.from_itos``: the Tang vocabulary, a checkpoint's).  Its ``encode`` is notebook 01's ``encode``: the
later notebooks need one (README, threat model).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch

__all__ = ["PAD", "UNK", "BOS", "EOS", "SPECIALS", "Vocab"]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """Maps tokens to ids and back.  ``itos[i]`` is the token of id ``i``; ``stoi`` the inverse.

    ``Vocab(sequences)``: the specials, then every token of ``sequences`` once, in order of first appearance.
    """

    def __init__(self, sequences: Iterable[Sequence[str]]):
        seen = dict.fromkeys(token for seq in sequences for token in seq if token not in SPECIALS)
        self._set(list(SPECIALS) + list(seen))

    @classmethod
    def from_itos(cls, itos: Sequence[str]) -> Vocab:
        """The vocabulary of a layout made elsewhere: ``itos`` starts with the four specials, each token once."""
        if tuple(itos[: len(SPECIALS)]) != SPECIALS or len(set(itos)) != len(itos):
            raise ValueError(f"itos must start with {SPECIALS} and hold each token once")
        vocab = cls([])
        vocab._set(list(itos))
        return vocab

    def _set(self, itos: list[str]) -> None:
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(itos)}

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
