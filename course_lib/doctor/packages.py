"""``course doctor``: the Python, torch (version and build), the other packages, and which ``course_lib``."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Callable

from course_lib.doctor.findings import (
    OK,
    PROBLEM,
    PYTHON_MIN,
    REINSTALL,
    REQUIREMENTS,
    TORCH_PIN,
    Finding,
    in_range,
    pip_fix,
)

__all__ = ["check_python", "check_torch", "check_packages", "check_course_lib"]


def check_python(version_info=sys.version_info, executable: str = sys.executable) -> list[Finding]:
    version = ".".join(map(str, version_info[:3]))
    if tuple(version_info[:2]) < PYTHON_MIN:
        need = ".".join(map(str, PYTHON_MIN))
        return [
            Finding(
                PROBLEM,
                f"Python {version} ({executable}) is too old: the course needs {need} or newer.",
                f"install Python {need}+ and run {REINSTALL} with it (PYTHON=python3.x bash quickstart.sh lab).",
            )
        ]
    return [Finding(OK, f"Python {version} ({executable}).")]


def check_torch(torch=None) -> list[Finding]:
    spec = REQUIREMENTS["torch"]
    if torch is None:
        try:
            import torch
        except ImportError as error:
            return [Finding(PROBLEM, f"torch cannot be imported ({error}).", pip_fix(f"torch=={TORCH_PIN}"))]
    cuda, hip = getattr(torch.version, "cuda", None), getattr(torch.version, "hip", None)
    build = f"CUDA {cuda} build" if cuda else f"ROCm {hip} build" if hip else "CPU build"
    if not in_range(torch.__version__, spec):
        return [
            Finding(
                PROBLEM,
                f"torch {torch.__version__} ({build}) is outside the course's range {spec}.",
                pip_fix(f"torch=={TORCH_PIN}"),
            )
        ]
    if cuda or hip:
        gpu = "a GPU is available" if torch.cuda.is_available() else "no GPU is available, so it runs on the CPU"
        return [Finding(OK, f"torch {torch.__version__}, {build}; {gpu}. The course needs only the CPU.")]
    return [Finding(OK, f"torch {torch.__version__}, {build} (the course runs on the CPU).")]


def check_packages(version_of: Callable[[str], str] = importlib.metadata.version) -> list[Finding]:
    found, findings = [], []
    for name, spec in REQUIREMENTS.items():
        if name == "torch":
            continue
        try:
            version = version_of(name)
        except importlib.metadata.PackageNotFoundError:
            findings.append(
                Finding(PROBLEM, f"{name} is not installed (the course needs {name}{spec}).", pip_fix(f"{name}{spec}"))
            )
            continue
        if not in_range(version, spec):
            findings.append(
                Finding(PROBLEM, f"{name} {version} is outside the course's range {spec}.", pip_fix(f"{name}{spec}"))
            )
        else:
            found.append(f"{name} {version}")
    if found:
        findings.insert(0, Finding(OK, "packages: " + ", ".join(found) + "."))
    return findings


def _course_root(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    return None


def check_course_lib(cwd: Path | None = None) -> list[Finding]:
    import course_lib

    package = Path(course_lib.__file__).resolve().parent
    root = _course_root((cwd or Path.cwd()).resolve())
    if root is not None and not package.is_relative_to(root):
        return [
            Finding(
                PROBLEM,
                f"course_lib is imported from {package}, not from the course folder {root} you are in: "
                "the notebooks would use that other copy's checks and data.",
                f"cd {root} && {sys.executable} -m pip install -e .",
            )
        ]
    return [Finding(OK, f"course_lib {course_lib.__version__} is imported from {package}.")]
