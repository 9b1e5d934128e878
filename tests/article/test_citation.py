"""Does every notebook name the article by its title on first mention, and does nothing call it a "seed"?

"From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch" is the tutorial the course
follows; "the article" after the first mention is fine, "the seed article" (the course's old name for it) is not.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
TITLE = "From RNNs to LSTMs and GRUs: A Hands-On Guide to Sequence Modeling in PyTorch"
SEED_NAMES = re.compile(r"seed (article|tutorial)|the seed's|the seed\)|seed examples", re.IGNORECASE)
NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb")) + sorted((ROOT / "notebooks").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_names_the_article_by_title_first_and_never_a_seed(path):
    cells = nbformat.read(path, as_version=4).cells
    text = "\n".join(cell.source for cell in cells)
    assert not SEED_NAMES.search(text), SEED_NAMES.search(text)
    first = next((cell.source for cell in cells if cell.cell_type == "markdown" and "article" in cell.source), None)
    if first is not None:
        assert TITLE in first.replace("\n", " "), f"first mention of the article in {path.name} lacks its title"


def test_package_readme_and_tests_never_call_it_a_seed():
    files = [
        *ROOT.glob("course_lib/**/*.py"),
        *ROOT.glob("course_lib/**/*.md"),
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("benchmarks/*.py"),
        ROOT / "README.md",
        ROOT / "DEVELOPING.md",
    ]
    offenders = [
        str(f.relative_to(ROOT))
        for f in files
        if f != Path(__file__) and SEED_NAMES.search(f.read_text(encoding="utf-8"))
    ]
    assert not offenders


def test_readme_cites_the_article_with_its_publisher_and_a_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where this course comes from", 1)[1].split("\n## ", 1)[0]
    assert TITLE in section.replace("\n", " ") and "AI Cyberspace" in section
    for notebook in ("02 §4a", "02 §9a", "04 §9b", "05 §5c′", "06 §5"):
        assert f"| {notebook}" in section
