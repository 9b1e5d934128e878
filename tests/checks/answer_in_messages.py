"""Does a check's failure message hand over a line of an exercise's solution?

Issue 24: "The whole recipe or the full expected answer is never the message".  A message says what is wrong and
where, and the idea to check, never the line to type.  ``leaked_lines(message)`` lists the solution lines (of any
exercise of any solution notebook) that a message contains, normalised as ``tests/test_no_answer_in_text.py``
normalises a learner notebook (whitespace, ``torch.``/``F.`` prefixes, ``return``, LaTeX spelling).  A message is
short and precise, so shorter lines count here than there: a line of ``MIN_TOKENS`` tokens or more
(``h = h.detach()`` is seven) is a leak when the message holds it token for token; a longer one when the message
holds 85 % of it in order, as in the notebook test.

``tests/conftest.py``'s ``fails_with`` asks this of every message it sees, so every mistake in the tables of
``tests/checks/`` (the ones ``benchmarks/mistakes.py`` counts) is a case of this test.
"""

from __future__ import annotations

import re
from functools import cache

import nbformat

from tests.conftest import ROOT
from tests.test_no_answer_in_text import MIN_TOKENS as NOTEBOOK_MIN_TOKENS
from tests.test_no_answer_in_text import holds, solution_lines, statements, tokens

MIN_CHARS = 12  # `h = h.detach()` is 14; `return h, c` and shorter are idiom, not an answer
MIN_TOKENS = 6

__all__ = ["leaked_lines"]


@cache
def _solution_lines() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(grade id, line, tokens) for every statement of every solution region of every solution notebook."""
    out = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
            for line in solution_lines(cell.source, min_chars=MIN_CHARS):
                for statement in statements(line):
                    wanted = tokens(statement)
                    if len(wanted) >= MIN_TOKENS:
                        out.append((f"{path.parent.name}:{grade_id}", line, tuple(wanted)))
    return tuple(out)


def _contains(wanted: tuple[str, ...], have: list[str]) -> bool:
    if len(wanted) < NOTEBOOK_MIN_TOKENS:
        n = len(wanted)
        return any(tuple(have[i : i + n]) == wanted for i in range(len(have) - n + 1))
    return holds(list(wanted), have)


def leaked_lines(message: str) -> list[str]:
    """'<notebook>:<grade id>: <line>' for each solution line that ``message`` contains."""
    clauses = [tokens(part) for part in re.split(r"[.;:,]\s+|\n", message) if part.strip()]
    clauses.append(tokens(message))
    found = []
    for where, line, wanted in _solution_lines():
        if any(_contains(wanted, have) for have in clauses):
            found.append(f"{where}: {line}")
    return found
