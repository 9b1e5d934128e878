"""Does the autograd measurement give dL/dh_t for every step, zero where the loss does not depend on h_t?"""

import torch

from course_lib.measure import first_last_ratio, rnn_state_grad_norms, state_grad_norms


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


def test_rnn_state_grad_norms_match_the_chain_rule_of_nn_rnn():
    """Stepping nn.RNN one step at a time, dL/dh_t = dL/dh_{t+1} diag(1 - h_{t+1}^2) W_hh, from dL/dh_T = v."""
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, 3, batch_first=True, dtype=torch.float64)
    x = torch.randn(1, 4, 2, dtype=torch.float64)
    v = torch.randn(1, 3, dtype=torch.float64)
    norms = rnn_state_grad_norms(rnn, x, lambda h_T: (h_T * v).sum())
    hs = rnn(x)[0][0].detach()  # (T, H)
    grad, expected = v[0], [float(v.norm())]
    for t in range(3, 0, -1):
        grad = (grad * (1 - hs[t] ** 2)) @ rnn.weight_hh_l0.detach()
        expected.insert(0, float(grad.norm()))
    torch.testing.assert_close(norms, torch.tensor(expected, dtype=torch.float64))
    assert norms[-1] != norms[0]
