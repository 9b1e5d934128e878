"""A class of one, graded by ``course grade``, whose feedback page has something in each part worth checking.

alice hands in notebook 01 solved, except ``make_windows`` (targets not shifted: a failure message), after
the due date (a late penalty), with the written answer (a table and maths of her own) not yet graded by hand
(points awaiting her instructor), and a heading of her own holding markup before io_structures.  Used by
tests/grading/task/test_feedback.py and the browser's screenshots of the page.  :func:`render_feedback` renders
the same page for any notebook without grading it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from tests.grading.conftest import A01, cell, edit, grade, make_course, solved, write

WRONG_WINDOWS = ("series[window:]", "series[window - 1 : -1]")
DUE = "2020-01-01T00:00"  # long past: the handed-in files are newer
HOSTILE_HEADING = "on <b>tensors</b> & <i>shapes</i>"  # markup the inert check lets through: a title shows it as text
# A written answer as learners write them: a pipe table (once flattened on the page) and maths of both kinds.
WRITTEN_ANSWER = (
    "A bag of words cannot tell these apart:\n\n"
    "| sentence | bag of words | order |\n|---|---|---|\n"
    "| not good, bad | {not, good, bad} | not → good |\n| good, not bad | {not, good, bad} | not → bad |\n\n"
    "An RNN reads them in order, $h_t = \\tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)$, so\n\n"
    "$$p(y \\mid x_1, \\dots, x_T) = \\operatorname{softmax}(W_{hy} h_T + b_y) \\ne p(y \\mid \\text{bag}(x))$$\n"
)


def graded_feedback_class(tmp: Path) -> Path:
    """Grade the class into ``tmp/course`` and return the course folder (feedback under ``feedback/alice``)."""
    course, subs = make_course(tmp), tmp / "submissions"
    good = solved()
    nb = edit(good, "make_windows", cell(good, "make_windows").source.replace(*WRONG_WINDOWS))
    cell(nb, "why_bag_of_words_fails").source = WRITTEN_ANSWER
    at = nb.cells.index(cell(nb, "io_structures"))  # a heading of her own, with markup, names the next exercise
    nb.cells.insert(at, nbformat.v4.new_markdown_cell(f"## My notes {HOSTILE_HEADING}"))
    write(subs, "alice", nb)
    summary = grade(course, subs, jobs=1, due=DUE)
    assert summary.graded == 1 and summary.failed == 0, summary.text()
    return course


def feedback_html(course: Path) -> Path:
    return course / "feedback" / "alice" / A01 / f"{A01}.html"


def render_feedback(nb: nbformat.NotebookNode) -> str:
    """The feedback page of ``nb`` as ``generate_feedback`` renders it (the course's configuration, nbgrader's
    Bootstrap path), without grading: every graded cell scores 0, nothing is pending."""
    import nbgrader
    from traitlets.config import Config

    from course_lib.grading.task.feedback import FeedbackExporter, configure

    config = Config()
    configure(config)
    static = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "static"
    config.HTMLExporter.extra_template_paths = [str(static / "node_modules" / "bootstrap" / "dist" / "css")]
    nb = copy.deepcopy(nb)
    for each in nb.cells:
        each.metadata.get("nbgrader", {}).setdefault("score", 0.0)
    info = {"notebook": "notebook", "score": 0.0, "max_score": 0.0, "pending": 0.0, "late_penalty": 0.0}
    return FeedbackExporter(config=config, template_name="feedback").from_notebook_node(nb, {"nbgrader": info})[0]
