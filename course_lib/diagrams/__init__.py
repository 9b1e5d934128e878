"""Diagrams of the course's models, drawn with matplotlib: the LSTM cell, the GRU cell, the encoder-decoder.

Each function returns a :class:`matplotlib.figure.Figure` (the figure of ``ax`` when one is given), is
deterministic, and takes its labels from :mod:`course_lib.diagrams.symbols`, the notebooks' own symbols and gate
orders.  ``course_lib.plotting`` re-exports them.
"""

from course_lib.diagrams.cells import gru_cell_diagram, lstm_cell_diagram
from course_lib.diagrams.seq2seq import encoder_decoder_diagram

__all__ = ["lstm_cell_diagram", "gru_cell_diagram", "encoder_decoder_diagram"]
