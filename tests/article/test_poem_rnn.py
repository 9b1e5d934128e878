"""Does the article's poem pipeline cut the right windows, batch as columns, train and continue a prefix?"""

from __future__ import annotations

import pytest
import torch

from course_lib.article import TwoLayerRNN, build_data, generate, train_poem_rnn
from course_lib.data.poems import poem_by_prefix

TEXT = poem_by_prefix("床前").text  # 床前明月光，疑是地上霜。举头望明月，低头思故乡。
CHARS = sorted(set(TEXT))


def test_build_data_windows_targets_shifted_by_one():
    x, y = build_data(TEXT, 10, CHARS)
    assert x.shape == (len(TEXT) - 10, 10, len(CHARS)) and y.shape == (len(TEXT) - 10, 10)
    assert "".join(CHARS[i] for i in x[3].argmax(dim=1)) == TEXT[3:13]
    assert "".join(CHARS[i] for i in y[3]) == TEXT[4:14]


def test_build_data_names_a_text_too_short():
    with pytest.raises(ValueError, match="needs more than seq_len=10"):
        build_data(TEXT[:10], 10, CHARS)


def test_windows_side_by_side_as_columns_equal_one_window_at_a_time():
    model = TwoLayerRNN(len(CHARS), generator=torch.Generator().manual_seed(0))
    x, _ = build_data(TEXT, 10, CHARS)
    with torch.no_grad():
        torch.testing.assert_close(model(x[:4]), torch.cat([model(x[i : i + 1]) for i in range(4)]))


def test_the_articles_loop_lowers_the_loss_every_epoch():
    model = TwoLayerRNN(len(CHARS), generator=torch.Generator().manual_seed(0))
    x, y = build_data(TEXT, 10, CHARS)
    history = train_poem_rnn(model, x, y, epochs=5, lr=0.015, batch_size=1)
    assert history.shape == (5,) and bool((history[1:] < history[:-1]).all()), history


def test_summed_batches_learn_the_poem():
    """All windows in one step, losses summed: each window keeps the article's learning rate."""
    model = TwoLayerRNN(len(CHARS), generator=torch.Generator().manual_seed(0))
    x, y = build_data(TEXT, 10, CHARS)
    history = train_poem_rnn(model, x, y, epochs=150, lr=0.015, batch_size=len(x))
    assert history[-1] < 0.4 * history[0], history[[0, -1]]


def test_generate_as_published_feeds_the_last_prefix_character_twice():
    model = TwoLayerRNN(len(CHARS), generator=torch.Generator().manual_seed(2))
    published = generate(model, "床前", CHARS, max_len=12)
    read_once = generate(model, "床前前", CHARS, max_len=13, as_published=False)
    assert len(published) == 12 and published.startswith("床前")
    assert published[2:] == read_once[3:]
