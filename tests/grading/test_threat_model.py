"""Can a submission earn points it did not earn, touch what is not its own, or stop the class? (No.)

One class of crafted notebook-01 submissions is graded once, sandboxed, two students at a time; each
test then asserts the exact points one submission obtained and what the report says about it.
Notebook 01 has 17 autograded points: build_vocab 3, oov_rate 1, encode 1, decode 1, one_hot 1, embedding_grad 3,
make_windows 2, make_char_windows 2, pad_batch 2, io_structures 1 (and 5 points of written answers graded by hand).
"""

from __future__ import annotations

import hashlib
import json
import os

import nbformat
import pytest

import course_lib
from course_lib.grading.kernel.probe import MIME
from tests.grading.conftest import (
    A01,
    FULL_01,
    WRITTEN_01,
    auto_total,
    cell,
    edit,
    formgrader_resources,
    grade,
    make_course,
    message,
    needs_bwrap,
    points,
    problems,
    report,
    solved,
    stub,
    write,
)

pytestmark = [needs_bwrap, pytest.mark.slow]

WRONG_VOCAB = """def build_vocab(sentences, min_freq=1):
    return ['<pad>', '<unk>', '<bos>', '<eos>']
"""

TAMPER_EVERYTHING = (
    WRONG_VOCAB
    + """
import builtins, torch, course_lib.checks.core as core, course_lib.checks as checks
for exercise in checks.EXERCISES.values():
    object.__setattr__(exercise, "judge", lambda cases, results: None)
core.run_check = lambda *a, **k: print("✓ passed")
core.assert_close = lambda *a, **k: None
torch.equal = lambda a, b: True
torch.allclose = lambda *a, **k: True
builtins.AssertionError = type("Nothing", (Exception,), {})
"""
)

TAMPER_ONLY_WHEN_GRADED = (
    WRONG_VOCAB
    + """
import os
if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("COURSE_GRADING"):
    import course_lib.grading.kernel.probe as probe
    probe.emit = lambda *a, **k: print("✓ all cases passed")
    import course_lib.checks as checks
    for exercise in checks.EXERCISES.values():
        object.__setattr__(exercise, "judge", lambda cases, results: None)
"""
)

TAMPER_IPYTHON = (
    WRONG_VOCAB
    + """
import sys
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
sys.excepthook = lambda *a: None
def _silence(result):
    result.error_in_exec = None
ip.events.register("post_run_cell", _silence)
from IPython.display import display
display({"%s": {"exercise": "build_vocab", "runs": [
    {"seed": 20261124, "hidden": False, "results": {"__dict__": [["min_freq=1", ["<pad>"]]]}}]}}, raw=True)
"""
    % MIME
)

FORGED_PROBE = (
    WRONG_VOCAB
    + """
import course_lib.grading.kernel.probe as probe
from IPython.display import display
def forged(exercise, seeds):
    runs = [{"seed": s, "hidden": h, "results": {"__dict__": []}} for s, h in seeds]
    display({probe.MIME: {"exercise": exercise, "runs": runs}}, raw=True)
probe.emit = forged
"""
)

SNOOP = """
import glob, os, socket, pathlib
findings = []
def attempt(label, action):
    try:
        action()
        findings.append(f"OPEN {label}")
    except Exception as error:
        findings.append(f"BLOCKED {label}")
course = %(course)r
attempt("read gradebook", lambda: open(course + "/gradebook.db", "rb").read(16))
attempt("read solution", lambda: open(course + "/solutions/01_sequence_data/01_sequence_data.ipynb").read())
attempt("read secret", lambda: open(course + "/.course/grading-secret", "rb").read())
attempt("list submissions", lambda: os.listdir(course + "/submitted") or (_ for _ in ()).throw(OSError("empty")))
attempt("read other student", lambda: open(%(other)r).read())
attempt("write course_lib", lambda: open(%(course_lib)r + "/__init__.py", "a").write("# pwned"))
attempt("network", lambda: socket.create_connection(("pypi.org", 443), timeout=3))
def see_grader():
    if "pytest" not in open(f"/proc/{%(grader)d}/cmdline").read():
        raise OSError("another process")
attempt("see grader", see_grader)
print("|".join(findings))
"""

LOOP_IN_FUNCTION = """def one_hot(ids, V):
    while True:
        pass
"""

MEMORY_HOG = """import torch
hog = torch.empty(20 * 2**30, dtype=torch.uint8).fill_(1)
def one_hot(ids, V):
    return (ids[..., None] == torch.arange(V)).float()
"""

PROCESS_LIMIT = """
import subprocess
children = []
try:
    for _ in range(1000):
        children.append(subprocess.Popen(["sleep", "30"]))
    print("UNLIMITED", len(children))
except OSError:
    print("LIMITED", len(children))
for child in children:
    child.kill()
subprocess.Popen(["sh", "-c", ":(){ :|:& };:"])  # a fork bomb, left running
"""

DISK_FILLER = """
import os
written = 0
try:
    for i in range(10000):
        with open(f"/tmp/fill{i}", "wb") as handle:
            handle.write(b"x" * 2**20)
        written += 1
    print("UNLIMITED", written)
except OSError as error:
    print("LIMITED", written, error.strerror)
"""

KERNEL_DEATH = """
def make_char_windows(ids, seq_len):
    windows = ids.unfold(0, seq_len + 1, 1)
    return windows[:, :-1], windows[:, 1:]
import os
os._exit(1)
"""

SCRIPT_ANSWER = """A bag of words ignores order. <img src=x onerror="alert('course-xss-probe')">"""
SCRIPT_OUTPUT = """from IPython.display import HTML, display
display(HTML("<b>a table</b><script>/*course-xss-probe*/</script>"))
"""

WRONG_PAD = """def pad_batch(seqs, pad_id=0):
    import torch
    lengths = torch.tensor([len(s) for s in seqs])
    T = int(lengths.max())
    padded = torch.stack([torch.cat([torch.full((T - len(s),), pad_id), s]) for s in seqs])
    return padded, lengths, torch.arange(T)[None] >= (T - lengths)[:, None]
"""


def _without(nb, grade_id):
    nb = json.loads(json.dumps(nb))
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != grade_id]
    return nbformat.from_dict(nb)


def _course_lib_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(__import__("pathlib").Path(course_lib.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("threats")
    course, subs = make_course(tmp), tmp / "submissions"
    good = solved()
    vocab_cell = cell(good, "build_vocab").source
    write(subs, "alice", good)
    write(subs, "bob", stub())
    write(subs, "carol", edit(good, "build_vocab", vocab_cell.replace("count >= min_freq", "count > min_freq")))
    write(subs, "tamper-everything", edit(good, "build_vocab", TAMPER_EVERYTHING))
    write(subs, "tamper-when-graded", edit(good, "build_vocab", TAMPER_ONLY_WHEN_GRADED))
    write(subs, "tamper-ipython", edit(good, "build_vocab", TAMPER_IPYTHON))
    write(subs, "forged-probe", edit(good, "build_vocab", FORGED_PROBE))
    snoop = good.copy()
    snoop.cells = good.cells + [
        nbformat.v4.new_code_cell(
            SNOOP
            % {
                "course": str(course),
                "other": str(subs / "alice" / A01 / f"{A01}.ipynb"),
                "course_lib": str(__import__("pathlib").Path(course_lib.__file__).parent),
                "grader": os.getpid(),
            }
        )
    ]
    write(subs, "snoop", snoop)
    write(subs, "infinite-loop", edit(good, "one_hot", LOOP_IN_FUNCTION))
    write(subs, "memory-hog", edit(good, "one_hot", MEMORY_HOG))
    bomb = good.copy()
    bomb.cells = good.cells + [nbformat.v4.new_code_cell(PROCESS_LIMIT)]
    write(subs, "fork-bomb", bomb)
    filler = good.copy()
    filler.cells = good.cells[:3] + [nbformat.v4.new_code_cell(DISK_FILLER)] + good.cells[3:]
    write(subs, "disk-filler", filler)
    write(subs, "kernel-death", edit(good, "make_char_windows", KERNEL_DEATH))
    write(subs, "invalid-json", '{"cells": [ this is not json')
    write(subs, "renamed", good, name="my copy of 01")
    (subs / "missing" / A01).mkdir(parents=True)
    write(subs, "deleted-test-cell", _without(edit(good, "pad_batch", WRONG_PAD), "test_pad_batch"))
    write(subs, "deleted-solution-cell", _without(good, "pad_batch"))
    reordered = good.copy()
    moved = cell(good, "test_build_vocab")
    reordered.cells = [c for c in good.cells if c is not moved] + [moved]
    write(subs, "reordered", reordered)
    faked = good.copy()
    fake = nbformat.v4.new_code_cell("print('free points')")
    fake.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "points": 50,
        "grade_id": "test_bonus",
        "schema_version": 3,
    }
    changed = edit(good, "test_pad_batch", "print('skipped')")
    cell(changed, "test_pad_batch").metadata["nbgrader"]["points"] = 100
    faked.cells = changed.cells + [fake]
    write(subs, "fake-metadata", faked)
    scripted = edit(good, "why_bag_of_words_fails", SCRIPT_ANSWER)
    scripted.cells = scripted.cells + [nbformat.v4.new_code_cell(SCRIPT_OUTPUT)]
    write(subs, "script-in-answer", scripted)
    write(subs, "old-nbformat", nbformat.writes(nbformat.convert(good, 3)))  # last: convert() changes good in place
    before = _course_lib_digest()
    summary = grade(course, subs)
    return course, subs, summary, before


def test_the_whole_class_was_graded_and_nothing_failed(graded):
    course, _, summary, _ = graded
    assert summary.failed == 0, summary.text()
    assert summary.graded == 22
    assert (course / "grades.csv").read_text().count("\n") == 23


def test_solution_scores_full_points_and_stub_zero(graded):
    course = graded[0]
    assert auto_total(course, "alice") == FULL_01
    assert auto_total(course, "bob") == 0
    assert "not implemented yet" in message(course, "bob", "test_build_vocab")


def test_a_typical_mistake_scores_partial_points_and_is_named(graded):
    course = graded[0]
    assert auto_total(course, "carol") == FULL_01 - 3  # build_vocab's 3 points
    assert ">= min_freq, not > min_freq" in message(course, "carol", "test_build_vocab")
    feedback = (course / "feedback" / "carol" / A01 / f"{A01}.html").read_text()
    assert "min_freq, not &gt; min_freq" in feedback or "min_freq, not > min_freq" in feedback


@pytest.mark.parametrize(
    "student, total",
    [
        ("tamper-everything", FULL_01 - 3),  # patched checks, torch and builtins: the wrong function still fails
        ("tamper-ipython", FULL_01 - 3),  # silenced tracebacks and a forged probe output: judged all the same
        ("tamper-when-graded", 0),  # replaced the probe itself: nothing comes back, nothing is earned
        ("forged-probe", 0),  # forged results for every exercise: judged as empty, so wrong
    ],
)
def test_in_kernel_tampering_earns_nothing(graded, student, total):
    course = graded[0]
    assert points(course, student)["test_build_vocab"] == 0
    assert auto_total(course, student) == total


def test_feedback_never_shows_hidden_tests(graded):
    course = graded[0]
    html = (course / "feedback" / "alice" / A01 / f"{A01}.html").read_text()
    assert "hidden=True" not in html and "BEGIN HIDDEN TESTS" not in html


def test_filesystem_network_and_grader_are_out_of_reach(graded):
    course, _, _, before = graded
    nb = nbformat.read(course / "autograded" / "snoop" / A01 / f"{A01}.ipynb", as_version=4)
    text = json.dumps(nb.cells[-1].outputs)
    for label in (
        "read gradebook",
        "read solution",
        "read secret",
        "list submissions",
        "read other student",
        "write course_lib",
        "network",
        "see grader",
    ):
        assert f"BLOCKED {label}" in text, f"{label}: {text}"
    assert auto_total(course, "snoop") == FULL_01
    assert _course_lib_digest() == before


def test_infinite_loop_costs_only_that_exercise(graded):
    course = graded[0]
    # one_hot is exercise 4, graded with 4b (embedding_grad) by one test cell of 4 points
    assert points(course, "infinite-loop")["test_embedding_grad"] == 0
    assert auto_total(course, "infinite-loop") == FULL_01 - 4
    assert "one_hot and embedding_grad ran past" in message(course, "infinite-loop", "test_embedding_grad")


def test_a_20_gb_allocation_fails_inside_the_sandbox_and_costs_only_that_exercise(graded):
    course = graded[0]
    assert auto_total(course, "memory-hog") == FULL_01 - 4
    assert "one_hot is not defined" in message(course, "memory-hog", "test_embedding_grad")


def test_process_limit_holds_and_a_fork_bomb_costs_nobody_anything(graded):
    course = graded[0]
    nb = nbformat.read(course / "autograded" / "fork-bomb" / A01 / f"{A01}.ipynb", as_version=4)
    text = json.dumps(nb.cells[-1].outputs)
    assert "LIMITED" in text and "UNLIMITED" not in text, text
    assert int(text.split("LIMITED ")[1].split("\\n")[0]) < 128
    assert auto_total(course, "fork-bomb") == FULL_01


def test_disk_quota_holds(graded):
    course = graded[0]
    nb = nbformat.read(course / "autograded" / "disk-filler" / A01 / f"{A01}.ipynb", as_version=4)
    text = json.dumps(nb.cells[3].outputs)
    assert "LIMITED" in text and "No space left" in text, text
    assert auto_total(course, "disk-filler") == FULL_01


def test_a_kernel_that_dies_costs_only_the_cell_that_killed_it(graded):
    course = graded[0]
    assert points(course, "kernel-death")["test_make_char_windows"] == 0
    assert auto_total(course, "kernel-death") == FULL_01 - 2
    assert any("killed the kernel" in e for e in report(course)["kernel-death"]["assignments"][A01].get("events", []))


def test_invalid_json_is_reported_and_scored_zero_with_the_original_kept(graded):
    course = graded[0]
    assert auto_total(course, "invalid-json") == 0
    assert any("unreadable" in p for p in problems(course, "invalid-json"))
    kept = course / ".course" / "originals" / "invalid-json" / A01 / f"{A01}.ipynb"
    assert kept.read_text().startswith('{"cells": [ this is not json')


def test_a_renamed_notebook_is_graded_under_its_name(graded):
    course = graded[0]
    assert auto_total(course, "renamed") == FULL_01
    assert any("renamed" in p for p in problems(course, "renamed"))


def test_a_missing_notebook_is_reported(graded):
    course = graded[0]
    assert auto_total(course, "missing") == 0
    assert any("missing" in p for p in problems(course, "missing"))


def test_deleting_a_test_cell_does_not_skip_its_test(graded):
    course = graded[0]
    assert points(course, "deleted-test-cell")["test_pad_batch"] == 0
    assert auto_total(course, "deleted-test-cell") == FULL_01 - 2


def test_deleting_a_solution_cell_costs_that_exercise_with_a_reason(graded):
    course = graded[0]
    assert auto_total(course, "deleted-solution-cell") == FULL_01 - 2
    # intake puts the deleted answer cell back unanswered (the released stub), so its test says so
    assert "not implemented yet" in message(course, "deleted-solution-cell", "test_pad_batch")
    assert any(
        "graded cells deleted from the notebook: pad_batch" in p for p in problems(course, "deleted-solution-cell")
    )


def test_reordered_cells_are_graded(graded):
    assert auto_total(graded[0], "reordered") == FULL_01


def test_changed_metadata_and_fake_grade_cells_earn_nothing_extra(graded):
    course = graded[0]
    got = points(course, "fake-metadata")
    assert "test_bonus" not in got
    assert auto_total(course, "fake-metadata") == FULL_01
    data = report(course)["fake-metadata"]["assignments"][A01]
    assert data["max"] == FULL_01 + sum(WRITTEN_01.values())
    assert any("nbgrader ids" in p for p in problems(course, "fake-metadata"))


def test_an_old_nbformat_is_converted_and_graded(graded):
    course = graded[0]
    assert auto_total(course, "old-nbformat") == FULL_01
    assert any("nbformat 3" in p for p in problems(course, "old-nbformat"))


def test_html_in_an_answer_or_an_output_never_runs_in_formgrader_or_feedback(graded):
    """formgrader renders a written answer's HTML as it is, on the Jupyter server's origin: a script there
    would run as the instructor.  The grader turns it off; the points and the answer's text stay."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    course = graded[0]
    assert auto_total(course, "script-in-answer") == FULL_01
    autograded = course / "autograded" / "script-in-answer" / A01 / f"{A01}.ipynb"
    formgrader = HTMLExporter(template_name="formgrade", extra_template_basedirs=[handlers.template_path])
    resources = formgrader_resources(autograded, "script-in-answer")
    pages = {
        "formgrader": formgrader.from_filename(str(autograded), resources=resources)[0],
        "feedback": (course / "feedback" / "script-in-answer" / A01 / f"{A01}.html").read_text(),
    }
    for page, html in pages.items():
        assert _live_probes(html) == [], page
        assert "A bag of words ignores order." in html and "HTML was turned off" in html, page
    changes = report(course)["script-in-answer"]["assignments"][A01]["html_turned_off"]
    assert any("markdown" in c and "onerror=" in c for c in changes), changes
    assert any("text/html output sanitized" in c and "<script>" in c for c in changes), changes


def _live_probes(html: str) -> list[str]:
    """Where the page would run the probe: an on*= attribute or a <script> element that holds it (escaped
    text in a code block does not count)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Finder(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = tag == "script"
            found.extend(f"<{tag} {k}=>" for k, v in attrs if k.startswith("on") and "course-xss-probe" in (v or ""))

        def handle_data(self, data):
            if self.in_script and "course-xss-probe" in data:
                found.append("<script>")

    Finder().feed(html)
    return found
