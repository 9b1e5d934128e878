"""Does ``course validate`` report the required points and the bonus points apart?"""

from __future__ import annotations

from pathlib import Path

from course_lib.grading.task.judge import Verdict
from course_lib.validate import Report

POINTS = {"test_encode": 2.0, "test_greedy_decode": 12.0, "test_beam_search": 3.0}


def _report(beam_passed: bool, greedy_passed: bool = True) -> Report:
    verdicts = [
        Verdict("test_encode", "nb06_seq2seq.encode", True, "✓"),
        Verdict("test_greedy_decode", "nb06_seq2seq.greedy_decode", greedy_passed, "✓" if greedy_passed else "✗"),
        Verdict(
            "test_beam_search", "nb06_seq2seq.beam_search", beam_passed, "✓" if beam_passed else "not implemented yet"
        ),
    ]
    return Report(Path("06_seq2seq.ipynb"), verdicts, POINTS, [], frozenset({"test_beam_search"}))


def test_every_required_exercise_right_is_all_the_required_points_and_a_pass():
    report = _report(beam_passed=False)
    assert report.earned(bonus=False) == (14.0, 14.0)
    assert report.earned(bonus=True) == (0.0, 3.0)
    assert report.passed, "a bonus left undone does not fail the notebook"
    text = report.text()
    assert "14 of 14 required autograded points" in text
    assert "bonus: 0 of 3 points, counted apart" in text
    assert "FAIL test_beam_search (bonus, 3 points)" in text


def test_the_bonus_adds_bonus_points_and_a_required_failure_fails():
    assert "bonus: 3 of 3 points" in _report(beam_passed=True).text()
    failing = _report(beam_passed=True, greedy_passed=False)
    assert not failing.passed and "2 of 14 required" in failing.text()


def test_a_notebook_without_bonus_says_nothing_about_it():
    report = Report(Path("x.ipynb"), [Verdict("test_encode", "nb06_seq2seq.encode", True, "✓")], POINTS, [])
    assert report.text().endswith("2 of 2 required autograded points")
