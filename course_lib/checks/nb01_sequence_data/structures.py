"""Check of the structures quiz ``IO_STRUCTURES``: each task's input/output structure, 'N-N', 'N-1' or
'1-N'.

The answers are not in course_lib.  The key lives with the instructor, in the hidden tests of the source
notebook (``check_io_structures(IO_STRUCTURES, key={...})``), which nbgrader keeps out of the learner's
notebook; ``course grade`` reads it from the gradebook and marks the answers in its own process.  In the
learner's notebook the check has no key: it checks the answers' form and says they are recorded.  (A salted
hash of each answer would not do: with three choices per task it is reversed in a line.)
"""

from __future__ import annotations

from course_lib.checks.core import CheckFailure, Exercise, result_of

__all__ = ["IO_STRUCTURES", "STRUCTURE_TASKS", "STRUCTURES", "check_io_structures"]

STRUCTURE_TASKS = (
    "sentiment of a review",
    "next character at every step",
    "caption from one image",
    "part-of-speech tag of every word",
    "tomorrow's temperature from the last 30 days",
)
STRUCTURES = ("N-N", "N-1", "1-N")


def _quiz_cases(seed, hidden):
    return {"answers": {}}


def _quiz_run(fn, case):
    answers = fn() if callable(fn) else fn
    return dict(answers) if isinstance(answers, dict) else answers


def _quiz_judge(cases, results):
    answers = result_of(results, "answers", "io_structures")
    if isinstance(answers, dict) and answers and all(v is None for v in answers.values()):
        raise CheckFailure("IO_STRUCTURES is not implemented yet: replace each None with 'N-N', 'N-1' or '1-N'")
    if not isinstance(answers, dict):
        raise CheckFailure(
            f"IO_STRUCTURES should be a dict from task to 'N-N', 'N-1' or '1-N', got {type(answers).__name__}"
        )
    for task in STRUCTURE_TASKS:
        if task not in answers:
            raise CheckFailure(f"IO_STRUCTURES has no answer for {task!r}")
        answer = answers[task]
        if answer not in STRUCTURES:
            raise CheckFailure(f"the answer for {task!r} should be one of {STRUCTURES}, got {answer!r}")
    key = cases["answers"].get("key")
    if key is None:
        return  # the learner's notebook: the form is all that can be checked here
    for task in STRUCTURE_TASKS:
        if answers[task] != key.get(task):
            raise CheckFailure(f"{task!r}: {answers[task]!r} is not right. Ask: how many inputs, and how many outputs?")


IO_STRUCTURES = Exercise("io_structures", "IO_STRUCTURES", _quiz_cases, _quiz_run, _quiz_judge, callable_answer=False)

check_io_structures = IO_STRUCTURES.check
