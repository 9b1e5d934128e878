"""Does `course doctor` find a kernel or `jupyter` from another environment, and disabled nbgrader or lab extensions?"""

from __future__ import annotations

import sys
from pathlib import Path

from course_lib.doctor import jupyter
from course_lib.doctor.findings import NOTE, OK, PROBLEM
from tests.doctor import statuses


def test_a_kernel_from_another_environment_without_the_course_is_a_problem():
    spec = (
        ["/opt/other/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "/home/me/.local/share/jupyter/kernels/python3",
    )
    [finding] = jupyter.check_kernel(spec, probe=lambda python: ("/opt/other", False, True), in_kernel=False)
    assert finding.status == PROBLEM and "/opt/other/bin/python" in finding.text and "course_lib" in finding.text
    assert "ipykernel install" in finding.fix


def test_a_kernel_of_this_environment_is_ok_and_a_working_foreign_one_a_note():
    spec = ([sys.executable, "-m", "ipykernel_launcher"], "/somewhere")
    assert statuses(jupyter.check_kernel(spec, probe=lambda p: (sys.prefix, True, True), in_kernel=False)) == [OK]
    assert statuses(jupyter.check_kernel(spec, probe=lambda p: ("/opt/other", True, True), in_kernel=False)) == [NOTE]
    bare = (["python", "-m", "ipykernel_launcher"], "/somewhere")
    assert statuses(jupyter.check_kernel(bare, probe=None, in_kernel=False)) == [OK]


def test_a_kernel_probe_really_runs_the_interpreter():
    prefix, has_course_lib, has_torch = jupyter._probe_interpreter(sys.executable)
    assert Path(prefix) == Path(sys.prefix) and has_torch
    assert jupyter._probe_interpreter("/nonexistent/python") is None


def test_no_python3_kernel_is_a_problem():
    findings = jupyter.check_kernel(spec=(), probe=None, in_kernel=True)
    assert statuses(findings) == [OK, PROBLEM]  # inside a kernel, that kernel is reported too
    assert "ipykernel install --sys-prefix --name python3" in findings[1].fix


def test_jupyter_from_another_environment_is_a_problem():
    here = Path(sys.executable).parent
    assert statuses(jupyter.check_jupyter_command(lambda name: str(here / name))) == [OK]
    [other] = jupyter.check_jupyter_command(lambda name: "/usr/bin/jupyter")
    assert other.status == PROBLEM and "activate" in other.fix
    assert statuses(jupyter.check_jupyter_command(lambda name: None)) == [NOTE]


def test_nbgrader_extensions_disabled_or_missing_are_problems():
    server = {f"nbgrader.server_extensions.{n}": True for n in jupyter.NBGRADER_SERVER_EXTENSIONS}
    lab = (set(jupyter.LAB_EXTENSIONS), [])
    assert statuses(jupyter.check_nbgrader(server, lab)) == [OK, OK, OK]

    off = dict(server, **{"nbgrader.server_extensions.formgrader": False})
    findings = jupyter.check_nbgrader(off, lab)
    assert findings[0].status == PROBLEM and "formgrader" in findings[0].text
    assert "jupyter server extension enable" in findings[0].fix

    plugin = "@jupyter/nbgrader:validate-assignment"
    findings = jupyter.check_nbgrader(server, (set(jupyter.LAB_EXTENSIONS), [plugin]))
    assert statuses(findings) == [OK, PROBLEM, OK] and plugin in findings[1].text
    assert f"jupyter labextension enable {plugin}" in findings[1].fix

    findings = jupyter.check_nbgrader(server, ({"@jupyter/nbgrader"}, []))
    assert findings[2].status == PROBLEM and "ipywidgets" in findings[2].text and "pip install" in findings[2].fix


def test_lab_extensions_are_read_where_jupyterlab_reads_them(tmp_path, monkeypatch):
    """A plugin disabled with `jupyter labextension disable` (user level) is seen."""
    (tmp_path / "labconfig").mkdir()
    (tmp_path / "labconfig" / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyter/nbgrader:validate-assignment": true}}'
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    installed, disabled = jupyter._lab_extensions()
    assert "@jupyter/nbgrader:validate-assignment" in disabled
    assert installed >= set(jupyter.LAB_EXTENSIONS)  # this environment has both
