"""Do environment.yml (conda) and pyproject.toml (pip) ask for the same packages with the same ranges?"""

from __future__ import annotations

import re

import tomllib
import yaml

from tests.conftest import ROOT

# pip name -> conda-forge name, where they differ
CONDA_NAME = {"torch": "pytorch"}
# conda-only entries that are not requirements of the package (interpreter, build selectors, pip itself)
# (and JupyterHub's proxy, a Node.js program that pip users get from npm: quickstart.sh installs it)
CONDA_ONLY = {"python", "pip", "pytorch-cpu", "configurable-http-proxy"}


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_split(r) for r in requirements)


def _conda() -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry["pip"])
        else:
            name, spec = _split(entry)
            conda[name] = spec
    return conda, pip


def test_every_pyproject_requirement_is_in_environment_yml_with_the_same_range():
    conda, pip = _conda()
    pip_specs = dict(_split(p) for p in pip if not p.startswith("-e"))
    for name, spec in _pyproject().items():
        conda_name = CONDA_NAME.get(name, name)
        assert conda_name in conda or name in pip_specs, f"{name} is in pyproject.toml but not in environment.yml"
        got = conda.get(conda_name, pip_specs.get(name))
        assert got == spec, f"{name}: pyproject.toml says {spec!r}, environment.yml says {got!r}"


def test_environment_yml_has_nothing_pyproject_lacks():
    conda, pip = _conda()
    wanted = {CONDA_NAME.get(n, n) for n in _pyproject()} | set(_pyproject())
    extra = sorted(n for n in conda if n not in wanted and n not in CONDA_ONLY)
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not"


def test_environment_yml_installs_the_course_package_itself():
    _, pip = _conda()
    assert "-e ." in pip, "environment.yml should install the course package with pip (-e .)"


def test_torch_range_admits_the_cpu_build_on_this_machine():
    spec = _pyproject()["torch"]
    assert re.fullmatch(r">=2\.\d+,<2\.14", spec), f"torch range {spec!r} must admit 2.13.0 and nothing newer"
