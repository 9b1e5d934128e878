"""The only grading code that runs in the learner's kernel: call the learner's function on the cases.

Under ``course grade`` each test cell is replaced by a call to :func:`emit`, which runs the learner's
function on the cases of the given seeds and displays the results, as plain data, in an output of type
``application/vnd.course-probe+json``.  Nothing is judged here: the grader regenerates the cases from
its own seeds and judges the returned data in its own process.  Whatever this module or the kernel is
patched to do, it can only change the data the grader receives.
"""

from __future__ import annotations

from course_lib.checks import EXERCISES
from course_lib.checks.core import encode_results, run_cases

__all__ = ["MIME", "emit", "probe_source"]

MIME = "application/vnd.course-probe+json"


def probe_source(exercise: str, seeds: list[tuple[int, bool]]) -> str:
    """The code a test cell is replaced by (seeds: (seed, hidden) pairs)."""
    return f"__import__('course_lib.grading.probe', fromlist=['emit']).emit({exercise!r}, {seeds!r})"


def emit(exercise: str, seeds: list[tuple[int, bool]]) -> None:
    from IPython import get_ipython
    from IPython.display import display

    spec = EXERCISES[exercise]
    namespace = get_ipython().user_ns
    payload: dict = {"exercise": exercise, "runs": []}
    if spec.function not in namespace:
        payload["missing"] = spec.function
    else:
        fn = namespace[spec.function]
        for seed, hidden in seeds:
            results = run_cases(spec, fn, spec.cases(seed, hidden))
            payload["runs"].append({"seed": seed, "hidden": hidden, "results": encode_results(results)})
    display({MIME: payload}, raw=True)
