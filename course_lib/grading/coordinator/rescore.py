"""``course rescore``, ``course due``, ``course extend``: totals, late penalties and feedback pages recomputed
from what the gradebook records, with no kernel started.

Runs in the coordinator (trusted).  A late penalty is a function of a notebook's score (autograded plus
graded by hand), the submission's time, the assignment's due date and the student's extension; nbgrader's
own ``AssignLatePenalties`` computes it (:func:`apply_late`, the code ``nbgrader autograde`` runs), so a
written answer graded after autograding, a due date moved or an extension granted needs no notebook run
again -- only a changed submission or changed grading code does (``course grade`` re-executes exactly
those).

Where each input lives:

- due date: the assignment's ``duedate`` in the gradebook (``course due ASSIGNMENT DATE``, or ``course grade
  --due``), once per assignment;
- extension: ``.course/extensions.json`` (``course extend STUDENT ASSIGNMENT --hours H | --until DATE``),
  kept there because it may be granted before the submission exists; copied into the submission's
  ``extension`` (nbgrader's own column: its ``total_seconds_late`` counts from due date + extension).
  ``--until`` is a date, so a later due-date change keeps it; ``--hours`` moves with the due date;
- scores: the gradebook (autograde and Formgrader).

A feedback page is made again only when what it shows changed: :func:`page_digest` of the gradebook's
standing (scores, penalty, pending, comments) is kept in ``.course/pages/<student>/<assignment>.json``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import time
from pathlib import Path

from course_lib.grading.coordinator.late import parse_due
from course_lib.nbgrader_setup import CourseError

__all__ = [
    "Rescored",
    "apply_late",
    "digest_of",
    "extension_for",
    "page_digest",
    "refresh_page",
    "rescore",
    "set_due",
    "set_extension",
]

EXTENSIONS = Path(".course") / "extensions.json"
RESCORE_BATCH = 350  # submissions a transaction (50 students of seven notebooks)
PAGES = Path(".course") / "pages"


def _extensions(root: Path) -> dict:
    path = Path(root) / EXTENSIONS
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise CourseError(f"{path} is not valid JSON ({error}); fix or delete it") from None


def extension_for(root: Path, student: str, assignment: str, due: datetime.datetime | None, granted=None):
    """The student's extension on ``assignment`` as a timedelta (None: none), given the due date;
    ``granted``: ``.course/extensions.json`` already read (None: read here)."""
    granted = (_extensions(root) if granted is None else granted).get(assignment, {}).get(student)
    if not granted:
        return None
    if "hours" in granted:
        return datetime.timedelta(hours=float(granted["hours"]))
    if due is None:
        return None  # "until" a date, but no due date to extend: nothing is late anyway
    extra = parse_due(granted["until"]) - due
    return extra if extra > datetime.timedelta(0) else None


def set_extension(
    root: Path, student: str, assignment: str, hours: float | None = None, until: str | None = None
) -> str:
    """Store an extension (``hours`` after the due date, or ``until`` a date; neither: remove it)."""
    if hours is not None and until is not None:
        raise CourseError("give --hours or --until, not both")
    if hours is not None and not hours > 0:
        raise CourseError(f"--hours must be a positive number of hours, not {hours}")
    if until is not None:
        try:
            parse_due(until)
        except ValueError as error:
            raise CourseError(str(error)) from None
    data = _extensions(root)
    granted = data.setdefault(assignment, {})
    if hours is None and until is None:
        granted.pop(student, None)
        what = f"{student} has no extension on {assignment}"
    else:
        granted[student] = {"hours": hours} if hours is not None else {"until": until}
        what = f"{student} may hand in {assignment} " + (f"{hours:g} h late" if hours is not None else f"until {until}")
    path = Path(root) / EXTENSIONS
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(path)
    return what


def set_due(db_url: str, assignment: str, due: datetime.datetime | None) -> None:
    """The assignment's due date in the gradebook (None: no due date)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment, duedate=due)


def apply_late(config, db_url: str, student: str, assignment: str, extension) -> None:
    """Copy the extension into the submission and recompute each notebook's penalty with nbgrader's own
    ``AssignLatePenalties`` (its plugin and config from ``config``), from the scores the gradebook holds."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties

    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        submission.extension = extension
        gb.db.commit()
        notebooks = [n.name for n in submission.notebooks]
    for name in notebooks:
        resources = {"nbgrader": {"student": student, "assignment": assignment, "notebook": name, "db_url": db_url}}
        AssignLatePenalties(config=config).preprocess(nbformat.v4.new_notebook(), resources)


def page_digest(db_url: str, student: str, assignment: str) -> str:
    """A digest of everything a feedback page shows from the gradebook (scores, penalty, pending, comments)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return digest_of(gb.find_submission(assignment, student))


def digest_of(submission) -> str:
    """:func:`page_digest` of an nbgrader ``SubmittedAssignment`` read in the caller's session."""
    from course_lib.grading.coordinator.report import standing

    shown = standing(submission)
    # in name order: the database's row order is no part of the page (PostgreSQL's moves as rows are updated)
    shown["exercises"].sort(key=lambda e: (e["notebook"], e["cell"]))
    shown["notebooks"] = sorted(
        [n.name, n.score, n.late_submission_penalty, sorted([c.name, c.comment] for c in n.comments)]
        for n in submission.notebooks
    )
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


def _page_mark(root: Path, student: str, assignment: str) -> Path:
    return Path(root) / PAGES / student / f"{assignment}.json"


def refresh_page(
    root: Path, config, student: str, assignment: str, shown: str | None = None, now: str | None = None
) -> bool:
    """Make the feedback page again if the gradebook now says something else than the page shows.

    ``shown``: the digest of the page just made by a grading task (None: the one stored); ``now``: the
    gradebook's, when the caller read it already (None: read here).  Returns whether the page was made
    again here.
    """
    from course_lib.nbgrader_setup import api_for

    db_url = config.CourseDirectory.db_url
    mark = _page_mark(root, student, assignment)
    if shown is None:
        try:
            shown = json.loads(mark.read_text())["digest"]
        except (OSError, ValueError, KeyError):
            shown = ""
    if now is None:
        now = page_digest(db_url, student, assignment)
    made = False
    if now != shown and (Path(root) / "autograded" / student / assignment).is_dir():
        result = api_for(config).generate_feedback(assignment, student, force=True)
        if not result.get("success"):
            raise CourseError(
                f"the feedback page of {student} / {assignment} could not be made: {result.get('error', '')[-300:]}"
            )
        made = True
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(json.dumps({"digest": now}))
    return made


@dataclasses.dataclass
class Rescored:
    submissions: int
    pages: int
    seconds: float

    def text(self) -> str:
        return (
            f"rescored {self.submissions} submission(s) from the gradebook (no notebook run); "
            f"{self.pages} feedback page(s) made again, in {self.seconds:.1f} s"
        )


def rescore(root: Path, config, assignments: list[str] | None = None, students: list[str] | None = None) -> Rescored:
    """Extensions, penalties and feedback pages of every recorded submission (of ``assignments`` and
    ``students``, default all) brought in line with the gradebook: :func:`apply_late`'s rows written in batches
    (:func:`course_lib.grading.coordinator.batch.apply_late_batch`, checked row for row against it)."""
    from nbgrader.api import Gradebook

    started = time.monotonic()
    db_url = config.CourseDirectory.db_url
    with Gradebook(db_url) as gb:
        known = {a.name for a in gb.assignments}
        unknown = sorted(set(assignments or []) - known)
        if unknown:
            raise CourseError(f"the gradebook has no assignment {unknown}; it has {sorted(known)}")
        pairs = [
            (s.student.id, a.name, a.duedate)
            for a in gb.assignments
            if not assignments or a.name in assignments
            for s in a.submissions
            if not students or s.student.id in students
        ]
    from course_lib.grading.coordinator.batch import apply_late_batch
    from course_lib.grading.coordinator.digests import page_digests

    pages, granted, pairs = 0, _extensions(root), sorted(pairs)
    for first in range(0, len(pairs), RESCORE_BATCH):  # apply_late's rows, a batch a transaction
        chunk = pairs[first : first + RESCORE_BATCH]
        extensions = {(s, a): extension_for(root, s, a, due, granted) for s, a, due in chunk}
        with Gradebook(db_url) as gb:
            apply_late_batch(gb, config, extensions)
            gb.db.commit()
            now = page_digests(gb.db, list(extensions))
        for student, assignment, _ in chunk:
            pages += refresh_page(root, config, student, assignment, now=now[student, assignment])
    return Rescored(len(pairs), pages, time.monotonic() - started)
