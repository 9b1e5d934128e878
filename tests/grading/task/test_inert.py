"""Is a submission's HTML made inert before formgrader or a feedback page shows it, and the course's own not?"""

from __future__ import annotations

import nbformat
import pytest

from course_lib.grading.task.inert import (
    inert_markdown,
    make_inert,
    render_markdown,
    sanitize_html,
    unsafe_html,
    unsafe_markdown,
    unsafe_svg,
)
from tests.conftest import ROOT
from tests.grading.xss_corpus import BENIGN, VECTORS

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
    '<details><summary>hint</summary>text</details> <span style="color:red">red</span><br><b>bold</b>',
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
        found = [
            (i, unsafe_markdown(c.source, c.get("attachments")))
            for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown"
        ]
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
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<b>ok</b><script>alert(1)</script>", "text/plain": "<HTML object>"}
        ),
        nbformat.v4.new_output(
            "display_data", data={"text/html": '<table class="dataframe"><tr><td>1</td></tr></table>'}
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"text/markdown": "[x](javascript:alert(1))", "text/latex": r"$\href{javascript:alert(1)}{x}$"},
        ),
    ]
    nb.cells = [answer, plain, code]
    changes = make_inert(nb)
    assert len(changes) == 4, changes
    assert "HTML was turned off" in answer.source and plain.source == BENIGN_MARKDOWN[0]
    first, table, third = code.outputs
    assert first.data == {"text/plain": "<HTML object>", "text/html": "<b>ok</b>"}, "sanitized, not dropped"
    assert "table" in table.data["text/html"] and third.data == {}
    assert make_inert(nb) == [], "a second pass must find nothing left"


def test_html_outputs_allowlist():
    assert unsafe_html('<table class="dataframe"><tr><td>1</td></tr></table>') is None
    assert "the attribute onerror= on <img>" in unsafe_html("<img src=x onerror=alert(1)>")
    assert "the tag <object>" in unsafe_html("<object data=x></object>")
    assert unsafe_html("<pre>javascript:alert(1)</pre>") is None  # verbatim text is not a link


# ------------------------------------------------------------------ the attacker's corpus, vector by vector


@pytest.mark.parametrize("name", VECTORS)
def test_every_known_vector_is_turned_off_and_shown_as_text(name):
    source = VECTORS[name]
    reason = unsafe_markdown(source)
    assert reason is not None, f"{name}: judged inert: {render_markdown(source)!r}"
    text = inert_markdown(source, reason)
    assert unsafe_markdown(text) is None and source in text and "removed: " in text


@pytest.mark.parametrize("name", VECTORS)
def test_nh3s_output_of_every_vector_is_itself_inert(name):
    from html.parser import HTMLParser

    clean = sanitize_html(render_markdown(VECTORS[name]))
    found = []

    class Elements(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append(tag)
            found.extend(f"{k}={v}" for k, v in attrs)

    Elements().feed(clean)
    assert not [
        f
        for f in found
        if f in ("script", "style", "svg", "math", "iframe")
        or f.startswith("on")
        or "position" in f
        or "javascript" in f.lower()
    ], found
    if "MathJax" not in name and "autolink" not in name:  # a script URL in the text stays text (shown in a code block)
        assert unsafe_html(clean) is None, clean


@pytest.mark.parametrize("source", BENIGN)
def test_what_learners_write_is_left_alone(source):
    assert unsafe_markdown(source) is None


@pytest.mark.parametrize(
    "html, removed",
    [
        ('<a href="https://x.invalid/" style="position:fixed;top:0;left:0;width:100%;height:100%">x</a>', "style="),
        ('<span style="color:red;margin-top:-900px">x</span>', "style="),
        ('<a class="navbar-fixed-top" href="https://x.invalid/">x</a>', "class="),
        ("<body onload=alert(1)>", "<body>"),
    ],
)
def test_overlays_and_document_tags_are_named(html, removed):
    assert removed in unsafe_html(html)


def test_colour_code_highlighting_and_tables_keep_their_style_and_classes():
    assert unsafe_html('<span style="color:red; font-weight:bold">x</span>') is None
    assert unsafe_html('<div class="highlight hl-python"><pre><span class="k">def</span></pre></div>') is None
    assert unsafe_html('<table class="dataframe"><tr><td>1</td></tr></table>') is None


def test_an_svg_output_with_script_is_named_and_plain_shapes_are_not():
    assert unsafe_svg('<svg viewBox="0 0 1 1"><path d="M0 0L1 1" stroke="black"/></svg>') is None
    assert "onload" in unsafe_svg("<svg onload=alert(1)><rect width=1 height=1/></svg>")
    assert "<script>" in unsafe_svg("<svg><script>alert(1)</script></svg>")


def test_hostile_outputs_and_cell_tags_are_cleaned_and_named():
    code = nbformat.v4.new_code_cell("display(...)", metadata={"tags": ["ok-tag", "x navbar-fixed-top"]})
    code.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "image/svg+xml": "<svg onload=alert(1)></svg>",
                "text/plain": "<svg>",
                "text/html": "<b>kept</b><img src=x onerror=alert(1)>",
            },
        )
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [code]
    changes = make_inert(nb)
    assert code.metadata["tags"] == ["ok-tag"]
    assert code.outputs[0].data == {"text/plain": "<svg>", "text/html": '<b>kept</b><img src="x">'}
    assert any("image/svg+xml output dropped" in c for c in changes) and any("tags" in c for c in changes)
    assert any("text/html output sanitized, removed: the attribute onerror=" in c for c in changes), changes


# ---------------------------------------------------------------- raw cells, widgets, MathJax (issue 26, item 5)

ONERROR = '<img src=x onerror="alert(1)">'


@pytest.mark.parametrize(
    "metadata", [{"raw_mimetype": "text/html"}, {}, {"raw_mimetype": ""}, {"format": "text/html"}], ids=repr
)
def test_a_raw_cell_that_nbconvert_puts_into_the_page_is_judged(metadata):
    """nbconvert's HTML exporters insert a raw cell whose ``raw_mimetype`` is text/html or empty as it is."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell(ONERROR, metadata=metadata)]
    assert make_inert(nb) and nb.cells[0].source == ""


def test_a_raw_cell_for_another_format_is_left_alone():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_raw_cell(r"\section{x} " + ONERROR, metadata={"raw_mimetype": "text/latex"})]
    assert make_inert(nb) == [] and ONERROR in nb.cells[0].source


def test_widget_state_is_removed_and_the_page_loads_no_widget_script():
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    code = nbformat.v4.new_code_cell("slider")
    code.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"application/vnd.jupyter.widget-view+json": view, "text/plain": "IntSlider()"}
        )
    ]
    nb.cells = [code]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    assert "unpkg.com" in HTMLExporter().from_notebook_node(nb)[0]  # what a plain nbconvert --to html loads
    changes = make_inert(nb)
    assert "widgets" not in nb.metadata and code.outputs[0].data == {"text/plain": "IntSlider()"}
    assert any("widget state" in change for change in changes)
    assert "unpkg.com" not in HTMLExporter().from_notebook_node(nb)[0]


MATHJAX = {
    "unicode": r"$\unicode[some; font-family:x]{x41}$",
    "mmlToken": r"$\mmlToken{mi}[mathbackground=red]{x}$",
    "bbox": r"$\bbox[background:url(https://x.invalid/leak)]{x}$",
    "newcommand splits javascript": r"$\newcommand{\j}{java}\href{\j script:alert(1)}{x}$",
    "def": r"$\def\h{\hr}\h ef{x}$",
    "renewcommand": r"$\renewcommand{\x}{y}$",
    "require": r"$\require{action}$",
    "data": r"$\data{x}{y}$",
    "href https": r"$\href{https://x.invalid}{x}$",
    "enclose": r"$\enclose{box}[mathbackground=red]{x}$",
    "colour with a style": r"$\color{red;position:fixed}{x}$",
    "colour by model": r"$\color[rgb]{1,0,0}{x}$",
    "in a latex output": r"\begin{equation}\unicode{x41}\end{equation}",
}


@pytest.mark.parametrize("name", MATHJAX)
def test_mathjax_that_defines_links_styles_or_loads_is_named(name):
    assert unsafe_markdown(MATHJAX[name]) is not None
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("Math(...)")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/latex": MATHJAX[name], "text/plain": "m"})]
    nb.cells = [code]
    make_inert(nb)
    assert code.outputs[0].data == {"text/plain": "m"}


@pytest.mark.parametrize(
    "source", [r"$\color{red}{x} + \textcolor{#c00}{y}$", r"$\colorbox{yellow}{x}$", r"$\frac{a}{b}\mathrm{d}x$"]
)
def test_plain_colours_and_ordinary_maths_stay(source):
    assert unsafe_markdown(source) is None
