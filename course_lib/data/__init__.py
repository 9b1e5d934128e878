"""Data for the course: vocabularies and the small data sets shipped inside the package.

Nothing here downloads anything; every data set lives in this package with its provenance and licence
in ``files/README.md``.  Notebook 01 has learners build vocabularies, windows and padded batches
themselves; the later notebooks use :mod:`course_lib.data.vocab` so that a learner who is stuck in 01
can still go on.
"""

from course_lib.data.sentiment import Example, order_sentiment, seed_sentiment
from course_lib.data.series import air_passengers, noisy_sine
from course_lib.data.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocab

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "SPECIALS",
    "UNK",
    "Vocab",
    "Example",
    "order_sentiment",
    "seed_sentiment",
    "air_passengers",
    "noisy_sine",
]
