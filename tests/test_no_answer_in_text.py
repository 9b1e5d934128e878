"""Does a learner notebook, or the course_lib a learner installs, hand over a line of an exercise's solution?

An exercise asks for the reasoning it grades (COURSE_DESIGN.md): the text gives the contract, the maths and the
method, not the code.  So no non-trivial line between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of a solution
notebook may appear anywhere a learner can read: not in its own learner notebook, nor in any other (notebook 07's
model once held notebook 06's greedy decoding and teacher-forcing loop), not in a markdown cell (as code or as an
equation), not in a demonstration cell before or after the exercise, and not in course_lib's source, which every
learner has installed.

A line "appears" when its tokens appear in order in one line of the learner's text, allowing for a little noise:
whitespace, ``torch.``/``F.`` prefixes, ``return``, ``*`` (implicit in an equation), ``torch.cat([...], dim=1)``
around a list, ``a, b = x, y`` for ``a = x`` and ``b = y``, and LaTeX spelling (``\\odot`` for ``*``, ``^\\top``
for ``.T``, ``\\tanh`` for ``torch.tanh``) do not hide a copy.  Comments, docstrings, lines shorter than 25
characters and ``return x``-like lines are not answers and are skipped, and so is a line that only transcribes an
equation the statement gives as the contract, marked ``# equation given in the statement``.  The one place a worked answer may wait
is a collapsed "if you are stuck" cell (``source_hidden`` metadata), which the learner opens on purpose.
"""

from __future__ import annotations

import functools
import re
from difflib import SequenceMatcher
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
MIN_CHARS = 25  # shorter lines (`dc = dc_t + x`, `return h, c`) are common idiom, not an answer
MIN_TOKENS = 8
GIVEN = "# equation given in the statement"
SHARE = 0.85  # a learner line holding 85 % of a solution line's tokens, in order, holds the line

_LATEX = [
    (r"\\(?:odot|cdot|times|ast)", "*"),
    (r"\^\{?\\top\}?", ".T"),
    (r"\^\{?2\}?", "**2"),
    (r"\\(?:text|texttt|mathrm|operatorname|mathbf|boldsymbol)\{([^{}]*)\}", r"\1"),
    (r"\\(tanh|sigma|exp|log|sum|max|min)\b", r"\1"),
    (r"\\(?:left|right|big|Big|quad|qquad|textstyle)\b", " "),
    (r"\\[,;:! ]", " "),
    (r"\\_", "_"),
    (r"[&{}$`]", " "),
]
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d+)?|\*\*|//|[-+*/@=<>!]=?|[()\[\],.:]")
# sigma(x) is torch.sigmoid(x); `*` is implicit in maths; torch.cat([a, b]) is the list [a, b]
_DROP = {"torch", "F", "nn", "self", "return", "sigma", "sigmoid", "*", "cat", "stack"}


def tokens(text: str) -> list[str]:
    for pattern, repl in _LATEX:
        text = re.sub(pattern, repl, text)
    out = [t for t in _TOKEN.findall(text) if t not in _DROP]
    out = [t for i, t in enumerate(out) if not (t == "." and (i == 0 or out[i - 1] in _DROP))]
    text = " ".join(out)
    return re.sub(r",? dim = -? ?\d+", "", text).split()


def statements(line: str) -> list[str]:
    """``a, b = x, y`` as ``a = x`` and ``b = y`` (top-level commas only); any other line as itself."""
    match = re.fullmatch(r"([\w\s,]+?)\s*=\s*(.+)", line)
    if not match or "," not in match[1]:
        return [line]
    names, parts, depth, start = [n.strip() for n in match[1].split(",")], [], 0, 0
    for i, ch in enumerate(match[2] + ","):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(match[2][start:i].strip())
            start = i + 1
    if len(parts) != len(names):
        return [line]
    return [f"{n} = {p}" for n, p in zip(names, parts)] + [line]


def solution_lines(source: str, min_chars: int = MIN_CHARS) -> list[str]:
    """The non-trivial lines of a cell's solution regions: no comments, docstrings, short or `return x` lines."""
    lines, inside, docstring = [], False, False
    for raw in source.splitlines():
        line = raw.strip()
        if line.startswith("### BEGIN SOLUTION"):
            inside = True
            continue
        if line.startswith("### END SOLUTION"):
            inside = False
            continue
        if not inside:
            continue
        if line.count('"""') == 1 or line.count("'''") == 1:
            docstring = not docstring
            continue
        if docstring or line.startswith(("#", '"""', "'''")):
            continue
        if GIVEN in line:  # a forward equation the statement gives as the contract (the LSTM's h_t = o_t tanh(c_t))
            continue
        code = re.sub(r"\s+#.*$", "", line)
        if len(code) < min_chars or re.fullmatch(r"return\s+[\w., ]+", code):
            continue
        lines.append(code)
    return lines


def learner_lines(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """Every line of every cell of a learner notebook, equations split at their line breaks and `,\\quad`."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("jupyter", {}).get("source_hidden"):
            continue
        for line in cell.source.splitlines():
            for part in re.split(r"\\\\|\\quad|\\qquad", line):
                if part.strip():
                    out.append((index, part))
    return out


def holds(solution: list[str], text: list[str]) -> bool:
    if len(solution) > 3 * len(text) or not set(solution) <= set(text) | {"(", ")", "[", "]", ",", "."}:
        return False
    matcher = SequenceMatcher(None, solution, text, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks() if block.size >= 2)
    return matched >= SHARE * len(solution)


def source_lines(path: Path) -> list[tuple[int, str]]:
    """Every line of a course_lib module, numbered from 1 (docstrings and comments too: a learner reads them)."""
    return [(number, line) for number, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]


@functools.cache
def readable() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every line a learner can read, tokenised once: ('notebooks/… cell N' or 'course_lib/…:N', tokens)."""
    out = []
    for learner in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        for index, line in learner_lines(nbformat.read(learner, as_version=4)):
            out.append((f"{learner.relative_to(ROOT)} cell {index}", tuple(tokens(line))))
    for module in sorted((ROOT / "course_lib").rglob("*.py")):
        for number, line in source_lines(module):
            out.append((f"{module.relative_to(ROOT)}:{number}", tuple(tokens(line))))
    return tuple((where, have) for where, have in out if have)


def leaks(solution_path: Path, learner_path: Path | None = None) -> list[str]:
    """'<where> holds <solution line>' for each solution line that a learner can read.

    learner_path: that learner notebook only; None: every learner notebook and every course_lib module.
    """
    solution = nbformat.read(solution_path, as_version=4)
    if learner_path is None:
        text = [(where, list(have)) for where, have in readable()]
    else:
        name = learner_path.relative_to(ROOT) if learner_path.is_relative_to(ROOT) else learner_path
        text = [
            (f"{name} cell {i}", tokens(line)) for i, line in learner_lines(nbformat.read(learner_path, as_version=4))
        ]
    found = []
    for cell in solution.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        for line in solution_lines(cell.source):
            for statement in statements(line):
                wanted = tokens(statement)
                if len(wanted) < MIN_TOKENS:
                    continue
                where = list(dict.fromkeys(place for place, have in text if holds(wanted, have)))
                if where:
                    found += [f"{grade_id}: {place} holds the solution line {line!r}" for place in where]
                    break
    return found


def test_solution_lines_are_found_in_the_regions_only():
    source = '''def f(x):
    """Docstring: y = torch.exp(F.cross_entropy(x.reshape(-1, V), ignore_index=pad))."""
    ### BEGIN SOLUTION
    # a comment that says torch.exp(F.cross_entropy(x.reshape(-1, V), t, ignore_index=pad))
    V = x.shape[-1]
    return torch.exp(F.cross_entropy(x.reshape(-1, V), t.reshape(-1), ignore_index=pad))
    ### END SOLUTION
    return something_long_but_outside_the_region(x, y, z)
'''
    assert statements("dx, dh = dz @ W, f(a, b)") == ["dx = dz @ W", "dh = f(a, b)", "dx, dh = dz @ W, f(a, b)"]
    assert solution_lines(source) == [
        "return torch.exp(F.cross_entropy(x.reshape(-1, V), t.reshape(-1), ignore_index=pad))"
    ]


@pytest.mark.parametrize(
    "solution_line, learner_text",
    [
        (  # the perplexity statement before this issue
            "return torch.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id))",
            "`exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id))`, in float64",
        ),
        ("return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)", "h_t = tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)"),
        ("dc = dc_t + dh_t * o * (1 - torch.tanh(c_t) ** 2)", r"dc &= dc_t + dh_t \odot o \odot (1 - \tanh(c_t)^2)"),
        (  # the LSTM backward statement before this issue
            "dz = torch.cat([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], dim=1)",
            r"dz &= [\,di \odot i(1-i),\ df \odot f(1-f),\ dg \odot (1-g^2),\ do \odot o(1-o)\,] &&(N, 4H)",
        ),
    ],
)
def test_a_copy_is_found_through_whitespace_prefixes_and_latex(solution_line, learner_text):
    """The perplexity and LSTM-backward statements of main, and the rnn_cell docstring, hold their solution."""
    assert holds(tokens(solution_line), tokens(learner_text))


@pytest.mark.parametrize(
    "solution_line, learner_text",
    [
        (  # the contract in maths, not the code
            "return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)",
            r"$$a_t = x_t W_{xh}^\top + h_{t-1} W_{hh}^\top + b_h, \qquad h_t = \tanh(a_t)$$",
        ),
        (
            "log_probs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1))",
            "the mean over the M real targets of log p(y | x), padding left out",
        ),
    ],
)
def test_the_maths_of_a_contract_is_not_a_copy(solution_line, learner_text):
    assert not holds(tokens(solution_line), tokens(learner_text))


def test_another_notebooks_copy_is_found(tmp_path):
    """A solution line of notebook 06 in a demonstration cell of a notebook 07 is a leak (the cross-notebook case)."""
    solution = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def f(y, ended):\n    ### BEGIN SOLUTION\n    columns.append(y.masked_fill(ended, PAD_ID))\n    ### END SOLUTION\n"
            )
        ]
    )
    other = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## 3. The model"),
            nbformat.v4.new_code_cell("for _ in range(max_len):\n    columns.append(y.masked_fill(ended, PAD_ID))"),
        ]
    )
    nbformat.write(solution, tmp_path / "06.ipynb")
    nbformat.write(other, tmp_path / "07.ipynb")
    assert leaks(tmp_path / "06.ipynb", tmp_path / "07.ipynb") == [
        f"?: {tmp_path / '07.ipynb'} cell 1 holds the solution line 'columns.append(y.masked_fill(ended, PAD_ID))'"
    ]


def test_readable_text_holds_every_learner_notebook_and_course_lib():
    """The search covers all seven learner notebooks and course_lib's modules, not the solutions."""
    places = {where.split(" cell ")[0].split(":")[0] for where, _ in readable()}
    assert {f"notebooks/{p.parent.name}/{p.name}" for p in SOLUTIONS} <= places
    assert "course_lib/training.py" in places and "course_lib/checks/toolkit.py" in places
    assert not any(place.startswith("solutions/") for place in places)


_IDIOM = "a loop header or return line that every implementation shares, not the exercise's answer"
_BY_HAND = "a check's reference or mistake table written by hand in course_lib, readable by every learner: rewrite it"
# Found when this test first searched course_lib and the other notebooks (issue 23). Each entry is one solution
# line's copy in one file: (exercise, file) -> why it is there. The list may only shrink: an entry that no longer
# leaks fails the test too, so that it is deleted, and a new copy anywhere fails at once.
KNOWN = {
    ("rnn_forward", "notebooks/03_vanishing_gradients/03_vanishing_gradients.ipynb"): _IDIOM,
    ("rnn_forward", "course_lib/article/poem_rnn.py"): _IDIOM,
    ("rnn_forward", "course_lib/checks/nb02_rnn/bptt.py"): _IDIOM,
    ("rnn_forward", "course_lib/checks/nb04_lstm/lstm_backward.py"): _IDIOM,
    ("tbptt", "course_lib/checks/nb02_rnn/tbptt.py"): _IDIOM,
    ("dropout", "course_lib/checks/nb02_rnn/dropout.py"): _IDIOM,
    ("decode", "course_lib/checks/nb01_sequence_data/encoding.py"): _BY_HAND,
    ("make_char_windows", "course_lib/checks/nb01_sequence_data/windows.py"): _BY_HAND,
    ("rescale_spectral_radius", "course_lib/checks/nb03_vanishing_gradients/rescale_spectral_radius.py"): _BY_HAND,
    ("fused_lstm", "course_lib/checks/nb04_lstm/fused_lstm.py"): "the gate layout (i, f, g, o) the statement gives",
    ("lstm_state_grad_norms", "course_lib/checks/nb04_lstm/lstm_state_grad_norms.py"): _BY_HAND,
    ("lstm_state_grad_norms", "course_lib/measure.py"): "a public helper that computes the exercise's answer",
    ("gru_cell", "course_lib/checks/nb05_gru/variants.py"): _BY_HAND,
}


def _place(leak: str) -> tuple[str, str]:
    """'<exercise>: <file> cell N holds …' or '<exercise>: <file>:N holds …' -> (exercise, file)."""
    exercise, where = leak.split(": ", 1)
    return exercise, re.split(r" cell \d+ holds |:\d+ holds ", where, maxsplit=1)[0]


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_no_solution_line_appears_where_a_learner_can_read_it(path):
    """No solution line of notebook N in any learner notebook (N's or another's) or in course_lib's source.

    Known copies (KNOWN) are reported by the last test until they are removed, never silently accepted anew.
    """
    found = [leak for leak in leaks(path) if _place(leak) not in KNOWN]
    assert not found, "a learner can read lines of a solution:\n" + "\n".join(found)


def test_known_copies_are_still_there():
    """KNOWN lists only copies that still exist: a fixed one must leave the list, so that it cannot come back."""
    exercises = {c.metadata.get("nbgrader", {}).get("grade_id") for p in SOLUTIONS for c in nbformat.read(p, 4).cells}
    assert {exercise for exercise, _ in KNOWN} <= exercises
    still = {_place(leak) for path in SOLUTIONS for leak in leaks(path)}
    assert not set(KNOWN) - still, f"no longer copied, delete from KNOWN: {sorted(set(KNOWN) - still)}"
