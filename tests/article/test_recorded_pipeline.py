"""Are the recorded runs of the article's pipeline (``files/article_pipeline.pt``) what ``run_pipeline`` produces?

Notebooks 04 and 05 read them with :func:`course_lib.article.pipeline.recorded_pipeline` instead of training the
8 copies of 1000 epochs live; ``tools/record_article_pipeline.py`` writes them with ``record_pipeline``.
"""

from __future__ import annotations

import pytest
import torch

from course_lib.article import SimpleGRU, SimpleLSTM, SimpleRNN, accuracy, recorded_pipeline, run_pipeline
from course_lib.article.pipeline import claim_sets, record_pipeline

MODELS = [SimpleRNN, SimpleLSTM, SimpleGRU]


@pytest.mark.parametrize("model_class", MODELS, ids=lambda c: c.__name__)
def test_recorded_weights_score_what_the_record_says(model_class):
    """The recorded accuracies are those of the recorded weights, and the loss curve has 1000 epochs of 8 copies."""
    run = recorded_pipeline(model_class)
    assert run.recorded and run.name == model_class.__name__
    assert run.loss.shape == (1000, 8)
    assert bool((run.loss[-1] < 0.01).all()), run.loss[-1]  # every copy fitted the six sentences
    for name, examples in claim_sets().items():
        assert accuracy(run.model, examples).tolist() == run.accuracy[name].tolist(), name


def test_loading_a_record_leaves_torchs_random_state_alone():
    before = torch.get_rng_state()
    recorded_pipeline(SimpleLSTM)
    assert torch.equal(torch.get_rng_state(), before)


def test_record_then_load_round_trips_a_run(tmp_path):
    """A short record (2 epochs) read back through recorded_pipeline equals the run it saved."""
    record = record_pipeline([SimpleRNN], tmp_path / "record.pt", epochs=2)
    saved = record["runs"]["SimpleRNN"]
    loaded = torch.load(tmp_path / "record.pt", weights_only=True)["runs"]["SimpleRNN"]
    assert torch.equal(loaded["loss"], saved["loss"]) and loaded["loss"].shape == (2, 8)
    for key, value in saved["state"].items():
        assert torch.equal(loaded["state"][key], value)


@pytest.mark.slow
def test_rerunning_the_rnn_reproduces_its_record():
    """run_pipeline(SimpleRNN) here against the record (about 3 s): the loss curve and the accuracies."""
    recorded, live = recorded_pipeline(SimpleRNN), run_pipeline(SimpleRNN)
    torch.testing.assert_close(live.loss, recorded.loss, rtol=1e-4, atol=1e-6)
    for name in recorded.accuracy:
        assert live.accuracy[name].tolist() == recorded.accuracy[name].tolist(), name
