"""A class of one, graded by ``course grade``, whose feedback page has something in each part worth checking.

alice hands in notebook 01 solved, except ``make_windows`` (targets not shifted: a failure message), after
the due date (a late penalty), with the written answer not yet graded by hand (points awaiting her
instructor), and a heading of her own holding markup before io_structures.  Used by tests/grading/test_feedback.py and the browser's screenshots of the page.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from tests.grading.conftest import A01, cell, edit, grade, make_course, solved, write

WRONG_WINDOWS = ("series[window:]", "series[window - 1 : -1]")
DUE = "2020-01-01T00:00"  # long past: the handed-in files are newer
HOSTILE_HEADING = "on <b>tensors</b> & <i>shapes</i>"  # markup the inert check lets through: a title shows it as text


def graded_feedback_class(tmp: Path) -> Path:
    """Grade the class into ``tmp/course`` and return the course folder (feedback under ``feedback/alice``)."""
    course, subs = make_course(tmp), tmp / "submissions"
    good = solved()
    nb = edit(good, "make_windows", cell(good, "make_windows").source.replace(*WRONG_WINDOWS))
    at = nb.cells.index(cell(nb, "io_structures"))  # a heading of her own, with markup, names the next exercise
    nb.cells.insert(at, nbformat.v4.new_markdown_cell(f"## My notes {HOSTILE_HEADING}"))
    write(subs, "alice", nb)
    summary = grade(course, subs, jobs=1, due=DUE)
    assert summary.graded == 1 and summary.failed == 0, summary.text()
    return course


def feedback_html(course: Path) -> Path:
    return course / "feedback" / "alice" / A01 / f"{A01}.html"
