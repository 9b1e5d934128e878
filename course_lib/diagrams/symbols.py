"""The symbols each diagram writes, in one table per notebook: gate order, gate symbols, state names.

The drawing code reads every label from here, so that the diagrams and the notebooks can be compared in one
place (``tests/test_diagrams.py`` parses the solution notebooks and fails when they disagree).  Symbols are
matplotlib mathtext (LaTeX without the dollars).

- Notebook 04 (LSTM): PyTorch's stacking order i, f, g, o; "g is the candidate c~_t"; the fused pre-activation
  ``z_t = x_t W_ih^T + h_{t-1} W_hh^T + b = [z^i | z^f | z^g | z^o]`` (its section 3).
- Notebook 05 (GRU): PyTorch's order r, z, n; the reset acts after the product, ``r_t ⊙ (W_hn h_{t-1} + b_hn)``;
  ``h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}``.
- Notebook 06 (seq2seq): source x_1..x_S, encoder states h_j, context c = h_S, decoder states s_t with s_0 = c,
  inputs [e(y_{t-1}); c], y_0 = <bos>.
- Notebook 07 (attention): keys k_1..k_S (a bidirectional GRU), query s_{t-1}, weights alpha_{t,j}, context c_t.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Gate", "LSTM", "GRU", "SEQ2SEQ", "ATTENTION"]


@dataclass(frozen=True)
class Gate:
    """One block of a stacked pre-activation: its letter in PyTorch's order, the notebook's symbol, its squashing."""

    letter: str
    symbol: str
    activation: str
    role: str


LSTM = {
    "gates": (
        Gate("i", "i_t", r"\sigma", "input gate"),
        Gate("f", "f_t", r"\sigma", "forget gate"),
        Gate("g", r"\tilde{c}_t", r"\tanh", "candidate"),
        Gate("o", "o_t", r"\sigma", "output gate"),
    ),
    "block": "z^{{{letter}}}",  # the blocks of z_t in notebook 04's section 3: z^i, z^f, z^g, z^o
    "preactivation": r"z_t = x_t W_{ih}^\top + h_{t-1} W_{hh}^\top + b",
    "width": "4H",
    "state_in": ("c_{t-1}", "h_{t-1}"),
    "state_out": ("c_t", "h_t"),
    "input": "x_t",
    "equations": (
        r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t,\quad h_t = o_t \odot \tanh(c_t)",
    ),  # one line each
}

GRU = {
    "gates": (
        Gate("r", "r_t", r"\sigma", "reset gate"),
        Gate("z", "z_t", r"\sigma", "update gate"),
        Gate("n", "n_t", r"\tanh", "candidate"),
    ),
    "input_part": r"x_t W_{ih}^\top + b_{ih}",
    "hidden_part": r"h_{t-1} W_{hh}^\top + b_{hh}",
    "width": "3H",
    "reset": r"r_t \odot (W_{hn} h_{t-1} + b_{hn})",
    "keep": "1 - z_t",
    "state_in": "h_{t-1}",
    "state_out": "h_t",
    "input": "x_t",
    "equations": (  # one line each
        r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}),\quad "
        r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
        r"n_t = \tanh\left(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\right),\quad "
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ),
}

# The example the two encoder-decoder diagrams unroll: notebook 06's and 07's digit reversal, S = 4, T = 5.
_SOURCE = ("1", "2", "3", "4")
_TARGET = ("4", "3", "2", "1", "<eos>")

SEQ2SEQ = {
    "source": _SOURCE,
    "target": _TARGET,
    "bos": "<bos>",
    "source_symbol": "x_{j}",
    "target_symbol": "y_{t}",
    "encoder_state": "h_{j}",
    "context": "c = h_S",
    "decoder_state": "s_{t}",
    "first_state": "s_0 = c",
    "cell": "GRU",
    "decoder_input": r"[\,e(y_{t-1});\, c\,]",
    "equations": (
        r"h_j = \mathrm{GRU}(e(x_j),\, h_{j-1}),\quad c = h_S",
        r"s_0 = c,\quad s_t = \mathrm{GRU}([\,e(y_{t-1});\, c\,],\, s_{t-1}),\quad "
        r"p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_o s_t + b_o)",
    ),
}

ATTENTION = {
    **SEQ2SEQ,
    "key": "k_{j}",
    "cell_encoder": "biGRU",
    "first_state": "s_0",
    "query": "s_{t-1}",
    "weight": r"\alpha_{t,j}",
    "step_context": "c_{t}",
    "decoder_input": r"[\,e(y_{t-1});\, c_t\,]",
    # Weights to draw for the reversal: output step t reads source position S + 1 - t (<eos> reads the end).
    # Illustrative, not a trained model's (notebook 07's heatmaps show those).
    "alpha": (
        (0.04, 0.04, 0.12, 0.80),
        (0.04, 0.12, 0.80, 0.04),
        (0.12, 0.80, 0.04, 0.04),
        (0.80, 0.12, 0.04, 0.04),
        (0.10, 0.10, 0.20, 0.60),
    ),
    "equations": (
        r"e_{t,j} = \frac{s_{t-1} \cdot k_j}{\sqrt{H}},\quad "
        r"\alpha_{t,j} = \frac{\exp e_{t,j}}{\sum_{j' \mathrm{real}} \exp e_{t,j'}},\quad "
        r"c_t = \sum_j \alpha_{t,j} k_j",
        r"s_t = \mathrm{GRU}([\,e(y_{t-1});\, c_t\,],\, s_{t-1}),\quad "
        r"p(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_o s_t + b_o)",
    ),
}
