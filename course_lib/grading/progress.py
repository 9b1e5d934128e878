"""What the instructor sees while a class is graded: ``graded 37/500 · 2 problems · ETA 6 min``.

Runs in the coordinator.  A tqdm bar on stderr, advanced as each submission is recorded (reused ones
count as done at once), and one line per student problem as it happens, above the bar.  ``quiet``
(``course grade --quiet``) shows neither; the summary at the end is printed either way.
"""

from __future__ import annotations

import sys

__all__ = ["Progress", "eta_text"]


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA ?"
    if seconds < 90:
        return f"ETA {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"ETA {seconds / 60:.0f} min"
    return f"ETA {seconds / 3600:.1f} h"


class Progress:
    def __init__(self, total: int, done: int = 0, quiet: bool = False, stream=None):
        self.quiet, self.problems = quiet, 0
        self._stream = stream or sys.stderr
        self._bar = None
        if not quiet:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=done,
                file=self._stream,
                dynamic_ncols=True,
                mininterval=0.5,
                bar_format="{desc} |{bar:20}| {elapsed}",
            )
            self._describe()

    def _describe(self) -> None:
        bar = self._bar
        rate = bar.format_dict.get("rate")
        remaining = (bar.total - bar.n) / rate if rate else None
        plural = "" if self.problems == 1 else "s"
        bar.set_description_str(
            f"graded {bar.n}/{bar.total} · {self.problems} problem{plural} · {eta_text(remaining)}", refresh=False
        )

    def note(self, problems: list[str]) -> None:
        """Problems found (one line each for the instructor), shown above the bar at once."""
        self.problems += len(problems)
        if self._bar is None:
            return
        for line in problems:
            self._bar.write(line, file=self._stream)
        self._describe()
        self._bar.refresh()

    def advance(self, problems: list[str] = ()) -> None:
        """One submission recorded (or failed); ``problems``: its lines for the instructor."""
        self.note(problems)
        if self._bar is None:
            return
        self._bar.update(1)
        self._describe()
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
