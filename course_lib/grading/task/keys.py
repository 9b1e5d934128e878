"""Quiz answer keys: read by the grader from the instructor's test cell, never handed to a learner.

An exercise whose answer is a value (``callable_answer=False``: a quiz, a multiple choice) is marked against
a key the instructor writes in the hidden part of its test cell in the source notebook (between nbgrader's
hidden-tests markers, after the visible call)::

    check_io_structures(IO_STRUCTURES)
    # ... the BEGIN marker of nbgrader's hidden tests ...
    check_io_structures(IO_STRUCTURES, key={"<question>": "<its answer>", ...})
    # ... its END marker ...

(neither the markers nor a real answer are written out here: the learner's package holds this file, and
tests/test_package.py checks that no file of it carries a marker or a line of a hidden test).

nbgrader strips hidden tests from the learner's notebook and keeps the whole cell in the gradebook; at
autograding it puts the gradebook's cell back (``OverwriteCells``), whatever the submission's cell says.
:func:`answer_keys` reads the key from that cell, as a Python literal (``ast.literal_eval``: nothing is
executed), before the cell is replaced by a probe, so the key never enters the sandbox.
"""

from __future__ import annotations

import ast
from typing import Any

from course_lib.checks import EXERCISES
from course_lib.grading.task.judge import test_exercise as exercise_of

__all__ = ["answer_key", "answer_keys"]


def answer_key(source: str, check: str) -> Any:
    """The literal ``key=`` of a call to ``check`` in ``source``, or None.

    Raises ValueError when the key is there but is not a literal (the instructor's cell is wrong).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == check:
            for keyword in node.keywords:
                if keyword.arg == "key":
                    try:
                        return ast.literal_eval(keyword.value)
                    except ValueError as error:
                        raise ValueError(f"the key given to {check} is not a plain literal: {error}") from None
    return None


def answer_keys(nb, module: str) -> dict[str, Any]:
    """{exercise key: answer key} of the quizzes among ``nb``'s test cells (``module``: the checks module)."""
    keys = {}
    for cell in nb.cells:
        name = exercise_of(cell)
        exercise = EXERCISES.get(f"{module}.{name}") if name else None
        if exercise is not None and not exercise.callable_answer:
            key = answer_key(cell.source, f"check_{exercise.name}")
            if key is not None:
                keys[f"{module}.{name}"] = key
    return keys
