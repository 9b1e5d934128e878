"""Does the feedback page a student opens from disk, with no network, show titles, whole messages, maths and tables?

The page `course grade` writes is opened from file:// in headless Chromium with every request the page makes
refused and recorded (the page's own file excepted): it must make none, since a student may open it downloaded
from the LMS, offline.  Its maths is MathML written when the page was rendered, laid out by Chromium itself;
alice's written answer holds a pipe table (which Bootstrap alone used to run together) and maths of her own.
Screenshots go to COURSE_SCREENSHOTS (default screenshots/): feedback-page.png, feedback-failure.png,
feedback-answer.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import VIEWPORT
from tests.grading.conftest import WRITTEN_01, message, needs_bwrap
from tests.grading.feedback_class import feedback_html, graded_feedback_class

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_bwrap]

NARROW = {"width": 900, "height": VIEWPORT["height"]}  # narrower than the longest message: it must wrap
MATHML = "http://www.w3.org/1998/Math/MathML"

# Every <math>: its namespace, its display and its laid-out size.
FORMULAS = """() => [...document.getElementsByTagName("math")].map(m => {
  const box = m.getBoundingClientRect();
  return {ns: m.namespaceURI, display: m.getAttribute("display"), width: box.width, height: box.height,
          text: m.textContent};
})"""
# The written answer's table: each row's cells, their left edges and borders.
TABLE = """table => [...table.rows].map(row => [...row.cells].map(c => ({
  text: c.innerText.trim(), left: c.getBoundingClientRect().left, border: getComputedStyle(c).borderTopWidth,
  padding: getComputedStyle(c).paddingLeft})))"""


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_feedback_class(tmp_path_factory.mktemp("feedback-page"))


def _open(browser, path: Path):
    """A page on ``path`` (file://) in a fresh context; every other request is refused and recorded."""
    context = browser.new_context(viewport=NARROW)
    requests: list[str] = []

    def answer(route):
        if route.request.url == path.as_uri():
            return route.continue_()
        requests.append(route.request.url)
        return route.abort()

    context.route("**/*", answer)
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    return context, page, requests


def test_feedback_opened_offline_shows_titles_whole_messages_maths_and_tables(browser, course, screenshot_dir):
    context, page, requests = _open(browser, feedback_html(course))
    try:
        # laid out: every formula has a size (a layout pass has run once the first one has)
        page.wait_for_function(
            "() => [...document.getElementsByTagName('math')].every(m => m.getBoundingClientRect().width > 0)"
        )
        page.screenshot(path=str(screenshot_dir / "feedback-page.png"))
        toc = page.locator("#toc")
        assert toc.get_by_text("make_windows — 5. Windows for next-step prediction").is_visible()
        assert "Test cell" not in toc.inner_text()
        awaiting = f"{sum(WRITTEN_01.values())} points awaiting your instructor"  # every written answer of 01
        assert awaiting in page.locator("h4").first.inner_text()

        failure = page.locator("div.output_error pre").first
        failure.scroll_into_view_if_needed()
        full = message(course, "alice", "test_make_windows")
        assert full in " ".join(failure.inner_text().split()), "the whole message is on the page"
        fits = failure.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        lines = failure.evaluate(
            "e => Math.round(e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight))"
        )
        assert fits and lines >= 2, "a message longer than the page is wrapped, not cut off in a one-line box"
        failure.locator("xpath=ancestor::div[contains(@class,'cell')][1]").screenshot(
            path=str(screenshot_dir / "feedback-failure.png")
        )

        formulas = page.evaluate(FORMULAS)
        assert len(formulas) >= 6 and all(f["ns"] == MATHML for f in formulas), "MathML elements, not text"
        assert all(f["width"] > 0 and f["height"] > 0 for f in formulas), [f for f in formulas if not f["width"]]
        blocks = [f for f in formulas if f["display"] == "block"]
        assert len(blocks) >= 2 and all(f["width"] > 150 for f in blocks), "display maths set out on its own"
        prose = page.locator("div.text_cell_render").all_inner_texts()
        assert not any("$" in text or "\\tanh" in text for text in prose), "no LaTeX left on the page"

        answer = page.locator("div.text_cell_render", has_text="A bag of words cannot tell").first
        answer.scroll_into_view_if_needed()
        rows = answer.locator("table").evaluate(TABLE)
        assert [len(row) for row in rows] == [3, 3, 3] and rows[0][0]["text"] == "sentence"
        assert all(cell["border"] != "0px" and cell["padding"] != "0px" for row in rows for cell in row)
        assert rows[1][0]["left"] + 50 < rows[1][1]["left"] < rows[1][2]["left"], "columns apart, not run together"
        answer.screenshot(path=str(screenshot_dir / "feedback-answer.png"))

        assert page.evaluate("document.scripts.length") == 0, "the page runs no script at all"
        assert requests == [], f"opened from disk, the page asks for nothing: {requests}"
    finally:
        context.close()
