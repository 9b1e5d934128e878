"""Does the instructor see how far grading is, the problems as they happen, and nothing with --quiet?"""

from __future__ import annotations

import io

from course_lib.grading.progress import Progress, eta_text


def test_the_bar_counts_submissions_and_problems_and_prints_each_problem_line():
    out = io.StringIO()
    with Progress(total=3, done=1, stream=out) as progress:
        progress.advance()
        progress.advance(["bob / 01_sequence_data: the grading worker died 3 times on this submission"])
    text = out.getvalue()
    assert "graded 3/3 · 1 problem · ETA" in text
    assert "bob / 01_sequence_data: the grading worker died 3 times" in text


def test_quiet_prints_nothing():
    out = io.StringIO()
    with Progress(total=2, quiet=True, stream=out) as progress:
        progress.note(["alice / 01: missing notebook"])
        progress.advance()
    assert out.getvalue() == "" and progress.problems == 1


def test_eta_reads_in_seconds_minutes_or_hours():
    assert [eta_text(s) for s in (None, 42, 360, 4 * 3600)] == ["ETA ?", "ETA 42 s", "ETA 6 min", "ETA 4.0 h"]
