"""Is a submission's HTML made inert before formgrader or a feedback page shows it, and the course's own not?"""

from __future__ import annotations

import nbformat
import pytest

from course_lib.grading.inert import inert_markdown, make_inert, unsafe_html, unsafe_markdown
from tests.conftest import ROOT

HOSTILE_MARKDOWN = {
    "script tag": "My answer. <script>fetch('/api/kernels', {method: 'POST'})</script>",
    "event handler": 'See <img src=x onerror="alert(1)">',
    "markdown link": "[click](javascript:alert(1))",
    "character references": '<a href="&#106;avascript:alert(1)">x</a>',
    "whitespace in the scheme": '<a href=" java\tscript:alert(1)">x</a>',
    "MathJax href": r"$\href{javascript:alert(1)}{x}$",
    "iframe": '<iframe src="https://example.org"></iframe>',
    "svg": "<svg onload=alert(1)></svg>",
    "data URL page": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "form": '<form action="/api/contents"><button>go</button></form>',
    "css url": '<div style="background:url(https://example.org/?leak)">x</div>',
}

BENIGN_MARKDOWN = [
    "Plain *text*, `a < b` in code, $x < y$ in maths, a [link](https://pytorch.org) and a [relative](../02_rnn).",
    "<details><summary>hint</summary>text</details> <span style=\"color:red\">red</span><br><b>bold</b>",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [ ] task\n- [x] done",
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "```python\n# code may mention javascript:alert(1) and <script>\n```",
]


@pytest.mark.parametrize("name", HOSTILE_MARKDOWN)
def test_hostile_markdown_is_named(name):
    assert unsafe_markdown(HOSTILE_MARKDOWN[name]) is not None


@pytest.mark.parametrize("source", BENIGN_MARKDOWN)
def test_ordinary_markdown_is_left_alone(source):
    assert unsafe_markdown(source) is None


def test_a_pasted_image_attachment_is_fine_and_a_missing_one_is_not_rendered():
    source = "![plot](attachment:plot.png)"
    assert unsafe_markdown(source, {"plot.png": {"image/png": "iVBORw0KGgo="}}) is None
    assert "could not be rendered" in unsafe_markdown(source)


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_the_course_notebooks_pass_the_allowlist(folder):
    for path in sorted((ROOT / folder).glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found = [(i, unsafe_markdown(c.source, c.get("attachments"))) for i, c in enumerate(nb.cells)
                 if c.cell_type == "markdown"]
        assert not [f for f in found if f[1]], f"{path.name}: {found}"


@pytest.mark.parametrize("name", ["script tag", "event handler", "markdown link"])
def test_turned_off_markdown_shows_the_text_as_written_and_nothing_runs(name):
    source = HOSTILE_MARKDOWN[name]
    text = inert_markdown(source, unsafe_markdown(source))
    assert unsafe_markdown(text) is None
    assert source in text and "HTML was turned off" in text


def test_a_fence_inside_the_answer_cannot_close_the_code_block():
    source = "```` <script>alert(1)</script> ``` ~~~"
    text = inert_markdown(source, unsafe_markdown(source))
    assert unsafe_markdown(text) is None and source in text


def test_make_inert_cleans_cells_and_outputs_and_keeps_the_rest():
    nb = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN["event handler"])
    plain = nbformat.v4.new_markdown_cell(BENIGN_MARKDOWN[0])
    code = nbformat.v4.new_code_cell("display(...)")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<b>ok</b><script>alert(1)</script>",
                                                     "text/plain": "<HTML object>"}),
        nbformat.v4.new_output("display_data", data={"text/html": '<table class="dataframe"><tr><td>1</td></tr></table>'}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "[x](javascript:alert(1))",
                                                     "text/latex": r"$\href{javascript:alert(1)}{x}$"}),
    ]
    nb.cells = [answer, plain, code]
    changes = make_inert(nb)
    assert len(changes) == 4, changes
    assert "HTML was turned off" in answer.source and plain.source == BENIGN_MARKDOWN[0]
    first, table, third = code.outputs
    assert first.data == {"text/plain": "<HTML object>"}
    assert "table" in table.data["text/html"] and third.data == {}
    assert make_inert(nb) == [], "a second pass must find nothing left"


def test_html_outputs_allowlist():
    assert unsafe_html('<table class="dataframe"><tr><td>1</td></tr></table>') is None
    assert unsafe_html("<img src=x onerror=alert(1)>") == "the attribute onerror= on <img>"
    assert unsafe_html("<object data=x></object>") == "the tag <object>"
    assert unsafe_html("<pre>javascript:alert(1)</pre>") is None  # verbatim text is not a link
