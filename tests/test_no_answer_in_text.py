"""Does a learner notebook hand over a line of an exercise's solution?

An exercise asks for the reasoning it grades (COURSE_DESIGN.md): the text gives the contract, the maths and the
method, not the code.  So no non-trivial line between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of a solution
notebook may appear anywhere in its learner notebook: not in a markdown cell (as code or as an equation), not in a
demonstration cell before or after the exercise.

A line "appears" when its tokens appear in order in one line of the learner's text, allowing for a little noise:
whitespace, ``torch.``/``F.`` prefixes, ``return``, ``*`` (implicit in an equation), ``torch.cat([...], dim=1)``
around a list, ``a, b = x, y`` for ``a = x`` and ``b = y``, and LaTeX spelling (``\\odot`` for ``*``, ``^\\top``
for ``.T``, ``\\tanh`` for ``torch.tanh``) do not hide a copy.  Comments, docstrings, lines shorter than 25
characters and ``return x``-like lines are not answers and are skipped, and so is a line that only transcribes an
equation the statement gives as the contract, marked ``# equation given in the statement``.  The one place a worked answer may wait
is a collapsed "if you are stuck" cell (``source_hidden`` metadata), which the learner opens on purpose.
"""

from __future__ import annotations

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


def leaks(solution_path: Path, learner_path: Path) -> list[str]:
    """'cell N holds <solution line>' for each solution line that its learner notebook contains."""
    solution = nbformat.read(solution_path, as_version=4)
    text = [(i, tokens(line)) for i, line in learner_lines(nbformat.read(learner_path, as_version=4))]
    found = []
    for cell in solution.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        for line in solution_lines(cell.source):
            for statement in statements(line):
                wanted = tokens(statement)
                if len(wanted) < MIN_TOKENS:
                    continue
                where = [i for i, have in text if holds(wanted, have)]
                if where:
                    found.append(f"{grade_id}: learner cell {where[0]} holds the solution line {line!r}")
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


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_no_solution_line_appears_in_the_learner_notebook(path):
    learner = ROOT / "notebooks" / path.relative_to(ROOT / "solutions")
    found = leaks(path, learner)
    assert not found, "the learner notebook hands over lines of a solution:\n" + "\n".join(found)
