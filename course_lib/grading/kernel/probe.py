"""The probe: the only grading code that runs in the learner's kernel, and the inputs the grader hands it.

Under ``course grade`` each test cell is replaced by a call to :func:`emit`, which runs the learner's
function on the cases of the exercise and displays the results, as plain data, in an output of type
``application/vnd.course-probe+json``.  The cases are not made in the kernel: the grader builds them from
its own secret seeds (:func:`probe_inputs`) and the sandbox holds them as a read-only JSON file, whose path
is in ``$COURSE_PROBE_INPUTS``.  So the kernel needs each exercise's ``run`` step and nothing that makes
cases or judges them (under grading it sees the view of :mod:`course_lib.grading.task.view`).  Nothing is judged
here: the grader judges the returned data in its own process, with the cases it made itself.  Whatever this
module or the kernel is patched to do, it can only change the data the grader receives.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from course_lib.checks import EXERCISES
from course_lib.checks.core import decode_plain, encode_plain, encode_results, run_cases

__all__ = ["INPUTS_ENV", "MIME", "emit", "probe_inputs", "probe_source"]

MIME = "application/vnd.course-probe+json"
INPUTS_ENV = "COURSE_PROBE_INPUTS"

Cases = dict[str, dict[str, Any]]


def probe_source(exercise: str) -> str:
    """The code a test cell is replaced by."""
    return f"__import__('course_lib.grading.kernel.probe', fromlist=['emit']).emit({exercise!r})"


def probe_inputs(exercises, seeds_of: Callable[[str], list[tuple[int, bool]]]) -> tuple[str, dict[str, list]]:
    """The grader's side: every exercise's cases on its seeds.

    Returns the JSON the probe reads, ``{exercise: [{"seed", "hidden", "cases": plain data}, ...]}``, and
    the same cases as objects, ``{exercise: [(seed, hidden, cases), ...]}``, for the judge.
    """
    made: dict[str, list] = {}
    for exercise in dict.fromkeys(exercises):
        spec = EXERCISES[exercise]
        made[exercise] = [(seed, hidden, spec.cases(seed, hidden)) for seed, hidden in seeds_of(exercise)]
    text = json.dumps(
        {
            exercise: [{"seed": seed, "hidden": hidden, "cases": encode_plain(cases)} for seed, hidden, cases in runs]
            for exercise, runs in made.items()
        }
    )
    return text, made


def _inputs(exercise: str) -> list[dict] | None:
    path = os.environ.get(INPUTS_ENV)
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle).get(exercise)


def emit(exercise: str) -> None:
    from IPython import get_ipython
    from IPython.display import display

    spec = EXERCISES[exercise]
    namespace = get_ipython().user_ns
    payload: dict = {"exercise": exercise, "runs": []}
    runs = _inputs(exercise)
    if runs is None:
        payload["no_inputs"] = True
    elif spec.function not in namespace:
        payload["missing"] = spec.function
    else:
        fn = namespace[spec.function]
        for run in runs:
            results = run_cases(spec, fn, decode_plain(run["cases"]))
            payload["runs"].append({"seed": run["seed"], "hidden": run["hidden"], "results": encode_results(results)})
    display({MIME: payload}, raw=True)
