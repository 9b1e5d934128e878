"""Can a student read the feedback page `course grade` writes (through nbgrader's own generate_feedback)?

Each graded cell is titled by its exercise and section, points not graded yet say so, failure messages are
whole, the hidden tests' source is not there, and the late penalty is shown; the report agrees.  The page is
self-contained: every formula is MathML, a learner's table is a table, nothing is loaded, and it stays small.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from bs4 import BeautifulSoup

from course_lib.grading.task.feedback import titles
from tests.grading.conftest import A01, FULL_01, WRITTEN_01, message, needs_bwrap, report
from tests.grading.feedback_class import (
    HOSTILE_HEADING,
    feedback_html,
    graded_feedback_class,
)
from tests.grading.task.test_mathml import formulas, prose

pytestmark = [needs_bwrap, pytest.mark.slow]

# Measured: 333,533 bytes, of which inline CSS (Bootstrap's, mostly) 124.5 kB, notebook 01's figures 127 kB and the
# MathML of its 6 formulas 2.6 kB (332,076 bytes when it loaded MathJax from a CDN).  The bound leaves room for a
# few more figures, not for an inlined script bundle (MathJax 3's single-file builds are over 1 MB).
PAGE_BYTES = 360_000


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_feedback_class(tmp_path_factory.mktemp("feedback"))


@pytest.fixture(scope="module")
def page(course) -> str:
    return feedback_html(course).read_text(encoding="utf-8")


def test_every_graded_cell_is_titled_by_its_exercise(page):
    toc = re.search(r'<div id="toc">(.*?)</div>', page, re.DOTALL).group(1)
    assert "Test cell" not in toc and "Written response" not in toc
    assert (
        '<a href="#test_make_windows">make_windows — 5. Windows for next-step prediction</a> (Score: 0.0 / 2.0)' in toc
    )
    assert "<b>make_windows — 5. Windows for next-step prediction</b>" in page, "the cell heading carries the title too"


def test_a_written_answer_not_graded_yet_is_awaiting_the_instructor_not_zero(page):
    toc = re.search(r'<div id="toc">(.*?)</div>', page, re.DOTALL).group(1)
    written = next(line for line in toc.splitlines() if "#why_bag_of_words_fails" in line)
    assert "2.0 points awaiting your instructor" in written and "Score: 0.0" not in written
    assert f"{sum(WRITTEN_01.values())} points awaiting your instructor</span>)</h4>" in page  # the notebook's total


def test_the_failure_message_is_whole_and_the_hidden_tests_are_not_shown(course, page):
    full = message(course, "alice", "test_make_windows")
    assert len(full) > 80
    assert full in BeautifulSoup(page, "html.parser").get_text()  # as the browser shows it, whatever the escaping
    assert "white-space: pre-wrap" in page
    assert "BEGIN HIDDEN TESTS" not in page and "hidden=True" not in page


def test_the_late_penalty_is_on_the_page_and_in_the_report(course, page):
    data = report(course)["alice"]["assignments"][A01]
    autograded = FULL_01 - 2.0  # all but make_windows's 2 points
    assert data["late_penalty"] == autograded and data["seconds_late"] > 0, "10 % a day, capped at all she earned"
    assert data["score"] == 0.0 and data["pending"] == sum(WRITTEN_01.values())
    assert f"Late submission penalty (Score: -{autograded})" in page


def test_a_title_quoting_the_learners_own_heading_is_text_not_markup(page):
    toc = re.search(r'<div id="toc">(.*?)</div>', page, re.DOTALL).group(1)
    assert "io_structures — My notes on &lt;b&gt;tensors&lt;/b&gt; &amp; &lt;i&gt;shapes&lt;/i&gt;" in toc
    assert HOSTILE_HEADING not in toc


def test_every_formula_is_mathml_a_table_is_a_table_and_nothing_is_loaded(course, page):
    autograded = nbformat.read(course / "autograded" / "alice" / A01 / f"{A01}.ipynb", as_version=4)
    expected = sum(formulas(c.source) for c in autograded.cells if c.cell_type == "markdown")
    assert expected >= 4 and page.count("<math") == expected, "one <math> per formula of the markdown"
    rendered = [str(div) for div in BeautifulSoup(page, "html.parser").select("div.text_cell_render")]
    assert rendered and not [p for p in map(prose, rendered) if re.search(r"\$.+?\$|\\\(|\\\[", p)], "no LaTeX left"
    answer = page[page.index("A bag of words cannot tell") :]
    table = answer[: answer.index("</table>")]
    assert "<table>" in table and table.count("<tr>") == 3 and table.count("<td>") == 6
    assert "<script" not in page and "MathJax" not in page and "<link" not in page


def test_the_page_stays_small(course):
    assert feedback_html(course).stat().st_size < PAGE_BYTES


def test_titles_name_exercises_by_their_section_and_skip_code_blocks():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## 5. Windows\n\n```python\n# not a heading\n```"),
            nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade": True, "grade_id": "test_make_windows"}}),
            nbformat.v4.new_markdown_cell(
                "x", metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": "why"}}
            ),
            nbformat.v4.new_code_cell("", metadata={"nbgrader": {"solution": True, "grade_id": "make_windows"}}),
        ]
    )
    assert titles(nb) == {"test_make_windows": "make_windows — 5. Windows", "why": "why (written answer) — 5. Windows"}


def test_feedback_pages_reuse_the_compiled_templates(monkeypatch):
    """nbgrader makes a fresh exporter per notebook; the second page compiles no template and is the same."""
    import jinja2

    from course_lib.grading.task.feedback import FeedbackExporter

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A"), nbformat.v4.new_code_cell("1 + 1")])
    first, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    compiled = []
    real = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda self, *a, **k: compiled.append(a) or real(self, *a, **k))
    second, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    assert compiled == [] and second == first


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def test_the_page_has_nbconverts_accessibility_edits_without_its_second_parse():
    """Every element and attribute of nbconvert's own page (its BeautifulSoup pass), alt texts and tabindex
    included, from :func:`accessible` on the templates' markup."""
    from nbconvert.exporters import HTMLExporter

    from course_lib.grading.task.feedback import NO_ALT, FeedbackExporter

    figure = nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                '# A\n\n<img src="x.png"> and ![a cat](cat.png) and <img alt="kept" src="y.png">'
            ),
            nbformat.v4.new_code_cell("plot()", outputs=[figure, nbformat.v4.new_output("stream", text="3\n")]),
            nbformat.v4.new_code_cell(
                "1 / 0", outputs=[nbformat.v4.new_output("error", ename="E", evalue="", traceback=[])]
            ),
        ]
    )
    ours, _ = FeedbackExporter(template_name="lab").from_notebook_node(nb)
    theirs, _ = HTMLExporter.from_notebook_node(FeedbackExporter(template_name="lab"), nb)  # with its soup pass

    def elements(page: str) -> list[tuple[str, dict]]:
        return [(tag.name, dict(tag.attrs)) for tag in BeautifulSoup(page, "html.parser").find_all(True)]

    assert elements(ours) == elements(theirs)
    images = [attrs for name, attrs in elements(ours) if name == "img"]
    assert [a.get("alt") for a in images] == [NO_ALT, "a cat", "kept", NO_ALT]
    assert sum(a.get("tabindex") == "0" for _, a in elements(ours)) == 3 + 3  # three cells, three outputs
