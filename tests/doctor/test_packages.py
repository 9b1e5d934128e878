"""Does `course doctor` find a wrong Python, torch, package or copy of course_lib, with a fix?"""

from __future__ import annotations

import importlib.metadata

from course_lib.doctor import packages
from course_lib.doctor.findings import OK, PROBLEM
from tests.conftest import ROOT
from tests.doctor import fake_torch, statuses


def test_an_old_python_is_a_problem_with_a_fix():
    [finding] = packages.check_python((3, 9, 18), "/usr/bin/python3")
    assert finding.status == PROBLEM and "3.9.18" in finding.text and "3.10" in finding.fix
    assert statuses(packages.check_python((3, 12, 1), "/x/python")) == [OK]


def test_torch_build_and_range():
    [cpu] = packages.check_torch(fake_torch("2.13.0+cpu"))
    assert cpu.status == OK and "CPU build" in cpu.text
    [cuda] = packages.check_torch(fake_torch("2.13.0+cu121", cuda="12.1", gpu=False))
    assert cuda.status == OK and "CUDA 12.1 build" in cuda.text and "no GPU" in cuda.text
    [new] = packages.check_torch(fake_torch("2.14.0"))
    assert new.status == PROBLEM and "2.14.0" in new.text and "torch==2.13.0" in new.fix
    [old] = packages.check_torch(fake_torch("2.1.2"))
    assert old.status == PROBLEM


def test_a_missing_or_out_of_range_package_is_a_problem():
    versions = {
        "numpy": "2.0.0",
        "matplotlib": "3.8.0",
        "tqdm": "4.66.0",
        "ipywidgets": "7.8.1",
        "jupyterlab": "4.2.0",
        "nbclient": "0.10.0",
        "nbformat": "5.9.0",
        "nh3": "0.3.8",
        "latex2mathml": "3.81.1",
        "cloudpickle": "3.1.0",
        "distributed": "2026.8.0",
        "cryptography": "46.0.0",
        "psycopg": "3.2.0",
    }

    def version_of(name):
        if name not in versions:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    findings = packages.check_packages(version_of)
    problems = {f.text.split()[0]: f for f in findings if f.status == PROBLEM}
    assert set(problems) == {"ipywidgets", "nbgrader"}
    assert "7.8.1" in problems["ipywidgets"].text and "ipywidgets>=8.1" in problems["ipywidgets"].fix
    assert "not installed" in problems["nbgrader"].text
    assert findings[0].status == OK and "numpy 2.0.0" in findings[0].text


def test_course_lib_from_another_copy_than_the_course_folder_is_a_problem(tmp_path):
    course = tmp_path / "other-clone"
    (course / "solutions").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    [finding] = packages.check_course_lib(cwd=course / "solutions")
    assert finding.status == PROBLEM and str(course) in finding.text and "pip install -e ." in finding.fix
    assert statuses(packages.check_course_lib(cwd=ROOT)) == [OK]
