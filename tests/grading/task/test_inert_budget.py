"""Is making one notebook's HTML inert bounded, and is a notebook past the bound that student's named problem?

Rendering and sanitizing cost about 5 s of CPU per MB of markdown tables, so a 20 MB notebook of them cost the
grader minutes with no limit.  :class:`~course_lib.grading.task.inert.Budget` bounds the bytes checked per notebook and
per piece and the CPU seconds; what is past it is turned off unchecked (never shown as HTML).  The limits are
scaled down here so that the tests take milliseconds; ``python benchmarks/inert_budget.py`` times the real ones.
"""

from __future__ import annotations

import nbformat

from course_lib.grading.task import inert
from course_lib.grading.task.inert import OVER_BUDGET, Budget, make_inert

TABLE = "| a | b |\n|---|---|\n" + "".join(f"| {i} | **x{i}** |\n" for i in range(200))  # about 3.3 KB


def _tables(cells: int):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(TABLE) for _ in range(cells)]
    code = nbformat.v4.new_code_cell("table")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<b>x</b>" * 5000, "text/plain": "t"})]
    nb.cells.append(code)
    return nb


def test_past_the_byte_budget_the_rest_is_turned_off_unchecked_and_named():
    nb = _tables(40)
    changes = make_inert(nb, Budget(max_bytes=10 * len(TABLE), max_piece=10**6))
    assert [c.source for c in nb.cells[:10]] == [TABLE] * 10  # checked: ordinary markdown stays
    for cell in nb.cells[10:40]:
        assert cell.source.startswith("*course grade: this cell was not shown") and "| a |" not in cell.source
    assert "text/html" not in nb.cells[40].outputs[0].data and nb.cells[40].outputs[0].data["text/plain"] == "t"
    assert changes[-1] == (
        f"{OVER_BUDGET}: 31 cell(s) from cell 10 on not shown (the notebook's text and HTML are over the "
        f"{10 * len(TABLE) / 2**20:g} MB the grader checks)"
    )


def test_one_piece_over_its_limit_is_turned_off_and_the_rest_is_checked():
    nb = _tables(3)
    nb.cells[1].source = TABLE * 20
    changes = make_inert(nb, Budget(max_bytes=10**7, max_piece=4 * len(TABLE)))
    assert nb.cells[0].source == TABLE and nb.cells[2].source == TABLE
    assert "not shown" in nb.cells[1].source and "KB the grader checks" in changes[-1]
    assert "cell 3" in changes[-2]  # the 40 KB html output is one piece too


def test_past_the_time_budget_the_rest_is_turned_off():
    nb = _tables(5)
    changes = make_inert(nb, Budget(max_seconds=-1.0))  # already spent: nothing is rendered
    assert all("not shown" in c.source for c in nb.cells[:5])
    assert changes[-1].startswith(OVER_BUDGET) and "s of CPU" in changes[-1]


def test_a_notebook_far_over_the_budget_costs_only_the_budget(monkeypatch):
    rendered = []
    real = inert.render_markdown
    monkeypatch.setattr(inert, "render_markdown", lambda source, attachments=None: rendered.append(1) or real(source))
    nb = _tables(3000)  # 10 MB of tables: about a minute of CPU to render and judge them all
    make_inert(nb, Budget(max_bytes=20 * len(TABLE)))
    assert len(rendered) == 20  # the rest is measured, never parsed
