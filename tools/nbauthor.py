"""Authoring aid: turn a cell script into an nbgrader source notebook under solutions/.

The notebook it writes is the source of truth afterwards (edit it in JupyterLab); this tool only saves
typing the nbgrader metadata by hand when a notebook is first written.  Cell script format: cells are
separated by marker lines, the content below a marker is the cell's source as is (markdown unprefixed)::

    #%% markdown                      a markdown cell
    #%% code                          a plain code cell
    #%% solution id=rnn_cell          a graded exercise's solution cell (### BEGIN/END SOLUTION inside)
    #%% tests id=test_rnn_cell points=2   an autograded test cell (### BEGIN/END HIDDEN TESTS inside)
    #%% manual id=why_shared points=2 a manually graded written answer (markdown)

Usage: python tools/nbauthor.py cells.txt solutions/02_rnn/02_rnn.ipynb
"""

from __future__ import annotations

import sys

import nbformat


def build(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    cells = []
    kind, attrs, lines = None, {}, []

    def flush():
        if kind is None:
            return
        source = "\n".join(lines).strip("\n")
        meta = {}
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        elif kind == "code":
            cell = nbformat.v4.new_code_cell(source)
        elif kind == "solution":
            cell = nbformat.v4.new_code_cell(source)
            meta = {"grade": False, "solution": True, "locked": False, "grade_id": attrs["id"], "schema_version": 3}
        elif kind == "tests":
            cell = nbformat.v4.new_code_cell(source)
            meta = {
                "grade": True,
                "solution": False,
                "locked": True,
                "grade_id": attrs["id"],
                "points": float(attrs["points"]),
                "schema_version": 3,
            }
        elif kind == "manual":
            cell = nbformat.v4.new_markdown_cell(source)
            meta = {
                "grade": True,
                "solution": True,
                "locked": False,
                "grade_id": attrs["id"],
                "points": float(attrs["points"]),
                "schema_version": 3,
            }
        else:
            raise SystemExit(f"unknown cell kind {kind!r}")
        if meta:
            cell.metadata["nbgrader"] = meta
            cell.id = attrs["id"].replace("_", "-")
        else:
            cell.id = f"cell-{len(cells):03d}"
        cells.append(cell)

    for line in text.splitlines():
        if line.startswith("#%% "):
            flush()
            parts = line[4:].split()
            kind, attrs, lines = parts[0], dict(p.split("=", 1) for p in parts[1:]), []
        else:
            lines.append(line)
    flush()
    nb.cells = cells
    return nb


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    nb = build(open(src, encoding="utf-8").read())
    nbformat.validate(nb)
    nbformat.write(nb, dst)
    print(f"wrote {dst}: {len(nb.cells)} cells")


if __name__ == "__main__":
    main()
