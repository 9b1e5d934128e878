"""Shared fixtures: the repository root and a helper that asserts a check fails with a given message."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_lib.checks.core import CheckFailure

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


def fails_with(check, fn, pattern: str, hidden: bool = False) -> str:
    """Assert that ``check(fn)`` raises CheckFailure whose message matches ``pattern``; return the message."""
    with pytest.raises(CheckFailure) as info:
        check(fn, hidden=hidden)
    message = str(info.value)
    assert re.search(pattern, message, flags=re.S), f"message {message!r} does not match {pattern!r}"
    from tests.checks.answer_in_messages import leaked_lines  # reads the solution notebooks once

    leaked = leaked_lines(message)
    assert not leaked, f"message {message!r} hands over solution lines (issue 24):\n" + "\n".join(leaked)
    return message


def stub(*args, **kwargs):
    """The learner stub nbgrader leaves in every solution cell."""
    raise NotImplementedError()


def code_trees(path: Path) -> Iterator[ast.Module]:
    """The parsed source of every code cell of the notebook at ``path`` that is valid Python."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            yield ast.parse(cell.source)
        except SyntaxError:
            continue
