"""Is a submission's ``timestamp.txt`` a time the course can believe?  Checked at intake.

nbgrader's ``submit`` writes ``timestamp.txt`` in the learner's own process (and on JupyterHub the exchange's
inbound folder is written by the learner too), so its content is the learner's word.  Two checks:

- not a date (``nbgrader.utils.parse_utc`` fails): nbgrader's autograde would crash on it and lose the whole
  notebook's score.  The file is dropped from ``submitted/`` (the original stays in ``.course/originals``) and
  the submission is graded as one handed in without a time: :func:`course_lib.grading.coordinator.late.stamp`
  then takes the newest notebook's modification time, as for any folder without the file.
- earlier than the newest handed-in notebook was last modified (more than ``SKEW`` before it): nobody hands in
  a notebook before they last saved it, so the instructor is told, for that student -- but the time is **not**
  changed: a modification time is not a time of handing in either (a copy without ``cp -p``, an LMS download or
  an unzip gives every file the time of the copy, and believing it would make a whole class late).  Grading
  uses ``timestamp.txt`` as nbgrader does; the note is the evidence for a person to weigh (README's threat
  model: the course cannot know the time of handing in better than nbgrader's exchange).
"""

from __future__ import annotations

import datetime
from pathlib import Path

from nbgrader.utils import parse_utc

__all__ = ["SKEW", "check_timestamp"]

SKEW = datetime.timedelta(minutes=5)  # clocks of the learner's machine and the grader's may differ this much


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


def check_timestamp(target: Path, originals: Path) -> list[str]:
    """Check (and where needed rewrite or drop) ``target/timestamp.txt``; notes for the student's report.

    ``originals`` is the submission as handed in (files' modification times kept)."""
    path = target / "timestamp.txt"
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        stated = parse_utc(text)
        if stated.tzinfo is not None:
            stated = stated.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except Exception as error:  # dateutil's ParserError, OverflowError, ValueError, ...: the learner's text
        path.unlink()
        shown = " ".join(text.split())[:80]
        return [
            f"timestamp.txt is not a date ({shown!r}: {type(error).__name__}): graded as handed in without a "
            f"time (the newest notebook's modification time is used); the file is kept in .course/originals"
        ]
    times = [p.stat().st_mtime for p in originals.rglob("*.ipynb") if p.is_file() and not p.is_symlink()]
    if not times:
        return []
    modified = _utc(max(times))
    if stated + SKEW >= modified:
        return []
    return [
        f"timestamp.txt says {stated:%Y-%m-%d %H:%M} UTC, before the notebook was last modified "
        f"({modified:%Y-%m-%d %H:%M} UTC): check it (lateness uses timestamp.txt, as nbgrader does; the files' "
        f"times are no proof either: a copy without their times would make every submission late)"
    ]
