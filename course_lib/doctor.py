"""``course doctor``: what is wrong with this set-up, in plain words, each with how to fix it.

Every line is one finding: ``OK``, ``PROBLEM`` (the course will not work as intended until it is fixed;
the line says how) or ``NOTE`` (worth knowing, nothing breaks for a learner, e.g. the instructor-only
grading sandbox).  What is checked, for the Python that runs this command:

- the Python version, and torch: importable, its version in the course's range, which build (CPU/CUDA);
- the other packages of the course, in their ranges, and which ``course_lib`` is imported;
- JupyterLab's ``python3`` kernel runs this environment (the notebooks import what is installed *here*),
  and the ``jupyter`` command on PATH belongs to it;
- nbgrader's server extensions (validate, assignment list, formgrader) and lab extensions (the Validate
  button and menu; ipywidgets for the progress bars) are installed and enabled;
- torch's threads against the cores this process may use (more threads than cores makes training slower);
- instructors: bubblewrap (the grading sandbox of ``course grade``) and ``alembic`` (formgrader's gradebook);
- a font for the Chinese labels of the plots.

:func:`diagnose` returns ``(ok, text)``; ``ok`` is False when any line is a PROBLEM.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["Finding", "REQUIREMENTS", "PYTHON_MIN", "diagnose"]

OK, PROBLEM, NOTE = "OK", "PROBLEM", "NOTE"
PYTHON_MIN = (3, 10)
# [project].dependencies of pyproject.toml; tests/test_doctor.py keeps the two in step.
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
}
TORCH_PIN = "2.13.0"  # what quickstart.sh installs
NBGRADER_SERVER_EXTENSIONS = ("validate_assignment", "assignment_list", "formgrader")
LAB_EXTENSIONS = {"@jupyter/nbgrader": "nbgrader's Validate button and menu",
                  "@jupyter-widgets/jupyterlab-manager": "ipywidgets: the training progress bars"}
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


def _pip(requirement: str) -> str:
    return f"{sys.executable} -m pip install '{requirement}'"


def _in_range(version: str, spec: str) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return Version(version) in SpecifierSet(spec)


# ------------------------------------------------------------------------------------------ Python, packages


def check_python(version_info=sys.version_info, executable: str = sys.executable) -> list[Finding]:
    version = ".".join(map(str, version_info[:3]))
    if tuple(version_info[:2]) < PYTHON_MIN:
        need = ".".join(map(str, PYTHON_MIN))
        return [Finding(PROBLEM, f"Python {version} ({executable}) is too old: the course needs {need} or newer.",
                        f"install Python {need}+ and run {REINSTALL} with it (PYTHON=python3.x bash quickstart.sh lab).")]
    return [Finding(OK, f"Python {version} ({executable}).")]


def check_torch(torch=None) -> list[Finding]:
    spec = REQUIREMENTS["torch"]
    if torch is None:
        try:
            import torch
        except ImportError as error:
            return [Finding(PROBLEM, f"torch cannot be imported ({error}).", _pip(f"torch=={TORCH_PIN}"))]
    cuda, hip = getattr(torch.version, "cuda", None), getattr(torch.version, "hip", None)
    build = f"CUDA {cuda} build" if cuda else f"ROCm {hip} build" if hip else "CPU build"
    if not _in_range(torch.__version__, spec):
        return [Finding(PROBLEM, f"torch {torch.__version__} ({build}) is outside the course's range {spec}.",
                        _pip(f"torch=={TORCH_PIN}"))]
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
            findings.append(Finding(PROBLEM, f"{name} is not installed (the course needs {name}{spec}).",
                                    _pip(f"{name}{spec}")))
            continue
        if not _in_range(version, spec):
            findings.append(Finding(PROBLEM, f"{name} {version} is outside the course's range {spec}.",
                                    _pip(f"{name}{spec}")))
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
        return [Finding(PROBLEM, f"course_lib is imported from {package}, not from the course folder {root} you are in: "
                                 "the notebooks would use that other copy's checks and data.",
                        f"cd {root} && {sys.executable} -m pip install -e .")]
    return [Finding(OK, f"course_lib {course_lib.__version__} is imported from {package}.")]


# ------------------------------------------------------------------------------------------ Jupyter kernel


def _same_environment(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _probe_interpreter(python: str) -> tuple[str, bool, bool] | None:
    """(sys.prefix, has course_lib, has torch) of another Python, without importing them; None if it fails."""
    code = ("import sys, importlib.util as u; print(sys.prefix); "
            "print(u.find_spec('course_lib') is not None); print(u.find_spec('torch') is not None)")
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
        findings.append(Finding(OK, f"the 'python3' kernel ({where}) runs the Python that runs JupyterLab: start "
                                    "JupyterLab from this environment (see the `jupyter` line)."))
        return findings
    found = probe(python)
    if found is None:
        return findings + [Finding(PROBLEM, f"the 'python3' kernel ({where}) runs {python}, which does not start.", install)]
    prefix, has_course_lib, has_torch = found
    if _same_environment(prefix, sys.prefix):
        return findings + [Finding(OK, f"the 'python3' kernel runs this environment ({python}).")]
    if has_course_lib and has_torch:
        return findings + [Finding(NOTE, f"the 'python3' kernel ({where}) runs another environment ({prefix}); it "
                                         "has course_lib and torch, but may hold other versions than this one.")]
    missing = " and ".join(n for n, ok in (("course_lib", has_course_lib), ("torch", has_torch)) if not ok)
    return findings + [Finding(PROBLEM, f"the 'python3' kernel ({where}) runs {python}, another environment that lacks "
                                        f"{missing}: the notebooks' first cell will fail to import.",
                               f"{install} (if that kernel lives in your user folder, remove it first: "
                               "jupyter kernelspec remove python3).")]


def check_jupyter_command(which: Callable[[str], str | None] = shutil.which) -> list[Finding]:
    jupyter = which("jupyter")
    here = Path(sys.executable).parent
    if jupyter is None:
        return [Finding(NOTE, f"no `jupyter` command on PATH; start JupyterLab with {here / 'jupyter'} lab or "
                              "bash quickstart.sh lab.")]
    if Path(jupyter).parent.resolve() != here.resolve():
        return [Finding(PROBLEM, f"the `jupyter` on PATH is {jupyter}, from another environment: `jupyter lab` would "
                                 "run notebooks with that environment's packages.",
                        f"activate this environment first (source {here / 'activate'}) or run bash quickstart.sh lab.")]
    return [Finding(OK, f"the `jupyter` command on PATH ({jupyter}) is this environment's.")]


# ------------------------------------------------------------------------------------------ nbgrader, widgets


def _server_extensions() -> dict[str, bool]:
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    return ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()


def _lab_extensions() -> tuple[set[str], list[str]]:
    """(installed prebuilt lab extensions, disabled extensions or plugins), read as JupyterLab reads them
    (jupyterlab_server.config does the same but takes seconds to import)."""
    import json

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


def check_nbgrader(server: dict[str, bool] | None = None, lab: tuple[set[str], list[str]] | None = None) -> list[Finding]:
    server = _server_extensions() if server is None else server
    installed, disabled = _lab_extensions() if lab is None else lab
    findings = []
    off = [n for n in NBGRADER_SERVER_EXTENSIONS if not server.get(f"nbgrader.server_extensions.{n}")]
    if off:
        findings.append(Finding(PROBLEM, "nbgrader's server extensions " + ", ".join(off) + " are not enabled "
                                         "(Validate or formgrader would answer with an error).",
                                "jupyter server extension enable --sys-prefix nbgrader.server_extensions." + off[0]
                                + (" (and likewise " + ", ".join(off[1:]) + ")" if off[1:] else "")))
    else:
        findings.append(Finding(OK, "nbgrader's server extensions (validate, assignment list, formgrader) are enabled."))
    for name, purpose in LAB_EXTENSIONS.items():
        switched_off = [d for d in disabled if d == name or d.startswith(name + ":")]
        if name not in installed:
            package = "nbgrader" if "nbgrader" in name else "ipywidgets"
            findings.append(Finding(PROBLEM, f"the JupyterLab extension {name} ({purpose}) is not installed.",
                                    _pip(f"{package}{REQUIREMENTS[package]}") + ", then restart JupyterLab"))
        elif switched_off:
            findings.append(Finding(PROBLEM, f"the JupyterLab extension {name} ({purpose}) is disabled: "
                                             + ", ".join(switched_off) + ".",
                                    "; ".join(f"jupyter labextension enable {d}" for d in switched_off)
                                    + ", then restart JupyterLab"))
        else:
            findings.append(Finding(OK, f"the JupyterLab extension {name} ({purpose}) is enabled."))
    return findings


# ------------------------------------------------------------------------------------------ threads, tools


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup CPU quota (containers)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def check_threads(threads: int | None = None, cores: int | None = None) -> list[Finding]:
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    cores = available_cores() if cores is None else cores
    if threads > cores:
        return [Finding(PROBLEM, f"torch uses {threads} threads but this process may use only {cores} cores: the "
                                 "threads compete and training runs slower.",
                        f"export OMP_NUM_THREADS={cores} before starting JupyterLab (or torch.set_num_threads({cores}))")]
    return [Finding(OK, f"torch uses {threads} threads on {cores} available cores.")]


def check_instructor_tools(which: Callable[[str], str | None] = shutil.which) -> list[Finding]:
    findings = []
    bwrap = which("bwrap")
    if bwrap is None:
        findings.append(Finding(NOTE, "instructors: bubblewrap (bwrap) is not installed, so `course grade` cannot "
                                      "sandbox submissions (learners do not need it).",
                                "sudo apt-get install bubblewrap"))
    else:
        try:
            probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                                   capture_output=True, text=True, timeout=30)
            works, why = probe.returncode == 0, probe.stderr.strip()
        except (OSError, subprocess.SubprocessError) as error:
            works, why = False, str(error)
        if works:
            findings.append(Finding(OK, f"instructors: bubblewrap ({bwrap}) can sandbox `course grade`."))
        else:
            findings.append(Finding(NOTE, f"instructors: bubblewrap is installed but cannot create a sandbox here "
                                          f"({why or 'no reason given'}); `course grade` will fail.",
                                    "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
                                    "or grade on another machine"))
    if which("alembic") is None:
        findings.append(Finding(NOTE, "instructors: `alembic` is not on PATH, so formgrader cannot create its gradebook.",
                                f"start JupyterLab with this environment activated (source {Path(sys.executable).parent / 'activate'})"))
    return findings


CJK_FONT_FILES = re.compile(r"wqy|cjk|sourcehan|simhei|msyh|pingfang|uming", re.I)


def check_fonts(cjk_font: Callable[[], str | None] | None = None,
                system_fonts: Callable[[], list[str]] | None = None) -> list[Finding]:
    if cjk_font is None:
        from course_lib.plotting import cjk_font
    font = cjk_font()
    if font:
        return [Finding(OK, f"plots can show Chinese labels (font: {font}).")]
    if system_fonts is None:
        from matplotlib import font_manager

        system_fonts = font_manager.findSystemFonts
    on_system = [f for f in system_fonts() if CJK_FONT_FILES.search(os.path.basename(f))]
    if on_system:
        import matplotlib

        return [Finding(NOTE, f"a Chinese font is installed ({on_system[0]}) but matplotlib's font list predates it: "
                              "the plots show the English translations instead.",
                        f"delete {Path(matplotlib.get_cachedir()) / 'fontlist-*.json'} and restart the kernel")]
    return [Finding(NOTE, "no font with Chinese glyphs: the plots show the English translations instead.",
                    "sudo apt-get install fonts-wqy-microhei (then restart the kernel)")]


# ------------------------------------------------------------------------------------------ report

CHECKS: tuple[Callable[[], list[Finding]], ...] = (
    check_python, check_torch, check_packages, check_course_lib, check_jupyter_command, check_kernel,
    check_nbgrader, check_threads, check_instructor_tools, check_fonts,
)


def diagnose(checks=CHECKS) -> tuple[bool, str]:
    """Run every check; ``(ok, text)``: ok is False if any finding is a PROBLEM; text has one line each."""
    findings: list[Finding] = []
    for check in checks:
        try:
            findings += check()
        except Exception as error:  # a check that crashes is reported, never a traceback
            topic = check.__name__.removeprefix("check_").replace("_", " ")
            findings.append(Finding(PROBLEM, f"could not check {topic}: {type(error).__name__}: {error}", REINSTALL))
    problems = sum(f.status == PROBLEM for f in findings)
    head = f"course doctor: the set-up of {sys.executable}\n"
    tail = ("\nAll good: nothing to fix." if not problems else
            f"\n{problems} problem{'s' if problems > 1 else ''}: fix the lines marked PROBLEM, then run `course doctor` again.")
    return problems == 0, "\n".join([head, *(f.render() for f in findings), tail])
