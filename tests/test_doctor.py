"""Does `course doctor` say, in plain words with a fix, what is wrong with a set-up, and stay quiet when nothing is?

Each check is fed a broken set-up (a fake torch, a kernel from another environment, a disabled
extension, too many threads...) and must answer PROBLEM (or NOTE for instructor-only tools) with a fix;
the whole report runs on this machine and its ok flag agrees with its lines.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

from course_lib import doctor
from course_lib.cli import main
from course_lib.doctor import NOTE, OK, PROBLEM, Finding
from tests.conftest import ROOT

STATUS_LINE = re.compile(r"^(OK|PROBLEM|NOTE) {2,}\S")


def _statuses(findings: list[Finding]) -> list[str]:
    return [f.status for f in findings]


def _fake_torch(version: str, cuda: str | None = None, gpu: bool = False):
    return SimpleNamespace(__version__=version, version=SimpleNamespace(cuda=cuda, hip=None),
                           cuda=SimpleNamespace(is_available=lambda: gpu))


def test_report_on_this_machine_has_one_status_per_line_and_ok_agrees_with_them():
    ok, text = doctor.diagnose()
    findings = [line for line in text.splitlines() if STATUS_LINE.match(line)]
    assert len(findings) >= 8, text
    assert ok == (not any(line.startswith("PROBLEM") for line in findings)), text
    for topic in ("Python", "torch", "kernel", "nbgrader", "threads", "bubblewrap"):
        assert topic in text, f"the report says nothing about {topic}:\n{text}"
    assert "Traceback" not in text


def test_requirements_are_pyprojects():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pyproject = dict(re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", d.replace(" ", "")).groups() for d in dependencies)
    assert doctor.REQUIREMENTS == pyproject
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires_python == ">=" + ".".join(map(str, doctor.PYTHON_MIN))


def test_an_old_python_is_a_problem_with_a_fix():
    [finding] = doctor.check_python((3, 9, 18), "/usr/bin/python3")
    assert finding.status == PROBLEM and "3.9.18" in finding.text and "3.10" in finding.fix
    assert _statuses(doctor.check_python((3, 12, 1), "/x/python")) == [OK]


def test_torch_build_and_range():
    [cpu] = doctor.check_torch(_fake_torch("2.13.0+cpu"))
    assert cpu.status == OK and "CPU build" in cpu.text
    [cuda] = doctor.check_torch(_fake_torch("2.13.0+cu121", cuda="12.1", gpu=False))
    assert cuda.status == OK and "CUDA 12.1 build" in cuda.text and "no GPU" in cuda.text
    [new] = doctor.check_torch(_fake_torch("2.14.0"))
    assert new.status == PROBLEM and "2.14.0" in new.text and "torch==2.13.0" in new.fix
    [old] = doctor.check_torch(_fake_torch("2.1.2"))
    assert old.status == PROBLEM


def test_a_missing_or_out_of_range_package_is_a_problem():
    versions = {"numpy": "2.0.0", "matplotlib": "3.8.0", "tqdm": "4.66.0", "ipywidgets": "7.8.1",
                "jupyterlab": "4.2.0", "nbclient": "0.10.0", "nbformat": "5.9.0"}

    def version_of(name):
        if name not in versions:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    findings = doctor.check_packages(version_of)
    problems = {f.text.split()[0]: f for f in findings if f.status == PROBLEM}
    assert set(problems) == {"ipywidgets", "nbgrader"}
    assert "7.8.1" in problems["ipywidgets"].text and "ipywidgets>=8.1" in problems["ipywidgets"].fix
    assert "not installed" in problems["nbgrader"].text
    assert findings[0].status == OK and "numpy 2.0.0" in findings[0].text


def test_course_lib_from_another_copy_than_the_course_folder_is_a_problem(tmp_path):
    course = tmp_path / "other-clone"
    (course / "solutions").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    [finding] = doctor.check_course_lib(cwd=course / "solutions")
    assert finding.status == PROBLEM and str(course) in finding.text and "pip install -e ." in finding.fix
    assert _statuses(doctor.check_course_lib(cwd=ROOT)) == [OK]


def test_a_kernel_from_another_environment_without_the_course_is_a_problem():
    spec = (["/opt/other/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "/home/me/.local/share/jupyter/kernels/python3")
    [finding] = doctor.check_kernel(spec, probe=lambda python: ("/opt/other", False, True), in_kernel=False)
    assert finding.status == PROBLEM and "/opt/other/bin/python" in finding.text and "course_lib" in finding.text
    assert "ipykernel install" in finding.fix


def test_a_kernel_of_this_environment_is_ok_and_a_working_foreign_one_a_note():
    spec = ([sys.executable, "-m", "ipykernel_launcher"], "/somewhere")
    assert _statuses(doctor.check_kernel(spec, probe=lambda p: (sys.prefix, True, True), in_kernel=False)) == [OK]
    assert _statuses(doctor.check_kernel(spec, probe=lambda p: ("/opt/other", True, True), in_kernel=False)) == [NOTE]
    bare = (["python", "-m", "ipykernel_launcher"], "/somewhere")
    assert _statuses(doctor.check_kernel(bare, probe=None, in_kernel=False)) == [OK]


def test_a_kernel_probe_really_runs_the_interpreter():
    prefix, has_course_lib, has_torch = doctor._probe_interpreter(sys.executable)
    assert Path(prefix) == Path(sys.prefix) and has_torch
    assert doctor._probe_interpreter("/nonexistent/python") is None


def test_no_python3_kernel_is_a_problem():
    findings = doctor.check_kernel(spec=(), probe=None, in_kernel=True)
    assert _statuses(findings) == [OK, PROBLEM]  # inside a kernel, that kernel is reported too
    assert "ipykernel install --sys-prefix --name python3" in findings[1].fix


def test_jupyter_from_another_environment_is_a_problem():
    here = Path(sys.executable).parent
    assert _statuses(doctor.check_jupyter_command(lambda name: str(here / name))) == [OK]
    [other] = doctor.check_jupyter_command(lambda name: "/usr/bin/jupyter")
    assert other.status == PROBLEM and "activate" in other.fix
    assert _statuses(doctor.check_jupyter_command(lambda name: None)) == [NOTE]


def test_nbgrader_extensions_disabled_or_missing_are_problems():
    server = {f"nbgrader.server_extensions.{n}": True for n in doctor.NBGRADER_SERVER_EXTENSIONS}
    lab = (set(doctor.LAB_EXTENSIONS), [])
    assert _statuses(doctor.check_nbgrader(server, lab)) == [OK, OK, OK]

    off = dict(server, **{"nbgrader.server_extensions.formgrader": False})
    findings = doctor.check_nbgrader(off, lab)
    assert findings[0].status == PROBLEM and "formgrader" in findings[0].text
    assert "jupyter server extension enable" in findings[0].fix

    plugin = "@jupyter/nbgrader:validate-assignment"
    findings = doctor.check_nbgrader(server, (set(doctor.LAB_EXTENSIONS), [plugin]))
    assert _statuses(findings) == [OK, PROBLEM, OK] and plugin in findings[1].text
    assert f"jupyter labextension enable {plugin}" in findings[1].fix

    findings = doctor.check_nbgrader(server, ({"@jupyter/nbgrader"}, []))
    assert findings[2].status == PROBLEM and "ipywidgets" in findings[2].text and "pip install" in findings[2].fix


def test_lab_extensions_are_read_where_jupyterlab_reads_them(tmp_path, monkeypatch):
    """A plugin disabled with `jupyter labextension disable` (user level) is seen."""
    (tmp_path / "labconfig").mkdir()
    (tmp_path / "labconfig" / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyter/nbgrader:validate-assignment": true}}')
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    installed, disabled = doctor._lab_extensions()
    assert "@jupyter/nbgrader:validate-assignment" in disabled
    assert installed >= set(doctor.LAB_EXTENSIONS)  # this environment has both


def test_more_threads_than_cores_is_a_problem():
    [finding] = doctor.check_threads(threads=16, cores=2)
    assert finding.status == PROBLEM and "OMP_NUM_THREADS=2" in finding.fix
    assert _statuses(doctor.check_threads(threads=2, cores=2)) == [OK]
    assert doctor.available_cores() >= 1


def test_instructor_tools_missing_are_notes_not_problems():
    findings = doctor.check_instructor_tools(lambda name: None)
    assert _statuses(findings) == [NOTE, NOTE]
    assert "bubblewrap" in findings[0].fix and "alembic" in findings[1].text


def test_fonts():
    assert _statuses(doctor.check_fonts(lambda: "WenQuanYi Micro Hei", lambda: [])) == [OK]
    [stale] = doctor.check_fonts(lambda: None, lambda: ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"])
    assert stale.status == NOTE and "fontlist" in stale.fix
    [none] = doctor.check_fonts(lambda: None, lambda: ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"])
    assert none.status == NOTE and "fonts-wqy-microhei" in none.fix


def test_a_crashing_check_is_a_problem_line_not_a_traceback():
    def check_widgets():
        raise RuntimeError("boom")

    ok, text = doctor.diagnose(checks=(lambda: [Finding(OK, "fine")], check_widgets))
    assert not ok
    assert "PROBLEM  could not check widgets: RuntimeError: boom" in text and "Traceback" not in text


def test_course_doctor_exits_1_on_a_problem_and_0_otherwise(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "diagnose", lambda: (False, "PROBLEM  x"))
    assert main(["doctor"]) == 1
    assert "PROBLEM  x" in capsys.readouterr().out
    monkeypatch.setattr(doctor, "diagnose", lambda: (True, "OK       y"))
    assert main(["doctor"]) == 0
