"""The term at a glance: per exercise (grade cell), how the class did and how well it tells learners apart.

Runs in the coordinator (trusted), from the whole gradebook and the per-exercise failure messages of
``grading-report.json``.  For each grade cell of each assignment's notebooks, over the submissions whose
cell has a score (a written answer awaiting manual grading is counted apart, as ``pending``):

    mean          mean score, and ``mean share`` = mean / points
    full marks    share of submissions with score == points
    item-rest r   the corrected item-total correlation: Pearson's r between the cell's score and the rest of
                  the notebook's total (the notebook's scored cells minus this one); Nunnally & Bernstein,
                  *Psychometric Theory* (1994), 8; "n/a" below 5 submissions or with zero variance
    upper-lower D (mean share in the top 27 %) - (mean share in the bottom 27 %), the groups ranked by the
                  notebook's total (ties broken by student id), k = round(0.27 n) half up (Kelley, 1939,
                  J. Educ. Psychol. 30(1)); "n/a" as for r
    mistake       the most frequent named mistake: the first sentence of each failing message, its numbers
                  and quoted values made placeholders (:func:`mistake_of`), counted; ties: alphabetical

Scores are nbgrader's (a manual score overrides the autograded one), before any late penalty: the
question is the exercise, not the deadline.  Written by :func:`write_stats`: ``grading-stats.csv``,
``grading-stats.md`` and the figure ``grading-stats.png`` (Agg, no display needed), which
:mod:`course_lib.grading.coordinator.report` links from its "Statistics" section.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
from pathlib import Path

import numpy as np

from course_lib.grading.coordinator.csv_cells import safe_writer
from course_lib.grading.task.bonus import bonus_points

__all__ = ["ExerciseStats", "compute", "mistake_of", "section", "text", "write_stats"]

MIN_SUBMISSIONS = 5
GROUP_SHARE = 0.27
NOT_AVAILABLE = "n/a"
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")
_RUN = re.compile(r"<n>(?:\s*,\s*<n>)+")


@dataclasses.dataclass
class ExerciseStats:
    assignment: str
    notebook: str
    cell: str
    points: float
    submissions: int  # with a score for this cell
    pending: int  # awaiting manual grading
    mean: float | None
    full_marks: float | None  # share of the submissions
    item_rest_r: float | None
    upper_lower: float | None
    mistake: str = ""
    mistake_count: int = 0

    @property
    def mean_share(self) -> float | None:
        return None if self.mean is None or not self.points else self.mean / self.points


def mistake_of(message: str) -> str:
    """The message's first sentence, numbers as ``<n>`` (a run of them as ``<n>, …``) and quoted values as
    ``<value>``: one mistake reads the same whatever its learner's numbers."""
    first = _SENTENCE_END.split(message.strip(), maxsplit=1)[0].strip()
    first = _QUOTED.sub("<value>", first)
    return _RUN.sub("<n>, …", _NUMBER.sub("<n>", first))


def _item_rest_r(item: np.ndarray, rest: np.ndarray) -> float | None:
    if len(item) < MIN_SUBMISSIONS or np.ptp(item) == 0 or np.ptp(rest) == 0:
        return None
    x, y = item - item.mean(), rest - rest.mean()
    return float((x @ y) / math.sqrt((x @ x) * (y @ y)))


def _upper_lower(item: np.ndarray, total: np.ndarray, students: list[str], points: float) -> float | None:
    n = len(item)
    if n < MIN_SUBMISSIONS or np.ptp(item) == 0 or not points:
        return None
    k = max(1, int(math.floor(GROUP_SHARE * n + 0.5)))
    order = sorted(range(n), key=lambda i: (-total[i], students[i]))
    upper, lower = item[order[:k]], item[order[-k:]]
    return float((upper.mean() - lower.mean()) / points)


def _mistakes(report: dict) -> dict[tuple[str, str, str], collections.Counter]:
    """(assignment, notebook, cell) -> Counter of the named mistakes of its failing messages."""
    counts: dict[tuple[str, str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for entry in report.values():
        for assignment, data in entry.get("assignments", {}).items():
            for ex in data.get("exercises", []):
                message, score = ex.get("message") or "", ex.get("score")
                if message.strip() and score is not None and score < ex["max"]:
                    counts[assignment, ex["notebook"], ex["cell"]][mistake_of(message)] += 1
    return counts


def compute(db_url: str, report: dict, assignments: list[str] | None = None) -> list[ExerciseStats]:
    """Statistics of every grade cell of the gradebook's assignments (``assignments``: only those)."""
    from nbgrader.api import Gradebook

    from course_lib.grading.coordinator.report import standing
    from course_lib.nbgrader_setup import CourseError

    mistakes = _mistakes(report)
    out = []
    with Gradebook(db_url) as gb:
        known = sorted(a.name for a in gb.assignments)
        unknown = sorted(set(assignments or []) - set(known))
        if unknown:
            raise CourseError(f"the gradebook has no assignment {unknown}; it has {known}")
        for name in assignments or known:
            assignment = gb.find_assignment(name)
            # (notebook, cell) -> [(student, score, notebook total)], and pending counts
            scores: dict[tuple[str, str], list] = collections.defaultdict(list)
            pending: collections.Counter = collections.Counter()
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                exercises = standing(submission)["exercises"]
                totals = collections.Counter()
                for ex in exercises:
                    totals[ex["notebook"]] += ex["score"] or 0.0
                for ex in exercises:
                    if ex["score"] is None:
                        pending[ex["notebook"], ex["cell"]] += 1
                    else:
                        scores[ex["notebook"], ex["cell"]].append(
                            (submission.student.id, float(ex["score"]), float(totals[ex["notebook"]]))
                        )
            for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
                for cell in sorted(notebook.grade_cells, key=lambda c: c.name):
                    out.append(_one(name, notebook.name, cell, scores, pending, mistakes))
    return out


def _one(assignment, notebook, cell, scores, pending, mistakes) -> ExerciseStats:
    rows = scores.get((notebook, cell.name), [])
    points = float(cell.max_score or 0.0) or bonus_points(notebook, cell.name)  # a bonus: its extra credit's points
    item = np.array([r[1] for r in rows], dtype=np.float64)
    total = np.array([r[2] for r in rows], dtype=np.float64)
    counted = mistakes.get((assignment, notebook, cell.name), collections.Counter())
    mistake, count = min(counted.items(), key=lambda kv: (-kv[1], kv[0])) if counted else ("", 0)
    return ExerciseStats(
        assignment,
        notebook,
        cell.name,
        points,
        len(rows),
        pending[notebook, cell.name],
        float(item.mean()) if len(rows) else None,
        float(np.mean(item >= points)) if len(rows) else None,
        _item_rest_r(item, total - item),
        _upper_lower(item, total, [r[0] for r in rows], points),
        mistake,
        count,
    )


def _number(value: float | None, form: str = "{:.2f}") -> str:
    return NOT_AVAILABLE if value is None else form.format(value)


HEADERS = ("assignment", "exercise", "points", "n", "pending", "mean", "mean %", "full marks %", "r (item-rest)")
HEADERS += ("D (27 %)", "most frequent mistake")


def _row(s: ExerciseStats) -> tuple:
    cell = s.cell if s.notebook == s.assignment else f"{s.notebook} / {s.cell}"
    return (
        s.assignment,
        cell,
        f"{s.points:g}",
        str(s.submissions),
        str(s.pending),
        _number(s.mean),
        _number(None if s.mean_share is None else 100 * s.mean_share, "{:.0f}"),
        _number(None if s.full_marks is None else 100 * s.full_marks, "{:.0f}"),
        _number(s.item_rest_r),
        _number(s.upper_lower),
        f"{s.mistake} ({s.mistake_count}×)" if s.mistake_count else "—",
    )


def text(stats: list[ExerciseStats]) -> str:
    """The statistics as a plain-text table for the terminal."""
    from course_lib.grading.coordinator.report import text_table

    return text_table(HEADERS, [_row(s) for s in stats]) if stats else "no exercise in the gradebook"


def section(stats: list[ExerciseStats], figure: str) -> str:
    """The statistics as Markdown (every learner-influenced text through ``cell_text``), linking ``figure``."""
    from course_lib.grading.coordinator.report import cell_text

    lines = [f"![mean and full-marks share per exercise, discrimination as points]({figure})", ""]
    lines += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell_text(x) for x in _row(s)) + " |" for s in stats]
    return "\n".join(lines) + "\n"


def _figure(stats: list[ExerciseStats], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(stats)
    fig = Figure(figsize=(max(6.0, 0.5 * n + 2), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.arange(n, dtype=np.float64)
    ax.bar(x - 0.2, [s.mean_share or 0.0 for s in stats], 0.4, label="mean share of points")
    ax.bar(x + 0.2, [s.full_marks or 0.0 for s in stats], 0.4, label="full-marks share")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share")
    ax.set_xticks(x, [f"{s.assignment.split('_')[0]}/{s.cell}" for s in stats], rotation=60, ha="right", fontsize=8)
    twin = ax.twinx()
    for attr, marker, label in (("item_rest_r", "o", "item-rest r"), ("upper_lower", "^", "upper-lower D (27 %)")):
        shown = [(i, getattr(s, attr)) for i, s in enumerate(stats) if getattr(s, attr) is not None]
        twin.plot([i for i, _ in shown], [v for _, v in shown], marker, color="black", label=label, linestyle="none")
    twin.axhline(0, color="grey", linewidth=0.5)
    twin.set_ylim(-1.05, 1.05)
    twin.set_ylabel("discrimination (n/a: not drawn)")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = [h.get_label() for h in handles]
    ax.legend(handles, labels, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=4, frameon=False)
    for i, s in enumerate(stats):
        if s.mean is None:  # no score at all: not a zero
            ax.text(i, 0.02, "no scores", rotation=90, ha="center", va="bottom", fontsize=8, color="grey")
    if not n:
        ax.text(0.5, 0.5, "no exercise in the gradebook", ha="center", transform=ax.transAxes)
    ax.set_title("Per exercise, over the term")
    fig.savefig(path, bbox_inches="tight")


def write_stats(root: Path, stats: list[ExerciseStats], stem: str = "grading-stats") -> tuple[Path, Path, Path]:
    """``<stem>.csv``, ``<stem>.md`` and ``<stem>.png`` in ``root``."""
    root = Path(root)
    csv_path, md_path, png_path = (root / f"{stem}{ext}" for ext in (".csv", ".md", ".png"))
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = safe_writer(handle)
        writer.writerow(
            [
                *("assignment", "notebook", "exercise", "points", "submissions", "pending", "mean", "mean share"),
                *("full marks share", "item-rest r", "upper-lower D", "most frequent mistake", "mistake count"),
            ]
        )
        for s in stats:
            values = (s.mean, s.mean_share, s.full_marks, s.item_rest_r, s.upper_lower)
            writer.writerow(
                [s.assignment, s.notebook, s.cell, f"{s.points:g}", s.submissions, s.pending]
                + [NOT_AVAILABLE if v is None else repr(v) for v in values]
                + [s.mistake, s.mistake_count]
            )
    md_path.write_text("# Statistics per exercise\n\n" + section(stats, png_path.name), encoding="utf-8")
    _figure(stats, png_path)
    return csv_path, md_path, png_path
