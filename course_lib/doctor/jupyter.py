"""``course doctor``: JupyterLab's ``python3`` kernel and ``jupyter`` command belong to this environment, and
nbgrader's server and lab extensions (and ipywidgets') are installed and enabled."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from course_lib.doctor.findings import NOTE, OK, PROBLEM, REQUIREMENTS, Finding, pip_fix

__all__ = ["NBGRADER_SERVER_EXTENSIONS", "LAB_EXTENSIONS", "check_kernel", "check_jupyter_command", "check_nbgrader"]

NBGRADER_SERVER_EXTENSIONS = ("validate_assignment", "assignment_list", "formgrader")
LAB_EXTENSIONS = {
    "@jupyter/nbgrader": "nbgrader's Validate button and menu",
    "@jupyter-widgets/jupyterlab-manager": "ipywidgets: the training progress bars",
}


def _same_environment(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _probe_interpreter(python: str) -> tuple[str, bool, bool] | None:
    """(sys.prefix, has course_lib, has torch) of another Python, without importing them; None if it fails."""
    code = (
        "import sys, importlib.util as u; print(sys.prefix); "
        "print(u.find_spec('course_lib') is not None); print(u.find_spec('torch') is not None)"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    prefix, course_lib, torch = out.strip().splitlines()[-3:]
    return prefix, course_lib == "True", torch == "True"


def _kernel_spec():
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return None
    return spec.argv, spec.resource_dir


def check_kernel(spec=None, probe: Callable = _probe_interpreter, in_kernel: bool | None = None) -> list[Finding]:
    """JupyterLab's ``python3`` kernel must run this environment: the notebooks import what is installed here."""
    install = f"{sys.executable} -m ipykernel install --sys-prefix --name python3 --display-name 'Python 3 (ipykernel)'"
    findings = []
    if in_kernel is None:
        in_kernel = "ipykernel" in sys.modules
    if in_kernel:
        findings.append(Finding(OK, f"this notebook's kernel runs {sys.executable}, which imports course_lib."))
    spec = _kernel_spec() if spec is None else spec
    if not spec:
        return findings + [Finding(PROBLEM, "JupyterLab has no 'python3' kernel (is ipykernel installed?).", install)]
    argv, where = spec
    python = argv[0] if argv else ""
    if os.path.basename(python) in {"python", "python3", f"python3.{sys.version_info[1]}"} and os.sep not in python:
        # jupyter_client runs the Python that runs JupyterLab itself for a bare "python"
        findings.append(
            Finding(
                OK,
                f"the 'python3' kernel ({where}) runs the Python that runs JupyterLab: start "
                "JupyterLab from this environment (see the `jupyter` line).",
            )
        )
        return findings
    found = probe(python)
    if found is None:
        return findings + [
            Finding(PROBLEM, f"the 'python3' kernel ({where}) runs {python}, which does not start.", install)
        ]
    prefix, has_course_lib, has_torch = found
    if _same_environment(prefix, sys.prefix):
        return findings + [Finding(OK, f"the 'python3' kernel runs this environment ({python}).")]
    if has_course_lib and has_torch:
        return findings + [
            Finding(
                NOTE,
                f"the 'python3' kernel ({where}) runs another environment ({prefix}); it "
                "has course_lib and torch, but may hold other versions than this one.",
            )
        ]
    missing = " and ".join(n for n, ok in (("course_lib", has_course_lib), ("torch", has_torch)) if not ok)
    return findings + [
        Finding(
            PROBLEM,
            f"the 'python3' kernel ({where}) runs {python}, another environment that lacks "
            f"{missing}: the notebooks' first cell will fail to import.",
            f"{install} (if that kernel lives in your user folder, remove it first: "
            "jupyter kernelspec remove python3).",
        )
    ]


def check_jupyter_command(which: Callable[[str], str | None] = shutil.which) -> list[Finding]:
    jupyter = which("jupyter")
    here = Path(sys.executable).parent
    if jupyter is None:
        return [
            Finding(
                NOTE,
                f"no `jupyter` command on PATH; start JupyterLab with {here / 'jupyter'} lab or "
                "bash quickstart.sh lab.",
            )
        ]
    if Path(jupyter).parent.resolve() != here.resolve():
        return [
            Finding(
                PROBLEM,
                f"the `jupyter` on PATH is {jupyter}, from another environment: `jupyter lab` would "
                "run notebooks with that environment's packages.",
                f"activate this environment first (source {here / 'activate'}) or run bash quickstart.sh lab.",
            )
        ]
    return [Finding(OK, f"the `jupyter` command on PATH ({jupyter}) is this environment's.")]


# ------------------------------------------------------------------------------------------ nbgrader, widgets


def _server_extensions() -> dict[str, bool]:
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    return ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()


def _lab_extensions() -> tuple[set[str], list[str]]:
    """(installed prebuilt lab extensions, disabled extensions or plugins), read as JupyterLab reads them
    (jupyterlab_server.config does the same but takes seconds to import)."""
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.services.config import ConfigManager

    installed = set()
    for folder in map(Path, jupyter_path("labextensions")):
        for package in [*folder.glob("[!@]*/package.json"), *folder.glob("@*/*/package.json")]:
            try:
                installed.add(json.loads(package.read_text(encoding="utf-8"))["name"])
            except (OSError, ValueError, KeyError):
                continue
    labconfig = ConfigManager(read_config_path=[os.path.join(p, "labconfig") for p in jupyter_config_path()])
    disabled = labconfig.get("page_config").get("disabledExtensions", {})
    if isinstance(disabled, dict):
        disabled = [name for name, off in disabled.items() if off]
    return installed, list(disabled)


def check_nbgrader(
    server: dict[str, bool] | None = None, lab: tuple[set[str], list[str]] | None = None
) -> list[Finding]:
    server = _server_extensions() if server is None else server
    installed, disabled = _lab_extensions() if lab is None else lab
    findings = []
    off = [n for n in NBGRADER_SERVER_EXTENSIONS if not server.get(f"nbgrader.server_extensions.{n}")]
    if off:
        findings.append(
            Finding(
                PROBLEM,
                "nbgrader's server extensions " + ", ".join(off) + " are not enabled "
                "(Validate or formgrader would answer with an error).",
                "jupyter server extension enable --sys-prefix nbgrader.server_extensions."
                + off[0]
                + (" (and likewise " + ", ".join(off[1:]) + ")" if off[1:] else ""),
            )
        )
    else:
        findings.append(
            Finding(OK, "nbgrader's server extensions (validate, assignment list, formgrader) are enabled.")
        )
    for name, purpose in LAB_EXTENSIONS.items():
        switched_off = [d for d in disabled if d == name or d.startswith(name + ":")]
        if name not in installed:
            package = "nbgrader" if "nbgrader" in name else "ipywidgets"
            findings.append(
                Finding(
                    PROBLEM,
                    f"the JupyterLab extension {name} ({purpose}) is not installed.",
                    pip_fix(f"{package}{REQUIREMENTS[package]}") + ", then restart JupyterLab",
                )
            )
        elif switched_off:
            findings.append(
                Finding(
                    PROBLEM,
                    f"the JupyterLab extension {name} ({purpose}) is disabled: " + ", ".join(switched_off) + ".",
                    "; ".join(f"jupyter labextension enable {d}" for d in switched_off) + ", then restart JupyterLab",
                )
            )
        else:
            findings.append(Finding(OK, f"the JupyterLab extension {name} ({purpose}) is enabled."))
    return findings
