"""The encoder-decoder of notebook 06 unrolled in time, and notebook 07's version with attention.

The example is the notebooks' digit reversal, 1 2 3 4 -> 4 3 2 1 <eos> (S = 4, T = 5).  Boxes are the states
after each step (h_j in the encoder, s_t in the decoder; with attention the encoder's boxes are the keys k_j),
the source tokens enter at the bottom, the decoder writes upwards.  Without attention the context
c = h_S is the decoder's first state and reaches every step along the top bus (notebook 06's input
[e(y_{t-1}); c]); with attention each step t gets its own c_t = sum_j alpha_{t,j} k_j, asked for by the query
s_{t-1} (Bahdanau et al. 2015, with notebook 07's scaled dot-product score).  Labels come from
:mod:`course_lib.diagrams.symbols`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from course_lib.diagrams.draw import Shape, Sketch, math
from course_lib.diagrams.symbols import ATTENTION, SEQ2SEQ

__all__ = ["encoder_decoder_diagram"]

ENCODER, DECODER, TOKEN, CONTEXT = "#a9cce3", "#c7e4b8", "#ffffff", "#e67e22"
SPACING, BOX, ROW = 1.5, 0.8, 2.0  # distance between steps, box size, the height of the state row


def _symbol(template: str, index) -> str:
    """``"x_{j}"`` with j = 2 -> ``"x_{2}"``."""
    return template.replace("{j}", f"{{{index}}}").replace("{t}", f"{{{index}}}")


def _token(sk: Sketch, x: float, y: float, token: str, gid: str) -> Shape:
    width = 0.34 + 0.12 * len(token)
    return sk.box(x, y, width, 0.4, token, gid, face=TOKEN, size=10, round_=0.06)


def encoder_decoder_diagram(ax: plt.Axes | None = None, attention: bool = False) -> plt.Figure:
    """Notebook 06's encoder-decoder unrolled on the reversal 1 2 3 4 -> 4 3 2 1 <eos>; ``attention``: 07's.

    Encoder: h_j = GRU(e(x_j), h_{j-1}), c = h_S.  Decoder: s_0 = c, s_t = GRU([e(y_{t-1}); c], s_{t-1}), fed
    y_0 = <bos> and then the previous token (the true one in training: teacher forcing).  With attention:
    e_{t,j} = s_{t-1} . k_j / sqrt(H), alpha_{t,j} = softmax_j, c_t = sum_j alpha_{t,j} k_j replaces c.
    Returns the figure (of ``ax`` when given).
    """
    table = ATTENTION if attention else SEQ2SEQ
    source, target = table["source"], table["target"]
    S, T = len(source), len(target)
    enc_x = [1.0 + SPACING * j for j in range(S)]
    dec_x = [enc_x[-1] + 2.6 + SPACING * t for t in range(T)]
    top = 7.4 if attention else 5.6
    sk = Sketch(ax, (-0.9, dec_x[-1] + 1.2), (-2.6, top))

    # encoder: tokens below, states (or keys) in boxes, arrows along time
    encoder = []
    for j, (x, token) in enumerate(zip(enc_x, source), start=1):
        state = _symbol(table["key"] if attention else table["encoder_state"], j)
        encoder.append(sk.box(x, ROW, BOX, BOX, math(state), f"encoder:{j}", face=ENCODER))
        word = _token(sk, x, 0.55, token, f"source:{j}")
        sk.wire(word.top, encoder[-1].bottom, gid=f"wire:source{j}")
        sk.text(x, 0.05, math(_symbol(table["source_symbol"], j)), gid=f"symbol:source{j}", size=10, va="top")
    for a, b in zip(encoder, encoder[1:]):
        if attention:  # a bidirectional GRU: one chain forward, one backward
            sk.wire((a.right[0], ROW + 0.15), (b.left[0], ROW + 0.15), gid="wire:forward")
            sk.wire((b.left[0], ROW - 0.15), (a.right[0], ROW - 0.15), gid="wire:backward")
        else:
            sk.wire(a.right, b.left, gid="wire:encoder")

    # decoder: inputs <bos>, y_1, ... below; outputs y_1, ..., <eos> above
    inputs = (table["bos"],) + target[:-1]
    decoder, outputs = [], []
    for t, (x, fed, written) in enumerate(zip(dec_x, inputs, target), start=1):
        decoder.append(sk.box(x, ROW, BOX, BOX, math(_symbol(table["decoder_state"], t)), f"decoder:{t}", face=DECODER))
        word = _token(sk, x, 0.55, fed, f"input:{t}")
        sk.wire(word.top, decoder[-1].bottom, gid=f"wire:input{t}")
        sk.text(x, 0.05, math(_symbol(table["target_symbol"], t - 1)), gid=f"symbol:input{t}", size=10, va="top")
        out_x = x + 0.15
        outputs.append(_token(sk, out_x, 3.5, written, f"output:{t}"))
        sk.wire((out_x, ROW + BOX / 2), outputs[-1].bottom, gid=f"wire:output{t}")
        sk.text(out_x, 3.8, math(_symbol(table["target_symbol"], t)), gid=f"symbol:output{t}", size=10, va="bottom")
    for a, b in zip(decoder, decoder[1:]):
        sk.wire(a.right, b.left, gid="wire:decoder")

    # the encoder's summary becomes the decoder's first state
    handover = (encoder[-1].right[0] + decoder[0].left[0]) / 2
    sk.wire(encoder[-1].right, decoder[0].left, gid="wire:first_state")
    sk.text(handover, ROW - 0.12, math(table["first_state"]), gid="first_state", size=10, va="top")
    taps = [x - 0.33 for x in dec_x]
    if attention:
        _attention(sk, table, encoder, decoder, taps, handover)
    else:
        sk.text(handover - 0.08, ROW + 0.12, math(table["context"]), gid="context", size=10, ha="right", va="bottom")
        bus = 4.6
        sk.junction(handover, ROW)
        sk.wire((handover, ROW), (handover, bus), (taps[-1], bus), gid="wire:context", arrow=False, color=CONTEXT)
        for t, (x, box) in enumerate(zip(taps, decoder), start=1):
            sk.wire((x, bus), (x, box.top[1]), gid=f"wire:context{t}", color=CONTEXT)
            if t < T:
                sk.junction(x, bus, gid=f"junction:context{t}")
        sk.text(
            (handover + taps[-1]) / 2,
            bus + 0.12,
            f"the context ${table['context'].split('=')[0].strip()}$ "
            f"at every step: input {math(table['decoder_input'])}",
            gid="context_bus",
            size=10,
            va="bottom",
        )
        for t in range(T - 1):  # the token written at step t is the input of step t + 1
            out, nxt = outputs[t], decoder[t + 1]
            sk.wire(
                (out.x + 0.1, out.bottom[1]),
                (nxt.x - 0.2, 0.78),
                gid=f"wire:feedback{t + 1}",
                dashed=True,
                color="#888888",
                lw=1.0,
            )

    middle_enc, middle_dec = (enc_x[0] + enc_x[-1]) / 2, (dec_x[0] + dec_x[-1]) / 2
    cell = table["cell_encoder"] if attention else table["cell"]
    middle = (sk.ax.get_xlim()[0] + sk.ax.get_xlim()[1]) / 2
    sk.text(middle_enc, -0.55, f"encoder ({cell}): reads the source", gid="title:encoder", size=10)
    sk.text(
        middle_dec, -0.55, f"decoder ({table['cell']}Cell): writes until {target[-1]}", gid="title:decoder", size=10
    )
    fed = (
        f"decoder inputs: {table['bos']}, then the previous token: the true one in training (teacher forcing"
        f"{'' if attention else ', dashed'}), its own output when decoding"
    )
    sk.text(middle, -1.0, fed, gid="teacher_forcing", size=10)
    sk.equations(middle, -1.6, table["equations"])
    return sk.figure


def _attention(sk: Sketch, table, encoder, decoder, taps, handover) -> None:
    """Each decoder step's context c_t: lines from every key (width ~ alpha_{t,j}) and the query s_{t-1}."""
    key_tops = [6.7 - 0.45 * j for j in range(len(encoder))]  # lower to the right: fan lines pass above
    for j, (box, y) in enumerate(zip(encoder, key_tops), start=1):
        sk.wire(box.top, (box.x, y), gid=f"wire:key{j}", arrow=False, color=CONTEXT)
    node_y = 4.45
    previous = [handover] + [(a.right[0] + b.left[0]) / 2 for a, b in zip(decoder, decoder[1:])]
    for t, (x, box, query_x, weights) in enumerate(zip(taps, decoder, previous, table["alpha"]), start=1):
        node = sk.box(
            x, node_y, 0.62, 0.42, math(_symbol(table["step_context"], t)), f"context:{t}", face="#fbe3cf", size=10
        )
        for j, (key, y, alpha) in enumerate(zip(encoder, key_tops, weights), start=1):
            sk.ax.plot(
                [key.x, node.x],
                [y, node.top[1]],
                color=CONTEXT,
                lw=0.4 + 3.0 * alpha,
                alpha=0.15 + 0.85 * alpha,
                solid_capstyle="round",
                zorder=1.0,
                gid=f"alpha:{t},{j}",
            )
        sk.wire((query_x, ROW), (node.x - 0.2, node.bottom[1]), gid=f"wire:query{t}", color="#555555", lw=1.0)
        sk.wire(node.bottom, (node.x, box.top[1]), gid=f"wire:context{t}", color=CONTEXT)
    sk.text(previous[0] - 0.1, 3.0, math(table["query"]), gid="query", size=10, ha="right")
    sk.text(
        taps[0] - 0.5,
        6.6,
        f"line width and shade $\\propto {table['weight']}$ (illustrative, for the reversal)",
        gid="weights",
        size=10,
        ha="left",
    )
