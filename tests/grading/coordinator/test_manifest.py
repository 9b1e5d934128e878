"""Is a grading worker refused, by the name of what differs, when anything that can change a grade or a page is
not the coordinator's: a feedback template, a data file, an installed version, the nbgrader configuration?

``grader_manifest`` (name -> digest) is what the coordinator and every worker compare before a task runs
(:func:`course_lib.grading.coordinator.cluster.check_workers`) and again inside each task (:func:`grade_submission`).  The
other worker is a copy of course_lib with one file edited, run in another interpreter as a worker on another
machine would be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from course_lib.grading.coordinator import cluster
from course_lib.grading.task.job import GraderMismatch, Job, Shared, grade_submission, grader_manifest
from course_lib.nbgrader_setup import CourseError
from tests.conftest import ROOT

TEMPLATE = "course_lib/grading/templates/feedback/course_feedback.html.j2"
DATA = "course_lib/data/files/tang_curves.json"


def _other_worker(tmp_path, relative: str) -> dict[str, str]:
    """The manifest of a copy of course_lib with ``relative`` edited, computed by another interpreter."""
    other = tmp_path / "other"
    shutil.copytree(ROOT / "course_lib", other / "course_lib", ignore=shutil.ignore_patterns("__pycache__"))
    edited = other / relative
    edited.write_bytes(edited.read_bytes() + b"\n")
    code = "import json; from course_lib.grading.task.job import grader_manifest; print(json.dumps(grader_manifest()))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(other)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


class _Client:
    """What check_workers asks of a Dask client: each worker's answer to ``grader_manifest``."""

    def __init__(self, manifests):
        self.manifests = manifests

    def run(self, function):
        assert function.__name__ in ("grader_manifest", "<lambda>")
        return self.manifests


@pytest.mark.parametrize("relative", [TEMPLATE, DATA], ids=["feedback template", "data file"])
def test_a_worker_with_an_edited_file_is_refused_by_its_name(tmp_path, relative):
    theirs = _other_worker(tmp_path, relative)
    assert set(theirs) == set(grader_manifest())  # the same entries, one of them another digest
    with pytest.raises(CourseError) as refused:
        cluster.check_workers(_Client({"tls://10.0.0.2:4000": theirs, "tls://10.0.0.3:4000": grader_manifest()}))
    message = str(refused.value)
    assert f"tls://10.0.0.2:4000: {relative}" in message and "10.0.0.3" not in message


def test_a_worker_with_another_version_of_nbconvert_is_refused_by_name(monkeypatch):
    ours = grader_manifest()
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.1" if name == "nbconvert" else real(name))
    theirs = grader_manifest()
    assert theirs["nbconvert version"] == "0.0.1" and ours["nbconvert version"] == real("nbconvert")
    monkeypatch.setattr(cluster, "grader_manifest", lambda: ours)
    with pytest.raises(CourseError, match=r"tls://w:1: nbconvert version\b"):
        cluster.check_workers(_Client({"tls://w:1": theirs}))


@pytest.mark.parametrize("name", ["nbgrader", "torch"])
def test_the_manifest_names_the_versions_that_change_a_grade(name):
    assert grader_manifest()[f"{name} version"] == metadata.version(name)


def test_a_task_refuses_a_worker_that_differs_and_names_what(tmp_path):
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    coordinator = grader_manifest(config)
    coordinator[TEMPLATE] = "0" * 64
    shared = Shared(
        grader=coordinator, config=config, secret=b"", gradebooks={}, sources={}, limits={}, slots={}, hide=[]
    )
    with pytest.raises(GraderMismatch, match=f"these differ: {TEMPLATE}"):
        grade_submission(Job("alice", "01_sequence_data", {}), shared)


def test_the_nbgrader_configuration_is_an_entry():
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    assert (
        grader_manifest(config)["nbgrader_config.py"] != grader_manifest(config + "\n# edited\n")["nbgrader_config.py"]
    )
