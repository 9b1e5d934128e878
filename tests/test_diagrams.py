"""Do the diagrams draw, say what the notebooks say (gate order, symbols, equations), and stay legible?

The notebooks are the reference: each test parses the solution notebook (its markdown and its exercise
docstrings) so that a notebook edited without its diagram, or the reverse, fails here.
"""

import itertools
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from course_lib.checks.nb04_lstm import GATE_ORDER as LSTM_GATE_ORDER  # noqa: E402
from course_lib.checks.nb05_gru.variants import GATE_ORDER as GRU_GATE_ORDER  # noqa: E402
from course_lib.diagrams.symbols import ATTENTION, GRU, LSTM, SEQ2SEQ  # noqa: E402
from course_lib.plotting import encoder_decoder_diagram, gru_cell_diagram, lstm_cell_diagram  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = {
    "lstm": lstm_cell_diagram,
    "gru": gru_cell_diagram,
    "seq2seq": encoder_decoder_diagram,
    "attention": lambda ax=None: encoder_decoder_diagram(ax=ax, attention=True),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _cells(name: str, kind: str) -> str:
    nb = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind)


def _normal(tex: str) -> str:
    """LaTeX without what only changes spacing or bracket size: comparable between mathtext and the notebook."""
    tex = re.sub(
        r"\\(?:(?:left|right|big|Big|bigl|bigr|quad|qquad|text|mathrm|operatorname)(?![a-zA-Z])|[,;!])", "", tex
    )
    return re.sub(r"[\s{}&$]", "", tex)


def _pieces(equations) -> list[str]:
    return [piece.strip().rstrip(",") for line in equations for piece in line.split(r"\quad")]


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _by_gid(fig: Figure, gid: str):
    found = [a for a in fig.findobj() if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def _text_of(fig: Figure, gid: str) -> str:
    return _by_gid(fig, gid).get_text()


def _ends_on(fig: Figure, wire: str, shape: str) -> bool:
    """Does the wire ``wire`` end on the patch ``shape`` (its last point inside the patch, in display pixels)?"""
    fig.canvas.draw()
    line, patch = _by_gid(fig, wire), _by_gid(fig, shape)
    end = line.get_transform().transform(line.get_xydata()[-1])
    return patch.contains_point(end, radius=2.0)


def _order_left_to_right(fig: Figure, prefix: str) -> list[str]:
    """The names of the patches whose gid is ``prefix:<name>``, from left to right."""
    fig.canvas.draw()
    found = [a for a in fig.axes[0].patches if re.fullmatch(rf"{prefix}:[^:]+", str(a.get_gid()))]
    return [a.get_gid().split(":")[1] for a in sorted(found, key=lambda a: a.get_window_extent().x0)]


# ---- drawing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DIAGRAMS)
def test_each_diagram_returns_its_figure_and_draws_on_a_given_axes(name, tmp_path):
    fig = DIAGRAMS[name]()
    assert isinstance(fig, Figure) and len(_texts(fig)) > 10
    fig.savefig(tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    own, ax = plt.subplots()
    assert DIAGRAMS[name](ax=ax) is own and len(ax.patches) > 5


@pytest.mark.parametrize("name", DIAGRAMS)
def test_each_diagram_is_deterministic(name):
    def pixels():
        fig = DIAGRAMS[name]()
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    assert np.array_equal(pixels(), pixels())


# ---- legibility ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_two_labels_overlap_and_every_label_is_inside_the_figure(name):
    fig = DIAGRAMS[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(fig)]
    for text, box in boxes:
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, f"{text!r} runs off the figure sideways"
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1, f"{text!r} runs off the figure vertically"
    overlaps = [
        (a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.expanded(1, 1).overlaps(box_b)
    ]
    assert not overlaps, f"labels overlap: {overlaps}"


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_wire_runs_through_a_label(name):
    fig = DIAGRAMS[name]()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    wires = [line for line in fig.findobj(Line2D) if str(line.get_gid()).startswith(("wire", "alpha"))]
    assert wires
    crossed = []
    for text in _texts(fig):
        box = text.get_window_extent(renderer).shrunk(0.9, 0.8)  # the glyphs' own margins may touch a wire
        for line in wires:
            path = line.get_transform().transform_path(line.get_path())
            if path.intersects_bbox(box, filled=False):
                crossed.append((text.get_text(), line.get_gid()))
    assert not crossed, f"wires through labels: {crossed}"


def test_the_overlap_checks_can_fail():
    """The two legibility checks above catch a label put on another label and a wire drawn through a label."""
    fig = lstm_cell_diagram()
    ax = fig.axes[0]
    c_t = _by_gid(fig, "state:c_t")
    ax.text(*c_t.get_position(), "$c_t$", gid="copy")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    a, b = _by_gid(fig, "copy").get_window_extent(renderer), c_t.get_window_extent(renderer)
    assert a.overlaps(b)
    x, y = c_t.get_position()
    (line,) = ax.plot([x - 1, x + 1], [y, y], gid="wire:through")
    fig.canvas.draw()
    path = line.get_transform().transform_path(line.get_path())
    assert path.intersects_bbox(c_t.get_window_extent(renderer).shrunk(0.9, 0.8), filled=False)


# ---- notebook 04: the LSTM ------------------------------------------------------------------------------------


def _nb04_order() -> tuple[str, ...]:
    markdown = _cells("04_lstm", "markdown")
    (order,) = set(re.findall(r"in the order\s+\*\*([a-z](?:, [a-z])+)\*\*", markdown))
    docstring = re.search(r"blocks in PyTorch's order ([a-z](?:, [a-z])+)", _cells("04_lstm", "code")).group(1)
    assert order == docstring, "notebook 04's markdown and its fused cell's docstring disagree"
    return tuple(order.split(", "))


def test_lstm_gates_stand_in_notebook_04s_order_with_its_symbols():
    order = _nb04_order()
    assert order == LSTM_GATE_ORDER == tuple(g.letter for g in LSTM["gates"])
    fig = lstm_cell_diagram()
    assert _order_left_to_right(fig, "gate") == list(order)
    assert _order_left_to_right(fig, "block") == list(order)
    for gate in LSTM["gates"]:
        assert _text_of(fig, f"block:{gate.letter}:text") == f"$z^{{{gate.letter}}}$"
        assert _text_of(fig, f"symbol:{gate.letter}") == f"${gate.symbol}$"
    assert "split in PyTorch's order i, f, g, o" in _text_of(fig, "preactivation")


def test_lstm_gate_symbols_and_activations_are_notebook_04s():
    markdown = _cells("04_lstm", "markdown")
    candidate = re.search(r"\(g is the candidate \$([^$]+)\$\)", markdown).group(1)
    activation = dict(re.findall(r"^(\S+(?: \S+)?) &= \\(sigma|tanh)\(", markdown, flags=re.M))
    fig = lstm_cell_diagram()
    for gate in LSTM["gates"]:
        symbol = candidate if gate.letter == "g" else f"{gate.letter}_t"
        assert _normal(gate.symbol) == _normal(symbol)
        assert activation[symbol] == gate.activation.lstrip("\\")
        assert _text_of(fig, f"gate:{gate.letter}:text") == f"${gate.activation}$"


def test_lstm_state_names_and_equations_are_notebook_04s():
    markdown = _normal(_cells("04_lstm", "markdown"))
    fig = lstm_cell_diagram()
    for name in (*LSTM["state_in"], *LSTM["state_out"], LSTM["input"]):
        assert _normal(name) in markdown
        assert _text_of(fig, f"state:{name}") == f"${name}$"
    for piece in _pieces(LSTM["equations"]):
        assert _normal(piece) in markdown, piece
    # section 3's fused pre-activation: its two products and its blocks, in the table's order
    for term in LSTM["preactivation"].split("=")[1].split("+")[:2]:
        assert _normal(term) in markdown, term
    blocks = r" \mid ".join(LSTM["block"].format(letter=g.letter) for g in LSTM["gates"])
    assert _normal(f"z_t = [{blocks}]") in markdown


def test_lstm_wires_join_what_the_equations_join():
    """c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t, h_t = o_t ⊙ tanh(c_t): each gate's wire ends on its own node."""
    fig = lstm_cell_diagram()
    assert _ends_on(fig, "wire:f", "node:forget")
    assert _ends_on(fig, "wire:i", "node:write") and _ends_on(fig, "wire:g", "node:write")
    assert _ends_on(fig, "wire:write", "node:add") and _ends_on(fig, "wire:c_kept", "node:add")
    assert _ends_on(fig, "wire:o", "node:show") and _ends_on(fig, "wire:tanh_c", "node:show")
    assert not _ends_on(fig, "wire:f", "node:write")


# ---- notebook 05: the GRU --------------------------------------------------------------------------------------


def test_gru_gates_stand_in_notebook_05s_order():
    markdown, code = _cells("05_gru", "markdown"), _cells("05_gru", "code")
    order = re.search(r"stacked in the order \*\*([a-z](?:, [a-z])+)\*\*", markdown).group(1)
    assert order == re.search(r"\(gate order ([a-z](?:, [a-z])+)\)", code).group(1)
    order = tuple(order.split(", "))
    assert order == GRU_GATE_ORDER == tuple(g.letter for g in GRU["gates"])
    fig = gru_cell_diagram()
    assert _order_left_to_right(fig, "hidden") == list(order) == _order_left_to_right(fig, "input")
    for gate in GRU["gates"]:
        assert _text_of(fig, f"symbol:{gate.letter}") == f"${gate.symbol}$"


def test_gru_equations_and_names_are_notebook_05s():
    markdown = _normal(_cells("05_gru", "markdown"))
    for piece in _pieces(GRU["equations"]):
        assert _normal(piece) in markdown, piece
    for name in (GRU["state_in"], GRU["state_out"], GRU["input"], GRU["reset"], GRU["keep"]):
        assert _normal(name) in markdown, name
    fig = gru_cell_diagram()
    assert {_text_of(fig, f"state:{n}") for n in (GRU["state_in"], GRU["state_out"], GRU["input"])} == {
        "$h_{t-1}$",
        "$h_t$",
        "$x_t$",
    }


def test_gru_resets_after_the_product_and_keeps_the_old_state_with_z():
    """PyTorch's placement: r_t multiplies W_hn h_{t-1} + b_hn (the hidden product's n block), the input's n block
    is added after; z_t weighs h_{t-1} and 1 - z_t weighs n_t."""
    fig = gru_cell_diagram()
    assert _ends_on(fig, "wire:hn", "node:reset") and _ends_on(fig, "wire:r", "node:reset")
    assert _ends_on(fig, "wire:xn", "node:n_sum") and not _ends_on(fig, "wire:xn", "node:reset")
    assert _ends_on(fig, "wire:z", "node:keep_old") and _ends_on(fig, "wire:keep", "node:mix")
    assert _ends_on(fig, "wire:n", "node:mix") and not _ends_on(fig, "wire:z", "node:mix")


# ---- notebooks 06 and 07: the encoder-decoder ----------------------------------------------------------------


def _labels(fig: Figure) -> set[str]:
    return {t.get_text() for t in _texts(fig)}


def test_encoder_decoder_uses_notebook_06s_names():
    markdown = _normal(_cells("06_seq2seq", "markdown"))
    for piece in _pieces(SEQ2SEQ["equations"]) + [SEQ2SEQ["context"], SEQ2SEQ["first_state"], SEQ2SEQ["decoder_input"]]:
        assert _normal(piece) in markdown, piece
    assert "y_0 = \\texttt{<bos>}" in _cells("06_seq2seq", "markdown")
    fig = encoder_decoder_diagram()
    labels = _labels(fig)
    S, T = len(SEQ2SEQ["source"]), len(SEQ2SEQ["target"])
    assert {f"$h_{{{j}}}$" for j in range(1, S + 1)} | {f"$x_{{{j}}}$" for j in range(1, S + 1)} <= labels
    assert {f"$s_{{{t}}}$" for t in range(1, T + 1)} | {f"$y_{{{t}}}$" for t in range(T + 1)} <= labels
    assert {"$c = h_S$", "$s_0 = c$", "<bos>", "<eos>"} <= labels
    assert "teacher forcing" in _text_of(fig, "teacher_forcing")
    # the reversal: the decoder is fed <bos>, then each token it writes
    inputs = [_text_of(fig, f"input:{t}:text") for t in range(1, T + 1)]
    outputs = [_text_of(fig, f"output:{t}:text") for t in range(1, T + 1)]
    assert inputs == ["<bos>", *outputs[:-1]] and outputs[-1] == "<eos>"
    assert outputs[:-1] == [_text_of(fig, f"source:{j}:text") for j in range(S, 0, -1)]
    for t in range(1, T):
        assert _ends_on(fig, f"wire:context{t}", f"decoder:{t}")


def test_attention_uses_notebook_07s_names_and_every_step_reads_every_key():
    markdown = _normal(_cells("07_attention", "markdown"))
    for piece in _pieces(ATTENTION["equations"]):
        assert _normal(piece) in markdown, piece
    for name in (ATTENTION["key"], ATTENTION["query"], ATTENTION["weight"], ATTENTION["step_context"]):
        assert _normal(name.replace("{j}", "j").replace("{t}", "t")) in markdown, name
    fig = encoder_decoder_diagram(attention=True)
    S, T = len(ATTENTION["source"]), len(ATTENTION["target"])
    labels = _labels(fig)
    assert {f"$k_{{{j}}}$" for j in range(1, S + 1)} | {f"$c_{{{t}}}$" for t in range(1, T + 1)} <= labels
    assert "$s_{t-1}$" in labels
    lines = {line.get_gid() for line in fig.findobj(Line2D)}
    assert {f"alpha:{t},{j}" for t in range(1, T + 1) for j in range(1, S + 1)} <= lines
    assert np.allclose(np.sum(ATTENTION["alpha"], axis=1), 1.0)
    for t in range(1, T + 1):
        assert _ends_on(fig, f"wire:context{t}", f"decoder:{t}")
        assert _ends_on(fig, f"wire:query{t}", f"context:{t}")
