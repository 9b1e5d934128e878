"""Does the code keep the project's style by itself: ruff's lint rules and its formatter (config in pyproject.toml)?"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(ROOT / ".venv" / "bin"))
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module", autouse=True)
def _ruff_installed():
    if _ruff("--version").returncode != 0:
        pytest.fail("ruff is not installed: pip install -e .[test] (it is in the test extra)")


def test_ruff_check_passes():
    result = _ruff("check", "--no-cache", ".")
    assert result.returncode == 0, (
        f"ruff check found problems (ruff check --fix . fixes most):\n{result.stdout[-4000:]}"
    )


def test_ruff_format_leaves_every_file_as_it_is():
    result = _ruff("format", "--check", "--no-cache", ".")
    assert result.returncode == 0, (
        f"ruff format would reformat these files (run ruff format .):\n{result.stdout[-4000:]}"
    )
