"""Does late work reach nbgrader's own late-submission machinery, with the penalty nbgrader_config.py sets?"""

from __future__ import annotations

import datetime
import os
import zipfile

import nbformat
import pytest
from nbgrader.utils import parse_utc

from course_lib.grading.coordinator.intake import intake
from course_lib.grading.coordinator.late import LatePenalty, parse_due, stamp
from course_lib.nbgrader_setup import course_config
from tests.conftest import ROOT
from tests.grading.conftest import A01, solved, stub
from tests.grading.coordinator.test_intake import SOURCES, blanks  # noqa: F401 -- the fixture

DUE = datetime.datetime(2026, 12, 1, 23, 59)
HOUR = 3600.0


def test_the_penalty_is_a_fraction_per_started_day_capped():
    plugin = LatePenalty(per_day=0.1, cap=0.5)
    assert plugin.late_submission_penalty("a", 10.0, 0) is None
    assert plugin.late_submission_penalty("a", 10.0, 1) == pytest.approx(1.0), "one second late is one started day"
    assert plugin.late_submission_penalty("a", 10.0, 24 * HOUR + 1) == pytest.approx(2.0)
    assert plugin.late_submission_penalty("a", 10.0, 30 * 24 * HOUR) == pytest.approx(5.0), "capped at half"
    assert plugin.late_submission_penalty("a", 0.0, 5 * HOUR) is None
    assert LatePenalty(grace_minutes=15).late_submission_penalty("a", 10.0, 10 * 60) is None


def test_the_course_config_hands_the_penalty_to_nbgraders_assign_late_penalties():
    config = course_config(ROOT)
    assert config.AssignLatePenalties.plugin_class is LatePenalty
    assert config.LatePenalty.per_day == 0.10


def test_a_due_date_is_read_as_utc_and_a_bad_one_is_named():
    assert parse_due("2026-12-01T23:59") == DUE
    assert parse_due("2026-12-02T00:59+01:00") == DUE
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_due("next friday")


def _submitted(course, student, mtime=None):
    folder = course / "submitted" / student / A01
    folder.mkdir(parents=True)
    nbformat.write(stub(), folder / f"{A01}.ipynb")
    if mtime is not None:
        os.utime(folder / f"{A01}.ipynb", (mtime, mtime))
    return folder


def test_folder_submissions_are_stamped_with_their_time_and_a_stamp_handed_in_is_kept(tmp_path):
    late_time = (DUE + datetime.timedelta(hours=30)).replace(tzinfo=datetime.timezone.utc).timestamp()
    late = _submitted(tmp_path, "late", late_time)
    kept = _submitted(tmp_path, "collected")
    (kept / "timestamp.txt").write_text("2026-11-30 10:00:00.000000 UTC")
    problems = stamp(tmp_path, [("late", A01), ("collected", A01)], DUE)
    assert parse_utc((late / "timestamp.txt").read_text()) == DUE + datetime.timedelta(hours=30)
    assert (kept / "timestamp.txt").read_text() == "2026-11-30 10:00:00.000000 UTC"
    assert problems == []


def test_canvas_late_marker_reaches_the_timestamp_and_is_reported_without_a_due_date(tmp_path, blanks):  # noqa: F811
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alicesmith_12345_678901_{A01}.ipynb", nbformat.writes(solved()))
        z.writestr(f"bobjones_LATE_23456_789012_{A01}.ipynb", nbformat.writes(stub()))
    course = tmp_path / "course"
    taken = intake(course, archive, SOURCES, blanks, only=[A01])
    assert taken.from_lms and taken.late == {("bobjones", A01)}

    problems = stamp(course, taken.work, None, taken.from_lms, taken.late)
    assert [(p.student, p.what) for p in problems] == [
        ("bobjones", "marked LATE by the LMS, but the assignment has no due date: no penalty (pass --due)")
    ]

    problems = stamp(course, taken.work, DUE, taken.from_lms, taken.late)
    stamped = {s: parse_utc((course / "submitted" / s / A01 / "timestamp.txt").read_text()) for s, _ in taken.work}
    assert stamped == {"alicesmith": DUE, "bobjones": DUE + datetime.timedelta(seconds=1)}, (
        "the LMS's verdict, not the time the zip was unpacked"
    )
    assert [p.student for p in problems] == ["bobjones"] and "one started day late" in problems[0].what


def test_a_zip_of_folders_keeps_each_files_time_for_the_timestamp(tmp_path, blanks):  # noqa: F811
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(
            zipfile.ZipInfo(f"alice/{A01}/{A01}.ipynb", date_time=(2026, 12, 3, 12, 0, 0)), nbformat.writes(solved())
        )
    course = tmp_path / "course"
    taken = intake(course, archive, SOURCES, blanks)
    stamp(course, taken.work, DUE, taken.from_lms, taken.late)
    handed_in = parse_utc((course / "submitted" / "alice" / A01 / "timestamp.txt").read_text())
    local = datetime.datetime(2026, 12, 3, 12, 0).astimezone(datetime.timezone.utc).replace(tzinfo=None)
    assert handed_in == local, "the zip's own time (zip times are local), not the time it was unpacked"
