"""The LSTM cell (notebook 04) and the GRU cell (notebook 05), drawn the way colah's blog and Coursera draw them.

The state that carries memory runs along the top (c for the LSTM, h for the GRU), the inputs enter at the
bottom, the gates are boxes and the element-wise operations are round nodes (⊙ a product, + a sum).  Unlike
the usual pictures, the gates sit in PyTorch's stacking order (i, f, g, o; r, z, n) above the stacked
pre-activation they are cut from, so the picture also shows which rows of ``weight_ih`` feed which gate.
Symbols come from :mod:`course_lib.diagrams.symbols`.

References: C. Olah, "Understanding LSTM Networks" (2015); the ``nn.LSTM`` and ``nn.GRU`` documentation.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from course_lib.diagrams.draw import Sketch, math
from course_lib.diagrams.symbols import GRU, LSTM

__all__ = ["lstm_cell_diagram", "gru_cell_diagram"]

GATE_COLOURS = ("#f6c9a0", "#a9cce3", "#c7e4b8", "#e8b9d9")  # one per block, bar segment and gate alike
SQUASH = "#fdf2c4"  # the tanh applied outside a gate


def _stacked_bar(sk: Sketch, xs, y, letters, block, gid, h=0.5, w=1.4):
    """The stacked pre-activation as one bar cut into blocks, one per gate, centred on the gates' columns."""
    shapes = []
    for x, letter, colour in zip(xs, letters, GATE_COLOURS):
        shapes.append(
            sk.box(x, y, w, h, math(block.format(letter=letter)), f"{gid}:{letter}", face=colour, round_=0.02)
        )
    return shapes


def lstm_cell_diagram(ax: plt.Axes | None = None) -> plt.Figure:
    """The LSTM cell of notebook 04: c along the top, the gates i, f, c~, o in PyTorch's order i, f, g, o.

    Draws c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t and h_t = o_t ⊙ tanh(c_t), the gates cut from the fused
    pre-activation z_t = x_t W_ih^T + h_{t-1} W_hh^T + b = [z^i | z^f | z^g | z^o], shape (N, 4H).
    Returns the figure (of ``ax`` when given).
    """
    sk = Sketch(ax, (-1.4, 12.6), (-1.6, 7.2))
    gates = LSTM["gates"]
    c_prev, h_prev = LSTM["state_in"]
    c_t, h_t = LSTM["state_out"]
    sk.region(0.8, 0.3, 10.4, 6.7, "cell")

    cols = (2.4, 3.8, 5.2, 6.6)  # one column per gate, in PyTorch's order
    top, bar_y, gate_y = 5.9, 1.5, 3.1
    bar = _stacked_bar(sk, cols, bar_y, [g.letter for g in gates], LSTM["block"], "block")
    boxes = {}
    for x, gate, colour, segment in zip(cols, gates, GATE_COLOURS, bar):
        boxes[gate.letter] = sk.box(x, gate_y, 0.9, 0.6, math(gate.activation), f"gate:{gate.letter}", face=colour)
        sk.wire(segment.top, boxes[gate.letter].bottom, gid=f"wire:z{gate.letter}")
        sk.text(x + 0.12, gate_y + 0.62, math(gate.symbol), gid=f"symbol:{gate.letter}", ha="left")

    # inputs: h_{t-1} from the left, x_t from below, joined before the bar
    sk.wire((-0.2, bar_y), bar[0].left, gid="wire:h_prev")
    sk.wire((1.15, -0.35), (1.15, bar_y), gid="wire:x", arrow=False)
    sk.junction(1.15, bar_y)
    sk.text(-0.3, bar_y, math(h_prev), gid=f"state:{h_prev}", ha="right")
    sk.text(1.15, -0.6, math(LSTM["input"]), gid=f"state:{LSTM['input']}", va="top")
    order = ", ".join(gate.letter for gate in gates)
    sk.text(
        4.85,
        0.75,
        math(LSTM["preactivation"]) + f"  $(N, {LSTM['width']})$, split in PyTorch's order {order}",
        gid="preactivation",
        size=10,
    )

    # the cell state line: c_{t-1} -> ⊙ f_t -> + (i_t ⊙ c~_t) -> c_t
    i, f, g, o = (boxes[gate.letter] for gate in gates)
    forget = sk.node(f.x, top, "odot", "node:forget")
    write = sk.node(g.x, 4.5, "odot", "node:write")
    add = sk.node(g.x, top, "plus", "node:add")
    squash_x = 8.5
    # the top line drawn heavier: the path along which the memory and its gradient cross many steps
    sk.wire((-0.2, top), forget.left, gid="wire:c_prev", lw=2.2)
    sk.wire(forget.right, add.left, gid="wire:c_kept", lw=2.2)
    sk.wire(add.right, (11.1, top), gid="wire:c_t", lw=2.2)
    sk.text(-0.3, top, math(c_prev), gid=f"state:{c_prev}", ha="right")
    sk.text(11.2, top, math(c_t), gid=f"state:{c_t}", ha="left")
    sk.wire(f.top, forget.bottom, gid="wire:f")
    sk.wire(i.top, (i.x, write.y), write.left, gid="wire:i", over=True)
    sk.wire(g.top, write.bottom, gid="wire:g")
    sk.wire(write.top, add.bottom, gid="wire:write")

    # the output: h_t = o_t ⊙ tanh(c_t), leaving along the bottom
    sk.junction(squash_x, top)
    squash = sk.box(squash_x, 5.0, 0.9, 0.5, math(r"\tanh"), "squash", face=SQUASH, round_=0.25)
    show = sk.node(squash_x, 4.15, "odot", "node:show")
    sk.wire((squash_x, top), squash.top, gid="wire:c_to_tanh")
    sk.wire(squash.bottom, show.top, gid="wire:tanh_c")
    sk.wire(o.top, (o.x, show.y), show.left, gid="wire:o")
    sk.wire(show.bottom, (squash_x, bar_y), (11.1, bar_y), gid="wire:h_t")
    sk.text(11.2, bar_y, math(h_t), gid=f"state:{h_t}", ha="left")

    sk.equations(5.6, -1.1, LSTM["equations"])
    return sk.figure


def gru_cell_diagram(ax: plt.Axes | None = None) -> plt.Figure:
    """The GRU cell of notebook 05 in PyTorch's form: gates r, z, n in that order, the reset after the product.

    Draws n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)) and h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1},
    with the two stacked products x_t W_ih^T + b_ih and h_{t-1} W_hh^T + b_hh, each (N, 3H) cut into r, z, n.
    Returns the figure (of ``ax`` when given).
    """
    sk = Sketch(ax, (-1.4, 13.0), (-2.2, 8.0))
    gates = GRU["gates"]
    letters = [g.letter for g in gates]
    h_prev, h_t = GRU["state_in"], GRU["state_out"]
    sk.region(0.8, 0.2, 10.9, 7.4, "cell")

    cols = (2.5, 3.9, 5.3)
    top, hid_y, gate_y, inp_y = 6.8, 5.4, 3.3, 1.2
    hidden = _stacked_bar(sk, cols, hid_y, letters, "{letter}", "hidden")
    inputs = _stacked_bar(sk, cols, inp_y, letters, "{letter}", "input")
    sk.text(
        cols[1],
        hid_y + 0.55,
        math(GRU["hidden_part"]) + f"  $(N, {GRU['width']})$",
        gid="hidden_part",
        size=10,
        va="bottom",
    )
    sk.text(
        cols[1], inp_y - 0.45, math(GRU["input_part"]) + f"  $(N, {GRU['width']})$", gid="input_part", size=10, va="top"
    )

    # inputs: h_{t-1} along the top, dropping into its product; x_t from below into its product
    sk.text(-0.3, top, math(h_prev), gid=f"state:{h_prev}", ha="right")
    sk.junction(1.3, top)
    sk.wire((1.3, top), (1.3, hid_y), hidden[0].left, gid="wire:h_to_product")
    sk.wire((1.3, -0.2), (1.3, inp_y), inputs[0].left, gid="wire:x")
    sk.text(1.3, -0.3, math(GRU["input"]), gid=f"state:{GRU['input']}", va="top")

    r_gate, z_gate, n_col = (
        sk.box(cols[0], gate_y, 0.8, 0.6, math(gates[0].activation), "gate:r", face=GATE_COLOURS[0]),
        sk.box(cols[1], gate_y, 0.8, 0.6, math(gates[1].activation), "gate:z", face=GATE_COLOURS[1]),
        cols[2],
    )
    for gate, box, k in ((gates[0], r_gate, 0), (gates[1], z_gate, 1)):
        sk.wire(hidden[k].bottom, box.top, gid=f"wire:h{gate.letter}")
        sk.wire(inputs[k].top, box.bottom, gid=f"wire:x{gate.letter}")

    # the candidate: the reset multiplies the hidden part of n (after W_hn), then the input part is added
    reset = sk.node(n_col, 4.45, "odot", "node:reset")
    n_sum = sk.node(n_col, gate_y, "plus", "node:n_sum")
    n_gate = sk.box(6.75, gate_y, 0.9, 0.6, math(gates[2].activation), "gate:n", face=GATE_COLOURS[2])
    sk.wire(hidden[2].bottom, reset.top, gid="wire:hn")
    sk.wire(r_gate.right, (3.15, gate_y), (3.15, reset.y), reset.left, gid="wire:r", over=True)
    sk.text(4.6, reset.y + 0.08, math(gates[0].symbol), gid="symbol:r", va="bottom")
    sk.wire(reset.bottom, n_sum.top, gid="wire:reset")
    sk.wire(inputs[2].top, n_sum.bottom, gid="wire:xn")
    sk.wire(n_sum.right, n_gate.left, gid="wire:n_pre")
    sk.text(5.6, reset.y, math(GRU["reset"]), gid="reset", size=10, ha="left")

    # the update: h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    split_x, keep_x = 8.3, 9.7
    z_y = 3.95
    keep_old = sk.node(split_x, top, "odot", "node:keep_old")
    add = sk.node(keep_x, top, "plus", "node:add")
    flip = sk.box(split_x + 0.65, z_y, 0.55, 0.45, math("1-"), "one_minus", face="white", size=10)
    mix = sk.node(keep_x, z_y, "odot", "node:mix")
    sk.wire((-0.2, top), keep_old.left, gid="wire:h_prev")
    sk.wire(keep_old.right, add.left, gid="wire:h_kept")
    sk.wire(add.right, (11.6, top), gid="wire:h_t")
    sk.text(11.7, top, math(h_t), gid=f"state:{h_t}", ha="left")
    sk.wire(
        z_gate.right, (4.65, gate_y), (4.65, z_y), (split_x, z_y), (split_x, keep_old.y - 0.2), gid="wire:z", over=True
    )
    sk.junction(split_x, z_y)
    sk.text(4.75, z_y + 0.08, math(gates[1].symbol), gid="symbol:z", ha="left", va="bottom")
    sk.wire((split_x, z_y), flip.left, gid="wire:z_to_flip", arrow=False)
    sk.wire(flip.right, mix.left, gid="wire:keep")
    sk.text(keep_x + 0.3, z_y + 0.3, math(GRU["keep"]), gid="keep", size=10, ha="left")
    sk.wire(n_gate.right, (keep_x, gate_y), mix.bottom, gid="wire:n")
    sk.text(n_gate.x + 0.6, gate_y - 0.1, math(gates[2].symbol), gid="symbol:n", ha="left", va="top")
    sk.wire(mix.top, add.bottom, gid="wire:mix")

    sk.equations(5.8, -1.0, GRU["equations"])
    return sk.figure
