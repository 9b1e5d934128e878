"""``course validate NOTEBOOK``: check a notebook before handing it in, the way the grader will.

The notebook runs top to bottom in a fresh kernel (with the small grading budget), its test cells are
replaced by the same probes ``course grade`` uses, and each exercise is judged outside the kernel.  The
hidden cases use the course's public hidden seed, not the grader's secret one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import nbformat

from course_lib.checks import EXERCISES, MODULES, checks_module
from course_lib.checks.core import HIDDEN_SEED, VISIBLE_SEED
from course_lib.grading.kernel.probe import probe_inputs
from course_lib.grading.task.bwrap import Limits, run_sandboxed
from course_lib.grading.task.judge import Verdict, judge_cell, merge_record, probe_notebook, test_exercise
from course_lib.grading.task.keys import answer_keys
from course_lib.nbgrader_setup import CourseError

__all__ = ["Report", "validate"]


@dataclasses.dataclass
class Report:
    """What ``course validate`` found. ``bonus``: the grade ids of bonus exercises, whose points are counted apart
    (a notebook with every required exercise right has all its required points, whatever the bonus)."""

    notebook: Path
    verdicts: list[Verdict]
    points: dict[str, float]
    notes: list[str]
    bonus: frozenset[str] = frozenset()

    @property
    def passed(self) -> bool:
        """Every required exercise passes (a bonus left undone does not fail the notebook)."""
        required = [v for v in self.verdicts if v.grade_id not in self.bonus]
        return bool(self.verdicts) and all(v.passed for v in required)

    def earned(self, bonus: bool) -> tuple[float, float]:
        """(points earned, points available) of the required (bonus=False) or the bonus exercises."""
        chosen = [v for v in self.verdicts if (v.grade_id in self.bonus) == bonus]
        total = sum(self.points.get(v.grade_id, 0) for v in chosen)
        return sum(self.points.get(v.grade_id, 0) for v in chosen if v.passed), total

    def text(self) -> str:
        lines = [f"{self.notebook}:"]
        lines += [f"  note: {n}" for n in self.notes]
        for v in self.verdicts:
            mark = "PASS" if v.passed else "FAIL"
            kind = "bonus, " if v.grade_id in self.bonus else ""
            lines.append(f"  {mark} {v.grade_id} ({kind}{self.points.get(v.grade_id, 0):g} points): {v.message}")
        earned, total = self.earned(bonus=False)
        lines.append(f"  {earned:g} of {total:g} required autograded points")
        earned, total = self.earned(bonus=True)
        if total:
            lines.append(f"  bonus: {earned:g} of {total:g} points, counted apart from the required ones")
        return "\n".join(lines)


def validate(path: Path, timeout: int = 600, cell_timeout: int = 300) -> Report:
    if not path.is_file():
        raise CourseError(f"no notebook at {path}")
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CourseError(f"{path} is not a valid notebook (JSON): {error}")
    notes = []
    tests = {test_exercise(c) for c in nb.cells} - {None}
    module = _module_of(path, tests)
    unknown = sorted(t for t in tests if f"{module}.{t}" not in EXERCISES)
    if unknown:
        notes.append(f"test cells for unknown exercises {unknown} are skipped")
        for cell in nb.cells:
            if test_exercise(cell) in unknown:
                cell.metadata.pop("nbgrader", None)
    if not tests:
        notes.append("this notebook has no autograded test cells (were they deleted? grading puts them back)")
    seeds = [(VISIBLE_SEED, False), (HIDDEN_SEED, True)]
    keys = answer_keys(nb, module)  # only in an instructor's notebook: a learner's has no hidden tests
    run, probes_at = probe_notebook(nb, module)
    inputs_json, made = probe_inputs(probes_at.values(), lambda exercise: seeds)
    result, record = run_sandboxed(
        nbformat.writes(run),
        Limits(notebook_seconds=timeout, cell_seconds=cell_timeout, memory_mb=16384, threads=2),
        sandbox=False,
        inputs_json=inputs_json,
    )
    probes, events = merge_record(nb, record, probes_at)
    notes += events[:-1] if events and events[-1].startswith("executed") else events
    reason = f"the notebook ran past {timeout} s" if result.timed_out else "the kernel stopped before this cell"
    verdicts, points, bonus = [], {}, set()
    for index, exercise in probes_at.items():
        meta = nb.cells[index].metadata["nbgrader"]
        verdicts.append(
            judge_cell(
                meta["grade_id"],
                exercise,
                probes.get(index),
                seeds,
                reason,
                made=made[exercise],
                key=keys.get(exercise),
            )
        )
        points[meta["grade_id"]] = float(meta.get("points", 0))
        if EXERCISES[exercise].bonus:  # 0 nbgrader points: its points are extra credit (course_lib.grading.task.bonus)
            points[meta["grade_id"]] = float(EXERCISES[exercise].bonus)
            bonus.add(meta["grade_id"])
    return Report(path, verdicts, points, notes, frozenset(bonus))


def _module_of(path: Path, tests: set[str]) -> str:
    """The checks module of a learner's notebook: by its name, or else the one module with all its tests."""
    by_name = checks_module(path.stem)
    if by_name in MODULES:
        return by_name
    fits = [key for key, module in MODULES.items() if tests and tests <= {ex.name for ex in module.EXERCISES}]
    if len(fits) == 1:
        return fits[0]
    raise CourseError(
        f"cannot tell which course notebook {path.name} is: name it as handed out (e.g. 01_sequence_data.ipynb)"
    )
