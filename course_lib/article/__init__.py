"""The systems of the article the course follows, rebuilt as it publishes them.

The article: "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" (AI
Cyberspace).  Its data, vocabulary, initialisation, optimiser and hyper-parameters carry over; the code
is the course's own.  It keeps the article's column-vector convention, ``W @ x_t`` with ``x_t`` of shape
(D, 1): the same computation as the course's batch-first ``x_t @ W.T`` on rows.

- :mod:`course_lib.article.classifiers`  SimpleRNN, SimpleLSTM, SimpleGRU on the six-sentence sentiment
  pipeline (``text2onehot``, log-softmax + NLL, SGD one sentence at a time)
- :mod:`course_lib.article.pipeline`     that pipeline for several models at once, scored on the longer and
  contradictory sentences the article's claims are about
- :mod:`course_lib.article.poem_rnn`     the two-layer (24 -> 12) character RNN on poems, ``build_data``
  windows and greedy continuation of a prefix

This is demonstration code for notebooks 02, 04 and 05 (it implements none of the graded exercises):
the notebooks print what the article printed next to its reported figures, then the course's versions.
"""

from course_lib.article.classifiers import (
    SimpleGRU,
    SimpleLSTM,
    SimpleRNN,
    accuracy,
    predict,
    text2onehot,
    train_article,
)
from course_lib.article.pipeline import (
    PipelineRun,
    claim_sets,
    plot_pipeline,
    recorded_pipeline,
    run_pipeline,
)
from course_lib.article.poem_rnn import (
    TwoLayerRNN,
    build_data,
    generate,
    train_poem_rnn,
)

__all__ = [
    "PipelineRun",
    "SimpleGRU",
    "SimpleLSTM",
    "SimpleRNN",
    "TwoLayerRNN",
    "accuracy",
    "build_data",
    "claim_sets",
    "generate",
    "plot_pipeline",
    "predict",
    "recorded_pipeline",
    "run_pipeline",
    "text2onehot",
    "train_article",
    "train_poem_rnn",
]
