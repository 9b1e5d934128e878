"""One ``check_<exercise>(fn, hidden=False)`` per graded exercise, and the registry grading uses.

A notebook's test cell ``test_<exercise>`` calls ``check_<exercise>`` on the learner's function.
``EXERCISES`` maps every exercise's key, ``<module>.<name>`` (``nb01_sequence_data.encode``), to its
:class:`~course_lib.checks.core.Exercise`; ``course grade`` looks exercises up here to judge in a process
the learner's code never touched.  Names are unique within a notebook, not across the course (notebook
01's ``encode`` is not notebook 06's), so the key carries the module: assignment ``NN_topic`` has its
checks in ``nbNN_topic``.
Each notebook's checks live in their own package, ``nb<NN>_<topic>/`` (one submodule per exercise; a module
``nb<NN>_<topic>.py`` while they are small, as 07's are), which
defines ``EXERCISES``; the registry collects every such package in name order.  Notebooks import their
checks from their package.
"""

import importlib
import pkgutil

from course_lib.checks.core import CheckFailure, Exercise
from course_lib.checks.nb01_sequence_data import (
    check_build_vocab,
    check_decode,
    check_embedding_grad,
    check_encode,
    check_io_structures,
    check_make_char_windows,
    check_make_windows,
    check_oov_rate,
    check_pad_batch,
)

_MODULES = tuple(
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if info.name.startswith("nb")
)

MODULES = {module.__name__.rsplit(".", 1)[1]: module for module in _MODULES}
EXERCISES: dict[str, Exercise] = {f"{key}.{ex.name}": ex for key, module in MODULES.items() for ex in module.EXERCISES}


def checks_module(assignment: str) -> str:
    """The checks module of an assignment: ``01_sequence_data`` -> ``nb01_sequence_data``."""
    return f"nb{assignment}"


__all__ = [
    "CheckFailure",
    "Exercise",
    "EXERCISES",
    "MODULES",
    "checks_module",
    "check_build_vocab",
    "check_decode",
    "check_embedding_grad",
    "check_encode",
    "check_io_structures",
    "check_make_char_windows",
    "check_make_windows",
    "check_oov_rate",
    "check_pad_batch",
]
