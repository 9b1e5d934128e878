"""Checks for notebook 06 (seq2seq): encoder, decoder step, teacher forcing, greedy decoding, accuracy,
masked loss, beam search.

References and invariants, never a stored answer:

- ``encode``, ``context_gates`` and ``decoder_step`` are compared with ``nn.GRU`` on a packed batch, with the
  cell's input projection of [0; c], and with ``nn.GRUCell`` on [e; c] / ``nn.Linear`` loaded with the same weights; the losses with ``F.cross_entropy(ignore_index=...)`` and
  autograd.
- The decoding loops (teacher forcing, greedy, beam) are run on a *stand-in* decoder, :class:`ToyDecoder`:
  a small random recurrent model with the notebook's call contract, not the notebook's GRU decoder.  The
  judge replays it on the inputs that the learner's own outputs imply (the ground truth where a coin said
  so, the argmax of the learner's logits elsewhere) and checks that the learner's outputs are what the
  model gives on those inputs -- the fixed point that defines each algorithm.  Beam search is checked by
  invariants: width 1 is greedy decoding; a beam wider than the number of candidates is exact search,
  compared with brute-force enumeration of every sequence; a wider beam never scores below greedy when
  the greedy path provably survives in it; the reported score is the model's length-normalised score.

Exercise 2 is ``decoder_step`` checked together with ``context_gates``, the once-per-sentence part it builds on
(:func:`course_lib.checks.core.together`; ``CONTEXT_GATES`` and ``DECODER_STEP_ALONE`` check each alone, for the
tests).  One submodule per exercise, named after it (``encode``, ``context_gates``, ``decoder_step``, ``decode_train``,
``greedy_decode``, ``sequence_accuracy``, ``masked_cross_entropy``, ``beam_search``); what their cases share is
in :mod:`.cases` (token ids, targets, weights), and the stand-in decoder in :mod:`.toy_decoder`.  Notebooks import from this package.
"""

from course_lib.checks.nb06_seq2seq.beam_search import BEAM_SEARCH
from course_lib.checks.nb06_seq2seq.cases import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from course_lib.checks.nb06_seq2seq.context_gates import CONTEXT_GATES
from course_lib.checks.nb06_seq2seq.decode_train import DECODE_TRAIN
from course_lib.checks.nb06_seq2seq.decoder_step import DECODER_STEP, DECODER_STEP_ALONE
from course_lib.checks.nb06_seq2seq.encode import ENCODE
from course_lib.checks.nb06_seq2seq.greedy_decode import GREEDY_DECODE
from course_lib.checks.nb06_seq2seq.masked_cross_entropy import MASKED_CROSS_ENTROPY
from course_lib.checks.nb06_seq2seq.sequence_accuracy import SEQUENCE_ACCURACY
from course_lib.checks.nb06_seq2seq.toy_decoder import ToyDecoder

__all__ = [
    "EXERCISES",
    "ToyDecoder",
    "check_encode",
    "check_decoder_step",
    "check_decode_train",
    "check_greedy_decode",
    "check_sequence_accuracy",
    "check_masked_cross_entropy",
    "check_beam_search",
    "ENCODE",
    "CONTEXT_GATES",
    "DECODER_STEP",
    "DECODER_STEP_ALONE",
    "DECODE_TRAIN",
    "GREEDY_DECODE",
    "SEQUENCE_ACCURACY",
    "MASKED_CROSS_ENTROPY",
    "BEAM_SEARCH",
    "PAD_ID",
    "UNK_ID",
    "BOS_ID",
    "EOS_ID",
]

EXERCISES = (
    ENCODE,
    DECODER_STEP,
    DECODE_TRAIN,
    GREEDY_DECODE,
    SEQUENCE_ACCURACY,
    MASKED_CROSS_ENTROPY,
    BEAM_SEARCH,
)

check_encode = ENCODE.check
check_decoder_step = DECODER_STEP.check
check_decode_train = DECODE_TRAIN.check
check_greedy_decode = GREEDY_DECODE.check
check_sequence_accuracy = SEQUENCE_ACCURACY.check
check_masked_cross_entropy = MASKED_CROSS_ENTROPY.check
check_beam_search = BEAM_SEARCH.check
