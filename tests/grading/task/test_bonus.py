"""Are bonus exercises nbgrader's extra credit: points added to the score, never to the maximum, the same by
nbgrader's preprocessors and by a batch, and said as a bonus on the feedback page?"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest

from course_lib.checks import EXERCISES
from course_lib.grading.coordinator.record import Marks, record, record_batch
from course_lib.grading.task.bonus import bonus_points, extra_credit
from course_lib.nbgrader_setup import api_for, course_config
from tests.grading.conftest import ROOT, make_course
from tests.grading.coordinator.test_record_batch import gradebook_rows
from tests.grading.synthetic_outcomes import ERROR, PARTIAL, hand_in, outcome, register

A06 = "06_seq2seq"
BONUS = {e.name: float(e.bonus) for e in EXERCISES.values() if e.bonus}


def _test_cells(nb):
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
    }


def test_every_bonus_exercise_has_no_nbgrader_points_and_its_points_in_its_text():
    assert set(BONUS) == {"beam_search", "lstm_step_backward", "lstm_backward"}
    for folder in ("solutions", "notebooks"):
        for path in sorted((ROOT / folder).glob("*/*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
            for grade_id, cell in _test_cells(nb).items():
                name = grade_id.removeprefix("test_")
                if name in BONUS:
                    assert cell.metadata["nbgrader"]["points"] == 0, f"{path}: {grade_id} counts in the maximum"
                    said = re.search(rf"bonus[^\n]{{0,40}}?\b{BONUS[name]:g} points", text, re.IGNORECASE)
                    assert said, f"{path}: the text does not say {name}'s points"


def test_extra_credit_is_nbgraders_rule_on_the_registrys_points_whatever_the_cell_claims():
    nb = nbformat.read(ROOT / "notebooks" / A06 / f"{A06}.ipynb", as_version=4)
    cells = _test_cells(nb)
    beam, required = cells["test_beam_search"], cells["test_greedy_decode"]
    forged = copy.deepcopy(beam)
    forged.metadata["nbgrader"]["points"] = 100.0  # a learner's copy of the cell: never read
    assert extra_credit(forged, A06) == 3.0 == bonus_points(A06, "test_beam_search")
    failing = copy.deepcopy(beam)
    failing.outputs = [nbformat.from_dict(ERROR)]
    assert extra_credit(failing, A06) == 0.0
    partial = copy.deepcopy(beam)
    partial.outputs = [nbformat.from_dict(PARTIAL)]
    assert extra_credit(partial, A06) == 0.5
    assert extra_credit(required, A06) is None and bonus_points(A06, "test_greedy_decode") == 0.0
    assert bonus_points(A06, "beam_search") == 0.0, "only its test cell carries the bonus"
    assert bonus_points("01_sequence_data", "test_beam_search") == 0.0, "a name is a bonus in its own notebook only"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Notebook 06 recorded for a solved and a failed student, one by one and as a batch."""
    tmp = tmp_path_factory.mktemp("bonus")
    courses = {}
    for way in ("one_by_one", "batch"):
        (tmp / way).mkdir()
        root = make_course(tmp / way)
        config = course_config(root)
        released = register(root, config.CourseDirectory.db_url, [A06], tmp / f"release-{way}")[A06]
        outcomes = [outcome(s, A06, released, v, page_digest="stale") for s, v in (("full", "full"), ("stub", "stub"))]
        for o in outcomes:
            hand_in(root, o.student, A06, -1.0)
        if way == "batch":
            record_batch(root, config, [(o, "print") for o in outcomes], Marks(root))
        else:
            for o in outcomes:
                record(root, config, o, Marks(root), "print")
        courses[way] = (root, config)
    return courses


def test_the_bonus_adds_to_the_score_and_never_to_the_maximum(graded):
    from nbgrader.api import Gradebook

    root, config = graded["one_by_one"]
    source = nbformat.read(ROOT / "solutions" / A06 / f"{A06}.ipynb", as_version=4)
    required = sum(float(c.metadata["nbgrader"]["points"]) for c in _test_cells(source).values())
    with Gradebook(config.CourseDirectory.db_url) as gb:
        full, stub = gb.find_submission(A06, "full"), gb.find_submission(A06, "stub")
        manual = sum(g.max_score for nb in full.notebooks for g in nb.grades if g.auto_score is None)
        assert full.max_score == stub.max_score == gb.find_assignment(A06).max_score == required + manual
        assert full.score == required + 3.0, "every required test passed, and the bonus as extra credit"
        assert stub.score == 0.0
        beam = gb.find_grade("test_beam_search", A06, A06, "full")
        assert (beam.auto_score, beam.extra_credit, beam.max_score) == (0.0, 3.0, 0.0)


def test_a_batch_writes_the_same_extra_credit_as_the_preprocessor(graded):
    (_, one), (_, batch) = graded["one_by_one"], graded["batch"]
    assert gradebook_rows(batch.CourseDirectory.db_url) == gradebook_rows(one.CourseDirectory.db_url)


def test_the_feedback_page_says_bonus_and_its_extra_points(graded):
    root, config = graded["one_by_one"]
    result = api_for(config).generate_feedback(A06, "full", force=True)
    assert result.get("success"), result.get("error")
    page = (root / "feedback" / "full" / A06 / f"{A06}.html").read_text()
    assert "Bonus: 3.0 of 3.0 extra points" in page
    assert "Score: 3.0 / 0.0" not in page
