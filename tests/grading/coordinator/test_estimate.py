"""Do tasks go out longest first when submissions differ in what they answered, not only in their assignment?"""

from __future__ import annotations

from course_lib.grading.coordinator.estimate import UNANSWERED_SHARE, assignment_seconds, expected_seconds
from course_lib.grading.coordinator.tasks import student_tasks
from tests.grading.conftest import edit, make_course, solved, stub, write

A01, A07 = "01_sequence_data", "07_attention"


def _half_done(assignment: str):
    """The learner notebook with every other code exercise answered (the written answers are not counted)."""
    nb = stub(assignment)
    answers = solved(assignment)
    ids = [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    for grade_id in ids[::2]:
        source = next(c.source for c in answers.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        nb = edit(nb, grade_id, source)
    return nb, ids


def test_an_untouched_submission_is_expected_to_cost_the_unanswered_share_of_a_solved_one(tmp_path):
    course = make_course(tmp_path)
    submitted = course / "submitted"
    write(submitted, "sol", solved(A01), A01)
    write(submitted, "stub", stub(A01), A01)
    half, ids = _half_done(A01)
    write(submitted, "half", half, A01)
    write(submitted, "junk", "{not a notebook", A01)  # unreadable as JSON: no stub in it, so counted as answered
    pairs = [(s, A01, "fp") for s in ("sol", "stub", "half", "junk", "absent")]
    expected = expected_seconds(course, [A01], pairs)
    full = assignment_seconds(course, [A01])[A01]
    assert full > 0
    assert expected[("sol", A01)] == expected[("junk", A01)] == expected[("absent", A01)] == full
    assert abs(expected[("stub", A01)] - UNANSWERED_SHARE * full) < 1e-9, "every stub left: the floor"
    answered = (len(ids) // 2) / len(ids)  # ids[::2] answered, the rest still stubs
    want = full * (UNANSWERED_SHARE + (1 - UNANSWERED_SHARE) * answered)
    assert abs(expected[("half", A01)] - want) < 1e-9, (expected[("half", A01)], want)


def test_a_notebook_with_more_stubs_than_exercises_is_clipped_not_negative(tmp_path):
    course = make_course(tmp_path)
    nb = stub(A07)
    nb.cells[0].source += "\n" + "raise NotImplementedError()\n" * 50
    write(course / "submitted", "eve", nb, A07)
    expected = expected_seconds(course, [A07], [("eve", A07, "fp")])
    assert expected[("eve", A07)] == UNANSWERED_SHARE * assignment_seconds(course, [A07])[A07]


def test_solved_students_go_out_before_untouched_ones_of_the_same_assignments(tmp_path):
    """The order a class run hands out its tasks in: the cheap untouched submissions come last, so the workers
    run out of work together instead of one finishing a solved submission alone."""
    course = make_course(tmp_path)
    students = {"amy": stub, "bob": solved, "cy": stub, "dan": solved}
    for student, make in students.items():
        for assignment in (A01, A07):
            write(course / "submitted", student, make(assignment), assignment)
    pairs = [(s, a, "fp") for s in students for a in (A01, A07)]
    tasks = student_tasks(pairs, expected_seconds(course, [A01, A07], pairs), slots=2)
    assert [task[0][0] for task in tasks] == ["bob", "dan", "amy", "cy"]
    assert sorted(p for task in tasks for p in task) == sorted(pairs), "every pair once"
