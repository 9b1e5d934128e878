"""Does the feedback page a student opens show exercise titles, whole messages and rendered maths?

The page `course grade` writes is opened from disk in headless Chromium.  The machine has no network, so
MathJax's requests to the CDN are answered from the copy the jupyter-server-mathjax package ships (the
same MathJax 2.7.9 and configuration the page asks for); every other request is refused and recorded.
A second visit refuses MathJax too: the LaTeX must then stay readable as written.  Screenshots go to
COURSE_SCREENSHOTS (default screenshots/): feedback-page.png, feedback-failure.png, feedback-no-mathjax.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib.grading.feedback import MATHJAX_URL
from tests.browser.conftest import VIEWPORT
from tests.grading.conftest import message, needs_bwrap
from tests.grading.feedback_class import feedback_html, graded_feedback_class

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_bwrap]

MATHJAX_CDN = MATHJAX_URL.split("MathJax.js")[0]
NARROW = {"width": 900, "height": VIEWPORT["height"]}  # narrower than the longest message: it must wrap


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_feedback_class(tmp_path_factory.mktemp("feedback-page"))


def _local_mathjax() -> Path:
    mathjax = pytest.importorskip(
        "jupyter_server_mathjax", reason="pip install jupyter-server-mathjax (the [test] extra)"
    )
    return Path(mathjax.__file__).parent / "static"


def _open(browser, path: Path, serve_mathjax: bool):
    """A page on ``path``; MathJax served locally (or refused); the list every other request lands in."""
    context = browser.new_context(viewport=NARROW)
    refused: list[str] = []
    local = _local_mathjax()

    def answer(route):
        url = route.request.url
        if serve_mathjax and url.startswith(MATHJAX_CDN):
            file = local / url[len(MATHJAX_CDN) :].split("?")[0]
            if file.is_file():
                return route.fulfill(path=str(file), headers={"Access-Control-Allow-Origin": "*"})  # as the CDN
        if not url.startswith(MATHJAX_CDN):
            refused.append(url)
        return route.abort()

    context.route(lambda url: url.startswith(("http:", "https:")), answer)
    page = context.new_page()
    page.goto(path.as_uri())
    return context, page, refused


def test_feedback_shows_titles_whole_messages_and_rendered_maths(browser, course, screenshot_dir):
    context, page, refused = _open(browser, feedback_html(course), serve_mathjax=True)
    try:
        page.wait_for_function(
            "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
            "&& document.querySelectorAll('.MathJax_Display').length > 0",
            timeout=60_000,
        )
        page.screenshot(path=str(screenshot_dir / "feedback-page.png"))
        toc = page.locator("#toc")
        assert toc.get_by_text("make_windows — 5. Windows for next-step prediction").is_visible()
        assert "Test cell" not in toc.inner_text()
        assert "2.0 points awaiting your instructor" in page.locator("h4").first.inner_text()

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

        typeset = page.locator('script[type^="math/tex"]').count()  # MathJax leaves one per formula it typeset
        assert typeset >= 4 and page.locator(".MathJax_Display").count() >= 2, "the notebook's equations are typeset"
        assert "Math Processing Error" not in page.locator("body").inner_text()
        prose = page.locator("div.text_cell_render").all_inner_texts()
        assert not any("$$" in text for text in prose), "no raw $$ left where MathJax rendered"
        assert refused == [], "the page asks for nothing but MathJax"
    finally:
        context.close()


def test_without_mathjax_the_latex_stays_readable(browser, course, screenshot_dir):
    context, page, refused = _open(browser, feedback_html(course), serve_mathjax=False)
    try:
        page.wait_for_load_state("load")
        page.screenshot(path=str(screenshot_dir / "feedback-no-mathjax.png"))
        text = page.locator("body").inner_text()
        assert r"$$X_k = (s_k, \dots, s_{k+w-1}), \qquad y_k = s_{k+w}" in text, "the LaTeX as written, not mangled"
        assert page.locator("#toc").get_by_text("make_windows — 5. Windows for next-step prediction").is_visible()
        assert refused == []
    finally:
        context.close()
