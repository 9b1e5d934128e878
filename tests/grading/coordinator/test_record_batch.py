"""Does recording a batch in one transaction leave the gradebook and the course folder exactly as recording
each outcome through nbgrader's own SaveAutoGrades and AssignLatePenalties does?"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from course_lib.grading.coordinator.record import Marks, record, record_batch
from course_lib.grading.coordinator.rescore import set_extension
from course_lib.nbgrader_setup import course_config
from tests.grading.conftest import make_course
from tests.grading.coordinator.test_postgres import postgres  # noqa: F401 -- the throw-away server, a fixture
from tests.grading.synthetic_outcomes import DUE, VARIANTS, hand_in, outcome, register

ASSIGNMENTS = ["01_sequence_data", "07_attention"]
UUID = re.compile(r"[0-9a-f]{32}")


def gradebook_rows(db_url: str) -> dict[str, list[tuple]]:
    """Every table, row by row, as text: a generated uuid id becomes where it points (the referenced row), so
    two gradebooks built apart compare equal exactly when they hold the same rows.  Values as ``repr``
    (exact: a float is compared digit for digit, never within a tolerance)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    names: dict[tuple[str, str], tuple] = {}  # (table, id) -> the row's text
    out = {}
    with engine.connect() as db:
        for table in meta.sorted_tables:  # referenced tables first
            rows = []
            for row in db.execute(table.select()).mappings():
                text = []
                for column in table.columns:
                    value = row[column.name]
                    target = next(iter(column.foreign_keys), None)
                    if target is not None and value is not None:
                        text.append((column.name, names[target.column.table.name, value]))
                    elif isinstance(value, str) and UUID.fullmatch(value):
                        continue  # generated: two gradebooks differ here by construction
                    else:
                        text.append((column.name, repr(value)))
                text = tuple(text)
                for column in table.primary_key:
                    names[table.name, row[column.name]] = text
                rows.append(text)
            out[table.name] = sorted(rows, key=repr)
    engine.dispose()
    return out


def files(root: Path) -> dict[str, bytes]:
    out = {}
    for folder in ("autograded", "feedback", ".course/reports", ".course/graded", ".course/pages"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


def _class(released) -> list[list]:
    """Two rounds of outcomes: every variant, on time, late, unstamped, with an extension; then a re-grade."""
    first, second = [], []
    for i in range(8):
        for assignment in ASSIGNMENTS:
            variant = VARIANTS[i % 4]
            page = "stale" if (i, assignment) == (1, ASSIGNMENTS[0]) else None  # one page made again
            first.append(outcome(f"s{i}", assignment, released[assignment], variant, page))
            second.append(outcome(f"s{i}", assignment, released[assignment], VARIANTS[(i + 1) % 4]))
    return [first, second]


def _course(tmp: Path, name: str, db_url: str | None):
    (tmp / name).mkdir()
    root = make_course(tmp / name)
    config = course_config(root, db_url=db_url) if db_url else course_config(root)
    for i in range(8):
        for assignment in ASSIGNMENTS:
            hand_in(root, f"s{i}", assignment, (None, -2.0, 30.0, 50.5)[i % 4] if i < 7 else 49.0)
    set_extension(root, "s6", ASSIGNMENTS[0], hours=72)
    set_extension(root, "s3", ASSIGNMENTS[1], hours=1)
    return root, config


def _manual_grade(db_url: str) -> None:
    """A grader scored s0's written answer between the rounds: the re-grade must flag it for review."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        for grade in gb.find_submission_notebook(ASSIGNMENTS[0], ASSIGNMENTS[0], "s0").grades:
            if grade.auto_score is None:
                grade.manual_score = 1
        gb.db.commit()


def _record_both_ways(tmp: Path, url_old: str | None, url_new: str | None) -> tuple[Path, str, Path, str]:
    old, old_config = _course(tmp, "old", url_old)
    new, new_config = _course(tmp, "new", url_new)
    old_url, new_url = old_config.CourseDirectory.db_url, new_config.CourseDirectory.db_url
    released = register(old, old_url, ASSIGNMENTS, tmp / "release")
    if url_new is None:
        shutil.copyfile(old / "gradebook.db", new / "gradebook.db")
    else:
        register(new, new_url, ASSIGNMENTS, tmp / "release-new")
    assert gradebook_rows(old_url) == gradebook_rows(new_url), "the two gradebooks start alike"
    for round_number, outcomes in enumerate(_class(released)):
        if round_number:
            _manual_grade(old_url)
            _manual_grade(new_url)
        for o in outcomes:
            record(old, old_config, o, Marks(old), f"print-{round_number}")
        record_batch(new, new_config, [(o, f"print-{round_number}") for o in outcomes], Marks(new))
        _assert_same(old, old_url, new, new_url)  # after the first grading, and after the re-grade
        _assert_digests(new_url)
    _rescore_both_ways(old, old_config, new, new_config)
    _assert_jobs(new, new_url)
    return old, old_url, new, new_url


def _assert_jobs(root: Path, db_url: str) -> None:
    """The next run's jobs built in bulk (one gradebook session) are job_for's, pair by pair: after two runs, with
    manual scores, a manual comment, extra credit, extensions in hours and until a date, and a student new to the
    gradebook."""
    from nbgrader.api import Gradebook

    from course_lib.grading.coordinator.jobs import jobs_for
    from course_lib.grading.coordinator.record import job_for

    with Gradebook(db_url) as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENTS[1], ASSIGNMENTS[1], "s2")
        notebook.comments[0].manual_comment = "Read the mask again."
        notebook.grades[0].extra_credit = 0.5
        gb.db.commit()
    hand_in(root, "s8", ASSIGNMENTS[0], 3.0)
    set_extension(root, "s8", ASSIGNMENTS[0], until="2026-12-03T00:00")
    pairs = [
        (f"s{i}", a) for i in (8, 3, 0, 2, 6, 1, 5) for a in reversed(ASSIGNMENTS) if (i, a) != (8, ASSIGNMENTS[1])
    ]
    one_by_one = [job_for(root, db_url, student, assignment) for student, assignment in pairs]
    assert list(jobs_for(root, db_url, pairs)) == one_by_one
    manual = {(j.student, j.assignment): [e["kind"] for e in j.manual] for j in one_by_one}
    assert "grade" in manual["s0", ASSIGNMENTS[0]] and {"grade", "comment"} <= set(manual["s2", ASSIGNMENTS[1]])
    assert manual["s8", ASSIGNMENTS[0]] == [] and one_by_one[0].extension_hours is not None
    assert {j.extension_hours for j in one_by_one} > {None} and len({j.due for j in one_by_one}) == 2


def _rescore_both_ways(old: Path, old_config, new: Path, new_config) -> None:
    """A due date moved and extensions changed after grading: rescore's batch writes apply_late's rows."""
    import datetime

    from nbgrader.api import Gradebook

    from course_lib.grading.coordinator.batch import apply_late_batch
    from course_lib.grading.coordinator.rescore import apply_late, extension_for, set_due

    moved = datetime.datetime(2026, 11, 30, 12, 0)  # earlier: more late, and some on-time ones late now
    for root, config in ((old, old_config), (new, new_config)):
        set_due(config.CourseDirectory.db_url, ASSIGNMENTS[1], moved)
        set_extension(root, "s6", ASSIGNMENTS[0])  # taken back
        set_extension(root, "s1", ASSIGNMENTS[1], until="2026-12-04T00:00")
    old_url, new_url = old_config.CourseDirectory.db_url, new_config.CourseDirectory.db_url
    for i in range(8):
        for assignment in ASSIGNMENTS:
            due = moved if assignment == ASSIGNMENTS[1] else DUE
            apply_late(old_config, old_url, f"s{i}", assignment, extension_for(old, f"s{i}", assignment, due))
    with Gradebook(new_url) as gb:
        extensions = {
            (f"s{i}", a): extension_for(new, f"s{i}", a, moved if a == ASSIGNMENTS[1] else DUE)
            for i in range(8)
            for a in ASSIGNMENTS
        }
        assert len(apply_late_batch(gb, new_config, extensions)) == 16
        gb.db.commit()
    rows_old, rows_new = gradebook_rows(old_url), gradebook_rows(new_url)
    assert rows_new == rows_old
    penalties = [dict(r)["late_submission_penalty"] for r in rows_old["submitted_notebook"]]
    assert sum(p not in ("None", "0.0") for p in penalties) >= 5, penalties
    _assert_digests(new_url)


def _assert_digests(db_url: str) -> None:
    """The batch's page digests (four queries) are digest_of's (the ORM, attribute by attribute)."""
    from nbgrader.api import Gradebook

    from course_lib.grading.coordinator.digests import page_digests
    from course_lib.grading.coordinator.rescore import digest_of

    with Gradebook(db_url) as gb:
        one_by_one = {(s.student.id, a.name): digest_of(s) for a in gb.assignments for s in a.submissions}
        assert len(one_by_one) == 16 and len(set(one_by_one.values())) > 4
        assert page_digests(gb.db, list(one_by_one)) == one_by_one


def _assert_same(old: Path, old_url: str, new: Path, new_url: str) -> None:
    rows_old, rows_new = gradebook_rows(old_url), gradebook_rows(new_url)
    assert {"grade", "comment", "submitted_notebook", "submitted_assignment", "student"} <= set(rows_old)
    for table in rows_old:
        assert rows_new[table] == rows_old[table], f"table {table} differs"
    assert rows_new == rows_old
    assert files(new) == files(old)
    assert f".course/pages/s1/{ASSIGNMENTS[0]}.json" in files(old), "the page made again, and its mark"


def test_a_batch_writes_the_rows_and_files_that_nbgrader_preprocessors_write_one_by_one(tmp_path):
    """...and the next run's jobs, prepared in bulk, are the ones job_for prepares pair by pair."""
    old, old_url, new, new_url = _record_both_ways(tmp_path, None, None)
    rows = gradebook_rows(old_url)
    penalties = [dict(r)["late_submission_penalty"] for r in rows["submitted_notebook"]]
    assert len(rows["submitted_assignment"]) == 16 and any(p not in ("None", "0.0") for p in penalties)
    _assert_indexed(new_url)


def _assert_indexed(db_url: str) -> None:
    """The batch's lookups use the indexes it adds (nbgrader's schema has none on these columns: each batch scanned
    the grade and comment tables, and recording slowed as the class grew); nbgrader wrote and read the file since."""
    import sqlite3

    from course_lib.grading.coordinator.batch import INDEXES

    db = sqlite3.connect(db_url.removeprefix("sqlite:///").split("?")[0])
    for name, (table, column) in INDEXES.items():
        plan = db.execute(f"EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE {column} IN ('a', 'b')").fetchall()
        assert name in str(plan), (name, plan)
    db.close()


@pytest.fixture
def postgres_urls(postgres):  # noqa: F811 -- the fixture imported above
    """Two gradebooks on one throw-away PostgreSQL server."""
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as db:
        db.execute("CREATE DATABASE batched")
    return postgres, postgres.rsplit("/", 1)[0] + "/batched"


@pytest.mark.slow
def test_a_batch_on_postgresql_writes_what_the_preprocessors_write(tmp_path, postgres_urls):
    _record_both_ways(tmp_path, *postgres_urls)


@pytest.mark.parametrize("name", ["../escaped.txt", "a/../../escaped.txt", "/tmp/escaped.txt", "", "."])
def test_recording_writes_no_file_outside_the_pair_folder(tmp_path, name):
    """The batch's own writer (names checked as text, the folder resolved once) refuses what write_tree refuses."""
    from course_lib.grading.coordinator.record import _replace_folder

    target = tmp_path / "course" / "autograded" / "s0" / "01"
    with pytest.raises(ValueError, match="outside its folder"):
        _replace_folder(target, {"ok.ipynb": b"{}", name: b"x"})
    assert not target.exists() and not (tmp_path / "course" / "autograded" / "escaped.txt").exists()


def test_recording_writes_the_files_write_tree_writes(tmp_path):
    from course_lib.grading.coordinator.record import _replace_folder
    from course_lib.grading.task.job import write_tree

    given = {"01.ipynb": b"{}", "data/a/b.txt": b"b", "data/./c.txt": b"c", "data//d.txt": b"d", "e.txt/.": b"e"}
    write_tree(tmp_path / "reference", given)
    _replace_folder(tmp_path / "course" / "pair", {"old.txt": b"gone"})
    _replace_folder(tmp_path / "course" / "pair", given)
    assert files_in(tmp_path / "course" / "pair") == files_in(tmp_path / "reference") and len(given) == 5


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
