"""Did the sandbox run the learner's notebook at all?  If not, the submission is *not graded*, never zero.

Runs in a grading task's process (trusted), on what :func:`course_lib.grading.task.bwrap.run_sandboxed`
returned.  A learner's notebook that fails, loops or kills its kernel is graded: the cells that did not
work cost their points.  But when the sandbox itself did not run the notebook to its end -- the grader's
machine killed it (``kill -9`` of ``bwrap``, the out-of-memory killer), the sandbox could not import the
grading ``course_lib`` (an environment that installs ``course_lib`` from another folder than the one the
grader imports), the learner's kernel never started -- no cell said anything about the learner's work, and
zeros would be a verdict nobody reached.  :func:`not_run` names the cause; :class:`NotGraded` carries it
through nbgrader's autograde to the coordinator, which reports ``not graded: <cause>`` and exports no number.

The runner (:mod:`course_lib.grading.sandbox.runner`) writes two lines the grader relies on: first
``{"course_lib": "<folder>"}`` (which ``course_lib`` the sandbox imported) and last the event
``executed in ...`` (it reached the end).  Its record is untrusted, but the learner's kernel cannot write
to it (the pipe is not inherited), and a learner who kills the runner only gets "not graded", which an
instructor looks at.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

__all__ = ["FINISHED", "LIBRARY_KEY", "NotGraded", "not_run", "sandbox_library"]

LIBRARY_KEY = "course_lib"  # the runner's first record line: {"course_lib": folder it imported}
FINISHED = "executed in "  # the runner's last event
KERNEL_NOT_STARTED = "the kernel could not start"
_NO_MODULE = re.compile(r"No module named '?(course_lib[\w.]*)'?")


class NotGraded(RuntimeError):
    """The sandbox did not run the notebook; the message is the cause, in plain words."""


def _lines(record: bytes):
    for raw in io.BytesIO(record):
        try:
            item = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(item, dict):
            yield item


def sandbox_library(record: bytes) -> str | None:
    """The folder of the ``course_lib`` the sandbox's runner imported (its first record line), or None."""
    for item in _lines(record[:4096]):
        value = item.get(LIBRARY_KEY)
        return value if isinstance(value, str) else None
    return None


def not_run(result, record: bytes, grader_library: Path, record_limit: int) -> str | None:
    """Why the sandbox did not run the notebook to its end, or None when it did (or the learner stopped it).

    ``result``: the :class:`~course_lib.grading.task.bwrap.SandboxResult`; ``grader_library``: the folder of
    the ``course_lib`` this grader imported; ``record_limit``: the record's size limit (a learner who floods
    the record is stopped by the grader, and that is graded).
    """
    if result.timed_out or len(record) >= record_limit:
        return None  # the grader stopped it: the notebook's time or output limit, the learner's doing
    stderr = result.stderr or ""
    missing = _NO_MODULE.search(stderr)
    library = sandbox_library(record)
    if missing or (not record and "course_lib" in stderr and "Error" in stderr):
        return (
            f"the sandbox cannot import the grading course_lib ({missing.group(1) if missing else 'course_lib'} "
            f"missing; the grader imports it from {grader_library}): the Python environment installs course_lib "
            f"from another folder (is a course folder on PYTHONPATH?); run `course doctor`"
        )
    if library is not None and Path(library) != Path(grader_library):
        return (
            f"the sandbox imports course_lib from {library}, the grader from {grader_library}: the learner's "
            f"kernel would run other grading code (is a course folder on PYTHONPATH?); run `course doctor`"
        )
    events = [item["event"] for item in _lines(record) if isinstance(item.get("event"), str)]
    cells = [item for item in _lines(record) if isinstance(item.get("index"), int)]
    if not cells:
        started = [e for e in events if e.startswith(KERNEL_NOT_STARTED)]
        if started:
            return f"the learner's kernel could not start in the sandbox ({started[0][len(KERNEL_NOT_STARTED) :].strip(': ')})"
    if any(e.startswith(FINISHED) for e in events):
        return None
    code = result.returncode
    if code is not None and code < 0:
        how = f"killed by signal {-code}"
    elif code is not None and code > 128:  # bwrap's status when the process it runs was killed: 128 + the signal
        how = f"killed by signal {code - 128} (exit status {code})"
    else:
        how = f"exit status {code}"
    last = stderr.strip().splitlines()[-1:] or ["no output"]
    return (
        f"the sandbox stopped before the notebook finished ({how}; {len(cells)} cell(s) had run; "
        f"last words: {last[0][:200]}); grade it again"
    )
