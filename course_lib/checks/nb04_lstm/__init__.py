"""Checks for notebook 04 (LSTM): the article's cell, the fused cell, the fused layer, gradient norms.

The equations (the article's notation; rows are examples, ``W`` is (out, in), applied as ``x @ W.T``)::

    i_t  = sigmoid(x_t W_xi^T + h_{t-1} W_hi^T + b_i)      input gate
    f_t  = sigmoid(x_t W_xf^T + h_{t-1} W_hf^T + b_f)      forget gate
    o_t  = sigmoid(x_t W_xo^T + h_{t-1} W_ho^T + b_o)      output gate
    c~_t = tanh(x_t W_xc^T + h_{t-1} W_hc^T + b_c)         candidate cell state ("g" in PyTorch)
    c_t  = f_t * c_{t-1} + i_t * c~_t
    h_t  = o_t * tanh(c_t)

PyTorch stacks the four gates' weights row-wise in the order **i, f, g, o** (:data:`GATE_ORDER`):
``weight_ih = [W_xi; W_xf; W_xc; W_xo]`` (4H, D), ``weight_hh = [W_hi; W_hf; W_hc; W_ho]`` (4H, H).
Every reference in this package is ``nn.LSTMCell`` / ``nn.LSTM`` with weights copied in that order, or autograd.

Named mistakes are found the way the Coursera sequence-models tests do it: by comparing with the output
of the typical wrong formula (a swapped gate, a sigmoid on the candidate, the missing tanh on the cell
state, c_{t-1} where c_t belongs, ...), and by "probe" cases that switch all gates but one off through
their biases (a bias of -40 gives sigmoid = 0, +40 gives sigmoid = tanh = 1), so that a mismatch in a
probe points at the one gate left on.

One module per exercise, each with its cases, its run and its judge: :mod:`.lstm_cell` (exercise 1, the
article's cell), :mod:`.fused_lstm_cell` (2a, one product for the four gates), :mod:`.fused_lstm` (2b, the
layer over time) and :mod:`.lstm_state_grad_norms` (3, ||dL/dh_t||).  Shared: :mod:`.gates` (the
order and names of the stacked gates, the probes), :mod:`.references` (the torch modules), :mod:`.mistakes`
(the wrong formulas) and :mod:`.cell_judge` (the judge of both cells); seeded case data and tolerances are
the toolkit's.  The bonus exercise 4, the LSTM's backward pass by hand, is :mod:`.lstm_step_backward` (one
step) and :mod:`.lstm_backward` (BPTT through the layer), with their autograd references and mistaken graphs
in :mod:`.backward`.
"""

from __future__ import annotations

from course_lib.checks.nb04_lstm.fused_lstm import FUSED_LSTM, check_fused_lstm
from course_lib.checks.nb04_lstm.fused_lstm_cell import FUSED_LSTM_CELL, check_fused_lstm_cell
from course_lib.checks.nb04_lstm.gates import GATE_ORDER, SEED_PARAMS, stack_seed_params
from course_lib.checks.nb04_lstm.lstm_backward import LSTM_BACKWARD, check_lstm_backward
from course_lib.checks.nb04_lstm.lstm_cell import LSTM_CELL, check_lstm_cell
from course_lib.checks.nb04_lstm.lstm_state_grad_norms import LSTM_STATE_GRAD_NORMS, check_lstm_state_grad_norms
from course_lib.checks.nb04_lstm.lstm_step_backward import LSTM_STEP_BACKWARD, check_lstm_step_backward

__all__ = [
    "EXERCISES",
    "GATE_ORDER",
    "SEED_PARAMS",
    "stack_seed_params",
    "check_lstm_cell",
    "check_fused_lstm_cell",
    "check_fused_lstm",
    "check_lstm_state_grad_norms",
    "check_lstm_step_backward",
    "check_lstm_backward",
]

EXERCISES = (LSTM_CELL, FUSED_LSTM_CELL, FUSED_LSTM, LSTM_STATE_GRAD_NORMS, LSTM_STEP_BACKWARD, LSTM_BACKWARD)
