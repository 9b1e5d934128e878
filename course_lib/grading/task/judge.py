"""The trusted half of grading: what runs in the grader's process, never in a learner's kernel.

1. :func:`probe_notebook` turns a (sanitized) submission into the notebook the sandbox executes: every
   autograded test cell ``test_<exercise>`` is replaced by a probe call, so the kernel never sees the hidden
   tests; the probe's inputs are cases the grader made from its seeds (:func:`~course_lib.grading.kernel.probe.probe_inputs`).
2. :func:`merge_record` reads the sandbox's execution record as untrusted data: outputs are validated and
   size-limited, test cells get no output from the kernel at all.
3. :func:`judge_cell` judges the probe's plain data with the exercise's own ``judge``, on the grader's own
   cases (and, for a quiz, the instructor's answer key: :mod:`course_lib.grading.task.keys`); the verdict becomes
   the test cell's only output, which nbgrader's ``SaveAutoGrades`` turns into points (an error output is
   0 points).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import re
from typing import Any

import nbformat

from course_lib.checks import EXERCISES
from course_lib.checks.core import HIDDEN_SEED, VISIBLE_SEED, CheckFailure, decode_plain, with_key
from course_lib.grading.kernel.probe import MIME, probe_source

__all__ = ["Verdict", "test_exercise", "grading_seeds", "probe_notebook", "merge_record", "judge_cell"]

MAX_TEXT = 20_000  # characters kept of one text output
# JSON values (numbers, lists, objects...) one record line may hold before it is parsed.  Parsed, a value costs
# Python 24-64 bytes for 2-5 characters of text ("[]," is a 56-byte list), so a 48 MB line of them would
# cost the grader ~1 GB; tensors come as base64 strings and cost nothing here.  1e6 values: <= ~64 MB.
MAX_JSON_VALUES = 1_000_000
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"')  # unrolled, possessive: no backtracking stack
_RECORD_INDEX = re.compile(rb'^\{"index": (\d{1,9}),')
MAX_DATA = 2 * 2**20  # bytes kept of one rich output (a figure)
RICH_TYPES = {
    "text/plain",
    "text/html",
    "text/markdown",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "application/vnd.jupyter.widget-view+json",
    "text/latex",
}


@dataclasses.dataclass
class Verdict:
    """The grader's judgement of one test cell."""

    grade_id: str
    exercise: str
    passed: bool
    message: str


def test_exercise(cell) -> str | None:
    """The exercise an autograded test cell checks (``test_<exercise>``), or None for other cells."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
        return None
    grade_id = str(meta.get("grade_id", ""))
    if not grade_id.startswith("test_"):
        return None
    return grade_id[len("test_") :]


def grading_seeds(secret: bytes, assignment: str, student: str, exercise: str) -> list[tuple[int, bool]]:
    """The visible seed, and a hidden seed derived from the course secret: unpredictable, yet the same
    on every re-run, so grading a class twice gives the same scores."""
    if not secret:
        return [(VISIBLE_SEED, False), (HIDDEN_SEED, True)]
    digest = hmac.new(secret, f"{assignment}/{student}/{exercise}".encode(), hashlib.sha256).digest()
    return [(VISIBLE_SEED, False), (int.from_bytes(digest[:4], "big") & 0x7FFFFFFF, True)]


def probe_notebook(nb, module: str) -> tuple[Any, dict[int, str]]:
    """A copy of ``nb`` whose test cells call the probe; returns it and {cell index: exercise key}.

    ``module`` is the notebook's checks module (``nb01_sequence_data``): exercise keys are ``module.name``.
    """
    run = nbformat.from_dict(json.loads(json.dumps(nb)))
    tests: dict[int, str] = {}
    for index, cell in enumerate(run.cells):
        name = test_exercise(cell)
        if name is None:
            continue
        exercise = f"{module}.{name}"
        if exercise not in EXERCISES:
            raise KeyError(f"test cell test_{name} checks an exercise course_lib does not know: {exercise!r}")
        cell.source = probe_source(exercise)
        cell.metadata["course_probe"] = True
        tests[index] = exercise
    for cell in run.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return run, tests


def _json_values(line: bytes) -> int:
    """An upper bound of the JSON values in ``line``, counted without parsing it (strings do not count)."""
    bare = _JSON_STRING.sub(b'""', line)
    return bare.count(b",") + bare.count(b"[") + bare.count(b"{") + 1


def _parse_record(record: bytes) -> tuple[dict[int, dict], list[str]]:
    """The record's cell items and events, one line at a time; a line with more than MAX_JSON_VALUES values
    is not parsed (its cell is recorded as an error that says so), so the grader's memory stays bounded."""
    cells: dict[int, dict] = {}
    events: list[str] = []
    for raw in io.BytesIO(record):
        if _json_values(raw) > MAX_JSON_VALUES:
            index = _RECORD_INDEX.match(raw)
            if index:
                cells[int(index.group(1))] = {
                    "index": int(index.group(1)),
                    "status": "error",
                    "outputs": [
                        {
                            "output_type": "error",
                            "ename": "OutputTooLarge",
                            "traceback": [],
                            "evalue": f"this cell's output holds more than {MAX_JSON_VALUES:,} values (numbers, lists...); "
                            f"return tensors, not Python lists",
                        }
                    ],
                }
            continue
        try:
            item = json.loads(raw)  # bytes: no decoded copy of a 48 MB line (the runner writes ASCII)
        except (ValueError, RecursionError):  # the record is untrusted: a line nested 100,000 deep is skipped
            continue
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("event"), str):
            events.append(item["event"][:500])
        elif isinstance(item.get("index"), int) and isinstance(item.get("outputs"), list):
            cells[item["index"]] = item
    return cells, events


def _clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    text = "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value
    if not isinstance(text, str):
        return ""
    return text if len(text) <= limit else text[:limit] + "\n... (output cut)"


def _clean_output(output: Any) -> dict | None:
    """A well-formed, size-limited copy of one output of a learner's cell, or None."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_clean_text(output.get("text")))
    if kind == "error":
        traceback = output.get("traceback") if isinstance(output.get("traceback"), list) else []
        return nbformat.v4.new_output(
            "error",
            ename=_clean_text(output.get("ename"), 200),
            evalue=_clean_text(output.get("evalue"), 2000),
            traceback=[_clean_text(t, 2000) for t in traceback[:60] if isinstance(t, str)],
        )
    if kind in ("display_data", "execute_result"):
        data = {}
        for mime, value in (output.get("data") or {}).items() if isinstance(output.get("data"), dict) else []:
            if mime in RICH_TYPES:
                text = _clean_text(value, MAX_DATA) if mime.startswith("image/") else _clean_text(value)
                if mime == "application/vnd.jupyter.widget-view+json":
                    continue  # widget state is not kept in the record; the text/plain fallback stays
                data[mime] = text
        # Always display_data, never an execute_result: nbgrader reads a number there as partial credit.
        return nbformat.v4.new_output("display_data", data=data) if data else None
    return None


def merge_record(nb, record: bytes, tests: dict[int, str]) -> tuple[dict[int, dict], list[str]]:
    """Copy the learner cells' outputs from the untrusted record into ``nb`` (in place).

    Returns the record of each test cell (for :func:`judge_cell`) and the runner's events.
    """
    cells, events = _parse_record(record)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        item = cells.get(index)
        cell.execution_count = None
        if index in tests:
            cell.outputs = []
            continue
        outputs = [_clean_output(o) for o in (item or {}).get("outputs", [])[:50]]
        cell.outputs = [o for o in outputs if o is not None]
    return {i: cells[i] for i in tests if i in cells}, events


def judge_cell(
    grade_id: str,
    exercise: str,
    item: dict | None,
    seeds: list[tuple[int, bool]],
    not_run_reason: str,
    made: list | None = None,
    key: Any = None,
    need_key: bool = False,
) -> Verdict:
    """Judge one test cell from its probe output; any doubt is a failure with a reason, never points.

    ``made``: the cases the probe was given, ``[(seed, hidden, cases), ...]`` (made again from the seeds
    if None).  ``key``: a quiz's answer key; with ``need_key`` (``course grade``), a quiz without one is
    not marked (0 points, and the message says why) rather than passed on its form alone.
    """
    spec = EXERCISES[exercise]
    if not spec.callable_answer and key is None and need_key:
        return Verdict(
            grade_id,
            exercise,
            False,
            f"{spec.function} cannot be marked: the course has no answer key "
            f"for it (instructor: give check_{spec.name} a `key=` in the hidden tests of {grade_id})",
        )
    given = {(seed, hidden): cases for seed, hidden, cases in made or ()}
    if item is None:
        return Verdict(grade_id, exercise, False, f"this test did not run: {not_run_reason}")
    payload = None
    for output in item.get("outputs", []):
        if isinstance(output, dict) and isinstance(output.get("data"), dict) and MIME in output["data"]:
            payload = output["data"][MIME]
    if payload is None:
        errors = [o for o in item.get("outputs", []) if isinstance(o, dict) and o.get("output_type") == "error"]
        if (
            any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in errors)
            or item.get("status") == "timeout"
        ):
            return Verdict(
                grade_id,
                exercise,
                False,
                f"{spec.title} ran past the cell's time limit and was stopped (an endless loop?)",
            )
        why = (
            f"{_clean_text(errors[-1].get('ename'), 100)}: {_clean_text(errors[-1].get('evalue'), 300)}"
            if errors
            else "no result came back"
        )
        return Verdict(grade_id, exercise, False, f"the check could not run your code ({why})")
    if not isinstance(payload, dict) or payload.get("exercise") != exercise:
        return Verdict(grade_id, exercise, False, "the check's result was malformed")
    if payload.get("missing"):
        return Verdict(
            grade_id,
            exercise,
            False,
            f"{spec.function} is not defined when this test runs: did you rename it, or delete or move its cell?",
        )
    runs = payload.get("runs") if isinstance(payload.get("runs"), list) else []
    counts = {False: 0, True: 0}
    for seed, hidden in seeds:
        run = next(
            (r for r in runs if isinstance(r, dict) and r.get("seed") == seed and r.get("hidden") == hidden), None
        )
        if run is None:
            return Verdict(grade_id, exercise, False, "the check's result was incomplete")
        cases = given[(seed, hidden)] if (seed, hidden) in given else spec.cases(seed, hidden)
        try:
            results = decode_plain(run.get("results"))
            if not isinstance(results, dict):
                raise ValueError("results are not a mapping")
            spec.judge(with_key(cases, key), results)
        except CheckFailure as failure:
            prefix = "hidden test: " if hidden else ""
            return Verdict(grade_id, exercise, False, prefix + str(failure))
        except Exception as error:  # a result the judge cannot even read is wrong, not a grader crash
            return Verdict(
                grade_id,
                exercise,
                False,
                f"your results could not be checked ({type(error).__name__}: {str(error)[:300]})",
            )
        counts[hidden] += len(cases)
    if not spec.callable_answer and key is None:  # course validate on a learner's notebook: no key there
        return Verdict(
            grade_id,
            exercise,
            True,
            f"✓ {spec.function}: your answer is recorded (every part in the "
            f"expected form); the grader marks it against your instructor's key",
        )
    return Verdict(
        grade_id, exercise, True, f"✓ {spec.title}: {counts[False]} visible and {counts[True]} hidden cases passed"
    )


def verdict_outputs(verdict: Verdict) -> list:
    """The test cell's outputs: a stdout line when it passed, an error (0 points) when it did not."""
    if verdict.passed:
        return [nbformat.v4.new_output("stream", name="stdout", text=verdict.message + "\n")]
    return [
        nbformat.v4.new_output(
            "error", ename="CheckFailure", evalue=verdict.message, traceback=[f"CheckFailure: {verdict.message}"]
        )
    ]
