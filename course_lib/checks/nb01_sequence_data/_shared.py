"""Helpers several of notebook 01's checks share: the seeded generator of hidden cases, and the reading of
a learner's answer as a plain list (of tokens)."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.checks.core import CheckFailure
from course_lib.checks.toolkit import generator

_generator = generator  # the toolkit's


def _token_list(value: Any, what: str) -> list[str]:
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        raise CheckFailure(f"{what} should be a list of strings, but it is a {type(value).__name__}")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        raise CheckFailure(f"{what} should contain strings only, found {bad[0]!r}")
    return list(value)


def _plain_list(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    return value
