"""Fixtures of the browser tests: a JupyterLab server on a copy of the course, and headless Chromium.

The server is started the way README's ``bash quickstart.sh lab`` starts it (``jupyter lab
--notebook-dir=COURSE`` from the course folder, so nbgrader reads the course's ``nbgrader_config.py``),
plus what a test needs: loopback only, a known token, no browser pop-up, ``COURSE_QUICK=1`` so the
training cells use their small budget, and throw-away settings/workspace folders so nothing from a
person's own JupyterLab (an open tab, a theme) leaks in.

The course is copied to a temporary folder (``nbgrader_config.py``, ``solutions/``, ``notebooks/``);
beside each learner notebook goes its *solved copy*, the solution notebook renamed ``NN_topic-solved``.

Chromium is Debian's (``apt-get install chromium``), driven through Playwright's Python package:
Playwright's own browser download does not work here.  Without either, the tests are skipped with the
command that installs it.  Environment:

  COURSE_CHROMIUM          the browser binary (default: /usr/bin/chromium)
  COURSE_SCREENSHOTS       where the screenshots go (default: screenshots/ at the repository root)
  COURSE_BROWSER_NOTEBOOKS comma-separated prefixes to test only some notebooks, e.g. "01,03"
  COURSE_BROWSER_VALIDATE  "all" clicks Validate on every notebook (default: on the first one)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root in a container, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_SECONDS = 90


# ----------------------------------------------------------------------------------------------- notebooks


def _selected(names: list[str]) -> list[str]:
    wanted = [w.strip() for w in os.environ.get("COURSE_BROWSER_NOTEBOOKS", "").split(",") if w.strip()]
    return [n for n in names if not wanted or any(n.startswith(w) for w in wanted)]


def learner_notebooks() -> list[str]:
    """Assignment ids with a learner notebook ``notebooks/ID/ID.ipynb``, in course order."""
    return _selected(sorted(p.parent.name for p in ROOT.glob("notebooks/*/*.ipynb") if p.stem == p.parent.name))


def solution_notebooks() -> list[str]:
    """Assignment ids with a solution notebook ``solutions/ID/ID.ipynb``, in course order."""
    return _selected(sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb") if p.stem == p.parent.name))


def validated_notebooks() -> list[str]:
    """The notebooks whose Validate button is clicked: all (COURSE_BROWSER_VALIDATE=all) or the first.

    Validating runs the whole notebook again in a new kernel; whether each notebook validates is what
    tests/test_pipeline.py checks through nbgrader's API, so by default the browser checks the button,
    the server extension and the dialogs on one notebook.
    """
    names = [n for n in learner_notebooks() if n in solution_notebooks()]
    return names if os.environ.get("COURSE_BROWSER_VALIDATE", "first") == "all" else names[:1]


def learner_path(name: str) -> str:
    """The learner notebook's path relative to the server root."""
    return f"notebooks/{name}/{name}.ipynb"


def solved_path(name: str) -> str:
    """The solved copy's path relative to the server root (beside the learner notebook)."""
    return f"notebooks/{name}/{name}-solved.ipynb"


# -------------------------------------------------------------------------------------------------- server


@dataclass
class Lab:
    """A running JupyterLab server: its URL, token and the course folder it serves."""

    url: str
    token: str
    course: Path
    log: Path
    process: subprocess.Popen

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (each holds torch in memory; the machine has few cores)."""
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_course(course: Path) -> None:
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
    course.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    for folder in ("solutions", "notebooks"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, course / folder, ignore=ignore)
    for name in solution_notebooks():
        target = course / solved_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "solutions" / name / f"{name}.ipynb", target)


def _lab_settings(folder: Path) -> None:
    """User settings of the test's JupyterLab: no news pop-up, no update check."""
    notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Lab:
    """JupyterLab on a temporary copy of the course, as README starts it, with COURSE_QUICK=1."""
    base = tmp_path_factory.mktemp("lab")
    course = base / "course"
    _copy_course(course)
    server = start_lab(base, course)
    yield server
    _stop(server.process)


def start_lab(base: Path, course: Path) -> Lab:
    """Start ``jupyter lab`` in ``course`` (settings, workspaces and runtime under ``base``); wait until it
    answers.  The caller stops it with ``_stop(server.process)``."""
    _lab_settings(base / "settings")
    for folder in ("workspaces", "jupyter-config", "jupyter-data", "runtime", "ipython"):
        (base / folder).mkdir()

    env = dict(os.environ)
    env.update(
        COURSE_QUICK="1",
        # the kernel imports the course_lib of this checkout, whatever else is installed
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        # nbgrader's formgrader runs `alembic` to create the gradebook: the environment's bin on PATH,
        # as an activated environment (or quickstart.sh) has it
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        # not the person's ~/.jupyter or ~/.local/share/jupyter (a kernel there would shadow the
        # environment's own); the environment's kernel and extensions are found under sys.prefix
        JUPYTER_CONFIG_DIR=str(base / "jupyter-config"),
        JUPYTER_DATA_DIR=str(base / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
    )
    env.pop("NBGRADER_EXECUTION", None)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--notebook-dir={course}",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    log = base / "server.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=course, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Lab(url=f"http://127.0.0.1:{port}", token=token, course=course, log=log, process=process)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with status {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                _stop(process)
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_SECONDS} s:\n{server.log_tail()}")
            time.sleep(0.5)
    return server


def _stop(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM lets Jupyter stop its kernels; the process group catches whatever is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


# ------------------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through Playwright; skipped (with the fix) where either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install playwright (it is in the [test] extra)")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set COURSE_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab):
    """A fresh page; every kernel is stopped afterwards."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    yield page
    context.close()
    lab.shutdown_kernels()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = Path(os.environ.get("COURSE_SCREENSHOTS") or ROOT / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shoot(page, screenshot_dir):
    """``shoot("01_sequence_data-learner-1-opened")`` writes screenshots/<name>.png of the page."""

    from tests.browser.lab_steps import dismiss_news

    def take(name: str) -> Path:
        dismiss_news(page)
        path = screenshot_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        page.screenshot(path=str(path))
        return path

    return take


# The JupyterHub of the term test (tests/browser/test_hub_term.py), module-scoped: see hub_server.py.
from tests.browser.hub_server import hub  # noqa: E402, F401
