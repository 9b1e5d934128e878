"""A real JupyterHub on this machine, as README's "JupyterHub" recipe sets it up, for the term test.

It follows ``deploy/jupyterhub/`` exactly: ``setup_course.sh`` prepares the course folder, the shared exchange and
the hub's state under a fresh prefix, and ``jupyterhub_config.py`` (read unchanged) runs the hub, the proxy
(configurable-http-proxy from npm), the shared Formgrader service as the course's grading account, and every
person's JupyterLab as their own Linux account (LocalProcessSpawner).  What differs from production is only
what ``hub.json`` says: throw-away Linux accounts made here (removed afterwards), the test authenticator with
one password instead of PAM, free ports, ``COURSE_QUICK=1`` (the notebooks' small training budget).

Needs root (accounts, ``setuid`` spawning) and ``configurable-http-proxy`` (``bash quickstart.sh test`` installs
it under ``.course-node/``); skipped, with the reason, without them.  The accounts must be able to run the
course's Python: a directory on the way to it that only root may enter (``/root`` when Python came from pyenv
as root) is opened for traversal (``o+x``, no listing) while the hub runs, and closed again.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

PREFIX = "seqmod-"  # every account this fixture makes starts with it (and is removed at the end)
HUB_START_SECONDS = 120


@dataclass
class Hub:
    """A running JupyterHub: its URL, the accounts and the folders ``setup_course.sh`` made."""

    url: str
    course_id: str
    course: Path  # the course folder the Formgrader service serves
    exchange: Path
    grader_account: str
    instructor: str
    second_grader: str
    learners: list[str]
    password: str
    log: Path
    process: subprocess.Popen
    homes: dict[str, Path] = field(default_factory=dict)

    @property
    def formgrader(self) -> str:
        return f"{self.url}/services/{self.course_id}/formgrader"

    def as_grader(self, *command: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run ``command`` in the course folder as the course's grading account, as an instructor does in a
        terminal of the Formgrader service."""
        env = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.homes[self.grader_account]),
            "LANG": "C.UTF-8",
            "COURSE_QUICK": "1",
        }
        return subprocess.run(
            ["runuser", "-u", self.grader_account, "--", "env", *(f"{k}={v}" for k, v in env.items()), *command],
            cwd=self.course,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def proxy_command() -> str | None:
    """configurable-http-proxy: ``COURSE_CHP``, else the one ``quickstart.sh`` installs, else PATH's."""
    local = ROOT / ".course-node" / "node_modules" / ".bin" / "configurable-http-proxy"
    for candidate in (os.environ.get("COURSE_CHP"), local, shutil.which("configurable-http-proxy")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def _open_the_way(paths: list[Path]) -> dict[Path, int]:
    """Let other accounts traverse every directory above ``paths``; returns the modes to restore."""
    changed: dict[Path, int] = {}
    for path in paths:
        for folder in [*reversed(path.resolve().parents)]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                changed.setdefault(folder, stat.S_IMODE(mode))
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    return changed


def _make_account(name: str, home: Path) -> None:
    _remove_account(name)  # a leftover from an interrupted run
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", name], check=True)


def _remove_account(name: str) -> None:
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    subprocess.run(["userdel", "--force", "--remove", name], capture_output=True)


def _wait_for_hub(hub: Hub) -> None:
    deadline = time.monotonic() + HUB_START_SECONDS
    while True:
        if hub.process.poll() is not None:
            pytest.fail(f"jupyterhub exited with status {hub.process.returncode}:\n{hub.log_tail()}")
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=10) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"jupyterhub did not answer within {HUB_START_SECONDS} s:\n{hub.log_tail()}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def hub():
    """JupyterHub with an instructor (grader), three learners and the shared Formgrader, as deployed."""
    if os.geteuid() != 0:
        pytest.skip("the JupyterHub test makes Linux accounts and spawns servers as them: run it as root")
    for tool in ("useradd", "userdel", "runuser"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing (Debian's passwd/util-linux)")
    from tests.browser.conftest import _free_port, _stop  # the conftest imports this module's fixture

    chp = proxy_command()
    if chp is None:
        pytest.skip("configurable-http-proxy is missing: bash quickstart.sh test installs it (npm)")

    tag = secrets.token_hex(2)
    base = Path(tempfile.mkdtemp(prefix="course-hub-"))
    base.chmod(0o755)
    prefix, homes = base / "srv", base / "home"
    homes.mkdir(mode=0o755)
    names = {role: f"{PREFIX}{tag}-{role}" for role in ("grader", "teacher", "ta", "alice", "bob", "carol")}
    restore = _open_the_way([Path(sys.executable), ROOT])
    accounts = list(names.values())
    try:
        for name in accounts:
            _make_account(name, homes / name)
        setup = subprocess.run(
            ["bash", str(ROOT / "deploy" / "jupyterhub" / "setup_course.sh"), str(prefix), names["grader"]],
            capture_output=True,
            text=True,
        )
        assert setup.returncode == 0, setup.stdout + setup.stderr
        settings = json.loads((prefix / "hub.json").read_text())
        password = secrets.token_urlsafe(12)
        port = _free_port()
        settings.update(
            graders=[names["teacher"], names["ta"]],
            learners=[names[n] for n in ("alice", "bob", "carol")],
            authenticator="dummy",
            dummy_password=password,
            proxy_command=[chp],
            bind_url=f"http://127.0.0.1:{port}",
            hub_port=_free_port(),
            proxy_api_port=_free_port(),
            service_port=_free_port(),
        )
        (prefix / "hub.json").write_text(json.dumps(settings, indent=1))
        log = base / "hub.log"
        env = dict(os.environ, COURSE_HUB_SETTINGS=str(prefix / "hub.json"), COURSE_QUICK="1")
        env.pop("NBGRADER_EXECUTION", None)
        with log.open("w") as log_file:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "jupyterhub"), "-f", "deploy/jupyterhub/jupyterhub_config.py"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Hub(
            url=f"http://127.0.0.1:{port}",
            course_id=settings["course_id"],
            course=Path(settings["course_dir"]),
            exchange=Path(settings["exchange"]),
            grader_account=names["grader"],
            instructor=names["teacher"],
            second_grader=names["ta"],
            learners=[names[n] for n in ("alice", "bob", "carol")],
            password=password,
            log=log,
            process=process,
            homes={name: homes / name for name in accounts},
        )
        try:
            _wait_for_hub(server)
            yield server
        finally:
            _stop(process, grace=60)  # the hub first stops its service and every learner's server
    finally:
        for name in accounts:
            _remove_account(name)
        for folder, mode in restore.items():
            folder.chmod(mode)
        if (base / "hub.log").exists():  # kept beside the browser tests' screenshots, for a post-mortem
            kept = Path(os.environ.get("COURSE_SCREENSHOTS") or ROOT / "screenshots")
            kept.mkdir(parents=True, exist_ok=True)
            shutil.copy(base / "hub.log", kept / "hub-term.log")
        shutil.rmtree(base, ignore_errors=True)
