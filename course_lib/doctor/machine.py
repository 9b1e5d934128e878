"""``course doctor``: this machine -- torch's threads against the cores, the instructors' tools (the grading
sandbox, formgrader's gradebook), and a font for the plots' Chinese labels."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from course_lib.doctor.findings import NOTE, OK, PROBLEM, Finding

__all__ = ["available_cores", "check_threads", "check_instructor_tools", "check_fonts"]


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
        return [
            Finding(
                PROBLEM,
                f"torch uses {threads} threads but this process may use only {cores} cores: the "
                "threads compete and training runs slower.",
                f"export OMP_NUM_THREADS={cores} before starting JupyterLab (or torch.set_num_threads({cores}))",
            )
        ]
    return [Finding(OK, f"torch uses {threads} threads on {cores} available cores.")]


def check_instructor_tools(which: Callable[[str], str | None] = shutil.which) -> list[Finding]:
    findings = []
    bwrap = which("bwrap")
    if bwrap is None:
        findings.append(
            Finding(
                NOTE,
                "instructors: bubblewrap (bwrap) is not installed, so `course grade` cannot "
                "sandbox submissions (learners do not need it).",
                "sudo apt-get install bubblewrap",
            )
        )
    else:
        try:
            probe = subprocess.run(
                [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            works, why = probe.returncode == 0, probe.stderr.strip()
        except (OSError, subprocess.SubprocessError) as error:
            works, why = False, str(error)
        if works:
            findings.append(Finding(OK, f"instructors: bubblewrap ({bwrap}) can sandbox `course grade`."))
        else:
            findings.append(
                Finding(
                    NOTE,
                    f"instructors: bubblewrap is installed but cannot create a sandbox here "
                    f"({why or 'no reason given'}); `course grade` will fail.",
                    "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
                    "or grade on another machine",
                )
            )
    if which("alembic") is None:
        findings.append(
            Finding(
                NOTE,
                "instructors: `alembic` is not on PATH, so formgrader cannot create its gradebook.",
                f"start JupyterLab with this environment activated (source {Path(sys.executable).parent / 'activate'})",
            )
        )
    return findings


CJK_FONT_FILES = re.compile(r"wqy|cjk|sourcehan|simhei|msyh|pingfang|uming", re.I)


def check_fonts(
    cjk_font: Callable[[], str | None] | None = None, system_fonts: Callable[[], list[str]] | None = None
) -> list[Finding]:
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

        return [
            Finding(
                NOTE,
                f"a Chinese font is installed ({on_system[0]}) but matplotlib's font list predates it: "
                "the plots show the English translations instead.",
                f"delete {Path(matplotlib.get_cachedir()) / 'fontlist-*.json'} and restart the kernel",
            )
        ]
    return [
        Finding(
            NOTE,
            "no font with Chinese glyphs: the plots show the English translations instead.",
            "sudo apt-get install fonts-wqy-microhei (then restart the kernel)",
        )
    ]
