"""When nbgrader itself fails on a submission, does the report say why in one line and keep the whole log?"""

from __future__ import annotations

import pytest

from course_lib.grading.coordinator.class_run import _failure

LOG = """[AutogradeApp | ERROR] There was an error processing assignment: /c/submitted/eve/01
Traceback (most recent call last):
  File "/venv/nbgrader/preprocessors/overwritecells.py", line 80, in preprocess_cell
    raise MissingEntry()
nbgrader.api.MissingEntry: No such grade cell 'test_x'
"""
ERROR = """Traceback (most recent call last):
  File "/venv/nbgrader/converters/base.py", line 468, in convert_notebooks
    raise NbGraderException(msg)
nbgrader.converters.base.NbGraderException: Please see the the above traceback for details on the specific errors on the above failures.
"""


def test_the_failure_names_the_exception_and_points_at_the_log(tmp_path):
    line = _failure(tmp_path, "eve", "01_sequence_data", {"success": False, "log": LOG, "error": ERROR})
    assert line == (
        "grading failed: nbgrader.api.MissingEntry: No such grade cell 'test_x' "
        "(full log: .course/logs/eve/01_sequence_data.log)"
    )
    saved = (tmp_path / ".course" / "logs" / "eve" / "01_sequence_data.log").read_text()
    assert LOG in saved and ERROR in saved


def test_a_failure_without_a_traceback_keeps_its_last_line(tmp_path):
    line = _failure(
        tmp_path, "eve", "01_sequence_data", {"success": False, "error": "the grading worker did not finish in time"}
    )
    assert line.startswith("grading failed: the grading worker did not finish in time (full log: ")


def test_a_task_gradebook_is_generated_once_per_version_of_the_sources(tmp_path):
    from course_lib.grading.coordinator.class_run import GradeOptions, _course, _register
    from tests.grading.conftest import A01, make_course

    course = make_course(tmp_path)
    state = _course(course, GradeOptions(assignments=[A01], sandbox=False))
    first = _register(state, tmp_path / "one" / "release")
    cached = sorted((course / ".course" / "cache").glob(f"{A01}-*.db"))
    assert len(cached) == 1 and first[A01] == cached[0].read_bytes()
    stamp = cached[0].stat().st_mtime_ns
    assert _register(state, tmp_path / "two" / "release") == first and cached[0].stat().st_mtime_ns == stamp
    assert (tmp_path / "two" / "release" / A01 / f"{A01}.ipynb").is_file(), "the blank notebooks, every run"
    solution = course / "solutions" / A01 / f"{A01}.ipynb"
    solution.write_text(solution.read_text() + "\n")
    _register(state, tmp_path / "three" / "release")
    assert [p.name for p in (course / ".course" / "cache").glob(f"{A01}-*.db")] != [cached[0].name], (
        "an edited source gets a new task gradebook (and the old one goes)"
    )


def test_tasks_go_out_longest_expected_first(tmp_path):
    """Earlier summaries' seconds order the pairs (summed over an assignment's notebooks); before any,
    the solutions' size does; ties by assignment, then student."""
    import json

    from course_lib.grading.coordinator.class_run import GradeOptions, _course, _longest_first
    from tests.grading.conftest import make_course

    course = make_course(tmp_path)
    state = _course(course, GradeOptions(assignments=["01_sequence_data", "02_rnn", "07_attention"], sandbox=False))
    todo = [(s, a, "fp") for s in ("bob", "amy") for a in state.chosen]
    by_size = [a for _, a, _ in _longest_first(state, todo)]
    assert by_size[:2] == ["02_rnn", "02_rnn"], "02's solution notebook is the largest of the three"
    for student, assignment, seconds in [("x", "07_attention", 30.0), ("y", "07_attention", 20.0), ("x", "02_rnn", 9)]:
        folder = course / ".course" / "reports" / student / assignment
        folder.mkdir(parents=True)
        for part in ("a", "b"):  # two notebooks: a submission's expected time is their sum
            (folder / f"{part}.json").write_text(json.dumps({"assignment": assignment, "seconds": seconds / 2}))
    (course / ".course" / "reports" / "z" / "01_sequence_data").mkdir(parents=True)
    (course / ".course" / "reports" / "z" / "01_sequence_data" / "a.json").write_text("not json")
    ordered = _longest_first(state, todo)
    assert ordered[:2] == [("amy", "07_attention", "fp"), ("bob", "07_attention", "fp")]
    assert [a for _, a, _ in ordered[2:4]] == ["02_rnn", "02_rnn"]
    assert sorted(ordered) == sorted(todo), "every pair once"


def test_nbgrader_asks_alembic_for_the_schema_head_once_per_process(tmp_path, monkeypatch):
    """Each new gradebook used to start an ``alembic heads`` process (2.6 s)."""
    import subprocess

    from nbgrader.api import Gradebook
    from sqlalchemy import text

    from course_lib.nbgrader_setup import api_for, course_config
    from tests.grading.conftest import make_course

    api_for(course_config(make_course(tmp_path)))
    with Gradebook(f"sqlite:///{tmp_path / 'one.db'}"):
        pass
    calls = []
    real = subprocess.check_output
    monkeypatch.setattr(subprocess, "check_output", lambda *a, **k: calls.append(a) or real(*a, **k))
    with Gradebook(f"sqlite:///{tmp_path / 'two.db'}") as gb:
        head = gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert calls == [] and head, "the second new gradebook is stamped without a subprocess"


def _no_grading(job, shared):
    """A task that grades nothing (on a worker): the class run's loop without the grading."""
    from course_lib.grading.task.job import Outcome

    return Outcome(job.student, job.assignment, True, seconds=0.01)


def test_results_are_collected_while_recording_is_stuck(tmp_path, monkeypatch):
    """The loop that submits tasks and collects results never waits on the gradebook: with the recorder
    stuck in its first batch, every other result still arrives and is handed over."""
    import threading

    from course_lib.grading.coordinator import class_run
    from course_lib.grading.coordinator.progress import Progress
    from tests.grading.conftest import A01, make_course
    from tests.grading.synthetic_outcomes import hand_in

    course_root = make_course(tmp_path)
    options = class_run.GradeOptions(jobs=2, assignments=[A01], sandbox=False)
    course = class_run._course(course_root, options)
    templates = class_run._register(course, tmp_path / "release")
    todo = [(f"s{i}", A01, "print") for i in range(12)]
    for student, assignment, _ in todo:
        hand_in(course_root, student, assignment, None)
    handed, all_handed, recorded = [], threading.Event(), []

    class Counting(class_run.Recorder):
        def put(self, items):
            super().put(items)
            handed.extend(items)
            if len(handed) == len(todo):
                all_handed.set()

    def stuck_record_batch(root, config, graded, marks):
        if not recorded:  # the first batch waits until the main thread has handed over every result
            assert all_handed.wait(120), f"collection waited on recording: {len(handed)}/{len(todo)} handed over"
        recorded.extend(outcome.student for outcome, _ in graded)

    monkeypatch.setattr(class_run, "Recorder", Counting)
    monkeypatch.setattr(class_run, "record_batch", stuck_record_batch)
    shared = class_run._shared(course, options, templates, tmp_path / "subs", 2)
    timings: dict[str, float] = {}
    with Progress(len(todo), quiet=True) as progress:
        failures = class_run._grade(course, options, todo, shared, progress, timings, task=_no_grading)
    assert failures == [] and sorted(recorded) == sorted(s for s, _, _ in todo) and progress.done == len(todo)
    assert timings["tasks (wall)"] > 0 and timings["tasks: in workers"] == pytest.approx(0.01 * len(todo))
