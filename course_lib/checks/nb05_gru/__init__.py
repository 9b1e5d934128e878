"""Checks for notebook 05 (GRU): a GRU cell, parameter counts of recurrent layers, a fused GRU layer.

The oracle is always torch's own module: ``nn.GRUCell`` for the cell, ``nn.GRU`` for the layer (outputs,
last state and, on hidden cases, the gradients of every weight), and ``sum(p.numel())`` of ``nn.RNN``,
``nn.GRU`` and ``nn.LSTM`` (built on the ``meta`` device, so large sizes cost nothing) for the counts.

Gate order of the stacked weights (PyTorch's, documented in ``torch.nn.GRU``): rows ``0:H`` reset
``r``, ``H:2H`` update ``z``, ``2H:3H`` candidate ``n``; the equations are in :mod:`.variants`, next to
:func:`gru_variant`, which implements them.

When a result is wrong, the judges try the typical wrong formulas one at a time (:func:`gru_variant`):
the reset applied before the matmul (Cho et al. 2014; with ``z`` <-> ``1 - z`` the article's GRU), ``b_hn`` outside the reset,
no reset at all, ``(1 - z)`` on the wrong term, ``r`` and ``z`` swapped; for counts, one bias vector
instead of two, ``input_size`` for every stacked layer, a wrong gate multiplier, biases counted with
``bias=False``, one layer only.  The first formula that reproduces every case is named.  For the fused
layer the learner's kernel also counts the matrix products its forward pass calls (a ``TorchFunctionMode``):
a fused layer needs at most T + 1 for T steps.

The checks live in one module per exercise: :mod:`.gru_cell`, :mod:`.count_params`, :mod:`.fused_gru` and
:mod:`.final_states` (a unidirectional decoder's initial ``(h_0, c_0)``, every layer's two final states side by
side, bridged from the ``h_n`` / ``c_n`` of a deep, bidirectional ``nn.LSTM`` (with or without ``proj_size``) or
``nn.GRU`` on packed sequences) and :mod:`.last_layer` (the last layer's final states gathered from the padded
``output`` of the same run, checked against the module's ``h_n``);
:mod:`.variants` holds the gate order, the typical wrong formulas and the naming of mistakes that the cell
and layer checks share.  This package re-exports every public name, so notebooks import
``from course_lib.checks.nb05_gru import check_gru_cell, gru_variant``.

References: Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
Machine Translation" (2014); the PyTorch documentation of ``nn.GRU`` / ``nn.GRUCell``.
"""

from course_lib.checks.nb05_gru.count_params import COUNT_PARAMS
from course_lib.checks.nb05_gru.final_states import FINAL_STATES
from course_lib.checks.nb05_gru.fused_gru import FUSED_GRU
from course_lib.checks.nb05_gru.gru_cell import GRU_CELL
from course_lib.checks.nb05_gru.last_layer import LAST_LAYER_FROM_OUTPUT
from course_lib.checks.nb05_gru.variants import GATE_ORDER, gru_variant

__all__ = [
    "EXERCISES",
    "GATE_ORDER",
    "check_count_params",
    "check_final_states",
    "check_fused_gru",
    "check_gru_cell",
    "check_last_layer_from_output",
    "gru_variant",
]

EXERCISES = (GRU_CELL, COUNT_PARAMS, FUSED_GRU, FINAL_STATES, LAST_LAYER_FROM_OUTPUT)

check_gru_cell = GRU_CELL.check
check_count_params = COUNT_PARAMS.check
check_fused_gru = FUSED_GRU.check
check_final_states = FINAL_STATES.check
check_last_layer_from_output = LAST_LAYER_FROM_OUTPUT.check
