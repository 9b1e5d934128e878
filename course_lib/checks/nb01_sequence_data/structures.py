"""Check of the structures quiz ``IO_STRUCTURES``: each task's input/output structure, 'N-N', 'N-1' or
'1-N'.  The check compares salted hashes, so the answers are not in this file."""

from __future__ import annotations

import hashlib

from course_lib.checks.core import CheckFailure, Exercise, result_of

__all__ = ["IO_STRUCTURES", "STRUCTURE_TASKS", "STRUCTURES", "ANSWER_DIGESTS", "check_io_structures"]

# sha256(salt + task + "=" + answer) of the right answers; the answers themselves are not stored here.
_SALT = "seqmod-01:"
STRUCTURE_TASKS = (
    "sentiment of a review",
    "next character at every step",
    "caption from one image",
    "part-of-speech tag of every word",
    "tomorrow's temperature from the last 30 days",
)
STRUCTURES = ("N-N", "N-1", "1-N")


def _digest(task: str, answer: str) -> str:
    return hashlib.sha256(f"{_SALT}{task}={answer}".encode()).hexdigest()


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
        raise CheckFailure(f"IO_STRUCTURES should be a dict from task to 'N-N', 'N-1' or '1-N', got {type(answers).__name__}")
    for task in STRUCTURE_TASKS:
        if task not in answers:
            raise CheckFailure(f"IO_STRUCTURES has no answer for {task!r}")
        answer = answers[task]
        if answer not in STRUCTURES:
            raise CheckFailure(f"the answer for {task!r} should be one of {STRUCTURES}, got {answer!r}")
        if _digest(task, answer) != ANSWER_DIGESTS[task]:
            raise CheckFailure(f"{task!r}: {answer!r} is not right. Ask: how many inputs, and how many outputs?")


ANSWER_DIGESTS = {
    'sentiment of a review': 'a4e28cc5adf798f0eab5e1706294fc20b74742201796ab33bb83131821575942',
    'next character at every step': '15c5ea864f547d788a267af2caff6b09640843a508578870dfb2eefdb8af31ea',
    'caption from one image': 'b841cfc22faf6baae9c21846bf89884ca27ed46819531a14fa342282e3b3c2ab',
    'part-of-speech tag of every word': '8567f332b2e69542d2dcb4a7db232d3b728fb1599d32c9547092cf64444943d9',
    "tomorrow's temperature from the last 30 days": '7654059e596aea8f9b5ac0b24888879e110cb685eca35833aaac9bfaa86f6a88',
}

IO_STRUCTURES = Exercise("io_structures", "IO_STRUCTURES", _quiz_cases, _quiz_run, _quiz_judge, callable_answer=False)

check_io_structures = IO_STRUCTURES.check
