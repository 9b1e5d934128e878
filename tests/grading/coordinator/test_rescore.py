"""After manual grading, an extension or a due-date change, do grades.csv, the report, every feedback page, the
gradebook and both exports say the same numbers, to the cent, whatever the order -- with no notebook run again?

One class of three (notebook 01) is graded once; each order of steps works on a copy of it.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import time

import pytest
from nbgrader.api import Gradebook

from course_lib.cli import main as course_cli
from course_lib.grading.coordinator.report import standing
from course_lib.nbgrader_setup import course_config
from tests.grading.conftest import A01, FULL_01, WRITTEN_01, cell, edit, grade, make_course, needs_bwrap, solved, write

pytestmark = [needs_bwrap, pytest.mark.slow]

DUE = "2026-12-01T23:59"
HANDED_IN = {  # timestamp.txt, as nbgrader's collect writes it
    "alice": "2026-12-02 10:00:00.000000 UTC",  # 10 h late, then 4 h after the due date moves: 10 % either way
    "bob": "2026-12-04 10:00:00.000000 UTC",  # 3 started days late (30 %); with 24 h more and the later due: 20 %
    "carol": "2026-12-01 12:00:00.000000 UTC",  # on time; her written answer stays ungraded (pending)
}
MAX_01 = FULL_01 + sum(WRITTEN_01.values())
MANUAL = "why_bag_of_words_fails"  # graded 1.5 and 2.0; the other written answers 0
WRONG_WINDOWS = ("series[window:]", "series[window - 1 : -1]")  # bob: 2 points less


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rescore")
    course, subs = make_course(tmp), tmp / "submissions"
    good = solved()
    for student, when in HANDED_IN.items():
        nb = edit(good, "make_windows", cell(good, "make_windows").source.replace(*WRONG_WINDOWS))
        write(subs, student, nb if student == "bob" else good)
        (subs / student / A01 / "timestamp.txt").write_text(when)
    clock = time.monotonic()
    summary = grade(course, subs, due=DUE)
    assert summary.graded == 3 and summary.failed == 0, summary.text()
    return course, subs, time.monotonic() - clock


def _cli(course, *argv) -> int:
    return course_cli(["--course-dir", str(course), *argv])


def _manual(course, scores: dict[str, float]) -> None:
    """Grade the written answers by hand through nbgrader's Gradebook API, as Formgrader does: ``score`` for the
    first, 0 for the others (so that every written answer of the student is graded)."""
    with Gradebook(course_config(course).CourseDirectory.db_url) as gb:
        for student, score in scores.items():
            for written in WRITTEN_01:
                gb.find_grade(written, A01, A01, student).manual_score = score if written == MANUAL else 0.0
        gb.db.commit()


def _cents(text) -> float | None:
    return None if text in ("", None) else round(float(text), 2)


def _everywhere(course, tmp) -> dict[str, dict[str, tuple]]:
    """student -> {where: (score, penalty)} from the gradebook and every output made from it."""
    out: dict[str, dict[str, tuple]] = {}
    with Gradebook(course_config(course).CourseDirectory.db_url) as gb:
        for student in HANDED_IN:
            data = standing(gb.find_submission(A01, student))
            out[student] = {"gradebook": (_cents(data["score"]), _cents(data["late_penalty"]), data["status"])}
    for row in csv.DictReader((course / "grades.csv").open()):
        out[row["student"]]["grades.csv"] = (
            _cents(row[A01]),
            _cents(row[f"{A01} (late penalty)"]),
            row[f"{A01} status"],
        )
    report = json.loads((course / "grading-report.json").read_text())
    markdown = (course / "grading-report.md").read_text()
    for student in HANDED_IN:
        data = report[student]["assignments"][A01]
        out[student]["report.json"] = (_cents(data["score"]), _cents(data["late_penalty"]), data["status"])
        section = markdown.split(f"\n## {student}\n")[1].split("\n## ")[0]
        heading = re.search(rf"### {A01}: ([\d.]+) / {MAX_01:g}", section)
        penalty = re.search(r"−([\d.]+) late penalty", section)
        status = out[student]["gradebook"][2]
        out[student]["report.md"] = (_cents(heading.group(1)), _cents(penalty.group(1) if penalty else 0), status)
        page = (course / "feedback" / student / A01 / f"{A01}.html").read_text()
        score = re.search(rf"\(Score: ([\d.]+) / {MAX_01:.1f}", page).group(1)
        late = re.search(r'class="late-penalty-points">([\d.]+)<', page)
        out[student]["feedback page"] = (_cents(score), _cents(late.group(1) if late else 0), status)
    for lms, column in (("canvas", A01), ("moodle", f"{A01} (Real)")):
        assert _cli(course, "export", lms, "-o", str(tmp / f"{lms}.csv")) == 0
        for row in csv.DictReader((tmp / f"{lms}.csv").open()):
            student = row.get("SIS User ID") or row.get("ID number")
            if student in out:
                gradebook = out[student]["gradebook"]
                exported = _cents(row[column]) if gradebook[2] == "graded" else row[column]
                out[student][lms] = (exported if exported != "" else None, gradebook[1], gradebook[2])
    return out


def _agree(course, tmp) -> dict[str, tuple]:
    """Every output says what the gradebook says; returns student -> (score, penalty, status)."""
    seen = _everywhere(course, tmp)
    for student, places in seen.items():
        truth = places["gradebook"]
        for where, value in places.items():
            if where in ("canvas", "moodle"):
                expected = (truth[0] if truth[2] == "graded" else None, truth[1], truth[2])
                assert value == expected, f"{student}: {where} says {value}, the gradebook {truth}"
            else:
                assert value == truth, f"{student}: {where} says {value}, the gradebook {truth}"
    return {student: places["gradebook"] for student, places in seen.items()}


STEPS = {
    "manual": lambda course, subs: _manual(course, {"alice": 1.5, "bob": 2.0}),
    "extend": lambda course, subs: _cli(course, "extend", "bob", A01, "--hours", "24"),
    "due": lambda course, subs: _cli(course, "due", A01, "2026-12-02T06:00"),
}
FINAL = {  # (auto + manual) * (1 - 10 % per started day late)
    "alice": ((FULL_01 + 1.5) * 0.9, (FULL_01 + 1.5) * 0.1, "graded"),
    "bob": ((FULL_01 - 2 + 2.0) * 0.8, (FULL_01 - 2 + 2.0) * 0.2, "graded"),
    "carol": (FULL_01, 0.0, "awaiting manual grading"),
}


@pytest.mark.parametrize(
    "order, apply_with",
    [
        (("manual", "extend", "due"), "rescore"),
        (("due", "manual", "extend"), "rescore"),
        (("extend", "due", "manual"), "grade"),  # course grade without --force re-scores, runs nothing
    ],
)
def test_every_output_follows_the_gradebook_in_any_order_without_running_a_notebook(
    graded, tmp_path, monkeypatch, order, apply_with
):
    original, subs, grade_seconds = graded
    course = tmp_path / "course"
    shutil.copytree(original, course, symlinks=True)
    assert _agree(course, tmp_path)["alice"][1] == round(FULL_01 * 0.1, 2), "graded once: 10 % of the autograded"

    def no_kernel(*args, **kwargs):
        raise AssertionError("a notebook was run again")

    monkeypatch.setattr("course_lib.grading.task.bwrap.run_sandboxed", no_kernel)
    monkeypatch.setattr("jupyter_client.manager.KernelManager.start_kernel", no_kernel)
    monkeypatch.setattr("course_lib.grading.coordinator.class_run._grade", no_kernel)
    for step in order:
        STEPS[step](course, subs)
        clock = time.monotonic()
        if apply_with == "rescore" or step == "manual":  # the two CLI steps rescore by themselves
            assert (_cli(course, "rescore") if apply_with == "rescore" else _cli(course, "grade", str(subs))) == 0
        print(f"{step}: rescored in {time.monotonic() - clock:.1f} s (grading the class took {grade_seconds:.1f} s)")
        _agree(course, tmp_path)
    final = _agree(course, tmp_path)
    assert final == {s: (round(a, 2), round(b, 2), c) for s, (a, b, c) in FINAL.items()}
    page = (course / "feedback" / "alice" / A01 / f"{A01}.html").read_text()
    assert "Late penalty" in page and "after the due date" in page


def test_a_run_of_some_students_keeps_the_others_in_every_output(graded, tmp_path):
    original, subs, _ = graded
    course = tmp_path / "course"
    shutil.copytree(original, course, symlinks=True)
    only_alice = tmp_path / "alice-only"
    shutil.copytree(subs / "alice", only_alice / "alice")
    assert _cli(course, "grade", str(only_alice), "--quiet") == 0
    rows = {r["student"] for r in csv.DictReader((course / "grades.csv").open())}
    assert rows == set(HANDED_IN), "today's run took in alice only; bob and carol stay"
    _agree(course, tmp_path)


def test_bad_extension_and_due_date_input_is_named(graded, tmp_path, capsys):
    original, _, _ = graded
    assert _cli(original, "due", "99_nothing", DUE) == 2
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err
    assert _cli(original, "due", A01, "friday") == 2
    assert "not an ISO date" in capsys.readouterr().err
    assert _cli(original, "extend", "bob", A01) == 2
    assert "--hours H, --until DATE, or --remove" in capsys.readouterr().err
    assert _cli(original, "extend", "bob", A01, "--hours", "-3") == 2
    assert "positive number of hours" in capsys.readouterr().err
