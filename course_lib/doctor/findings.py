"""What ``course doctor`` reports: a :class:`Finding` (OK, PROBLEM or NOTE, with a fix), and the
course's requirements every check measures against."""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = [
    "OK",
    "PROBLEM",
    "NOTE",
    "Finding",
    "PYTHON_MIN",
    "REQUIREMENTS",
    "TORCH_PIN",
    "REINSTALL",
    "pip_fix",
    "in_range",
]

OK, PROBLEM, NOTE = "OK", "PROBLEM", "NOTE"
PYTHON_MIN = (3, 10)
# [project].dependencies of pyproject.toml; tests/doctor/test_findings.py keeps the two in step.
REQUIREMENTS = {
    "torch": ">=2.2,<2.14",
    "numpy": ">=1.24",
    "matplotlib": ">=3.7",
    "tqdm": ">=4.66",
    "ipywidgets": ">=8.1",
    "jupyterlab": ">=4.2,<5",
    "nbgrader": ">=0.9.6,<0.10",
    "nbclient": ">=0.10",
    "nbformat": ">=5.9",
    "nh3": ">=0.3",
    "latex2mathml": ">=3.81,<4",
    "cloudpickle": ">=3.0",
    "distributed": ">=2024.8",
    "cryptography": ">=42",
    "psycopg": ">=3.1",  # with its [binary] extra in pyproject.toml
}
TORCH_PIN = "2.13.0"  # what quickstart.sh installs
REINSTALL = "bash quickstart.sh lab (it reinstalls the course's environment in .venv)"


@dataclass(frozen=True)
class Finding:
    status: str  # OK | PROBLEM | NOTE
    text: str
    fix: str = ""

    def render(self) -> str:
        lines = [f"{self.status:<8} {self.text}"]
        if self.fix:
            lines.append(f"{'':<8} How to fix: {self.fix}")
        return "\n".join(lines)


def pip_fix(requirement: str) -> str:
    return f"{sys.executable} -m pip install '{requirement}'"


def in_range(version: str, spec: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return Version(version) in SpecifierSet(spec)
