"""``course doctor``: what is wrong with this set-up, in plain words, each with how to fix it.

Every line is one finding: ``OK``, ``PROBLEM`` (the course will not work as intended until it is fixed;
the line says how) or ``NOTE`` (worth knowing, nothing breaks for a learner, e.g. the instructor-only
grading sandbox).  What is checked, for the Python that runs this command:

- the Python version, and torch: importable, its version in the course's range, which build (CPU/CUDA);
- the other packages of the course, in their ranges, and which ``course_lib`` is imported;
- JupyterLab's ``python3`` kernel runs this environment (the notebooks import what is installed *here*),
  and the ``jupyter`` command on PATH belongs to it;
- nbgrader's server extensions (validate, assignment list, formgrader) and lab extensions (the Validate
  button and menu; ipywidgets for the progress bars) are installed and enabled;
- torch's threads against the cores this process may use (more threads than cores makes training slower);
- instructors: bubblewrap (the grading sandbox of ``course grade``) and ``alembic`` (formgrader's gradebook);
  one probe notebook through the real sandbox, which names a sandbox importing another ``course_lib``;
- a font for the Chinese labels of the plots.

:func:`diagnose` returns ``(ok, text)``; ``ok`` is False when any line is a PROBLEM.
"""

from __future__ import annotations

import sys
from typing import Callable

from course_lib.doctor.findings import NOTE, OK, PROBLEM, REINSTALL, REQUIREMENTS, Finding
from course_lib.doctor.jupyter import check_jupyter_command, check_kernel, check_nbgrader
from course_lib.doctor.machine import check_fonts, check_instructor_tools, check_threads
from course_lib.doctor.packages import check_course_lib, check_packages, check_python, check_torch
from course_lib.doctor.sandbox import check_grading_sandbox

__all__ = ["Finding", "OK", "PROBLEM", "NOTE", "REQUIREMENTS", "CHECKS", "diagnose"]

CHECKS: tuple[Callable[[], list[Finding]], ...] = (
    check_python,
    check_torch,
    check_packages,
    check_course_lib,
    check_jupyter_command,
    check_kernel,
    check_nbgrader,
    check_threads,
    check_instructor_tools,
    check_grading_sandbox,
    check_fonts,
)


def diagnose(checks=CHECKS) -> tuple[bool, str]:
    """Run every check; ``(ok, text)``: ok is False if any finding is a PROBLEM; text has one line each."""
    findings: list[Finding] = []
    for check in checks:
        try:
            findings += check()
        except Exception as error:  # a check that crashes is reported, never a traceback
            topic = check.__name__.removeprefix("check_").replace("_", " ")
            findings.append(Finding(PROBLEM, f"could not check {topic}: {type(error).__name__}: {error}", REINSTALL))
    problems = sum(f.status == PROBLEM for f in findings)
    head = f"course doctor: the set-up of {sys.executable}\n"
    tail = (
        "\nAll good: nothing to fix."
        if not problems
        else f"\n{problems} problem{'s' if problems > 1 else ''}: fix the lines marked PROBLEM, then run `course doctor` again."
    )
    return problems == 0, "\n".join([head, *(f.render() for f in findings), tail])
