"""One ``check_<exercise>(fn, hidden=False)`` per graded exercise, and the registry grading uses.

A notebook's test cell ``test_<exercise>`` calls ``check_<exercise>`` on the learner's function.
``EXERCISES`` maps every exercise name to its :class:`~course_lib.checks.core.Exercise`; ``course grade``
looks exercises up here to judge in a process the learner's code never touched.
Each notebook's checks live in their own module, ``nb<NN>_<topic>.py``, which defines ``EXERCISES``;
the registry collects every such module in name order.  Notebooks import their checks from their module.
"""

import importlib
import pkgutil

from course_lib.checks import nb01_sequence_data
from course_lib.checks.core import CheckFailure, Exercise
from course_lib.checks.nb01_sequence_data import (
    check_build_vocab,
    check_decode,
    check_encode,
    check_io_structures,
    check_make_char_windows,
    check_make_windows,
    check_one_hot,
    check_pad_batch,
)

_MODULES = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if info.name.startswith("nb")
)

EXERCISES: dict[str, Exercise] = {ex.name: ex for module in _MODULES for ex in module.EXERCISES}

__all__ = [
    "CheckFailure",
    "Exercise",
    "EXERCISES",
    "check_build_vocab",
    "check_decode",
    "check_encode",
    "check_io_structures",
    "check_make_char_windows",
    "check_make_windows",
    "check_one_hot",
    "check_pad_batch",
]
