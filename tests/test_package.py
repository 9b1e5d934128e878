"""What does a learner install?  course_lib with its data, plots, training loop and checks, and nothing of the
instructor's: no notebook, nothing of solutions/, no hidden test, no quiz key, no grading secret.

The wheel and the sdist are built as an instructor would build them in the course folder: ``python -m build
--no-isolation`` (no network) on a copy of this checkout's files (git's tracked and not-ignored ones: what a
clone or ``pip install git+...`` gets), into which the grading state of a course is planted first
(``.course/grading-secret``, ``gradebook.db``, ``submitted/``, ``autograded/``, ``feedback/``).  Every file of
both is listed and read.  Then the wheel is installed with ``pip install --no-deps --target`` (a second virtual
environment with torch and the course's dependencies takes minutes) and a notebook's visible check runs from
it, with Python's site switched off so that this checkout's editable course_lib cannot answer instead.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SECRET = b"a grading secret planted by tests/test_package.py"
# Top-level entries of the course folder that are the instructor's or the repository's, never the package's.
OUTSIDE = {
    "solutions",
    "notebooks",
    "tests",
    "benchmarks",
    "tools",
    ".course",
    "submitted",
    "autograded",
    "feedback",
    "nbgrader_config.py",
    "gradebook.db",
    "environment.yml",
    "quickstart.sh",
}
SDIST_METADATA = {
    "PKG-INFO",
    "pyproject.toml",
    "setup.cfg",
    "README.md",
    "LICENSE",
    "MANIFEST.in",
    "course_lib.egg-info",
}
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
CORRECT_RNN_CELL = """
import torch
import course_lib
from course_lib.checks.nb02_rnn import check_rnn_cell

def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)

print("imported from", course_lib.__file__)
check_rnn_cell(rnn_cell)
"""


def _checkout_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _plant_grading_state(course: Path) -> None:
    """What `course grade` leaves in a course folder, where an instructor might build the wheel."""
    (course / ".course").mkdir()
    (course / ".course" / "grading-secret").write_bytes(SECRET)
    (course / "gradebook.db").write_bytes(b"SQLite format 3\0" + SECRET)
    for folder in ("submitted", "autograded", "feedback"):
        (course / folder / "alice" / "01_sequence_data").mkdir(parents=True)
    shutil.copy2(
        course / "solutions/01_sequence_data/01_sequence_data.ipynb", course / "autograded/alice/01_sequence_data"
    )
    (course / "feedback/alice/01_sequence_data/01_sequence_data.html").write_text("<html>feedback</html>")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("package")
    course = tmp / "course"
    for name in _checkout_files():
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, course / name)
    _plant_grading_state(course)
    dist = tmp / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(course)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist, "course": course}


def _members(archive: Path) -> dict[str, bytes]:
    """path -> bytes of every file of a wheel, or of an sdist without its top folder (course_lib-0.1.0/)."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return {name: wheel.read(name) for name in wheel.namelist() if not name.endswith("/")}
    with tarfile.open(archive) as sdist:
        return {
            member.name.split("/", 1)[1]: sdist.extractfile(member).read()
            for member in sdist.getmembers()
            if member.isfile()
        }


def _package_files(course: Path) -> set[str]:
    return {p.relative_to(course).as_posix() for p in (course / "course_lib").rglob("*") if p.is_file()}


def _hidden_tests() -> tuple[list[str], list[tuple[str, str]]]:
    """Every line of the hidden tests of solutions/ and every (question, answer) of a key; left out: comments and
    a multi-line call's first line (``check_x(X, key={``, which the docs show), whose next lines are checked."""
    lines, keys = [], []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in HIDDEN.findall(cell.source):
                lines += [
                    s
                    for s in map(str.strip, block.splitlines())
                    if len(s) > 12 and not s.startswith("#") and not s.endswith(("(", "[", "{"))
                ]
                for call in ast.walk(ast.parse(block)):
                    for keyword in getattr(call, "keywords", []):
                        if keyword.arg == "key":
                            keys += ast.literal_eval(keyword.value).items()
    return lines, keys


def test_the_wheel_holds_exactly_course_lib_with_its_data_and_templates(built):
    members = {name for name in _members(built["wheel"]) if not name.startswith("course_lib-0.1.0.dist-info/")}
    assert members == _package_files(built["course"]), "every file of course_lib, nothing else"
    assert {
        "course_lib/data/files/tang5.tsv.xz",
        "course_lib/grading/templates/feedback/course_feedback.html.j2",
    } <= members


def test_the_sdist_holds_course_lib_and_its_metadata_only(built):
    members = _members(built["sdist"])
    assert {name.split("/")[0] for name in members} <= {"course_lib", *SDIST_METADATA}, sorted(members)
    assert {name for name in members if name.startswith("course_lib/")} == _package_files(built["course"])


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_no_notebook_solution_hidden_test_key_or_secret_is_in_it(built, kind):
    members = _members(built[kind])
    names = list(members)
    assert not [n for n in names if n.endswith(".ipynb")]
    assert not [n for n in names if n.split("/")[0] in OUTSIDE or ".course" in n.split("/")], names
    assert not [n for n, data in members.items() if b"BEGIN HIDDEN TESTS" in data or SECRET in data]
    lines, keys = _hidden_tests()
    assert len(lines) >= 30 and len(keys) >= 5, "the hidden tests of solutions/ were read"
    texts = {n: data.decode("utf-8", "replace") for n, data in members.items()}
    assert not [(n, line) for n, text in texts.items() for line in lines if line in text]
    answers = [re.compile(rf"""['"]{re.escape(q)}['"]\s*:\s*['"]{re.escape(a)}['"]""") for q, a in keys]
    assert not [(n, a.pattern) for n, text in texts.items() for a in answers if a.search(text)], "a quiz key"


def test_the_wheel_installs_and_runs_a_notebooks_visible_check(built, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(built["wheel"])],
        check=True,
        capture_output=True,
    )
    # -S: no site, so neither this checkout's editable install nor its .pth files; torch and the other
    # dependencies from this environment's site-packages, after the installed wheel.
    paths = dict.fromkeys([str(target), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(
        [sys.executable, "-S", "-c", CORRECT_RNN_CELL], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"imported from {target / 'course_lib' / '__init__.py'}" in done.stdout
    assert "✓ rnn_cell" in done.stdout, done.stdout
