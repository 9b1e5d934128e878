"""Does a task count its own work outside its jobs (the same-code check, the sandbox's start and end) as the
worker's time, so that the class run's "workers idle" is the engine's alone?"""

from __future__ import annotations

import itertools
import types

from course_lib.grading.task import job as task_job
from course_lib.grading.task.job import TASK_OUTSIDE_JOBS, Job, Shared, grade_submissions, grader_manifest
from tests.grading.conftest import ROOT


def test_the_time_outside_the_jobs_goes_to_the_first_outcome(monkeypatch):
    config = (ROOT / "nbgrader_config.py").read_text()
    shared = Shared(
        grader=grader_manifest(config),
        config=config,
        secret=b"",
        gradebooks={},
        sources={},
        limits={"sandbox": False},
        slots={},
        hide=[],
    )

    def graded(scratch, job, shared, outcome):
        outcome.success = True
        return outcome

    ticks = itertools.count()  # a clock that moves one second each time it is read: the sums are exact
    monkeypatch.setattr(task_job, "time", types.SimpleNamespace(monotonic=lambda: float(next(ticks))))
    monkeypatch.setattr(task_job, "_grade_in", graded)
    jobs = [Job("amy", a, {}) for a in ("01_sequence_data", "07_attention")]
    outcomes = grade_submissions(jobs, shared)
    assert [o.success for o in outcomes] == [True, True]
    # reads: 0 the task starts, 1-2 job one, 3-4 job two, 5 the task ends (after the sandbox would have closed)
    assert outcomes[0].timings[TASK_OUTSIDE_JOBS] == 5 - 0 - (1 + 1)
    assert TASK_OUTSIDE_JOBS not in outcomes[1].timings, "counted once per task"
    assert sum(o.seconds for o in outcomes) == 5.0, "the outcomes account for the task's whole time"
