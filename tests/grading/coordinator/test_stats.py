"""The term at a glance: are ``course stats``' means, shares, discrimination indices and most frequent mistakes the
numbers worked out by hand for a small class, are the edge cases (one student, equal scores, an exercise nobody
attempted or nobody graded, an assignment nobody handed in) said as such, and does the report carry them?

The gradebook is built with nbgrader's Gradebook API and the failure messages go through the real report
(``write_outputs`` reads them from the per-notebook summaries, as after ``course grade``).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import statistics

import pytest
from nbgrader.api import Gradebook

from course_lib.cli import main as course_cli
from course_lib.grading.coordinator.report import write_outputs
from course_lib.grading.coordinator.stats import compute, mistake_of, write_stats
from course_lib.nbgrader_setup import CourseError, _ensure_bin_on_path
from tests.grading.conftest import make_course
from tests.grading.sample_gradebook import A as A01
from tests.grading.sample_gradebook import gradebook as sample_gradebook

T, EMPTY, ONE = "01_toy", "02_empty", "03_one"
POINTS = {"q1": 2, "q2": 4, "q3": 1, "q4": 2, "q5": 1, "q6": 2}  # q4, q6: written answers graded by hand
SCORES = {  # q1..q5; q3 nobody attempted, q5 everyone got, q6 nobody has graded yet (pending)
    "s1": (2, 4, 0, 2, 1),
    "s2": (2, 3, 0, 1, 1),
    "s3": (1, 2, 0, 1, 1),
    "s4": (0, 1, 0, 0, 1),
    "s5": (2, 4, 0, 2, 1),
    "s6": (1, 0, 0, 1, 1),
}
MESSAGES = {  # (student, cell) -> the check's failure message
    ("s3", "q1"): "windows has the wrong shape: expected (3, 4), got (4, 3). Check the order of the axes.",
    ("s4", "q1"): "windows has the wrong shape: expected (2, 5, 4), got (2, 4, 5). The window is the last axis.",
    ("s6", "q1"): "make_windows returned 'abc' instead of a tensor. Return a tensor.",
    ("s1", "q1"): "passed. Note: a Python loop over the windows is slow.",  # full marks: not a mistake
    ("s2", "q2"): "values differ at index 3: expected 0.25, got 0.5.",
    ("s3", "q2"): "values differ at index 7: expected -1.5e-3, got 2.",
    ("s4", "q2"): 'make_windows returned "x" instead of a tensor.',
    ("s6", "q2"): "make_windows returned 'abc' instead of a tensor.",
}
SOURCES = {T: {T: set()}, EMPTY: {EMPTY: set()}, ONE: {ONE: set()}}


def _build(folder) -> str:
    _ensure_bin_on_path()
    url = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(url) as gb:
        for assignment, cells in ((T, POINTS), (EMPTY, {"e1": 3}), (ONE, {"o1": 2})):
            gb.add_assignment(assignment)
            gb.add_notebook(assignment, assignment)
            for name, points in cells.items():
                written = name in ("q4", "q6")
                gb.add_grade_cell(
                    name, assignment, assignment, max_score=points, cell_type="markdown" if written else "code"
                )
                if written:
                    gb.add_solution_cell(name, assignment, assignment)
        for student, scores in SCORES.items():
            gb.add_student(student)
            gb.add_submission(T, student)
            for name, score in zip(("q1", "q2", "q3", "q5"), scores[:3] + scores[4:]):
                grade = gb.find_grade(name, T, T, student)
                grade.auto_score, grade.needs_manual_grade = score, False
            hand = gb.find_grade("q4", T, T, student)
            hand.auto_score, hand.manual_score, hand.needs_manual_grade = None, scores[3], False
            pending = gb.find_grade("q6", T, T, student)
            pending.auto_score, pending.manual_score, pending.needs_manual_grade = None, None, True
        gb.add_submission(ONE, "s1")
        one = gb.find_grade("o1", ONE, ONE, "s1")
        one.auto_score, one.needs_manual_grade = 1, False
        gb.db.commit()
    for student in SCORES:
        verdicts = [{"grade_id": c, "message": m} for (s, c), m in MESSAGES.items() if s == student]
        summary = folder / ".course" / "reports" / student / T / f"{T}.json"
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps({"verdicts": verdicts, "events": []}))
    return url


def _report(folder, url):
    work = [(s, T) for s in SCORES] + [("s1", ONE)]
    return write_outputs(folder, url, SOURCES, work, [])


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stats")
    url = _build(folder)
    _report(folder, url)
    return folder, url


def _rows(path) -> dict[tuple[str, str], dict]:
    return {(r["assignment"], r["exercise"]): r for r in csv.DictReader(path.open(encoding="utf-8"))}


def _num(text: str) -> float | None:
    return None if text == "n/a" else float(text)


def test_means_shares_and_full_marks_are_the_hand_computed_ones(term):
    folder, _ = term
    rows = _rows(folder / "grading-stats.csv")
    expected = {  # (submissions, pending, mean, mean share, full-marks share)
        "q1": (6, 0, 8 / 6, 8 / 12, 3 / 6),
        "q2": (6, 0, 14 / 6, 14 / 24, 2 / 6),
        "q3": (6, 0, 0.0, 0.0, 0.0),  # nobody attempted it
        "q4": (6, 0, 7 / 6, 7 / 12, 2 / 6),  # graded by hand
        "q5": (6, 0, 1.0, 1.0, 1.0),  # everyone equal
        "q6": (0, 6, None, None, None),  # nobody graded yet: no mean, not a zero
    }
    for cell, (n, pending, mean, share, full) in expected.items():
        row = rows[T, cell]
        assert (int(row["submissions"]), int(row["pending"])) == (n, pending), cell
        for got, want in ((row["mean"], mean), (row["mean share"], share), (row["full marks share"], full)):
            assert (_num(got) is None) if want is None else _num(got) == pytest.approx(want, abs=1e-12), cell


def test_discrimination_is_the_corrected_item_total_correlation_and_the_27_percent_index(term):
    folder, _ = term
    rows = _rows(folder / "grading-stats.csv")
    # worked by hand: item-rest covariance over the square root of the variances' product
    by_hand = {"q1": 8 / math.sqrt(85), "q2": math.sqrt(15 / 23), "q4": 22 / math.sqrt(697)}
    totals = [sum(s) for s in SCORES.values()]  # q6 pending counts nothing
    for index, cell in ((0, "q1"), (1, "q2"), (3, "q4")):
        item = [s[index] for s in SCORES.values()]
        rest = [t - i for t, i in zip(totals, item)]
        assert statistics.correlation(item, rest) == pytest.approx(by_hand[cell], abs=1e-12)
        assert _num(rows[T, cell]["item-rest r"]) == pytest.approx(by_hand[cell], abs=1e-9), cell
    # k = round(0.27 * 6) = 2; by total: s1, s5 (9, 9) on top; s6 (3), s4 (2) at the bottom
    for cell, d in (("q1", (2 - 0.5) / 2), ("q2", (4 - 0.5) / 4), ("q4", (2 - 0.5) / 2)):
        assert _num(rows[T, cell]["upper-lower D"]) == pytest.approx(d, abs=1e-12), cell
    for cell in ("q3", "q5", "q6"):  # zero variance, or no scores at all
        assert (rows[T, cell]["item-rest r"], rows[T, cell]["upper-lower D"]) == ("n/a", "n/a"), cell


def test_the_most_frequent_named_mistake_is_counted_across_numbers_and_quoted_values(term):
    folder, _ = term
    rows = _rows(folder / "grading-stats.csv")
    q1, q2, q3 = rows[T, "q1"], rows[T, "q2"], rows[T, "q3"]
    assert (q1["most frequent mistake"], q1["mistake count"]) == (
        "windows has the wrong shape: expected (<n>, …), got (<n>, …)",
        "2",
    )
    # two and two: the tie goes to the alphabetically first, so the table does not change between runs
    assert (q2["most frequent mistake"], q2["mistake count"]) == (
        "make_windows returned <value> instead of a tensor",
        "2",
    )
    assert (q3["most frequent mistake"], q3["mistake count"]) == (
        "left unanswered (the cell is as it was handed out)",
        "6",
    )
    assert (rows[T, "q5"]["most frequent mistake"], rows[T, "q5"]["mistake count"]) == ("", "0")


def test_mistake_of_keeps_names_and_replaces_only_the_learners_values():
    assert mistake_of("values differ at index 3: expected 0.25, got -1.5e-3. Hint: float32?") == (
        "values differ at index <n>: expected <n>, got <n>"
    )
    assert mistake_of("encode should return dtype torch.long, got torch.float32\nsecond line") == (
        "encode should return dtype torch.long, got torch.float32"
    )
    assert mistake_of("`W_hh` and 'W_xh' are swapped! The rest") == "<value> and <value> are swapped"
    assert (
        mistake_of("shape (2, 5, 4) vs (3, 4)")
        == mistake_of("shape (7, 1) vs (1, 2, 3)")
        == "shape (<n>, …) vs (<n>, …)"
    )


def test_one_student_and_an_assignment_nobody_handed_in_are_said_as_such(term):
    folder, _ = term
    rows = _rows(folder / "grading-stats.csv")
    one = rows[ONE, "o1"]
    assert (one["submissions"], _num(one["mean"]), _num(one["mean share"]), _num(one["full marks share"])) == (
        "1",
        1.0,
        0.5,
        0.0,
    )
    assert (one["item-rest r"], one["upper-lower D"]) == ("n/a", "n/a"), "one submission: no correlation"
    empty = rows[EMPTY, "e1"]
    assert (empty["submissions"], empty["mean"], empty["full marks share"], empty["item-rest r"]) == (
        "0",
        "n/a",
        "n/a",
        "n/a",
    )


def test_the_figure_is_written_and_the_report_links_it(term):
    folder, _ = term
    png = (folder / "grading-stats.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    report = (folder / "grading-report.md").read_text(encoding="utf-8")
    statistics_section = report.split("\n## Statistics\n")[1]
    assert "](grading-stats.png)" in statistics_section
    assert r"| 01\_toy | q1 | 2 | 6 | 0 | 1.33 | 67 | 50 | 0.87 | 0.75 |" in statistics_section
    assert "(grading-stats.png)" in (folder / "grading-stats.md").read_text(encoding="utf-8")


def test_the_statistics_follow_the_gradebook_whenever_the_report_is_written(term, tmp_path):
    folder, _ = term
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    url = f"sqlite:///{copy / 'gradebook.db'}"
    with Gradebook(url) as gb:  # s6's q1 regraded by hand: full marks
        gb.find_grade("q1", T, T, "s6").manual_score = 2
        gb.db.commit()
    _report(copy, url)
    q1 = _rows(copy / "grading-stats.csv")[T, "q1"]
    assert (_num(q1["mean"]), _num(q1["full marks share"])) == (pytest.approx(9 / 6), pytest.approx(4 / 6))
    assert r"| 01\_toy | q1 | 2 | 6 | 0 | 1.50 |" in (copy / "grading-report.md").read_text(encoding="utf-8")


def test_no_exercise_at_all_still_makes_every_file(tmp_path):
    paths = write_stats(tmp_path, [])
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert next(csv.reader(paths[0].open()))[0] == "assignment"


def test_an_unknown_assignment_is_named(term):
    _, url = term
    with pytest.raises(CourseError, match=r"the gradebook has no assignment \['99_nothing'\]"):
        compute(url, {}, ["99_nothing"])


def test_course_stats_prints_the_table_and_writes_the_files(tmp_path, capsys):
    course = make_course(tmp_path)
    sample_gradebook(course, {"alice": {"auto": 12, "manual": 2}, "bob": {"auto": 6, "manual": 1}})
    argv = ["--course-dir", str(course), "stats", "--assignment", A01]
    assert course_cli(argv) == 0
    out = capsys.readouterr().out
    assert "most frequent mistake" in out and "test_windows" in out and "9.00" in out
    assert "no grading-report.json yet" in out
    assert (course / f"grading-stats-{A01}.png").stat().st_size > 0
    rows = _rows(course / f"grading-stats-{A01}.csv")
    assert _num(rows[A01, "why_bag_of_words_fails"]["mean"]) == 1.5
    assert (course / ".course" / "audit.jsonl").is_file(), "course stats reads the gradebook: it audits first"
    assert course_cli(["--course-dir", str(course), "stats", "--assignment", "99_nothing"]) == 2
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err
