"""Print how well the checks catch and name the mistakes in the tests' mistake tables, per notebook.

    python benchmarks/mistakes.py [tests/checks/nb04_lstm ...]

Runs the check tests (not the hidden-seed sweep) with ``tests.conftest.fails_with`` recording every call, and
prints, per notebook:

- caught / written: mistakes whose check raised CheckFailure, of the mistakes the tables hold (the untouched
  stub is not counted as a mistake);
- named / caught: caught mistakes whose message matched the pattern the table gives for that mistake *and* is
  not only the generic difference ("... values differ"), i.e. the message says what is wrong;
- accepted / written: correct implementations (tests named ``*accepts*``) that passed.

These are the figures issue 15 asks for.  They come from the repository's own tables, so they say what the
checks do on mistakes someone thought of; an independent run with new mistakes is the real measure.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tests.conftest as conftest  # noqa: E402
from course_lib.checks.core import CheckFailure  # noqa: E402

GENERIC = re.compile(r"values differ|the value differs")


class Recorder:
    """A pytest plugin: wraps fails_with, and notes the outcome of every 'accepts' test."""

    def __init__(self):
        self.mistakes: list[dict] = []
        self.accepts: list[tuple[str, bool]] = []
        self._original = conftest.fails_with

    def fails_with(self, check, fn, pattern, hidden=False):
        record = {
            "file": self.current,
            "test": self.test,
            "pattern": pattern,
            "caught": False,
            "named": False,
            "stub": fn is conftest.stub,
        }
        self.mistakes.append(record)
        try:
            check(fn, hidden=hidden)
        except CheckFailure as failure:
            message = str(failure)
            record["caught"] = True
            record["named"] = bool(re.search(pattern, message, flags=re.S)) and not (
                GENERIC.search(message) and not re.search(pattern, GENERIC.split(message)[0], flags=re.S)
            )
        return self._original(check, fn, pattern, hidden)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.current = str(Path(item.fspath).relative_to(ROOT))
        self.test = item.nodeid

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and "accepts" in report.nodeid.split("::")[-1]:
            self.accepts.append((report.nodeid, report.passed))


def notebook_of(path: str) -> str:
    match = re.search(r"(nb\d\d)", path)
    return match.group(1) if match else "core"


def main(paths: list[str]) -> int:
    recorder = Recorder()
    recorder.current = recorder.test = ""
    conftest.fails_with = recorder.fails_with  # the test modules import it by name, after this line
    code = pytest.main(
        [
            *(paths or ["tests/checks"]),
            "-q",
            "-p",
            "no:cacheprovider",
            "--deselect",
            "tests/checks/test_hidden_seeds.py",
            "-x",
        ],
        plugins=[recorder],
    )
    rows = collections.defaultdict(lambda: collections.Counter())
    for record in recorder.mistakes:
        if record["stub"]:
            continue
        row = rows[notebook_of(record["file"])]
        row["written"] += 1
        row["caught"] += record["caught"]
        row["named"] += record["named"]
    for nodeid, passed in recorder.accepts:
        row = rows[notebook_of(nodeid)]
        row["correct"] += 1
        row["accepted"] += passed
    total = collections.Counter()
    print(f"\n{'notebook':<10}{'caught/written':>16}{'named/caught':>14}{'accepted/correct':>18}")
    for notebook in sorted(rows):
        row = rows[notebook]
        total.update(row)
        print(
            f"{notebook:<10}{row['caught']:>8}/{row['written']:<7}{row['named']:>7}/{row['caught']:<6}"
            f"{row['accepted']:>9}/{row['correct']:<8}"
        )
    print(
        f"{'all':<10}{total['caught']:>8}/{total['written']:<7}{total['named']:>7}/{total['caught']:<6}"
        f"{total['accepted']:>9}/{total['correct']:<8}"
    )
    for record in recorder.mistakes:
        if record["caught"] and not record["named"] and not record["stub"]:
            print(f"caught, not named: {record['test']}")
    if total["caught"]:
        print(
            f"named: {100 * total['named'] / total['caught']:.1f} % of caught; caught: "
            f"{100 * total['caught'] / max(total['written'], 1):.1f} % of written"
        )
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
