"""Does any known XSS vector, handed in by a learner, run in the instructor's browser?  (No.)

One student's notebook-01 submission carries the attacker's corpus (tests/grading/xss_corpus.py): each vector
in its own markdown cell, one in the manually graded answer, and code cells whose outputs are hostile
``text/html``, ``text/markdown``, ``text/latex`` and ``image/svg+xml``.  It is graded with ``course grade``
(sandboxed), then two pages are opened in headless Chromium:

- the feedback page ``course grade`` wrote (``feedback/<student>/<assignment>/<notebook>.html``);
- formgrader's page of the autograded notebook, rendered with formgrader's own template (``formgrade``,
  from nbgrader's server extension) the way its handler renders it.

Hooks that record script execution: an init script wrapping ``alert``/``confirm``/``prompt``/``print``,
``eval``, ``Function``, string timers and ``document.write``; ``securitypolicyviolation`` events; dialogs
(``page.on("dialog")``); every request that leaves the page (``page.route``: anything that leaves the page's own
origin, other than the template's own CDN scripts; formgrader's static scripts and Bootstrap are served
from nbgrader's package as its server serves them, so its own JavaScript runs beside the vectors); navigations of the main frame.  Then every element of
the page gets mouseover/focus/click-free events dispatched (a handler that needs a hover would run), and no
element may carry an ``on*`` attribute or be positioned (fixed/absolute/sticky) inside a rendered cell.
Assert zero of each.

The feedback page typesets maths itself, as MathML (course_lib/grading/task/mathml.py), so the MathJax vectors and
the MathML ones (``MATHML_VECTORS``: ``\\href``, ``\\style``, ``\\unicode``, ``\\class``, ``\\cssId``, colours,
markup in ``\\text``, raw ``<math>`` with ``xlink:href``) are handed in too, as answers and as ``text/latex``
outputs; and a page of the LaTeX vectors rendered without the inert step shows that the MathML path alone lets
nothing through.  Formgrader's page loads MathJax from a CDN the test machine cannot reach, so there the MathJax
vectors are covered by the unit tests of tests/grading/task/test_inert.py (and it loads MathJax with its Safe
extension).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

pytest.importorskip("playwright", reason="Playwright is not installed: pip install playwright (the [test] extra)")

from tests.grading.conftest import (
    A01,
    edit,
    formgrader_resources,
    grade,
    make_course,
    needs_bwrap,
    solved,
    write,
)
from tests.grading.feedback_class import render_feedback
from tests.grading.xss_corpus import MATHML_VECTORS, VECTORS

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_bwrap]

STUDENT = "xss-corpus"
TEMPLATE_HOSTS = {"cdnjs.cloudflare.com", "cdn.jsdelivr.net", "unpkg.com"}  # the templates' own scripts

HOOKS = """
window.__xss = [];
const record = (what) => { try { window.__xss.push(String(what)); } catch (e) {} };
for (const name of ["alert", "confirm", "prompt", "print"]) {
  const original = window[name];
  window[name] = function (...args) { record(name + ":" + args.join(",")); };
}
const originalEval = window.eval;
window.eval = function (code) { record("eval:" + String(code).slice(0, 80)); return originalEval(code); };
const OriginalFunction = window.Function;
window.Function = new Proxy(OriginalFunction, {
  construct(target, args) { record("Function:" + args.join(",").slice(0, 80)); return new target(...args); },
  apply(target, self, args) { record("Function:" + args.join(",").slice(0, 80)); return target(...args); },
});
for (const name of ["setTimeout", "setInterval"]) {
  const original = window[name];
  window[name] = function (handler, ...rest) {
    if (typeof handler === "string") record(name + ":" + handler.slice(0, 80));
    return original.call(this, handler, ...rest);
  };
}
document.addEventListener("securitypolicyviolation", (e) => record("csp:" + e.violatedDirective + ":" + e.blockedURI));
"""

PROBE_PAGE = """() => {
  const found = {handlers: [], positioned: []};
  const cells = document.querySelectorAll(".cell, .text_cell_render, .output_subarea");
  for (const cell of cells) {
    for (const el of cell.querySelectorAll("*")) {
      for (const attribute of el.attributes) {
        if (attribute.name.toLowerCase().startsWith("on")) found.handlers.push(el.tagName + " " + attribute.name);
      }
      const position = getComputedStyle(el).position;
      if (["fixed", "absolute", "sticky"].includes(position)) found.positioned.push(el.tagName + " " + position
        + " " + (el.className || ""));
      for (const type of ["mouseover", "mouseenter", "focus", "animationstart", "toggle", "load", "error"]) {
        el.dispatchEvent(new Event(type));
      }
    }
  }
  found.cells = cells.length;
  return found;
}"""


READ_RECORD = "() => window.__xss"
# resolves after the next animation frame and the timers queued before it: a state, not a fixed wait
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))"


def _hostile_submission() -> nbformat.NotebookNode:
    nb = edit(solved(), "why_bag_of_words_fails", VECTORS["empty comment <!--->"])
    nb.cells += [nbformat.v4.new_markdown_cell(source) for source in [*VECTORS.values(), *MATHML_VECTORS.values()]]
    html_vectors = [v for k, v in VECTORS.items() if not k.startswith(("markdown", "MathJax"))]
    displays = [("HTML", html_vectors[i : i + 40]) for i in range(0, len(html_vectors), 40)]  # the grader keeps 50
    displays += [("Markdown", list(VECTORS.values())[i : i + 40]) for i in range(0, len(VECTORS), 40)]  # per cell
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "from IPython.display import Latex, display\n"
            "display(Latex(r'$\\href{javascript:alert(1)}{x}$'))\n"
            'display({\'image/svg+xml\': \'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)'
            "</script></svg>', 'text/plain': 'svg'}, raw=True)\n"
        )
    )
    displays.append(("Latex", [v for k, v in MATHML_VECTORS.items() if not k.startswith("raw")]))
    nb.cells += [
        nbformat.v4.new_code_cell(
            f"from IPython.display import {kind}, display\nfor vector in {vectors!r}:\n    display({kind}(vector))\n"
        )
        for kind, vectors in displays
    ]
    tagged = nbformat.v4.new_code_cell("print('tagged')")
    tagged.metadata["tags"] = ["x navbar-fixed-top modal-backdrop"]
    nb.cells.append(tagged)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xss")
    course, subs = make_course(tmp), tmp / "submissions"
    write(subs, STUDENT, _hostile_submission())
    os.mkfifo(subs / STUDENT / A01 / "<img src=x onerror=alert(1)>.csv")  # named in the report, by its name
    summary = grade(course, subs, jobs=1)
    assert summary.failed == 0, summary.text()
    return course


def _formgrader_page(course: Path) -> str:
    """formgrader's page of the autograded notebook: its handler's exporter and template."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    autograded = course / "autograded" / STUDENT / A01 / f"{A01}.ipynb"
    exporter = HTMLExporter(template_name="formgrade", extra_template_basedirs=[handlers.template_path])
    resources = formgrader_resources(autograded, STUDENT)
    return exporter.from_filename(str(autograded), resources=resources)[0]


def _formgrader_static(path: str) -> Path | None:
    """The file behind formgrader's ``/formgrader/static/...`` URL, as its server extension serves it."""
    from nbgrader.server_extensions.formgrader import handlers

    prefix = "/formgrader/static/"
    if not path.startswith(prefix):
        return None
    root = (Path(handlers.__file__).parent / "static").resolve()
    found = (root / path[len(prefix) :]).resolve()
    return found if found.is_file() and found.is_relative_to(root) else None


def _open(browser, page_html: Path | str, origin: str | None = None) -> dict:
    """Open ``page_html`` (a file, or the URL of a live server whose ``origin`` it may talk to) in a fresh
    context of the session's Chromium (tests/browser/conftest.py; one Playwright per session: a second
    sync_playwright in the same thread fails) and record what it did."""
    target = page_html.as_uri() if isinstance(page_html, Path) else page_html
    context = browser.new_context()
    context.add_init_script(HOOKS)
    page = context.new_page()
    seen = {"dialogs": [], "requests": [], "navigations": []}
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))

    def leaving(route):
        request_url = route.request.url
        url = urlparse(request_url)
        if origin and request_url.startswith(origin + "/"):
            route.continue_()  # the live server's own pages, scripts and API
            return
        if url.scheme not in ("file", "data") and url.hostname not in TEMPLATE_HOSTS:
            seen["requests"].append(request_url)  # another origin: the page's own are file: here
        static = _formgrader_static(url.path) if url.scheme == "file" else None
        if static is not None:
            route.fulfill(path=str(static))  # formgrader's own scripts and Bootstrap, as its server serves them
        elif request_url == target:
            route.continue_()
        else:
            route.abort()  # no network here anyway; nothing else the page asks for is fetched

    page.route("**/*", leaving)
    page.on(
        "framenavigated",
        lambda frame: (
            seen["navigations"].append(frame.url) if frame == page.main_frame and frame.url != target else None
        ),
    )
    response = page.goto(target, wait_until="load")
    seen["status"] = response.status if response is not None else None
    page.wait_for_load_state("networkidle")  # every script the page (or a vector) started loading has settled
    seen.update(page.evaluate(PROBE_PAGE))
    page.wait_for_load_state("networkidle")
    page.evaluate(NEXT_FRAME)  # the handlers the probe's events started have run
    ours = {f"eval:{source[:80]}" for source in (PROBE_PAGE, READ_RECORD, NEXT_FRAME)}  # evaluate is an eval
    seen["scripts"] = [s for s in page.evaluate(READ_RECORD) if s not in ours]
    seen["text"] = page.inner_text("body")
    seen["score_boxes"] = page.locator("input.score").count()
    context.close()
    return seen


@pytest.mark.parametrize("which", ["feedback", "formgrader"])
def test_no_vector_runs_loads_or_overlays_in_the_instructors_browser(browser, graded, tmp_path, which):
    course = graded
    if which == "feedback":
        path = course / "feedback" / STUDENT / A01 / f"{A01}.html"
    else:
        path = tmp_path / "formgrade.html"
        path.write_text(_formgrader_page(course), encoding="utf-8")
    seen = _open(browser, path)
    assert seen["cells"] > len(VECTORS), "the page shows the notebook's cells"
    assert seen["scripts"] == [], seen["scripts"]
    assert seen["dialogs"] == [], seen["dialogs"]
    assert seen["requests"] == [], seen["requests"]
    assert seen["navigations"] == [], seen["navigations"]
    assert seen["handlers"] == [], seen["handlers"]
    assert seen["positioned"] == [], seen["positioned"]
    assert "HTML was turned off" in seen["text"], "each hostile answer is shown as its text, with a note"


def test_the_report_names_what_was_removed_and_escapes_the_file_name(graded):
    course = graded
    report = json.loads((course / "grading-report.json").read_text())[STUDENT]
    changes = report["assignments"][A01]["html_turned_off"]
    assert len([c for c in changes if "(markdown): HTML turned off" in c]) >= len(VECTORS)
    for output in (
        "text/html output sanitized",
        "text/markdown output dropped",
        "text/latex output dropped",
        "image/svg+xml output dropped",
        "cell tags that are not plain words removed",
    ):
        assert any(output in c for c in changes), output
    markdown = (course / "grading-report.md").read_text()
    assert "<img src=x onerror" not in markdown and "&lt;img src=x onerror=alert\\(1\\)&gt;.csv" in markdown


def test_the_hooks_see_a_vector_that_is_let_through(browser, tmp_path):
    """The same page without course grade's sanitizer: the hooks must see the script run (so zero above means
    something).  ``<!--->`` is the vector the hand-written html.parser check let through."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(VECTORS["empty comment <!--->"]),
        nbformat.v4.new_markdown_cell(VECTORS["full-page link by style"]),
    ]
    page = tmp_path / "unsanitized.html"
    page.write_text(HTMLExporter(template_name="classic").from_notebook_node(nb)[0], encoding="utf-8")
    seen = _open(browser, page)
    assert "alert:1" in seen["scripts"] and set(seen["handlers"]) == {"IMG onerror"}
    assert any(p.startswith("A fixed") for p in seen["positioned"]), seen["positioned"]


def test_the_mathml_path_alone_lets_nothing_through(browser, tmp_path):
    """The LaTeX vectors on a feedback page rendered without the inert step (answers and text/latex outputs):
    what latex2mathml and nh3 make of them runs nothing, loads nothing, links nowhere and positions nothing."""
    latex = {name: vector for name, vector in MATHML_VECTORS.items() if not name.startswith("raw")}
    latex |= {name: vector for name, vector in VECTORS.items() if name.startswith("MathJax")}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(vector) for vector in latex.values()])
    code = nbformat.v4.new_code_cell("display(Latex(...))")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/latex": v}) for v in latex.values()]
    nb.cells.append(code)
    path = tmp_path / "mathml.html"
    path.write_text(render_feedback(nb), encoding="utf-8")

    context = browser.new_context()
    context.add_init_script(HOOKS)
    page = context.new_page()
    requests, dialogs = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url == path.as_uri() else (requests.append(r.request.url), r.abort()),
    )
    try:
        page.goto(path.as_uri(), wait_until="load")
        found = page.evaluate(PROBE_PAGE)
        ours = {f"eval:{source[:80]}" for source in (PROBE_PAGE, READ_RECORD)}  # read before any other evaluate
        scripts = [s for s in page.evaluate(READ_RECORD) if s not in ours]
        links = page.evaluate(
            """() => [...document.querySelectorAll(".text_cell_render *, .output_latex *")]
                 .filter(e => [...e.attributes].some(a => /^(src|style|class|id)$|href/.test(a.name)))
                 .map(e => e.tagName + " " + [...e.attributes].map(a => a.name).join(","))"""
        )
        assert scripts == [] and dialogs == [] and requests == [], (scripts, dialogs, requests)
        assert found["handlers"] == [] and found["positioned"] == [] and links == [], (found, links)
        assert page.evaluate("document.scripts.length") == 0, "no script on the page: nothing can run later"
        assert page.locator("math").count() >= len(latex), "the vectors are on the page, as MathML"
    finally:
        context.close()


@pytest.fixture(scope="module")
def live_formgrader(graded, tmp_path_factory):
    """JupyterLab started in the graded course folder with a token login, as an instructor opens Formgrader."""
    from tests.browser.conftest import _stop, start_lab

    server = start_lab(tmp_path_factory.mktemp("live-formgrader"), graded)
    yield server
    _stop(server.process)


def test_no_vector_runs_in_the_live_formgrader_grading_page(browser, graded, live_formgrader):
    """Formgrader's own server, as shipped (its page exporter with the course's nbgrader_config.py): the grading
    page of the hostile submission loads, shows its score boxes, and runs, loads and overlays nothing."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(A01, A01, STUDENT).id
    url = f"{live_formgrader.url}/formgrader/submissions/{submission}?token={live_formgrader.token}"
    seen = _open(browser, url, origin=live_formgrader.url)
    assert seen["status"] == 200, live_formgrader.log_tail()
    assert seen["score_boxes"] >= 1 and seen["cells"] > len(VECTORS)
    assert seen["scripts"] == [], seen["scripts"]
    assert seen["dialogs"] == [], seen["dialogs"]
    assert seen["requests"] == [], seen["requests"]
    assert seen["handlers"] == [], seen["handlers"]
    assert seen["positioned"] == [], seen["positioned"]
    assert "HTML was turned off" in seen["text"]
