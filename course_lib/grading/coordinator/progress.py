"""What the instructor sees while a class is graded:
``graded 37/500 · running 8 · queued 455 · 2 problems · ETA 6 min · 03:12``.

Runs in the coordinator.  From the first second the line says how long the run has taken and how many
tasks run and wait (running: at most one per worker slot, :meth:`Progress.slots`); the ETA appears with
the first submission graded in this run (the remaining ones at this run's mean pace; reused ones count as
done at once and say nothing of the pace).  A heartbeat (:meth:`Progress.tick`, called every second by a
thread of its own, or by a test with its own clock) keeps the clock moving while no task finishes.

On a terminal: a tqdm bar on stderr, problems one line each above it as they happen.  Without one (not a
tty, or ``COLUMNS=0``: a log file, CI) a plain status line every ``interval`` seconds, and the problem lines.
``quiet`` (``course grade --quiet``) shows nothing; the summary at the end is printed either way.
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["Progress", "clock_text", "eta_text"]


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA ?"
    if seconds < 90:
        return f"ETA {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"ETA {seconds / 60:.0f} min"
    return f"ETA {seconds / 3600:.1f} h"


def clock_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _has_width(stream) -> bool:
    if os.environ.get("COLUMNS") == "0":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    def __init__(
        self,
        total: int,
        done: int = 0,
        quiet: bool = False,
        stream=None,
        *,
        clock=time.monotonic,
        interval: float = 30.0,
        tty: bool | None = None,
    ):
        self.quiet, self.problems = quiet, 0
        self.total, self.done, self.reused, self.workers = total, done, done, 0
        self._stream = stream or sys.stderr
        self._clock, self._interval = clock, interval
        self._started = clock()
        self._last_line: float | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = None
        self._bar = None
        if quiet:
            return
        if _has_width(self._stream) if tty is None else tty:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=done,
                file=self._stream,
                dynamic_ncols=True,
                mininterval=0.5,
                bar_format="{desc} |{bar:20}|",
            )
        self.tick()

    def status(self) -> str:
        """``graded 3/10 · running 2 · queued 5 · 1 problem · ETA 40 s · 00:21``."""
        elapsed = self._clock() - self._started
        graded_here = self.done - self.reused
        left = self.total - self.done
        running = min(left, self.workers)
        remaining = left * elapsed / graded_here if graded_here else None
        plural = "" if self.problems == 1 else "s"
        return (
            f"graded {self.done}/{self.total} · running {running} · queued {left - running} · "
            f"{self.problems} problem{plural} · {eta_text(remaining)} · {clock_text(elapsed)}"
        )

    def tick(self) -> None:
        """The heartbeat: the bar's line now, or a plain line if ``interval`` passed since the last one."""
        if self.quiet:
            return
        with self._lock:
            if self._bar is not None:
                self._bar.set_description_str(self.status(), refresh=False)
                self._bar.refresh()
            elif self._last_line is None or self._clock() - self._last_line >= self._interval:
                self._last_line = self._clock()
                print(self.status(), file=self._stream, flush=True)

    def slots(self, workers: int) -> None:
        """The cluster has ``workers`` task slots (so at most that many tasks run); starts the heartbeat."""
        self.workers = workers
        self._last_line = None  # a line now: the cluster is up
        self.tick()
        if not self.quiet and self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="progress-heartbeat", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            self.tick()

    def note(self, problems: list[str]) -> None:
        """Problems found (one line each for the instructor), shown above the bar at once."""
        with self._lock:
            self.problems += len(problems)
            if self.quiet:
                return
            for line in problems:
                if self._bar is not None:
                    self._bar.write(line, file=self._stream)
                else:
                    print(line, file=self._stream, flush=True)
            if problems:
                self.tick()

    def advance(self, problems: list[str] = ()) -> None:
        """One submission recorded (or failed); ``problems``: its lines for the instructor."""
        with self._lock:
            self.done += 1
            if self._bar is not None:
                self._bar.update(1)
            self.note(list(problems))
            if self._bar is not None:
                self.tick()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.quiet:
            return
        with self._lock:
            if self._bar is not None:
                self.tick()
                self._bar.close()
            else:
                self._last_line = None  # the final count, whatever the interval
                self.tick()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
