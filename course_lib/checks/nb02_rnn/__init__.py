"""Checks for notebook 02 (RNN and backpropagation through time).

Exercises: an RNN cell, the forward pass over a sequence, BPTT by hand, truncated BPTT, sampling from a
character model, a small RNN language model that must overfit a tiny set, and the perplexity of a padded batch.

The recurrence, in the notebook's (PyTorch's) row notation, for a batch of rows x_t: (N, D):

    a_t = x_t W_xh^T + h_{t-1} W_hh^T + b_h,      h_t = tanh(a_t),      t = 1..T

(the article writes the same for one column vector: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)).

References are torch's own: ``nn.RNNCell`` and ``nn.RNN`` with copied weights (their two biases
b_ih + b_hh hold b_h and 0), autograd for every gradient, ``torch.multinomial`` with the same
generator state for sampling.  The typical mistakes are named by probing the learner's function with
one term switched on at a time, and by computing what each mistake would return (autograd on a
modified graph: a detached state, a tanh without its derivative) and comparing.  BPTT is checked in
float64 with relative error <= 1e-8 (CS231n's ``rel_error``).

One submodule per exercise, in the notebook's order; :mod:`.recurrence` holds the random cases of the recurrence
and torch's RNN modules that several share (the rest is the toolkit's, :mod:`course_lib.checks.toolkit`):

    cell            rnn_cell       h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b_h)
    forward         rnn_forward    hs = (h_1, .., h_T) over a sequence, batch first
    bptt            rnn_backward   BPTT by hand, checked against autograd
    tbptt           tbptt          truncated BPTT: detach the state every k steps
    sampling        sample         ids ~ softmax(logits / temperature), greedy at 0
    language_model  RNNLM          an RNN language model that overfits a tiny set
    perplexity      perplexity     exp(mean cross-entropy over the real, non-pad targets)
    dropout         dropout        inverted dropout by hand: train and eval
    stacked_dropout stacked_rnn_dropout   dropout in a stacked RNN: Zaremba et al.'s scheme or variational (Gal & Ghahramani)
"""

from course_lib.checks.nb02_rnn.bptt import BPTT_RTOL, RNN_BACKWARD, check_rnn_backward
from course_lib.checks.nb02_rnn.cell import RNN_CELL, check_rnn_cell
from course_lib.checks.nb02_rnn.dropout import DROPOUT
from course_lib.checks.nb02_rnn.forward import RNN_FORWARD, check_rnn_forward
from course_lib.checks.nb02_rnn.language_model import LM_LOSS_TARGET, RNN_LM, check_rnn_lm
from course_lib.checks.nb02_rnn.perplexity import PERPLEXITY, check_perplexity
from course_lib.checks.nb02_rnn.sampling import SAMPLE, check_sample
from course_lib.checks.nb02_rnn.stacked_dropout import RNN_DROPOUT, RNN_DROPOUT_ALONE, check_stacked_rnn_dropout
from course_lib.checks.nb02_rnn.tbptt import TBPTT, check_tbptt

__all__ = [
    "EXERCISES",
    "BPTT_RTOL",
    "LM_LOSS_TARGET",
    "RNN_CELL",
    "RNN_FORWARD",
    "RNN_BACKWARD",
    "TBPTT",
    "SAMPLE",
    "RNN_LM",
    "PERPLEXITY",
    "DROPOUT",
    "RNN_DROPOUT",
    "RNN_DROPOUT_ALONE",
    "check_rnn_cell",
    "check_rnn_forward",
    "check_rnn_backward",
    "check_tbptt",
    "check_sample",
    "check_rnn_lm",
    "check_perplexity",
    "check_stacked_rnn_dropout",
]

EXERCISES = (
    RNN_CELL,
    RNN_FORWARD,
    RNN_BACKWARD,
    TBPTT,
    SAMPLE,
    RNN_LM,
    PERPLEXITY,
    RNN_DROPOUT,
)  # dropout: a part of RNN_DROPOUT
