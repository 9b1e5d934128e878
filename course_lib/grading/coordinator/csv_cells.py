"""Spreadsheet-safe CSV cells: no text the grader writes can run as a formula when a CSV file is opened.

Every CSV file ``course`` writes (``grades.csv``, ``grading-stats.csv``, the Canvas/Moodle export) carries
learner-controlled text: student ids, file names in the problems column, mistakes quoted from checks.  A
spreadsheet reads a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
(``=HYPERLINK("evil.example","click here")``).  The OWASP rule (CSV injection): such a cell gets a leading
``'``, which spreadsheets show as text and do not evaluate.  A plain number (``-2.4``, a late penalty or a
negative score) is left as it is: it cannot be a formula, and it must stay a number for the LMS import.
"""

from __future__ import annotations

import csv
import math

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_writer", "SafeDictWriter"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _plain_number(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and text == text.strip()
    except ValueError:
        return False


def safe_cell(value):
    """``value`` as a CSV cell no spreadsheet evaluates: text that starts like a formula gets a ``'`` prefix."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or _plain_number(value):
        return value
    return "'" + value


class _SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, handle, **options):
        self._writer = csv.writer(handle, **options)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def safe_writer(handle, **options) -> _SafeWriter:
    return _SafeWriter(handle, **options)


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose every cell (header included) goes through :func:`safe_cell`."""

    def writerow(self, rowdict):
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})

    def writeheader(self):
        return super().writerow({f: safe_cell(f) for f in self.fieldnames})
