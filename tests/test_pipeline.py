"""Every notebook through nbgrader, end to end: solution -> full points, stub -> 0, a typical mistake ->
partial points with feedback that names the mistake.  (Notebook 01's many other cases: tests/grading.)"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.grading.conftest import auto_total, cell, edit, grade, make_course, message, needs_bwrap, solved, stub, write

pytestmark = [needs_bwrap, pytest.mark.slow]

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())

# assignment -> (solution cell, text to replace, replacement, test cell, words the feedback must contain)
MISTAKES = {
    "01_sequence_data": (
        "pad_batch",
        "padded[row, : len(s)] = s",
        "padded[row, T_max - len(s) :] = s",
        "test_pad_batch",
        "padding is on the left",
    ),
    "02_rnn": (
        "rnn_cell",
        "return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)",
        "return x_t @ W_xh.T + h_prev @ W_hh.T + b_h",
        "test_rnn_cell",
        "tanh missing",
    ),
    "03_vanishing_gradients": (
        "rescale_spectral_radius",
        "radius = torch.linalg.eigvals(W).abs().max()",
        "radius = torch.linalg.matrix_norm(W, ord=2)",
        "test_rescale_spectral_radius",
        "used the largest singular value",
    ),
    "04_lstm": (
        "lstm_cell",
        "h_t = o_t * torch.tanh(c_t)",
        "h_t = o_t * c_t",
        "test_lstm_cell",
        "the tanh on the cell state is missing",
    ),
    "05_gru": (
        "gru_cell",
        "return (1 - z) * n + z * h_prev",
        "return z * n + (1 - z) * h_prev",
        "test_gru_cell",
        "(1 - z) is on the wrong term",
    ),
    "06_seq2seq": (
        "sequence_accuracy",
        "token = ((pred == tgt) & real).sum().item() / real.sum().item()",
        "token = (pred == tgt).float().mean().item()",
        "test_sequence_accuracy",
        "padding counted in accuracy",
    ),
    "07_attention": (
        "attention_decoder_step",
        "_, weights = attention(h[:, None], keys, mask)",
        "_, weights = attention(h[:, None], keys, torch.ones_like(mask))",
        "test_attention_decoder_step",
        "padding gets attention weight",
    ),
}


def _full(assignment: str) -> float:
    import nbformat

    from course_lib.grading.task.bonus import bonus_points

    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return sum(  # the required points, and a bonus exercise's as extra credit (0 nbgrader points)
        c.metadata["nbgrader"].get("points", 0) + bonus_points(assignment, c.metadata["nbgrader"]["grade_id"])
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    )


@pytest.fixture(scope="module")
def class_graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    course, subs = make_course(tmp), tmp / "submissions"
    for assignment in ASSIGNMENTS:
        good = solved(assignment)
        write(subs, "solution", good, assignment)
        write(subs, "stub", stub(assignment), assignment)
        if assignment in MISTAKES:
            grade_id, old, new, _, _ = MISTAKES[assignment]
            assert old in cell(good, grade_id).source, f"{assignment}: the mistake no longer applies"
            write(subs, "mistake", edit(good, grade_id, cell(good, grade_id).source.replace(old, new)), assignment)
    summary = grade(course, subs, notebook_timeout=400)
    assert summary.failed == 0, summary.text()
    return course


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_autograded_points(class_graded, assignment):
    assert auto_total(class_graded, "solution", assignment) == _full(assignment)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_learner_notebook_scores_zero(class_graded, assignment):
    assert auto_total(class_graded, "stub", assignment) == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_typical_mistake_scores_partial_points_and_feedback_names_it(class_graded, assignment):
    assert assignment in MISTAKES, f"add a typical mistake for {assignment} to MISTAKES"
    _, _, _, test_cell, words = MISTAKES[assignment]
    got = auto_total(class_graded, "mistake", assignment)
    assert 0 < got < _full(assignment)
    assert words in message(class_graded, "mistake", test_cell, assignment)
    html = (class_graded / "feedback" / "mistake" / assignment / f"{assignment}.html").read_text()
    assert words in html
