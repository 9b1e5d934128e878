"""An answer cell deleted together with its test cell, or a timestamp.txt that is not a date, is graded end to end:
the notebook keeps the points earned elsewhere (before: nbgrader's KeyError / a date-parsing crash, "not graded")."""

from __future__ import annotations

import pytest

from tests.grading.conftest import A01, auto_total, edit, grade, make_course, needs_bwrap, report, solved, stub, write

pytestmark = [needs_bwrap, pytest.mark.slow]


def _without(nb, gone):
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in gone]
    return nb


def test_deleted_answer_and_test_cells_score_as_the_unanswered_ones(tmp_path):
    course, subs = make_course(tmp_path), tmp_path / "submissions"
    unanswered_source = next(
        c.source for c in stub().cells if c.metadata.get("nbgrader", {}).get("grade_id") == "encode"
    )
    write(subs, "deleter", _without(solved(), {"encode", "test_encode"}))
    write(subs, "blank", edit(solved(), "encode", unanswered_source))
    write(subs, "stamper", solved())
    (subs / "stamper" / A01 / "timestamp.txt").write_text("not a date")
    summary = grade(course, subs)
    assert summary.failed == 0 and summary.graded == 3, summary.text()
    assert auto_total(course, "deleter") == auto_total(course, "blank") > 0
    statuses = {s: report(course)[s]["assignments"][A01]["status"] for s in ("deleter", "stamper")}
    assert "not graded" not in " ".join(statuses.values()), statuses
