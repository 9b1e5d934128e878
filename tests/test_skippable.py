"""Are the course's "skip under grading" marks safe: only on locked nbgrader demo cells, never on a cell that a
later kept cell (a graded test included) reads a name of, read from the course's copy only, and does the solution
with its skipped cells left out still pass every test cell?"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.skippable import (
    bound_names,
    cells_to_skip,
    free_names,
    graded_dependencies,
    is_marked_skip,
    problems,
    skippable_grade_ids,
)
from tests.conftest import ROOT

SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
MARKED = [p for p in SOLUTIONS if skippable_grade_ids(nbformat.read(p, as_version=4))]


def _nb(*sources: str, skip=(), locked=()) -> nbformat.NotebookNode:
    cells = []
    for index, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if index in skip:
            cell.metadata["course"] = {"grading": "skip"}
        if index in locked:
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": f"demo_{index}", "locked": True, "solution": False}
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


@pytest.mark.parametrize(
    "source, free",
    [
        ("x = f(x)", {"f", "x"}),
        ("x = 1\ny = x + 1", set()),
        ("for i in range(n):\n    total = total + i", {"range", "n", "total"}),
        ("with open(p) as fh:\n    print(fh.read())", {"open", "p", "print"}),
        ("def g(a):\n    return a + b\n", {"b"}),
        ("def g(a):\n    c = 1\n    return a + c\n", set()),
        ("[v * w for v in vs]", {"w", "vs"}),
        ("import torch\ntorch.zeros(k)", {"k"}),
        ("total += 1", {"total"}),
        ("%time y = z", {"get_ipython"}),
        ("class M(Base):\n    size = H\n", {"Base", "H"}),
        ("g = lambda q: q + r", {"r"}),
    ],
)
def test_free_names_are_read_before_the_cell_binds_them(source, free):
    assert free_names(source) == free


def test_bound_names_are_the_top_level_bindings():
    assert bound_names("import torch.nn as nn\nfrom a import b\nx, (y, z) = 1, (2, 3)\ndef f(): w = 1\n") == {
        "nn",
        "b",
        "x",
        "y",
        "z",
        "f",
    }
    assert "v" not in bound_names("[v for v in range(3)]")


def test_a_mark_on_an_unlocked_cell_is_a_problem_and_is_not_skippable():
    nb = _nb("x = 1", "print(2)", skip={1})
    assert any("not a locked nbgrader demo cell" in p for p in problems(nb))
    assert skippable_grade_ids(nb) == [], "a learner who copies the mark onto their own cell skips nothing"


def test_a_later_kept_cell_that_reads_a_skipped_name_is_a_problem():
    nb = _nb("x = slow()", "check_it(x)", skip={0}, locked={0})
    assert problems(nb) == ["cell 1 reads 'x', which skipped cell 0 defines"]


def test_a_kept_cell_with_a_magic_may_read_any_skipped_name():
    nb = _nb("x = slow()", "%time check_it(x)", skip={0}, locked={0})
    assert problems(nb) == ["cell 1 reads 'x', which skipped cell 0 defines"]


def test_a_name_rebound_by_a_kept_cell_before_it_is_read_is_fine():
    nb = _nb("fig = slow()", "fig = 2\nprint(fig)", "print(fig)", skip={0}, locked={0})
    assert problems(nb) == []
    assert skippable_grade_ids(nb) == ["demo_0"]


def test_a_skipped_cell_may_read_names_of_kept_cells_and_skipped_ones_may_chain():
    nb = _nb("steps = 3", "model = train(steps)", "plot(model)", "check(f)", skip={1, 2}, locked={1, 2})
    assert problems(nb) == []


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_every_solution_notebook_marks_only_safe_cells(path):
    nb = nbformat.read(path, as_version=4)
    assert problems(nb) == []
    for cell in nb.cells:
        if is_marked_skip(cell):
            assert cell.metadata["nbgrader"]["grade_id"] in skippable_grade_ids(nb)


# Code cells that stay unmarked although no graded test reads them: a knob the learner may change (README, "A
# notebook": it goes in its own unlocked cell before the skipped demonstration that reads it).
KNOBS = {("02_rnn", "tang-live-steps")}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_every_demonstration_that_no_graded_test_reads_is_marked(path):
    """Grading runs only what a grade needs: a code cell that is neither an exercise nor its test, and that no
    graded test reads a name of (course_lib.skippable.graded_dependencies), carries the skip mark."""
    nb = nbformat.read(path, as_version=4)
    needed = graded_dependencies(nb)
    unmarked = [
        c.get("id") or index
        for index, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and index not in needed
        and not c.metadata.get("nbgrader", {}).get("solution")
        and not c.metadata.get("nbgrader", {}).get("grade")
        and not is_marked_skip(c)
        and (path.parent.name, c.get("id")) not in KNOBS
    ]
    assert not unmarked, f"demonstration cells that grading would run for nothing: {unmarked}"
    assert len(skippable_grade_ids(nb)) == sum(is_marked_skip(c) for c in nb.cells)


def test_the_learner_notebooks_carry_the_marks_on_cells_the_learner_may_edit_but_not_delete():
    """nbgrader's release keeps the course metadata; `course release` leaves the demonstrations editable (grading
    restores a locked cell's source) and nbgrader keeps them undeletable."""
    for path in MARKED:
        learner = nbformat.read(ROOT / "notebooks" / path.relative_to(ROOT / "solutions"), as_version=4)
        marked = [c for c in learner.cells if is_marked_skip(c)]
        assert [c.metadata["nbgrader"]["grade_id"] for c in marked] == skippable_grade_ids(
            nbformat.read(path, as_version=4)
        )
        assert all(c.metadata.get("editable") is True and c.metadata.get("deletable") is False for c in marked)


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_the_solution_with_its_skipped_cells_emptied_passes_every_test_cell(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    nb = nbformat.read(path, as_version=4)
    kept = copy.deepcopy(nb)
    skipped = cells_to_skip(kept, nb)  # as course grade's runner does: the cells stay, their source goes
    assert skipped == [i for i, c in enumerate(nb.cells) if is_marked_skip(c)]
    for index in skipped:
        kept.cells[index].source = "# not run under grading"
    NotebookClient(
        kept, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        (c.metadata.get("nbgrader", {}).get("grade_id"), o.ename, o.evalue[:200])
        for c in kept.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, errors
    tests = [c for c in kept.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    silent = [
        c.metadata["nbgrader"]["grade_id"] for c in tests if "✓" not in "".join(o.get("text", "") for o in c.outputs)
    ]
    assert tests and not silent, f"test cells that printed no ✓: {silent}"


def _locked(cell, grade_id):
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": True, "solution": False}
    return cell


def _source_and_submission(*sources, marks=("demo_0",)):
    source = _nb(*sources)
    for index, cell in enumerate(source.cells):
        _locked(cell, f"demo_{index}")
        if f"demo_{index}" in marks:
            cell.metadata["course"] = {"grading": "skip"}
    submission = copy.deepcopy(source)
    for cell in submission.cells:
        cell.metadata.pop("course", None)
    return source, submission


def test_cells_to_skip_reads_the_marks_from_the_course_copy_only():
    source, submission = _source_and_submission("x = slow()", "check(f)")
    assert cells_to_skip(submission, source) == [0], "the submission's cells carry no marks; the course's copy does"
    unmarked = copy.deepcopy(source)
    unmarked.cells[0].metadata.pop("course")
    learner = copy.deepcopy(submission)
    learner.cells[1].metadata["course"] = {"grading": "skip"}  # a learner copies the mark onto a cell
    assert cells_to_skip(learner, unmarked) == []


def test_a_learner_cell_that_copies_the_mark_is_not_skipped():
    source, submission = _source_and_submission("x = slow()", "y = 1", marks=("demo_0",))
    own = nbformat.v4.new_code_cell("expensive_but_mine()")
    own.metadata["course"] = {"grading": "skip"}
    submission.cells.append(own)
    assert cells_to_skip(submission, source) == [0]


def test_a_skipped_cell_whose_name_the_learner_reads_is_run_after_all():
    source, submission = _source_and_submission("x = slow()", "def f():\n    return x\n", "check(f)")
    submission.cells[1].metadata.pop("nbgrader")  # the learner's solution cell, which reads x
    assert cells_to_skip(submission, source) == []
    submission.cells[1].source = "def f():\n    return 1\n"
    assert cells_to_skip(submission, source) == [0]
