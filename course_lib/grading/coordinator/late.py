"""Late work through nbgrader's own machinery: the due date, each submission's time, the penalty.

nbgrader decides lateness from two things: the assignment's ``duedate`` in the gradebook and the
submission's ``timestamp.txt`` (read by ``autograde``); ``AssignLatePenalties`` then asks the plugin
configured as ``c.AssignLatePenalties.plugin_class`` for each notebook's penalty.  This module supplies
the three pieces ``course grade`` lacked:

- :func:`set_due_date`: ``course grade --due 2026-12-01T23:59`` writes the assignment's ``duedate``;
- :func:`stamp`: writes ``submitted/<student>/<assignment>/timestamp.txt`` where the submission did not
  carry one (nbgrader's own collect writes it): Canvas's ``LATE_`` marker makes it at least one second
  past the due date; otherwise the newest handed-in notebook's modification time is used;
- :class:`LatePenalty`: a fraction of the notebook's score per started day late, capped::

      days    = ceil((t_submitted - t_due - grace) / 1 day)        (0 when on time)
      penalty = min(per_day * days, cap) * score

  set in ``nbgrader_config.py`` (``c.LatePenalty.per_day``, ``.cap``, ``.grace_minutes``).

nbgrader stores the penalty when it autogrades, from the notebook's score at that moment; written answers
graded later in Formgrader are included once the class is graded again (``course grade --force``).
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

from course_lib.grading.coordinator.intake import Problem

__all__ = ["TIMESTAMP_FORMAT", "LatePenalty", "parse_due", "set_due_date", "stamp"]

DAY = 86400.0
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # what nbgrader's collect writes and parse_utc reads


class LatePenalty(LateSubmissionPlugin):
    """``per_day`` of the notebook's score per started day late, at most ``cap`` of it."""

    per_day = Float(0.1, help="fraction of the score taken per started day late").tag(config=True)
    cap = Float(1.0, help="the largest fraction of the score a late penalty takes").tag(config=True)
    grace_minutes = Float(0.0, help="minutes past the due date that still count as on time").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        seconds = total_seconds_late - 60.0 * self.grace_minutes
        if seconds <= 0 or score <= 0:
            return None
        days = math.ceil(seconds / DAY)
        return min(self.per_day * days, self.cap) * score


def parse_due(text: str) -> datetime.datetime:
    """``2026-12-01T23:59`` (UTC unless an offset is given) as a naive UTC datetime, as nbgrader stores it."""
    try:
        due = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the due date {text!r} is not an ISO date and time such as 2026-12-01T23:59") from None
    if due.tzinfo is not None:
        due = due.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return due


def set_due_date(db_url: str, assignment: str, due: datetime.datetime) -> None:
    """The assignment's ``duedate`` in the gradebook (naive UTC)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment, duedate=due)


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


def stamp(
    root: Path,
    work,
    due: datetime.datetime | None,
    from_lms: bool = False,
    late_marked: set[tuple[str, str]] = frozenset(),
) -> list[Problem]:
    """Write each submission's ``timestamp.txt`` where it has none; what was assumed is returned as problems.

    Folder submissions: the newest notebook's modification time (kept by intake's copy of the originals).
    LMS exports (``from_lms``): the files' times are those of unpacking, so the LMS's own verdict is used:
    on time is the due date, ``LATE_`` (``late_marked``) one second past it.  Without a due date nbgrader
    cannot tell lateness: a ``LATE_`` marker is then reported, not penalised.
    """
    problems = []
    for student, assignment in work:
        folder = Path(root) / "submitted" / student / assignment
        target = folder / "timestamp.txt"
        late = (student, assignment) in late_marked
        if target.is_file():
            continue  # nbgrader's collect (or the student's folder) already said when it was handed in
        if due is None:
            if late:
                problems.append(
                    Problem(
                        student,
                        assignment,
                        "-",
                        "marked LATE by the LMS, but the assignment has no due date: no penalty (pass --due)",
                    )
                )
            continue
        originals = Path(root) / ".course" / "originals" / student / assignment
        times = [p.stat().st_mtime for p in (originals if originals.is_dir() else folder).rglob("*.ipynb")]
        handed_in = due if from_lms or not times else _utc(max(times))
        if late and handed_in <= due:
            handed_in = due + datetime.timedelta(seconds=1)
            problems.append(
                Problem(
                    student,
                    assignment,
                    "-",
                    "marked LATE by the LMS; its export does not say how late, so it counts as one started day late",
                )
            )
        target.write_text(handed_in.strftime(TIMESTAMP_FORMAT))
    return problems
