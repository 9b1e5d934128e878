"""Is grading repeatable and resumable, and does it keep what instructors entered by hand?"""

from __future__ import annotations

import shutil

import pytest
from nbgrader.api import Gradebook

from course_lib.nbgrader_setup import course_config
from tests.grading.conftest import (
    A01,
    FULL_01,
    auto_total,
    cell,
    edit,
    grade,
    make_course,
    needs_bwrap,
    report,
    solved,
    stub,
    write,
)

pytestmark = [needs_bwrap, pytest.mark.slow]


def _scores(course):
    return {student: auto_total(course, student) for student in ("alice", "bob", "carol")}


def test_regrading_is_identical_resumable_and_keeps_manual_grades(tmp_path):
    course, subs = make_course(tmp_path), tmp_path / "submissions"
    good = solved()
    write(subs, "alice", good)
    write(subs, "bob", stub())
    write(
        subs,
        "carol",
        edit(
            good,
            "make_windows",
            cell(good, "make_windows").source.replace("series[window:]", "series[window - 1 : -1]"),
        ),
    )
    first = grade(course, subs)
    assert first.graded == 3 and first.failed == 0, first.text()
    scores = _scores(course)
    assert scores == {"alice": FULL_01, "bob": 0, "carol": FULL_01 - 2}

    db_url = course_config(course).CourseDirectory.db_url
    with Gradebook(db_url) as gb:
        written = gb.find_grade("why_bag_of_words_fails", A01, A01, "alice")
        written.manual_score = 2
        gb.db.commit()

    again = grade(course, subs)
    assert (again.graded, again.skipped) == (0, 3), "an unchanged class is not graded twice"
    forced = grade(course, subs, force=True)
    assert forced.graded == 3
    assert _scores(course) == scores, "grading the same class twice gives the same scores"
    assert report(course)["alice"]["assignments"][A01]["score"] == FULL_01 + 2, "the manual grade survived"

    # An interrupted run: carol's grading never finished. The next run grades carol only.
    (course / ".course" / "graded" / "carol" / f"{A01}.json").unlink()
    shutil.rmtree(course / "autograded" / "carol")
    resumed = grade(course, subs)
    assert (resumed.graded, resumed.skipped) == (1, 2)
    assert _scores(course) == scores
