"""Is the feedback page's maths MathML a browser lays out by itself, and can that MathML do nothing else?

The page (course_lib/grading/task/feedback.py) is rendered with :class:`MathMLRenderer`; each formula is
converted by latex2mathml and cleaned by nh3 with a MathML-only allowlist (course_lib/grading/task/mathml.py).
The course's own formulas must all convert; the MathML-specific vectors of tests/grading/xss_corpus.py
must leave nothing but presentational MathML.  The browser side: tests/browser/test_feedback_page.py and
tests/browser/test_xss.py.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from latex2mathml.converter import convert_to_element
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

# (tag, attribute, value) of every element of well-formed HTML, attribute "" for the tag itself: inert's reader
from course_lib.grading.task.inert import _elements as elements
from course_lib.grading.task.mathml import (
    MATH_ATTRIBUTES,
    MATH_TAGS,
    MathMLRenderer,
    latex_output_html,
    latex_to_mathml,
    sanitize_mathml,
)
from tests.conftest import ROOT
from tests.grading.feedback_class import WRITTEN_ANSWER, render_feedback
from tests.grading.xss_corpus import MATHML_VECTORS, OVERLAY

# What the markdown renderer itself writes around the maths (paragraphs, emphasis, lists, tables, code).
MARKDOWN_TAGS = frozenset("p em strong code pre ul ol li a h1 h2 h3 table thead tbody tr th td br del".split())


def render(source: str) -> str:
    return MarkdownWithMath(renderer=MathMLRenderer(escape=False)).render(source)


class Formulas(IPythonRenderer):
    """nbconvert's renderer, counting the formulas MathJax would have typeset."""

    count = 0

    def block_math(self, body):
        Formulas.count += 1
        return super().block_math(body)

    def inline_math(self, body):
        Formulas.count += 1
        return super().inline_math(body)

    def latex_environment(self, name, body):
        Formulas.count += 1
        return super().latex_environment(name, body)


def formulas(source: str) -> int:
    Formulas.count = 0
    MarkdownWithMath(renderer=Formulas(escape=False)).render(source)
    return Formulas.count


def prose(html: str) -> str:
    """The text of ``html`` outside maths and code: where raw LaTeX would show."""
    html = re.sub(r"<(math|code|pre)\b.*?</\1>", "", html, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", "", html)


# ------------------------------------------------------------------------------------ the course's formulas


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_every_formula_of_the_course_is_mathml_and_no_latex_is_left(folder):
    total = 0
    for path in sorted((ROOT / folder).glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            html = render(cell.source)
            assert html.count("<math") == formulas(cell.source), f"{path.name}: {cell.source[:120]!r}"
            assert not [m for m in re.findall(r"<math.*?</math>", html, re.DOTALL) if "\\" in m], "no \\command left"
            assert not re.search(r"\$.+?\$|\\\(|\\\[|\\begin\{", prose(html)), f"{path.name}: {prose(html)[:200]!r}"
            total += html.count("<math")
    assert total > 300, "the notebooks' maths was found"


def test_nh3_keeps_every_element_and_attribute_latex2mathml_writes_for_the_course():
    """nh3 does keep MathML: for the course's formulas it removes nothing but the xmlns."""
    wrote, kept = set(), set()
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for latex in re.findall(r"\$\$?(.+?)\$\$?", cell.source, re.DOTALL) if cell.cell_type == "markdown" else []:
                mathml = latex_to_mathml(latex)
                if mathml is not None:
                    tree = convert_to_element(latex.replace("aligned", "align*"))
                    wrote |= {(node.tag, a) for node in tree.iter() for a in ("", *node.attrib)}
                    kept |= {(t, a) for t, a, _ in elements(mathml)}
    assert len(wrote) > 20 and wrote - kept == {("math", "xmlns")}, wrote - kept


def test_display_maths_is_a_block_and_inline_maths_is_not():
    html = render(r"so $x_t$ and $$h_t = \tanh(a_t)$$ and \begin{align}a &= b\end{align}")
    assert re.findall(r'<math display="(\w+)"', html) == ["inline", "block", "block"]


def test_a_formula_that_does_not_convert_stays_as_its_escaped_text():
    assert render(r"$\notacommand{x} < y$") == "<p>$\\notacommand{x} &lt; y$</p>\n"
    assert render(r"$$a & b$$") == "<p>$$a &amp; b$$</p>\n", "an alignment & outside a table"
    assert latex_to_mathml(r"\mathbin{\&}") is None, "latex2mathml's <mo><mrow> would lose the & in a browser"


def test_what_latex2mathml_lacks_is_added_or_left_as_text():
    assert "<mtable" in latex_to_mathml(r"\begin{aligned}a &= b \\ c &= d\end{aligned}"), "aligned, as align*"
    assert "<mo>arg</mo>" in latex_to_mathml(r"\arg\max_y f(y)")
    assert "<mtext>one_hot</mtext>" in latex_to_mathml(r"\text{one\_hot}(i)"), "a text escape, read"
    assert latex_to_mathml(r"\Big\|x\Big\|").count("‖") == 2, "a sized delimiter, looked up"
    assert latex_to_mathml(r"\text{a\textbackslash b}") is None, "a command latex2mathml prints as written"


def test_text_in_maths_is_text_not_markup():
    """latex2mathml 3.81 writes \\text{<pad>} as a raw <pad> tag: it is escaped here."""
    mathml = latex_to_mathml(r"y \ne \texttt{<pad>}, \text{<b>x</b> & y}")
    assert mathml is None or "<b>" not in mathml
    assert "&lt;pad&gt;" in latex_to_mathml(r"y \ne \texttt{<pad>}")


def test_a_text_latex_output_is_mathml_and_the_rest_escaped_text():
    html = latex_output_html(r"Loss $$L = \sum_t \ell_t$$ and \(x\) of <b>bold</b> \begin{equation}a=1\end{equation}")
    assert html.count("<math") == 3 and "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html
    assert latex_output_html(r"$\notacommand$ costs") == r"$\notacommand$ costs"


def test_the_feedback_page_has_mathml_tables_and_no_script():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(WRITTEN_ANSWER)])
    code = nbformat.v4.new_code_cell("display(Math(...))")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/latex": r"$\alpha_t = \sigma(z_t)$"})]
    nb.cells.append(code)
    page = render_feedback(nb)
    assert page.count("<math") == formulas(WRITTEN_ANSWER) + 1 == 3
    assert "<table>" in page and page.count("<tr>") == 3
    assert "<script" not in page and "MathJax" not in page and "<link" not in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page), "nothing is loaded from anywhere"


# ------------------------------------------------------------------------------- nothing but presentation


@pytest.mark.parametrize("name", MATHML_VECTORS)
def test_a_mathml_vector_leaves_only_presentational_mathml(name):
    """Rendered as the feedback page renders maths (the inert step, which turns raw HTML off, left out)."""
    html = render(MATHML_VECTORS[name])
    if name.startswith("raw"):
        return  # raw <math> HTML is the inert step's (test_raw_mathml_in_an_answer_is_turned_off)
    found = elements(html)
    assert {tag for tag, attribute, _ in found if not attribute} <= MATH_TAGS | MARKDOWN_TAGS, found
    assert {attribute for _, attribute, _ in found if attribute} <= MATH_ATTRIBUTES, found
    assert not [v for _, a, v in found if a in ("width", "lspace", "rspace") and v.startswith("-")], found
    assert "javascript" not in "".join(v for *_, v in found) and OVERLAY not in html


@pytest.mark.parametrize("name", [n for n in MATHML_VECTORS if n.startswith("raw")])
def test_raw_mathml_in_an_answer_is_turned_off(name):
    from course_lib.grading.task.inert import unsafe_markdown

    assert unsafe_markdown(MATHML_VECTORS[name]) is not None


def test_nh3_with_the_mathml_allowlist_keeps_presentation_only():
    hostile = (
        '<math><mi xlink:href="javascript:alert(1)" href="javascript:alert(1)" style="position:fixed" class="modal" '
        'id="header" mathcolor="red" mathbackground="red" onclick="alert(1)">x</mi>'
        '<maction actiontype="statusline" xlink:href="javascript:alert(1)">y</maction>'
        '<semantics><annotation-xml encoding="text/html"><img src=x onerror=alert(1)></annotation-xml></semantics>'
        '<mglyph src="https://xss.invalid/x.png"></mglyph><mspace width="-50em"></mspace><mspace width="1em"></mspace>'
        '<mpadded lspace="-10em"><mi>z</mi></mpadded><mtext><img src=x onerror=alert(1)></mtext></math>'
    )
    assert sanitize_mathml(hostile) == (
        '<math><mi>x</mi>y<mspace></mspace><mspace width="1em"></mspace><mi>z</mi><mtext></mtext></math>'
    )
