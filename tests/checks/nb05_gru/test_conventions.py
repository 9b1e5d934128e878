"""Does the GRU check name each published convention when a learner writes it: the article's, Cho et al.'s?

The article "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" writes
``h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t`` with the reset applied to ``h_{t-1}`` before ``W_hh``; Cho et al.
(2014) write ``h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h̃_t`` with the same reset; PyTorch keeps Cho's ``z`` and
moves the reset after the matmul, ``r_t ⊙ (W_hn h_{t-1} + b_hn)``.
"""

from __future__ import annotations

import torch

from course_lib.article import SimpleGRU
from course_lib.checks.nb05_gru import check_gru_cell, gru_variant
from tests.conftest import fails_with


def _articles_gru(x, h, Wi, Wh, bi, bh):
    """The article's SimpleGRU step, written by a learner in torch's layout (rows, gate order r, z, n)."""
    W_ir, W_iz, W_in = Wi.chunk(3)
    W_hr, W_hz, W_hn = Wh.chunk(3)
    b_ir, b_iz, b_in = bi.chunk(3)
    b_hr, b_hz, b_hn = bh.chunk(3)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    h_tilde = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * h + z * h_tilde


def test_the_articles_gru_is_named_as_the_article():
    fails_with(check_gru_cell, _articles_gru, r"the GRU as the article \"From RNNs to LSTMs and GRUs", hidden=True)


def test_the_articles_message_names_both_differences_from_torch():
    fails_with(
        check_gru_cell,
        _articles_gru,
        r"\(1\) your z_t weighs the candidate.*\(2\) your reset multiplies h_\{t-1\} before the product",
    )


def test_cho_is_not_called_the_articles_gru():
    def cho(x, h, *w):
        return gru_variant(x, h, *w, candidate="cho")

    fails_with(check_gru_cell, cho, r"Cho et al\. variant")


def _random_gru(D=3, H=4, N=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, h = torch.randn(N, D, generator=g, dtype=torch.float64), torch.randn(N, H, generator=g, dtype=torch.float64)
    weights = [
        torch.randn(*shape, generator=g, dtype=torch.float64) * 0.5
        for shape in ((3 * H, D), (3 * H, H), (3 * H,), (3 * H,))
    ]
    return x, h, weights


def test_course_lib_simple_gru_is_the_variant_the_check_names_as_the_article():
    """course_lib.article.SimpleGRU (columns, W @ x_t) computes gru_variant(cho, swap_update) on rows."""
    x, h, (Wi, Wh, bi, bh) = _random_gru()
    H = h.shape[1]
    model = SimpleGRU(3, H).double()
    with torch.no_grad():
        for gate, rows in (("r", slice(0, H)), ("z", slice(H, 2 * H)), ("h", slice(2 * H, 3 * H))):
            getattr(model, f"W_x{gate}")[0] = Wi[rows]
            getattr(model, f"W_h{gate}")[0] = Wh[rows]
            getattr(model, f"b_{gate}")[0] = (bi[rows] + bh[rows]).unsqueeze(1)  # one bias per gate in the article
        # the article's model runs whole sequences from h_0 = 0 (no step from a given state is public: issue 26)
        column = model.last_state(x).view(H)
    row = torch.zeros(1, H, dtype=torch.float64)
    for x_t in x:  # the rows of x as one sequence, stepped with the named variant from h_0 = 0
        row = gru_variant(x_t.unsqueeze(0), row, Wi, Wh, bi, bh, candidate="cho", swap_update=True)
    torch.testing.assert_close(column, row.view(H), rtol=1e-12, atol=1e-12)


def test_z_and_one_minus_z_conventions_are_the_same_model():
    """Negating the update gate's weights and biases turns z into 1 - z: the article's GRU with them is Cho's."""
    x, h, (Wi, Wh, bi, bh) = _random_gru(seed=1)
    H = h.shape[1]
    flip = torch.ones(3 * H, dtype=torch.float64)
    flip[H : 2 * H] = -1  # sigmoid(-a) = 1 - sigmoid(a)
    article = gru_variant(
        x, h, Wi * flip[:, None], Wh * flip[:, None], bi * flip, bh * flip, candidate="cho", swap_update=True
    )
    cho = gru_variant(x, h, Wi, Wh, bi, bh, candidate="cho")
    torch.testing.assert_close(article, cho, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(gru_variant(x, h, Wi, Wh, bi, bh, candidate="cho", swap_update=True), cho)
