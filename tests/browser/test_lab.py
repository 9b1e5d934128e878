"""The course as a learner sees it: JupyterLab in headless Chromium, clicking what a person clicks.

Does JupyterLab open the course with nbgrader's extensions?  Does the untouched learner notebook fail
only where an exercise is unfinished?  Does a solved notebook run without a red box, with its training
progress bars (tqdm's ipywidgets bar) and its figures?  Does nbgrader's Validate button say "Success" on
a solved notebook and list the failing tests on an untouched one?  Does formgrader list the course's
assignments?  Each step leaves a screenshot (see conftest.py for where).
"""

from __future__ import annotations

import re
import uuid

import nbformat
import pytest

pytest.importorskip("playwright", reason="Playwright is not installed: pip install playwright (the [test] extra)")

from tests.browser import lab_steps as lab_ui  # noqa: E402  (after the skip above)
from tests.browser.conftest import (  # noqa: E402
    learner_notebooks,
    learner_path,
    solution_notebooks,
    solved_path,
    validated_notebooks,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 300_000  # one Run > ... of a whole notebook, with COURSE_QUICK=1
WIDGET_FAILURES = re.compile(
    r"Error displaying widget|Loading widget\.\.\.|^\s*HBox\(children=|IProgress not found", re.M
)


def _workspace(name: str) -> str:
    """A fresh JupyterLab workspace per test, so that no tab from an earlier test is restored."""
    return f"{re.sub(r'[^A-Za-z0-9]+', '-', name)}-{uuid.uuid4().hex[:6]}"


def _grade_cells(path, cell_type: str | None = None) -> dict[int, str]:
    """The graded cells of a notebook, index -> source: autograded tests (code) and written answers
    (markdown); only those of ``cell_type`` if given."""
    nb = nbformat.read(path, as_version=4)
    return {
        i: cell.source.strip()
        for i, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("grade") and cell_type in (None, cell.cell_type)
    }


def _describe(cell: lab_ui.Cell) -> str:
    error = cell.error
    return f"cell {cell.index}: {error.name}: {error.last_line[:300]}" if error else f"cell {cell.index}"


def test_lab_opens_with_the_nbgrader_extensions(page, lab, shoot):
    """JupyterLab starts on the course with nbgrader's menu (assignment list, formgrader, create assignment)."""
    lab_ui.open_lab(page, lab, _workspace("lab"))
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
    items = page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
    shoot("00-lab-nbgrader-menu")
    page.keyboard.press("Escape")
    for wanted in ("Assignment List", "Formgrader", "Create assignment"):
        assert wanted in items, f"nbgrader's lab extension is missing {wanted!r} from its menu; the menu has {items}"


@pytest.mark.parametrize("name", learner_notebooks())
def test_learner_notebook_fails_only_at_the_exercises(page, lab, shoot, name):
    """Run > Run All Cells on the untouched learner notebook (it stops at the first exercise), then every
    later code cell one at a time (Run Selected Cell), as a learner who reads on does.
    Every error must be an unfinished exercise's (the stub's NotImplementedError, or a check saying "not
    implemented yet"), every autograded test cell must fail, and nothing writes a warning."""
    path = learner_path(name)
    lab_ui.open_notebook(page, lab, path, _workspace(name))
    shoot(f"{name}-learner-1-opened")

    errors: list[lab_ui.Error] = []
    problems: list[str] = []
    seen: set[int] = set()

    def record(result: lab_ui.Run) -> None:
        for cell in result.ran:
            if cell.index in seen:
                continue
            seen.add(cell.index)
            if cell.error:
                errors.append(cell.error)
                if not cell.error.is_learner_stub:
                    problems.append(f"{_describe(cell)}  <- not an unfinished exercise's error")
                    lab_ui.scroll_to_cell(page, cell.index, block="center")
                    shoot(f"{name}-learner-UNEXPECTED-cell{cell.index}")
            problems.extend(f"cell {cell.index} wrote to stderr: {text.strip()[:300]}" for text in cell.warnings)

    result = lab_ui.run(page, "Run All Cells", 0, RUN_TIMEOUT_MS)
    record(result)
    last = max(result.ran, key=lambda c: c.count)
    if last.error is None and any(c.kind == "code" and c.count is None for c in result.cells):
        problems.append(f"the run stopped at cell {last.index} without a traceback: {last.text[:300]!r}")
    lab_ui.scroll_to_cell(page, last.index, block="center")
    shoot(f"{name}-learner-2-first-exercise-error")
    for cell in result.cells:
        if cell.kind == "code" and cell.index > last.index:
            lab_ui.select_cell(page, cell.index)
            result = lab_ui.run(page, "Run Selected Cell", cell.index, RUN_TIMEOUT_MS)
            record(result)
    lab_ui.scroll_to_cell(page, len(result.cells) - 1)
    shoot(f"{name}-learner-3-end")

    assert not problems, f"{path} in JupyterLab:\n" + "\n".join(problems)
    never_run = [c.index for c in result.cells if c.kind == "code" and c.count is None]
    assert not never_run, f"{path}: code cells {never_run} never ran"
    failed = {e.cell for e in errors}
    passing_tests = [i for i in _grade_cells(lab.course / path, "code") if i not in failed]
    assert not passing_tests, (
        f"{path}: the autograded test cell(s) {passing_tests} pass on the untouched stub; "
        "an unfinished exercise must score 0"
    )


@pytest.mark.parametrize("name", solution_notebooks())
def test_solved_notebook_runs_clean_with_progress_bars_and_figures(page, lab, shoot, name):
    """Run > Run All Cells on a solved copy: no error, no warning, every code cell ran, tqdm's widget
    progress bars render (ipywidgets works in this JupyterLab) and finish, and the figures appear."""
    path = solved_path(name)
    lab_ui.open_notebook(page, lab, path, _workspace(name))
    shoot(f"{name}-solved-1-opened")
    result = lab_ui.run(page, "Run All Cells", 0, RUN_TIMEOUT_MS)
    errors = [_describe(c) for c in result.cells if c.error]
    warnings = [f"cell {c.index}: {text.strip()[:300]}" for c in result.cells for text in c.warnings]
    never_run = [c.index for c in result.cells if c.kind == "code" and c.count is None]
    assert not errors, f"{path} raised in JupyterLab:\n" + "\n".join(errors)
    assert not warnings, f"{path} wrote to stderr (a learner sees a red box):\n" + "\n".join(warnings)
    assert not never_run, f"{path}: code cells {never_run} never ran"

    # widgets render asynchronously (their models arrive over a comm), so wait for one
    page.locator(f"{lab_ui.NOTEBOOK} .jp-OutputArea-output .widget-hprogress").first.wait_for(timeout=30_000)
    result_cells = lab_ui.cells(page)
    with_bars = [c for c in result_cells if c.progress]
    with_figures = [c for c in result_cells if c.images]
    broken_widgets = [f"cell {c.index}" for c in result_cells if WIDGET_FAILURES.search(c.text)]
    assert with_bars, f"{path}: no training progress bar rendered as a widget"
    assert not broken_widgets, f"{path}: widgets did not render in {broken_widgets}"
    failed_bars = [c.index for c in with_bars if any("progress-bar-danger" in bar for bar in c.progress)]
    assert not failed_bars, f"{path}: progress bars stopped short (tqdm marks them red) in cells {failed_bars}"
    assert with_figures, f"{path}: no figure appeared"
    broken = [c.index for c in with_figures if not all(img["complete"] and img["width"] > 0 for img in c.images)]
    assert not broken, f"{path}: figures in cells {broken} did not load"

    lab_ui.scroll_to_cell(page, with_bars[0].index, outputs=True)
    shoot(f"{name}-solved-2-progress-bar")
    figure = next((c for c in with_figures if c.index != with_bars[0].index), with_figures[0])
    lab_ui.scroll_to_cell(page, figure.index, outputs=True)
    shoot(f"{name}-solved-3-figure")
    lab_ui.scroll_to_cell(page, len(result_cells) - 1)
    shoot(f"{name}-solved-4-end")


@pytest.mark.parametrize("name", validated_notebooks())
def test_validate_says_success_on_the_solved_copy(page, lab, shoot, name):
    """nbgrader's Validate button on a solved notebook: the success dialog."""
    lab_ui.open_notebook(page, lab, solved_path(name), _workspace(name))
    kind, text = lab_ui.validate(page)
    shoot(f"{name}-validate-solved")
    lab_ui.close_dialog(page)
    assert kind == "success", f"Validate on the solved {name} did not succeed:\n{text[:3000]}"
    assert "passes all the tests" in text, text


@pytest.mark.parametrize("name", validated_notebooks())
def test_validate_lists_every_test_as_failing_on_the_untouched_stub(page, lab, shoot, name):
    """nbgrader's Validate button on the learner notebook as released: a failure dialog that lists every
    graded cell (each autograded test, for an unfinished exercise; each unanswered written answer)."""
    path = learner_path(name)
    lab_ui.open_notebook(page, lab, path, _workspace(name))
    kind, text = lab_ui.validate(page)
    failed = lab_ui.failed_cells(page)
    shoot(f"{name}-validate-stub")
    lab_ui.close_dialog(page)
    assert kind == "error" and failed is not None, f"Validate on the untouched {name} did not fail:\n{text[:3000]}"
    graded = _grade_cells(lab.course / path)
    listed = [cell["source"].strip() for cell in failed]
    assert sorted(listed) == sorted(graded.values()), (
        f"Validate should list the {len(graded)} graded cells (tests and written answers) as failing; "
        f"it listed {len(listed)}:\n" + "\n---\n".join(listed)
    )
    tests = set(_grade_cells(lab.course / path, "code").values())
    not_stub = [
        cell["source"].strip()
        for cell in failed
        if cell["source"].strip() in tests
        and "not implemented yet" not in cell["error"]
        and "NotImplementedError" not in cell["error"]
    ]
    assert not not_stub, f"Validate failed these test cells for another reason than an unfinished exercise: {not_stub}"


def test_formgrader_lists_the_course_assignments(page, lab, shoot):
    """Nbgrader > Formgrader shows every assignment of solutions/ (nbgrader's source directory)."""
    lab_ui.open_lab(page, lab, _workspace("formgrader"))
    lab_ui.menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator(".jp-MainAreaWidget iframe").first
    rows = frame.locator("#main-table td.name")
    try:
        rows.first.wait_for(timeout=60_000)
    except lab_ui.PlaywrightTimeout:
        shoot("formgrader-FAILED")
        raise AssertionError(f"formgrader listed no assignment; server log:\n{lab.log_tail()}") from None
    listed = [t.strip() for t in rows.all_inner_texts()]
    shoot("formgrader-assignments")
    expected = sorted(p.name for p in (lab.course / "solutions").iterdir() if any(p.glob("*.ipynb")))
    missing = [a for a in expected if a not in listed]
    assert not missing, f"formgrader lists {listed}; missing {missing}"
