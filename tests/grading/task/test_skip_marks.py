"""Does grading with the course's skip marks give every submission the score it gets without them, run none of the
skipped demonstrations, and ignore a mark that a learner copies onto their own cell?"""

from __future__ import annotations

import copy
import shutil

import pytest

from tests.grading.conftest import (
    auto_total,
    cell,
    edit,
    grade,
    make_course,
    needs_bwrap,
    outputs_text,
    solved,
    unmark,
    write,
)

A02 = "02_rnn"
EDITED_DEMO = 'print("the learner edited this demonstration")\n'  # demonstrations are editable; grading restores them
WRONG_CELL = "def rnn_cell(x_t, h_prev, W_xh, W_hh, b_h):\n    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh + b_h)\n"


def _class(subs, copier: bool):
    """right, wrong, and (where the course has marks) a copier: the right notebook with the mark on its own cell.

    Without the course's marks nothing is skipped whatever a notebook's metadata says, so there the copier would
    be the right notebook graded twice: the copier's score with the marks is compared to the right one's without.
    """
    right = solved(A02)
    class_ = {"right": edit(right, "demo_tang_live", EDITED_DEMO), "wrong": edit(right, "rnn_cell", WRONG_CELL)}
    if copier:
        class_["copier"] = copy.deepcopy(right)
        cell(class_["copier"], "rnn_cell").metadata["course"] = {"grading": "skip"}  # the learner's own, unlocked cell
    for student, nb in class_.items():
        write(subs, student, nb, A02)
    return list(class_)


@needs_bwrap
@pytest.mark.slow
def test_scores_are_the_same_with_and_without_skipping(tmp_path):
    totals, demo = {}, {}
    for marked in (True, False):
        root = tmp_path / ("marked" if marked else "unmarked")
        root.mkdir()
        course = make_course(root)
        if not marked:  # the same course without its marks: nothing is skipped
            unmark(course, [A02])
        subs = root / "submitted"
        students = _class(subs, copier=marked)
        grade(course, subs, assignments=[A02], notebook_timeout=600, cell_timeout=120)
        totals[marked] = {s: auto_total(course, s, A02) for s in students}
        demo[marked] = {s: outputs_text(course, s, "demo_tang_live", A02) for s in students if s != "wrong"}
        shutil.rmtree(subs)
    assert {s: totals[True][s] for s in ("right", "wrong")} == totals[False]
    assert totals[True]["wrong"] < totals[True]["right"] == totals[True]["copier"] == totals[False]["right"]
    assert all("held-out perplexity" in text for text in demo[False].values()), "unmarked: the demonstration ran"
    assert not any("edited" in text for d in demo.values() for text in d.values()), (
        "the course's source ran, not an edit"
    )
    assert not any("held-out perplexity" in text for text in demo[True].values()), "marked: it was skipped"
