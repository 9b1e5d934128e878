"""``course doctor``: one probe notebook through the real grading sandbox, as ``course grade`` runs it.

Which ``course_lib`` the sandbox imports is decided inside it (a cleared environment, the Python environment's
own install), not by the ``PYTHONPATH`` the instructor's shell has: a course folder on ``PYTHONPATH`` while the
environment installs ``course_lib`` from another folder grades nothing (:mod:`course_lib.grading.task.ran`).  The
probe names that mismatch before a class is graded.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from course_lib.doctor.findings import OK, PROBLEM, Finding

__all__ = ["check_grading_sandbox"]

PROBE = "import course_lib, pathlib\nprint(pathlib.Path(course_lib.__file__).resolve().parent)"
FIX = (
    "grade with the course_lib the environment installs: unset PYTHONPATH, or install the course folder you "
    "grade from into this environment (pip install -e COURSE_FOLDER)"
)


def _printed(record: bytes) -> str:
    for line in record.splitlines():
        item = json.loads(line)
        if item.get("index") == 0:
            return "".join("".join(o.get("text", "")) for o in item.get("outputs", [])).strip()
    return ""


def check_grading_sandbox(which=shutil.which) -> list[Finding]:
    """Run PROBE in the sandbox; a PROBLEM names the cause when the sandbox would not grade."""
    if which("bwrap") is None:
        return []  # check_instructor_tools says so; learners need no sandbox
    import nbformat

    import course_lib
    from course_lib.grading.task.bwrap import MAX_RECORD_BYTES, Limits, run_sandboxed
    from course_lib.grading.task.ran import not_run

    grader = Path(course_lib.__file__).resolve().parent
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    result, record = run_sandboxed(nbformat.writes(nb), Limits(notebook_seconds=120, cell_seconds=60))
    cause = not_run(result, record, grader, MAX_RECORD_BYTES)
    if cause is None and _printed(record) != str(grader):
        cause = (
            f"the learner's kernel imports course_lib from {_printed(record) or 'nowhere'}, the grader from {grader}"
        )
    if cause:
        return [Finding(PROBLEM, f"instructors: `course grade` would grade nothing: {cause}.", FIX)]
    return [Finding(OK, f"instructors: the grading sandbox runs a notebook with the grader's course_lib ({grader}).")]
