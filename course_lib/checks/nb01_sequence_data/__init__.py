"""Checks for notebook 01 (sequence data): vocabulary, encoding, one-hot, windows, padding, structures.

Each reference is torch's own (``F.one_hot``, ``Tensor.unfold``, ``pad_sequence``) or an invariant of
the specification (a vocabulary is checked by what it must contain and in which order, not against a
stored answer).  The structure quiz's key is not in course_lib: it lives in the instructor's hidden tests.

One submodule per exercise group: :mod:`.vocabulary` (``build_vocab``), :mod:`.oov` (``oov_rate``), :mod:`.encoding` (``encode``,
``decode``), :mod:`.one_hot`, :mod:`.embedding` (``embedding_grad``), :mod:`.windows` (``make_windows``, ``make_char_windows``), :mod:`.padding`
(``pad_batch``) and :mod:`.structures` (the ``IO_STRUCTURES`` quiz); they share the toolkit (:mod:`course_lib.checks.toolkit`).
This package gathers them into ``EXERCISES``, in the notebook's order.
"""

from __future__ import annotations

from course_lib.checks.nb01_sequence_data.embedding import EMBEDDING_GRAD, EMBEDDING_GRAD_ALONE, check_embedding_grad
from course_lib.checks.nb01_sequence_data.encoding import DECODE, ENCODE, check_decode, check_encode
from course_lib.checks.nb01_sequence_data.one_hot import ONE_HOT
from course_lib.checks.nb01_sequence_data.oov import OOV_RATE, check_oov_rate
from course_lib.checks.nb01_sequence_data.padding import PAD_BATCH, check_pad_batch
from course_lib.checks.nb01_sequence_data.structures import (
    IO_STRUCTURES,
    STRUCTURE_TASKS,
    STRUCTURES,
    check_io_structures,
)
from course_lib.checks.nb01_sequence_data.vocabulary import BUILD_VOCAB, check_build_vocab
from course_lib.checks.nb01_sequence_data.windows import (
    MAKE_CHAR_WINDOWS,
    MAKE_WINDOWS,
    check_make_char_windows,
    check_make_windows,
)

__all__ = [
    "EXERCISES",
    "check_build_vocab",
    "check_oov_rate",
    "check_encode",
    "check_decode",
    "check_embedding_grad",
    "check_make_windows",
    "check_make_char_windows",
    "check_pad_batch",
    "check_io_structures",
    # the exercises and the quiz's constants, re-exported from their submodules
    "BUILD_VOCAB",
    "OOV_RATE",
    "ENCODE",
    "DECODE",
    "ONE_HOT",
    "EMBEDDING_GRAD",
    "EMBEDDING_GRAD_ALONE",
    "MAKE_WINDOWS",
    "MAKE_CHAR_WINDOWS",
    "PAD_BATCH",
    "IO_STRUCTURES",
    "STRUCTURE_TASKS",
    "STRUCTURES",
]

EXERCISES = (
    BUILD_VOCAB,
    OOV_RATE,
    ENCODE,
    DECODE,
    EMBEDDING_GRAD,  # with ONE_HOT, exercise 4, as a part
    MAKE_WINDOWS,
    MAKE_CHAR_WINDOWS,
    PAD_BATCH,
    IO_STRUCTURES,
)
