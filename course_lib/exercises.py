"""Which exercise a demonstration cell waits for.

A learner notebook runs top to bottom before its exercises are written; a cell that calls an unwritten
function then fails with the stub's bare ``NotImplementedError()``, which does not say what to do.  Wrapped in
``needs``, it says which exercise to write first, and stays a ``NotImplementedError`` (the only error an
untouched learner notebook may raise, DEVELOPING.md):

    with needs("exercise 7 (perplexity)"):
        print(perplexity(val_logits, val_targets, pad_id))

NotImplementedError: this cell runs your code of exercise 7 (perplexity): write it above, then run this cell again

A cell lists every exercise it uses, numbered as the notebook's headings number them (``tests/test_exercises.py``
reads the headings).  The message names only those still missing: the function whose stub raised (the traceback's
frames name it, also when another exercise called it), and every listed function of the notebook whose code still
holds the stub's ``raise NotImplementedError``.  Where neither can be told, it names them all.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

__all__ = ["needs", "missing"]

_NAME = re.compile(r"\((\w+)\)\s*$")


def _function_name(exercise: str) -> str | None:
    """``"exercise 2 (decoder_step)"`` -> ``"decoder_step"``."""
    match = _NAME.search(exercise)
    return match.group(1) if match else None


def _codes(obj: Any) -> Iterable[types.CodeType]:
    """The code objects of a function, or of every function a class defines, nested ones included."""
    if isinstance(obj, type):
        for value in vars(obj).values():
            yield from _codes(getattr(value, "__func__", value))
        return
    code = getattr(obj, "__code__", None)
    stack = [code] if isinstance(code, types.CodeType) else []
    while stack:
        code = stack.pop()
        yield code
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))


def is_stub(obj: Any) -> bool:
    """Whether a notebook's function (or class) still holds nbgrader's ``raise NotImplementedError()``."""
    return any("NotImplementedError" in code.co_names for code in _codes(obj))


def _frames(error: BaseException) -> list[types.FrameType]:
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def missing(exercises: tuple[str, ...], error: NotImplementedError) -> list[str]:
    """Those of ``exercises`` still unwritten: the one whose stub raised ``error``, then the listed stubs."""
    names = {_function_name(e): e for e in exercises}
    frames = _frames(error)
    raised = [names[f.f_code.co_name] for f in reversed(frames) if f.f_code.co_name in names][:1]
    cell = next((f.f_globals for f in frames if f.f_globals.get("__name__") != __name__), {})
    stubs = [e for name, e in names.items() if name in cell and is_stub(cell[name])]
    found = raised + [e for e in stubs if e not in raised]
    return found or list(exercises)


@contextmanager
def needs(*exercises: str):
    """Run the block; an unwritten exercise's NotImplementedError inside it names those of ``exercises`` still
    missing."""
    try:
        yield
    except NotImplementedError as error:
        left = missing(exercises, error)
        them = "it" if len(left) == 1 else "them"
        raise NotImplementedError(
            f"this cell runs your code of {', '.join(left)}: write {them} above, then run this cell again"
        ) from error
