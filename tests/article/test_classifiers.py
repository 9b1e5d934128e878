"""Do the article's SimpleRNN, SimpleLSTM and SimpleGRU compute its equations, and does its pipeline train?

The article: "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch".  Each
reproduction is run on a small budget here (the notebooks run the article's 1000 epochs).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.article import (
    SimpleGRU,
    SimpleLSTM,
    SimpleRNN,
    accuracy,
    predict,
    text2onehot,
    train_article,
)
from course_lib.data.sentiment import ARTICLE_VOCAB, article_sentiment


def test_text2onehot_is_the_articles_one_hot_with_zeros_for_unknown_words():
    x = text2onehot(("电影", "好看", "爆米花"))
    assert x.shape == (3, 18)
    assert x[0, 0] == 1 and x[1, 1] == 1 and x.sum() == 2 and x[2].abs().sum() == 0


def test_simple_rnn_columns_equal_nn_rnncell_rows():
    """W @ x_t on a column (the article) is x_t @ W.T on a row (PyTorch): one step against nn.RNNCell."""
    model = SimpleRNN(18, 4, generator=torch.Generator().manual_seed(0))
    cell = nn.RNNCell(18, 4)
    with torch.no_grad():
        cell.weight_ih.copy_(model.W_xh[0])
        cell.weight_hh.copy_(model.W_hh[0])
        cell.bias_ih.copy_(model.b_h[0, :, 0])
        cell.bias_hh.zero_()
        x = text2onehot(("音乐", "好听"))
        h = torch.zeros(1, 4)
        for t in range(2):
            h = cell(x[t : t + 1], h)
        _, h_T = model(x)
    torch.testing.assert_close(h_T[0, :, 0], h[0])


def test_simple_lstm_equals_nn_lstmcell_with_its_gates_stacked_i_f_g_o():
    model = SimpleLSTM(18, 4, generator=torch.Generator().manual_seed(1))
    cell = nn.LSTMCell(18, 4)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.cat([getattr(model, f"W_x{g}")[0] for g in "ifco"]))
        cell.weight_hh.copy_(torch.cat([getattr(model, f"W_h{g}")[0] for g in "ifco"]))
        cell.bias_ih.copy_(torch.randn(16))
        cell.bias_hh.zero_()
        for k, g in enumerate("ifco"):
            getattr(model, f"b_{g}")[0, :, 0] = cell.bias_ih[4 * k : 4 * k + 4]
        x = text2onehot(("饭菜", "难吃", "天气"))
        h, c = torch.zeros(1, 4), torch.zeros(1, 4)
        for t in range(3):
            h, c = cell(x[t : t + 1], (h, c))
        _, h_T = model(x)
    torch.testing.assert_close(h_T[0, :, 0], h[0])


def test_initialisation_is_the_articles():
    rnn, gru = SimpleRNN(18, 4, copies=50), SimpleGRU(18, 4, copies=50)
    assert 0.8 < float(rnn.W_xh.detach().std()) < 1.2 and float(rnn.b_h.detach().abs().sum()) > 0  # randn, biases too
    assert (
        0.08 < float(gru.W_xz.detach().std()) < 0.12 and float(gru.b_z.detach().abs().sum()) == 0
    )  # randn * 0.1, zero biases


def test_copies_train_exactly_as_each_model_alone():
    """K copies side by side are K independent runs of the article's loop, not one model."""
    together = SimpleGRU(18, 4, copies=2, generator=torch.Generator().manual_seed(3))
    alone = SimpleGRU(18, 4, copies=1)
    with torch.no_grad():
        for p_alone, p_together in zip(alone.parameters(), together.parameters()):
            p_alone.copy_(p_together[1:2])
    train_article(together, article_sentiment(), epochs=5)
    train_article(alone, article_sentiment(), epochs=5)
    for p_alone, p_together in zip(alone.parameters(), together.parameters()):
        torch.testing.assert_close(p_alone, p_together[1:2])


@pytest.mark.parametrize("model_class", [SimpleRNN, SimpleLSTM, SimpleGRU])
def test_each_reproduction_learns_the_six_sentences_on_a_small_budget(model_class):
    examples = article_sentiment()
    model = model_class(len(ARTICLE_VOCAB), 4, copies=3, generator=torch.Generator().manual_seed(0))
    history = train_article(model, examples, epochs=150, lr=0.1)
    assert history.shape == (150, 3)
    assert bool((history[-1] < 0.5 * history[0]).all()), history[[0, -1]]
    assert accuracy(model, examples).tolist() == [1.0, 1.0, 1.0]
    assert predict(model, ("电影", "好看")).tolist() == [1, 1, 1]
