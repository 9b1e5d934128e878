"""Does the trusted judge give points only for right answers, whatever the record holds?"""

from __future__ import annotations

import types

import nbformat

from course_lib.checks import EXERCISES
from course_lib.checks.core import HIDDEN_SEED, VISIBLE_SEED, encode_results, run_cases
from course_lib.grading.kernel.probe import MIME
from course_lib.grading.task.judge import _clean_output, grading_seeds, judge_cell, merge_record

SEEDS = [(VISIBLE_SEED, False), (HIDDEN_SEED, True)]


def _item(payload) -> dict:
    return {"index": 0, "status": "ok", "outputs": [{"output_type": "display_data", "data": {MIME: payload}}]}


ONE_HOT = "nb01_sequence_data.embedding_grad"  # exercise 4b, with one_hot (exercise 4) as its part


def _payload(fn, seeds=SEEDS, exercise=ONE_HOT):
    spec = EXERCISES[exercise]
    return {
        "exercise": exercise,
        "runs": [
            {"seed": s, "hidden": h, "results": encode_results(run_cases(spec, fn, spec.cases(s, h)))} for s, h in seeds
        ],
    }


def one_hot(ids, V, padding_idx=None):
    """Exercise 4, which the check of exercise 4b (embedding_grad) tests first, found in this module's globals."""
    import torch

    hits = ids[..., None] == torch.arange(V, device=ids.device)
    return (hits if padding_idx is None else hits & (ids != padding_idx)[..., None]).float()


def right(ids, grad_out, V, padding_idx=None):
    """embedding_grad: dL/dW of the lookup, each position's row added into its id's row."""
    E = grad_out.shape[-1]
    dW = grad_out.new_zeros(V, E).index_add_(0, ids.reshape(-1), grad_out.reshape(-1, E))
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def test_right_answers_pass_and_wrong_answers_fail_with_the_checks_message():
    assert judge_cell("test_embedding_grad", ONE_HOT, _item(_payload(right)), SEEDS, "").passed
    longs = {**globals(), "one_hot": lambda ids, V, padding_idx=None: one_hot(ids, V, padding_idx).long()}
    wrong = judge_cell(
        "test_embedding_grad", ONE_HOT, _item(_payload(types.FunctionType(right.__code__, longs))), SEEDS, ""
    )
    assert (
        not wrong.passed
        and wrong.message.startswith("one_hot should return floats")
        and "should return floats" in wrong.message
    )


def test_no_points_without_every_requested_run():
    only_visible = _payload(right, seeds=SEEDS[:1])
    verdict = judge_cell("test_embedding_grad", ONE_HOT, _item(only_visible), SEEDS, "")
    assert not verdict.passed and "incomplete" in verdict.message


def test_no_points_for_runs_on_seeds_other_than_the_graders():
    secret = grading_seeds(b"k" * 32, "01", "eve", ONE_HOT)
    verdict = judge_cell("test_embedding_grad", ONE_HOT, _item(_payload(right)), secret, "")
    assert not verdict.passed


def test_no_points_for_garbage_payloads():
    for payload in (
        {},
        {"exercise": ONE_HOT},
        {"exercise": ONE_HOT, "runs": "x"},
        {"exercise": "nb01_sequence_data.decode", "runs": []},
        {"exercise": "one_hot", "runs": []},
        "✓ passed",
        None,
        {
            "exercise": ONE_HOT,
            "runs": [
                {"seed": VISIBLE_SEED, "hidden": False, "results": {"x": 1}},
                {"seed": HIDDEN_SEED, "hidden": True, "results": []},
            ],
        },
    ):
        assert not judge_cell("test_embedding_grad", ONE_HOT, _item(payload), SEEDS, "").passed, payload


def test_a_test_cell_that_never_ran_says_why():
    verdict = judge_cell("test_embedding_grad", ONE_HOT, None, SEEDS, "the notebook ran past its limit")
    assert not verdict.passed and "ran past its limit" in verdict.message


def test_hidden_seeds_are_secret_per_student_and_stable():
    a = grading_seeds(b"s" * 32, "01", "alice", "one_hot")
    assert a == grading_seeds(b"s" * 32, "01", "alice", "one_hot")
    assert a != grading_seeds(b"s" * 32, "01", "bob", "one_hot")
    assert a != grading_seeds(b"t" * 32, "01", "alice", "one_hot")


def test_learner_outputs_are_cleaned_and_can_never_be_partial_credit():
    assert (
        _clean_output({"output_type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {}})["output_type"]
        == "display_data"
    )
    assert _clean_output({"output_type": "weird"}) is None
    assert len(_clean_output({"output_type": "stream", "name": "stdout", "text": "x" * 10**6})["text"]) < 30_000


def test_test_cells_get_no_output_from_the_kernel():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("t")])
    record = (
        b'{"index": 1, "status": "ok", "outputs": [{"output_type": "stream", "name": "stdout", "text": "OK"}]}\n'
        b'{"index": 0, "status": "ok", "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi"}]}\n'
        b"not json\n" + b'{"index": 0, "outputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    )
    probes, _ = merge_record(nb, record, {1: ONE_HOT})
    assert nb.cells[1].outputs == [] and nb.cells[0].outputs[0]["text"] == "hi" and 1 in probes


def test_exercises_with_the_same_name_in_two_notebooks_are_different_exercises():
    """Notebook 01's encode (tokens -> ids) and notebook 06's (the seq2seq encoder) share a name."""
    assert EXERCISES["nb01_sequence_data.encode"] is not EXERCISES["nb06_seq2seq.encode"]


def test_a_result_of_too_many_json_values_is_named_without_being_parsed(monkeypatch):
    """Parsed, "[]," costs Python 64 bytes for 3 characters: a 48 MB line of them cost the grader ~1 GB
    (benchmarks/judge_memory.py).  Such a line is refused before json.loads sees it."""
    import json

    from course_lib.grading.task import judge

    monkeypatch.setattr(judge, "MAX_JSON_VALUES", 1000)
    monkeypatch.setattr(judge.json, "loads", _loads_counting := _Counting(json.loads))
    flood = {
        "exercise": ONE_HOT,
        "runs": [{"seed": s, "hidden": h, "results": {"__seq__": "list", "items": [[]] * 2000}} for s, h in SEEDS],
    }
    small = {
        "index": 0,
        "status": "ok",
        "outputs": [{"output_type": "stream", "name": "stdout", "text": "commas, [brackets] and {braces}, " * 100}],
    }
    record = (json.dumps(small) + "\n" + json.dumps({**_item(flood), "index": 1}) + "\n").encode()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print()"), nbformat.v4.new_code_cell("probe")]
    probes, _ = merge_record(nb, record, {1: ONE_HOT})
    assert _loads_counting.sizes == [len(json.dumps(small)) + 1], "only the small line was parsed"
    assert nb.cells[0].outputs[0]["text"].startswith("commas, [brackets]"), "text in strings does not count"
    verdict = judge_cell("test_embedding_grad", ONE_HOT, probes[1], SEEDS, "")
    assert not verdict.passed and "OutputTooLarge" in verdict.message and "more than 1,000 values" in verdict.message


class _Counting:
    def __init__(self, loads):
        self.loads, self.sizes = loads, []

    def __call__(self, text, *args, **kwargs):
        self.sizes.append(len(text))
        return self.loads(text, *args, **kwargs)


QUIZ = "nb01_sequence_data.io_structures"
KEY = {
    "sentiment of a review": "N-1",
    "next character at every step": "N-N",
    "caption from one image": "1-N",
    "part-of-speech tag of every word": "N-N",
    "tomorrow's temperature from the last 30 days": "N-1",
}


def test_a_quiz_is_marked_against_the_key_and_never_passed_on_its_form_under_grading():
    wrong = _item(_payload({**KEY, "caption from one image": "N-1"}, exercise=QUIZ))
    assert judge_cell("test_io_structures", QUIZ, _item(_payload(KEY, exercise=QUIZ)), SEEDS, "", key=KEY).passed
    verdict = judge_cell("test_io_structures", QUIZ, wrong, SEEDS, "", key=KEY)
    assert not verdict.passed and "caption from one image" in verdict.message
    keyless = judge_cell("test_io_structures", QUIZ, wrong, SEEDS, "", need_key=True)
    assert not keyless.passed and "no answer key" in keyless.message
    recorded = judge_cell("test_io_structures", QUIZ, wrong, SEEDS, "")  # course validate: no key, no grader
    assert recorded.passed and "recorded" in recorded.message
