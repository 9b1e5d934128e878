"""Does the instructor see how far grading is, from the first second, the problems as they happen, and
nothing with --quiet?  The clock and the heartbeat are the test's: no sleeps."""

from __future__ import annotations

import io

from course_lib.grading.coordinator.progress import Progress, clock_text, eta_text


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_plain_lines_come_at_a_steady_interval_with_running_queued_and_the_clock():
    out, clock = io.StringIO(), FakeClock()
    with Progress(total=5, stream=out, clock=clock, interval=10) as progress:
        progress.slots(2)
        for _ in range(9):  # the heartbeat, every second; nothing finished yet
            clock.now += 1
            progress.tick()
        clock.now += 1
        progress.tick()  # 10 s: a line
        clock.now += 10
        progress.advance()  # the first task finished at 20 s: an ETA (4 left at 20 s each)
        progress.tick()
        clock.now += 5
        progress.advance(["bob / 01_sequence_data: the grading worker died 3 times on this submission"])
    assert out.getvalue().splitlines() == [
        "graded 0/5 · running 0 · queued 5 · 0 problems · ETA ? · 00:00",
        "graded 0/5 · running 2 · queued 3 · 0 problems · ETA ? · 00:00",
        "graded 0/5 · running 2 · queued 3 · 0 problems · ETA ? · 00:10",
        "graded 1/5 · running 2 · queued 2 · 0 problems · ETA 80 s · 00:20",
        "bob / 01_sequence_data: the grading worker died 3 times on this submission",
        "graded 2/5 · running 2 · queued 1 · 1 problem · ETA 38 s · 00:25",
    ]


def test_on_a_terminal_the_bar_clock_moves_before_any_task_finishes():
    out, clock = io.StringIO(), FakeClock()
    with Progress(total=3, done=1, stream=out, clock=clock, tty=True) as progress:
        progress.slots(4)
        clock.now += 7
        progress.tick()
        assert "graded 1/3 · running 2 · queued 0 · 0 problems · ETA ? · 00:07" in out.getvalue()
        clock.now += 3
        progress.advance(["bob / 01_sequence_data: missing notebook"])
    text = out.getvalue()
    assert "bob / 01_sequence_data: missing notebook" in text
    assert "graded 2/3 · running 1 · queued 0 · 1 problem · ETA 10 s · 00:10" in text  # reused: not the pace


def test_quiet_prints_nothing():
    out = io.StringIO()
    with Progress(total=2, quiet=True, stream=out) as progress:
        progress.slots(2)
        progress.note(["alice / 01: missing notebook"])
        progress.advance()
    assert out.getvalue() == "" and progress.problems == 1


def test_eta_reads_in_seconds_minutes_or_hours_and_the_clock_in_minutes_or_hours():
    assert [eta_text(s) for s in (None, 42, 360, 4 * 3600)] == ["ETA ?", "ETA 42 s", "ETA 6 min", "ETA 4.0 h"]
    assert [clock_text(s) for s in (0, 75.9, 3 * 3600 + 62)] == ["00:00", "01:15", "3:01:02"]
