"""Who changed what: is every score change -- autograde, hand grading in Formgrader, an extension, a due date, a
rescore -- in ``.course/audit.jsonl`` with the right actor, action, old and new value, and does ``course history``
show them in time order?  Grading is simulated through nbgrader's Gradebook API (seconds, no kernel); the
extension, due date and rescore go through the real ``course`` command.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import shutil
import time

import pytest
from nbgrader.api import Gradebook

from course_lib.cli import main as course_cli
from course_lib.grading.coordinator import audit
from course_lib.nbgrader_setup import course_config
from tests.grading.conftest import make_course
from tests.grading.sample_gradebook import DUE, A, gradebook

ME = audit.actor()
TEST, WRITTEN = "test_windows", "why_bag_of_words_fails"
TEN_HOURS_LATE = DUE + datetime.timedelta(hours=10)


def _cli(course, *argv) -> int:
    return course_cli(["--course-dir", str(course), *argv])


def _hand(url: str, student: str, score: float) -> None:
    """A score entered in Formgrader: it writes the grade's manual_score straight into the gradebook."""
    with Gradebook(url) as gb:
        gb.find_grade(WRITTEN, A, A, student).manual_score = score
        gb.db.commit()


def _brief(line: dict) -> tuple:
    return (line["actor"], line["action"], line["student"], line["notebook"], line["cell"], line["field"]) + (
        None if line["old"] is None else round(line["old"], 6),
        None if line["new"] is None else round(line["new"], 6),
    )


def _replayed(lines: list[dict]) -> dict[str, float]:
    """The gradebook's values as the log alone tells them: every line's new value, in order."""
    values = {}
    for line in lines:
        key = json.dumps([line["student"], line["assignment"], line["notebook"], line["cell"], line["field"]])
        values[key] = line["new"]
    return {k: v for k, v in values.items() if v is not None and not (v == 0 and k.endswith('penalty"]'))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course whose gradebook is written by a simulated ``course grade`` (alice 10 h late, bob on time)."""
    course = make_course(tmp_path_factory.mktemp("audit"))
    url = course_config(course).CourseDirectory.db_url
    with audit.watch(course, url, "grade", "course grade submitted"):
        gradebook(course, {"alice": {"auto": 10, "submitted": TEN_HOURS_LATE}, "bob": {"auto": 12}})
    return course


@pytest.fixture
def term(graded, tmp_path):
    """A copy of that course for one test (nbgrader_config.py finds its gradebook beside itself)."""
    course = tmp_path / "course"
    shutil.copytree(graded, course)
    return course, course_config(course).CourseDirectory.db_url


def test_every_change_is_logged_with_who_did_it_and_history_shows_it_in_order(term, capsys):
    course, url = term
    _hand(url, "alice", 1.5)  # Formgrader, between two commands
    assert _cli(course, "extend", "alice", A, "--hours", "1") == 0  # 9 h late: 10 % of 11.5
    assert _cli(course, "rescore") == 0  # changes nothing
    assert _cli(course, "due", A, "2026-12-02T12:00") == 0  # no longer late
    capsys.readouterr()
    grade, extend = "course grade submitted", f"course extend alice {A} --hours 1"
    due = f"course due {A} 2026-12-02T12:00"
    expected = [
        (ME, grade, "alice", A, TEST, "auto score", None, 10.0),
        (ME, grade, "alice", None, "total", "total", None, 10.0),
        (ME, grade, "bob", A, TEST, "auto score", None, 12.0),
        (ME, grade, "bob", None, "total", "total", None, 12.0),
        (audit.FORMGRADER, "seen by course extend", "alice", A, WRITTEN, "manual score", None, 1.5),
        (audit.FORMGRADER, "seen by course extend", "alice", None, "total", "total", 10.0, 11.5),
        (ME, extend, "alice", A, "late penalty", "late penalty", 0.0, 1.15),
        (ME, extend, "alice", None, "total", "total", 11.5, 10.35),
        (ME, due, "alice", A, "late penalty", "late penalty", 1.15, 0.0),
        (ME, due, "alice", None, "total", "total", 10.35, 11.5),
    ]
    lines = audit.read_log(course)
    assert [_brief(line) for line in lines] == expected
    assert all(line["time"].endswith("+00:00") for line in lines), "UTC, ISO 8601"
    assert _replayed(lines) == audit.snapshot(url), "a change the log does not have"

    assert _cli(course, "history", "alice") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["time", "(UTC)", "actor", "action", "what", "old", "→", "new"]
    rows = table[2:]
    assert len(rows) == 8 and all("bob" not in row for row in rows)
    assert f"{A} / {A} / {TEST}: auto score" in rows[0] and rows[0].rstrip().endswith("— → 10")
    assert audit.FORMGRADER in rows[2] and "seen by course extend" in rows[2] and rows[2].endswith("— → 1.5")
    assert extend in rows[4] and f"{A} / {A}: late penalty" in rows[4] and rows[4].endswith("0 → 1.15")
    assert due in rows[7] and f"{A}: total" in rows[7] and rows[7].endswith("10.35 → 11.5")
    times = [row[:19] for row in rows]
    assert times == sorted(times)


def test_changes_made_outside_course_are_caught_by_the_next_command_and_named_for_what_they_are(term, capsys):
    course, url = term
    with Gradebook(url) as gb:  # `nbgrader autograde` run by hand: an auto score, never Formgrader's
        gb.find_grade(TEST, A, A, "bob").auto_score = 11
        gb.db.commit()
    _hand(url, "bob", 2)
    assert _cli(course, "history", "bob", "--assignment", A) == 0
    assert capsys.readouterr().out.count("seen by course history") == 3
    new = [_brief(line) for line in audit.read_log(course)[4:]]
    assert new == [
        (audit.OUTSIDE, "seen by course history", "bob", A, TEST, "auto score", 12.0, 11.0),
        (audit.FORMGRADER, "seen by course history", "bob", A, WRITTEN, "manual score", None, 2.0),
        (audit.FORMGRADER, "seen by course history", "bob", None, "total", "total", 12.0, 13.0),
    ]
    assert _replayed(audit.read_log(course)) == audit.snapshot(url)


def test_a_gradebook_older_than_the_log_is_recorded_as_found_not_as_anyones_change(term):
    course, url = term
    (course / audit.LOG).unlink()
    (course / audit.STATE).unlink()
    _hand(url, "bob", 2)
    lines = audit.observe(course, url, "stats")
    assert {(line["actor"], line["action"]) for line in lines} == {(audit.BEFORE, "seen by course stats")}
    assert [(line["student"], line["field"], line["old"], line["new"]) for line in lines] == [
        ("alice", "auto score", None, 10.0),
        ("alice", "total", None, 10.0),
        ("bob", "auto score", None, 12.0),
        ("bob", "manual score", None, 2.0),
        ("bob", "total", None, 14.0),
    ]
    assert audit.observe(course, url, "stats") == [], "nothing changed since"


def test_a_change_during_a_command_is_the_commands_except_a_hand_grade(term):
    course, url = term
    with audit.watch(course, url, "rescore", "course rescore"):
        with Gradebook(url) as gb:
            gb.find_grade(TEST, A, A, "bob").auto_score = 6  # what the command does
            gb.db.commit()
        _hand(url, "alice", 0.5)  # what a grader does in Formgrader meanwhile
    new = [_brief(line) for line in audit.read_log(course)[4:]]
    assert new == [
        (audit.FORMGRADER, "seen by course rescore", "alice", A, WRITTEN, "manual score", None, 0.5),
        (audit.FORMGRADER, "seen by course rescore", "alice", None, "total", "total", 10.0, 10.5),
        (ME, "course rescore", "bob", A, TEST, "auto score", 12.0, 6.0),
        (ME, "course rescore", "bob", None, "total", "total", 12.0, 6.0),
    ]


def test_the_actor_names_the_hub_user_too(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "grader-sequence-modelling")
    monkeypatch.setenv("JUPYTERHUB_USER", "kim")
    assert audit.actor() == "grader-sequence-modelling (hub user kim)"
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert audit.actor() == "grader-sequence-modelling"


def _observe_in_another_process(course, url, go, done):
    go.wait(60)
    audit.observe(course, url, "rescore", "course rescore", "second")
    done.set()


def test_a_second_command_waits_for_the_lock_and_loses_nothing(term):
    import fcntl

    course, url = term
    _hand(url, "bob", 1)
    context = multiprocessing.get_context("fork")
    go, done = context.Event(), context.Event()
    # forked before the lock is taken: a child holding the locked file's descriptor would share the lock
    other = context.Process(target=_observe_in_another_process, args=(course, url, go, done))
    other.start()
    with (course / audit.LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a first command in the middle of its comparison
        go.set()
        assert not done.wait(3), "the second command wrote while the first held the lock"
        _hand(url, "bob", 2)  # the first command's state is not written yet: the second must see both
    assert done.wait(60)
    other.join(60)
    lines = audit.read_log(course)[4:]
    assert [(line["field"], line["old"], line["new"]) for line in lines] == [
        ("manual score", None, 2.0),
        ("total", 12.0, 14.0),
    ]
    assert _replayed(audit.read_log(course)) == audit.snapshot(url)


def _hand_grade_and_observe(course, url, student, rounds):
    for score in range(1, rounds + 1):
        _hand(url, student, float(score))
        audit.observe(course, url, "history")


def test_commands_at_once_neither_lose_nor_double_a_change(term):
    course, url = term
    context = multiprocessing.get_context("fork")
    rounds = 4
    workers = [
        context.Process(target=_hand_grade_and_observe, args=(course, url, student, rounds))
        for student in ("alice", "bob")
    ]
    clock = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    audit.observe(course, url, "history")
    lines = audit.read_log(course)
    manual = [(line["student"], line["new"]) for line in lines if line["field"] == "manual score"]
    assert sorted(set(manual)) == sorted(manual), f"a change written twice: {manual}"
    assert {s for s, _ in manual} == {"alice", "bob"} and ("alice", float(rounds)) in manual
    assert _replayed(lines) == audit.snapshot(url), "a change lost"
    print(f"{len(workers)} processes x {rounds} rounds in {time.monotonic() - clock:.1f} s")


def test_history_names_an_unknown_student_or_assignment(term, capsys):
    course, _ = term
    assert _cli(course, "history", "mallory") == 2
    assert "unknown student 'mallory'; the course has 2 student(s): alice, bob" in capsys.readouterr().err
    assert _cli(course, "history", "alice", "--assignment", "99_nothing") == 2
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err
    assert _cli(course, "history", "alice", "--assignment", A) == 0
    assert "— → 10" in capsys.readouterr().out


def test_a_damaged_state_file_stops_the_command_with_its_name(term, capsys):
    course, _ = term
    (course / audit.STATE).write_text("{not json")
    assert _cli(course, "rescore") == 2
    assert "audit-state.json is damaged" in capsys.readouterr().err
