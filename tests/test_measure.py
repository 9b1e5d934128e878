"""Does the autograd measurement give dL/dh_t for every step, zero where the loss does not depend on h_t?"""

import torch

from course_lib.measure import first_last_ratio, state_grad_norms


def test_state_grad_norms_match_the_chain_rule_on_a_linear_recurrence():
    h0 = torch.ones(1, 2, dtype=torch.float64, requires_grad=True)
    states, h = [], h0
    for _ in range(4):
        h = 0.5 * h
        states.append(h)
    loss = states[-1].sum()
    norms = state_grad_norms(loss, states)
    expected = torch.tensor([0.125, 0.25, 0.5, 1.0], dtype=torch.float64) * 2**0.5
    assert torch.allclose(norms, expected)
    assert abs(first_last_ratio(norms) - 0.125) < 1e-12


def test_unused_states_get_zero():
    a = torch.ones(2, requires_grad=True)
    b = a * 2
    c = a * 3
    assert state_grad_norms(b.sum(), [b, c]).tolist() == [2**0.5, 0.0]
