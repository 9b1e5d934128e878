"""Checks for notebook 03 (vanishing and exploding gradients): per-step gradient norms by hand, rescaling a
matrix to a spectral radius, and gradient-norm clipping.

The references are torch's own: autograd through ``nn.RNNCell`` (via :func:`course_lib.measure.state_grad_norms`)
for ``||dL/dh_t||``, ``torch.linalg.eigvals`` for the spectral radius, ``torch.nn.utils.clip_grad_norm_`` for
clipping.  A wrong answer is compared with what each typical wrong formula gives on the same inputs, so the
message can name the mistake (the Coursera sequence-models tests do the same, one term at a time).

Row convention, as in the notebook: ``h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h)`` and, for a loss on the
last step with ``dL/dh_T = g_T``, ``dL/dh_{t-1} = (dL/dh_t ⊙ (1 - h_t²)) W_hh``.

The checks live in one module per exercise: :mod:`.state_grad_norms_by_hand`, :mod:`.rescale_spectral_radius`
and :mod:`.clip_grad_norm`; they share the toolkit's generator and relative comparison (``close_to_scale``).
This package re-exports every public name, so notebooks import
``from course_lib.checks.nb03_vanishing_gradients import check_clip_grad_norm``.
"""

from course_lib.checks.nb03_vanishing_gradients.clip_grad_norm import CLIP_GRAD_NORM
from course_lib.checks.nb03_vanishing_gradients.rescale_spectral_radius import RESCALE_SPECTRAL_RADIUS
from course_lib.checks.nb03_vanishing_gradients.state_grad_norms_by_hand import STATE_GRAD_NORMS

__all__ = ["EXERCISES", "check_state_grad_norms_by_hand", "check_rescale_spectral_radius", "check_clip_grad_norm"]

EXERCISES = (STATE_GRAD_NORMS, RESCALE_SPECTRAL_RADIUS, CLIP_GRAD_NORM)

check_state_grad_norms_by_hand = STATE_GRAD_NORMS.check
check_rescale_spectral_radius = RESCALE_SPECTRAL_RADIUS.check
check_clip_grad_norm = CLIP_GRAD_NORM.check
