"""Who changed what: every score change in the gradebook, appended to ``.course/audit.jsonl``.

Runs in the coordinator (trusted).  nbgrader's gradebook keeps the current scores only, and Formgrader writes
straight into it, so changes are found by comparison: ``.course/audit-state.json`` holds the last state seen,
per (student, assignment, notebook, cell), of

    auto score, manual score, extra credit       (a grade cell)
    late penalty                                 (a submitted notebook; cell "late penalty")
    total                                        (a submission, as grades.csv shows it; cell "total")

and every ``course`` command that reads or writes the gradebook goes through :func:`watch`:

1. before its work, what changed since the last state is written as seen, not done, by the command
   (action ``seen by course <cmd>``): a manual score or extra credit by Formgrader (:data:`FORMGRADER`;
   nbgrader does not record which grader), an auto score or late penalty by something else
   (:data:`OUTSIDE`: ``nbgrader autograde`` run by hand, a script; Formgrader writes neither);
2. after it, what changed is the command's own (actor: the account, and the hub user where there is one;
   action: the command line), except manual scores and extra credit, which ``course`` never writes:
   Formgrader's, entered while the command ran.

One JSON object a line: ``time`` (UTC, ISO 8601), ``actor``, ``action``, ``student``, ``assignment``,
``notebook`` (None for the total), ``cell``, ``field``, ``old``, ``new`` (None: no value).  Appended with
flush and fsync under an exclusive ``fcntl`` lock held from reading the state to writing it, so two commands
at once neither lose nor double a change; a command that dies between the two writes leaves the lines and
the old state, and the next one writes those changes again (twice, never lost).  The lock is held for the
comparison only, not the whole command: a change another command makes meanwhile is written by whichever
looks first.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import getpass
import json
import os
from pathlib import Path

__all__ = [
    "BEFORE",
    "FORMGRADER",
    "LOG",
    "OUTSIDE",
    "STATE",
    "actor",
    "history",
    "observe",
    "read_log",
    "snapshot",
    "watch",
]

LOG = Path(".course") / "audit.jsonl"
STATE = Path(".course") / "audit-state.json"
LOCK = Path(".course") / "audit.lock"

FORMGRADER = "Formgrader (hand grading; nbgrader does not record which grader)"
OUTSIDE = "outside course (nbgrader or a script; Formgrader writes no auto score or penalty)"
BEFORE = "unknown (in the gradebook before the audit log began)"
FIELDS = ("time", "actor", "action", "student", "assignment", "notebook", "cell", "field", "old", "new")
HAND = ("manual score", "extra credit")  # the only values Formgrader writes; course never does
ZERO_IS_NONE = ("extra credit", "late penalty")  # 0 and no value mean the same: a first grading logs no 0


def actor() -> str:
    """The account running this command, and the hub user when there is one (JupyterHub sets it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry and no $USER
        user = f"uid {os.getuid()}"
    hub = os.environ.get("JUPYTERHUB_USER")
    return f"{user} (hub user {hub})" if hub and hub != user else user


def _key(student: str, assignment: str, notebook: str | None, cell: str, field: str) -> str:
    return json.dumps([student, assignment, notebook, cell, field])


def _put(values: dict, key: str, field: str, value) -> None:
    if value is None or (field in ZERO_IS_NONE and float(value) == 0):
        return
    values[key] = round(float(value), 9)  # a recomputed penalty must not differ in its 16th digit


def _no_gradebook(db_url: str) -> bool:
    """A SQLite gradebook not made yet: read as empty, never created here."""
    if not db_url.startswith("sqlite:///"):
        return False
    return not Path(db_url.removeprefix("sqlite:///").split("?")[0]).is_file()


def snapshot(db_url: str) -> dict[str, float]:
    """Every value the log follows, from the gradebook: key (see :func:`_key`) -> value (absent: no value)."""
    from nbgrader.api import Gradebook

    from course_lib.grading.coordinator.report import standing
    from course_lib.nbgrader_setup import _ensure_bin_on_path

    values: dict[str, float] = {}
    if _no_gradebook(db_url):
        return values
    _ensure_bin_on_path()  # nbgrader's Gradebook runs `alembic`
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                student, name = submission.student.id, assignment.name
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        for field in ("auto score", "manual score", "extra credit"):
                            value = getattr(grade, field.replace(" ", "_"))
                            _put(values, _key(student, name, notebook.name, grade.name, field), field, value)
                    penalty = notebook.late_submission_penalty
                    _put(
                        values,
                        _key(student, name, notebook.name, "late penalty", "late penalty"),
                        "late penalty",
                        penalty,
                    )
                total = standing(submission)["score"]
                _put(values, _key(student, name, None, "total", "total"), "total", total)
    return values


def _changes(old: dict[str, float], new: dict[str, float]) -> list[dict]:
    out = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            student, assignment, notebook, cell, field = json.loads(key)
            zero = 0.0 if field in ZERO_IS_NONE else None
            out.append(
                {
                    "student": student,
                    "assignment": assignment,
                    "notebook": notebook,
                    "cell": cell,
                    "field": field,
                    "old": old.get(key, zero),
                    "new": new.get(key, zero),
                }
            )
    return out


def _attribute(changes: list[dict], who: str | None, action: str, seen: str, first: bool) -> list[dict]:
    """Each change with its actor and action (see the module docstring)."""
    by_hand = {(c["student"], c["assignment"]) for c in changes if c["field"] in HAND}
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
    for change in changes:
        hand = change["field"] in HAND or (
            change["field"] == "total" and (change["student"], change["assignment"]) in by_hand
        )
        if first:
            by = (BEFORE, seen)
        elif hand:
            by = (FORMGRADER, seen)
        elif who is None:
            by = (OUTSIDE, seen)
        else:
            by = (who, action)
        change.update(time=now, actor=by[0], action=by[1])
    return [{k: c[k] for k in FIELDS} for c in changes]


def _fsynced_write(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def observe(root: Path, db_url: str, command: str, action: str | None = None, who: str | None = None) -> list[dict]:
    """Append what changed in the gradebook since the last state; returns the lines written.

    ``command``: the ``course`` subcommand that looks (``rescore``); ``action`` and ``who``: that command's own
    line and actor, for the changes it made itself (None: before its work, every change is seen, not done).
    """
    root = Path(root)
    (root / LOG).parent.mkdir(parents=True, exist_ok=True)
    seen = f"seen by course {command}"
    with (root / LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            state = json.loads((root / STATE).read_text(encoding="utf-8"))
            old, first = state["values"], False
        except FileNotFoundError:
            old, first = {}, True
        except (ValueError, KeyError) as error:
            from course_lib.nbgrader_setup import CourseError

            raise CourseError(f"{root / STATE} is damaged ({error}); the audit log cannot go on without it") from None
        new = snapshot(db_url)
        lines = _attribute(_changes(old, new), who if action else None, action or seen, seen, first)
        if lines:
            with (root / LOG).open("a", encoding="utf-8") as log:
                log.write("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
                log.flush()
                os.fsync(log.fileno())
        if lines or first:
            _fsynced_write(root / STATE, json.dumps({"values": new}, sort_keys=True))
    return lines


@contextlib.contextmanager
def watch(root: Path, db_url: str, command: str, action: str):
    """Around a ``course`` command: what others changed before it, then what it changed (even if it fails)."""
    observe(root, db_url, command)
    try:
        yield
    finally:
        observe(root, db_url, command, action, actor())


def read_log(root: Path) -> list[dict]:
    """Every line of the audit log, in time order (the file's order among equal times)."""
    path = Path(root) / LOG
    if not path.is_file():
        return []
    lines = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]
    return sorted(lines, key=lambda line: line["time"])


def _value(value) -> str:
    return "—" if value is None else f"{value:g}"


def _what(line: dict) -> str:
    if line["cell"] == "total":
        return f"{line['assignment']}: total"
    if line["cell"] == "late penalty":
        return f"{line['assignment']} / {line['notebook']}: late penalty"
    return f"{line['assignment']} / {line['notebook']} / {line['cell']}: {line['field']}"


def history(root: Path, student: str, assignment: str | None = None) -> str:
    """The student's changes (of ``assignment``, default all) as a table, in time order."""
    from course_lib.grading.coordinator.report import text_table

    lines = [
        line
        for line in read_log(root)
        if line["student"] == student and (assignment is None or line["assignment"] == assignment)
    ]
    if not lines:
        return f"no change recorded for {student}" + (f" on {assignment}" if assignment else "")
    rows = [
        (
            line["time"][:19].replace("T", " "),
            line["actor"],
            line["action"],
            _what(line),
            f"{_value(line['old'])} → {_value(line['new'])}",
        )
        for line in lines
    ]
    return text_table(("time (UTC)", "actor", "action", "what", "old → new"), rows)
