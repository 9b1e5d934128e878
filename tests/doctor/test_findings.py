"""Do the requirements `course doctor` measures against agree with pyproject.toml?"""

from __future__ import annotations

import re

import tomllib

from course_lib.doctor import findings
from tests.conftest import ROOT


def test_requirements_are_pyprojects():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pyproject = dict(
        re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?(.*)$", d.replace(" ", "")).groups() for d in dependencies
    )
    assert findings.REQUIREMENTS == pyproject
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires_python == ">=" + ".".join(map(str, findings.PYTHON_MIN))
