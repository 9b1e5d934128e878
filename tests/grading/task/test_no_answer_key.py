"""Can a submission get its answers from course_lib instead of computing them?  (No.)

Code in a notebook can import course_lib.  Under ``course grade`` the kernel gets the cases, the run steps
and the probe, never a judge, a case generator or a quiz key (see course_lib/grading/task/view.py and
course_lib/grading/task/keys.py).  A small class of notebook-01 submissions is graded once, sandboxed: a stub
that asks the check's own judge for the answer, one that tries every quiz answer on the check, a wrong
quiz answer, and the solution as the control (the quiz key comes from the instructor's hidden tests).
"""

from __future__ import annotations

import pytest

from tests.grading.conftest import (
    FULL_01,
    auto_total,
    edit,
    grade,
    make_course,
    message,
    needs_bwrap,
    points,
    solved,
    write,
)

pytestmark = [needs_bwrap, pytest.mark.slow]

ASK_THE_JUDGE = '''def build_vocab(sentences, min_freq=1):
    """No algorithm: hand the inputs to the check's own judge and read the answer off its messages."""
    import ast, re
    from course_lib.checks import EXERCISES
    from course_lib.data import SPECIALS
    judge = EXERCISES["nb01_sequence_data.build_vocab"].judge
    guess = list(SPECIALS)
    for token in (t for sentence in sentences for t in sentence):
        if token not in guess:
            guess.append(token)
    for _ in range(200):
        try:
            judge({"c": {"sentences": sentences, "min_freq": min_freq}}, {"c": guess})
            return guess
        except AssertionError as failure:
            text = str(failure)
            extra = re.search(r"token '(.*?)' should not be", text)
            expected = re.search(r"Expected (\\[.*?\\]), got", text)
            if extra:
                guess.remove(extra.group(1))
            elif expected:
                guess = list(SPECIALS) + ast.literal_eval(expected.group(1))
            else:
                raise
    return guess
'''

ASK_THE_CHECK = """import contextlib, io, itertools
from course_lib.checks.nb01_sequence_data import STRUCTURE_TASKS, STRUCTURES
# No answer: try every one on the check until it stops complaining.
for choice in itertools.product(STRUCTURES, repeat=len(STRUCTURE_TASKS)):
    IO_STRUCTURES = dict(zip(STRUCTURE_TASKS, choice))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check_io_structures(IO_STRUCTURES)
        break
    except AssertionError:
        pass
"""

WRONG_QUIZ = """IO_STRUCTURES = {
    "sentiment of a review": "N-1",
    "next character at every step": "N-N",
    "caption from one image": "N-1",
    "part-of-speech tag of every word": "N-N",
    "tomorrow's temperature from the last 30 days": "N-1",
}
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("answer-key")
    course, subs = make_course(tmp), tmp / "submissions"
    good = solved()
    write(subs, "solution", good)
    write(subs, "ask-the-judge", edit(good, "build_vocab", ASK_THE_JUDGE))
    write(subs, "ask-the-check", edit(good, "io_structures", ASK_THE_CHECK))
    write(subs, "wrong-quiz", edit(good, "io_structures", WRONG_QUIZ))
    summary = grade(course, subs)
    assert summary.failed == 0, summary.text()
    return course


def test_the_solution_earns_every_point_the_quiz_marked_with_the_instructors_key(graded):
    assert auto_total(graded, "solution") == FULL_01
    assert points(graded, "solution")["test_io_structures"] == 1


def test_a_stub_that_asks_the_checks_judge_earns_nothing(graded):
    assert points(graded, "ask-the-judge")["test_build_vocab"] == 0
    assert auto_total(graded, "ask-the-judge") == FULL_01 - points(graded, "solution")["test_build_vocab"]


def test_trying_every_quiz_answer_on_the_check_earns_nothing(graded):
    assert points(graded, "ask-the-check")["test_io_structures"] == 0
    assert auto_total(graded, "ask-the-check") == FULL_01 - 1


def test_a_wrong_quiz_answer_is_marked_wrong_by_the_grader_and_named(graded):
    assert points(graded, "wrong-quiz")["test_io_structures"] == 0
    assert auto_total(graded, "wrong-quiz") == FULL_01 - 1
    assert "caption from one image" in message(graded, "wrong-quiz", "test_io_structures")
