"""One term on a real JupyterHub, in headless Chromium: README's "For instructors" sequence, end to end.

The instructor releases notebook 01 in the shared Formgrader; three learners log in, fetch it from the
Assignment List, work (alice: everything; bob: part, and a written answer with HTML that must stay inert;
carol: everything and a written answer with maths and a table), validate and submit; the instructor collects,
runs ``course grade`` on what collect put in ``submitted/``, grades carol's written answer in the live
Formgrader (score and comment typed into the page), generates and releases feedback; each learner fetches
feedback and reads their own page (maths typeset, no network, nothing of anyone else's); ``course export
canvas`` carries the hand-entered score.  Every wait is for a state of the page, a file or the gradebook.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import time

import nbformat
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import VIEWPORT
from tests.browser.hub_server import Hub
from tests.browser.lab_steps import menu
from tests.conftest import ROOT
from tests.grading.conftest import A01, edit, solved, stub

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SPAWN_MS = 240_000  # a learner's JupyterLab starting on a busy 2-core machine
VALIDATE_MS = 600_000
MANUAL = "why_bag_of_words_fails"
HAND_SCORE, HAND_COMMENT = 1.5, "Right idea; say what the counts lose about order."
CAROL_ANSWER = (
    "A bag of words keeps only counts, $c_w = \\sum_{t=1}^{T} [x_t = w]$, so the order is lost:\n\n"
    "| sentence | counts |\n|---|---|\n| good not bad | same |\n| bad not good | same |\n\n"
    "carol-wrote-this"
)
BOB_ANSWER = 'Order matters. <img src="x" onerror="window.__pwned = 1"> bob-wrote-this'
FULL_01 = 17.0
WRITTEN_01 = 5.0  # why_bag_of_words_fails 2, vocabulary_from_training_split 2, embedding_grad_cost 1
HAND_SCORES = {MANUAL: HAND_SCORE, "vocabulary_from_training_split": 0.0, "embedding_grad_cost": 0.0}


def _works() -> dict[str, nbformat.NotebookNode]:
    full = solved()
    partial = edit(stub(), "build_vocab", next(c.source for c in full.cells if _id(c) == "build_vocab"))
    return {
        "alice": full,
        "bob": edit(partial, MANUAL, BOB_ANSWER),
        "carol": edit(full, MANUAL, CAROL_ANSWER),
    }


def _id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _login(context: BrowserContext, hub: Hub, name: str, next_url: str = "") -> Page:
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login" + (f"?next={next_url}" if next_url else ""))
    page.fill("#username_input", name)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    return page


def _open_lab(page: Page, hub: Hub, name: str) -> None:
    page.goto(f"{hub.url}/user/{name}/lab", timeout=SPAWN_MS)
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=SPAWN_MS)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=SPAWN_MS)


def _api(page: Page, method: str, url: str, data: object | None = None) -> object:
    """A request with the page's cookies, as the page's own scripts send it (XSRF token included)."""
    xsrf = next((c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"), "")
    response = page.request.fetch(
        url, method=method, data=json.dumps(data) if data is not None else None, headers={"X-XSRFToken": xsrf}
    )
    assert response.ok, f"{method} {url}: HTTP {response.status} {response.text()[:500]}"
    return response.json() if response.text() else None


def _formgrader_action(page: Page, hub: Hub, column: str, done: str) -> str:
    """Click the row of notebook 01's button in ``column`` of Manage Assignments; return the dialog's text."""
    page.goto(f"{hub.formgrader}/manage_assignments")
    row = page.locator("tr", has=page.locator("td.name", has_text=A01))
    row.locator(f"td.{column} a").click()
    dialog = page.locator(".modal-dialog", has_text=re.compile(done + "|error", re.I))
    dialog.wait_for(timeout=VALIDATE_MS)
    text = dialog.inner_text()
    dialog.locator("button", has_text=re.compile("close|ok", re.I)).first.click()
    return text


def _assignment_list(page: Page) -> None:
    menu(page, "Nbgrader", "Assignment List")
    page.locator("#released_assignments_list, #fetched_assignments_list").first.wait_for(timeout=60_000)


def _fetch_and_work(page: Page, hub: Hub, name: str, nb: nbformat.NotebookNode) -> None:
    _assignment_list(page)
    released = page.locator("#released_assignments_list .list_item", has_text=A01)
    released.locator("button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=A01)
    fetched.first.wait_for(timeout=60_000)
    # the learner's work, saved through their own server as JupyterLab saves a notebook
    path = f"{A01}/{A01}.ipynb"
    _api(page, "PUT", f"{hub.url}/user/{name}/api/contents/{path}", {"type": "notebook", "content": nb})


def _validate_and_submit(page: Page) -> str:
    fetched = page.locator("#fetched_assignments_list")
    fetched.locator(".list_item", has_text=A01).first.locator("a, button").first.click()  # show its notebooks
    fetched.locator("button", has_text="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=VALIDATE_MS)
    verdict = dialog.inner_text()
    dialog.locator("button").last.click()
    fetched.locator("button", has_text="Submit").first.click()
    page.locator("#submitted_assignments_list .list_item", has_text=A01).first.wait_for(timeout=60_000)
    return verdict


def _grade_by_hand(page: Page, hub: Hub, student: str) -> None:
    submissions = _api(page, "GET", f"{hub.formgrader}/api/submitted_notebooks/{A01}/{A01}")
    (submission,) = [s for s in submissions if s["student"] == student]
    response = page.request.get(f"{hub.formgrader}/submissions/{submission['id']}")
    assert response.status == 200, f"Formgrader's grading page answered HTTP {response.status}:\n{hub.log_tail()}"
    page.goto(f"{hub.formgrader}/submissions/{submission['id']}")
    # Formgrader binds its score and comment boxes once it has fetched the submission's grades and comments
    page.wait_for_function(
        "() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
        " && formgrader.comments && formgrader.comments.loaded",
        timeout=60_000,
    )
    for written, points in HAND_SCORES.items():  # every written answer, so that none is left pending
        score = page.locator(f"input.score#{written}")
        score.fill(str(points))
        score.press("Tab")  # a change event: formgrader saves the score
    comment = page.locator(f"textarea#{MANUAL}-comment")
    comment.fill(HAND_COMMENT)
    comment.press("Tab")
    grades = f"{hub.formgrader}/api/grades?submission_id={submission['id']}"
    _until(
        lambda: (
            {g["name"]: g["manual_score"] for g in _api(page, "GET", grades) if g["name"] in HAND_SCORES} == HAND_SCORES
        ),
        "the hand-entered scores in the gradebook",
    )
    _until(
        lambda: any(
            c["name"] == MANUAL and c["manual_comment"] == HAND_COMMENT
            for c in _api(page, "GET", f"{hub.formgrader}/api/comments?submission_id={submission['id']}")
        ),
        "the comment in the gradebook",
    )


def _until(condition, what: str, timeout_s: float = 60) -> None:
    """Wait for a state (polled), failing with what was awaited."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout_s:.0f} s")  # the hub's log is kept: hub_server.py
        time.sleep(0.5)


def test_one_term_on_jupyterhub(browser, hub, tmp_path):
    works = _works()
    learners = dict(zip(("alice", "bob", "carol"), hub.learners))

    teacher = browser.new_context(viewport=VIEWPORT)
    page = _login(teacher, hub, hub.instructor)
    page.wait_for_url(re.compile(r"/(user|hub/spawn)"), timeout=SPAWN_MS)

    # 1. the instructor releases notebook 01 through the shared Formgrader
    text = _formgrader_action(page, hub, "release", "Successfully released")
    assert "Successfully released" in text, text
    assert (hub.exchange / hub.course_id / "outbound" / A01 / f"{A01}.ipynb").is_file()

    # 2. each learner: fetch, work, validate, submit
    pages, verdicts = {}, {}
    for short, name in learners.items():
        context = browser.new_context(viewport=VIEWPORT)
        learner = _login(context, hub, name)
        _open_lab(learner, hub, name)
        if short == "alice":  # what a learner's JupyterLab shows
            learner.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
            items = learner.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
            learner.keyboard.press("Escape")
            assert "Assignment List" in items and not {"Formgrader", "Create assignment"} & set(items), items
            assert learner.locator(".Toastify__toast", has_text="news").count() == 0
            assert learner.request.get(f"{hub.url}/user/{name}/formgrader").status == 404
        _fetch_and_work(learner, hub, name, works[short])
        verdicts[short] = _validate_and_submit(learner)
        pages[short] = learner
    assert "Success" in verdicts["alice"], verdicts["alice"]

    # the answers stay out of reach of a learner's account: the course folder and the clone's solutions/
    for secret in (hub.course / "solutions", ROOT / "solutions", ROOT / ".git"):
        peek = subprocess.run(["runuser", "-u", learners["alice"], "--", "ls", str(secret)], capture_output=True)
        assert peek.returncode != 0, f"a learner can list {secret}"

    # 3. collect in Formgrader, then grade what collect put in submitted/
    text = _formgrader_action(page, hub, "collect", "Successfully collected")
    assert "Successfully collected" in text, text
    for name in learners.values():
        assert (hub.course / "submitted" / name / A01 / "timestamp.txt").is_file()
    graded = hub.as_grader("course", "grade", "submitted", "--assignment", A01, "--jobs", "2", "--quiet")
    assert graded.returncode == 0, graded.stdout + graded.stderr

    # 4. the written answer, graded by hand in the live Formgrader; its page keeps bob's HTML inert
    _grade_by_hand(page, hub, learners["carol"])
    # a second grader shares the same Formgrader and gradebook (no server of their own is started)
    ta = _login(browser.new_context(viewport=VIEWPORT), hub, hub.second_grader, f"/services/{hub.course_id}/formgrader")
    ta.wait_for_url(re.compile(rf"/services/{hub.course_id}/formgrader"), timeout=SPAWN_MS)
    shared = _api(ta, "GET", f"{hub.formgrader}/api/submitted_notebooks/{A01}/{A01}")
    (carol,) = [s for s in shared if s["student"] == learners["carol"]]
    grades = _api(ta, "GET", f"{hub.formgrader}/api/grades?submission_id={carol['id']}")
    assert [g["manual_score"] for g in grades if g["name"] == MANUAL] == [HAND_SCORE]
    ta.context.close()
    # and a learner cannot open it
    assert pages["alice"].request.get(f"{hub.formgrader}/manage_assignments").status in (403, 404)

    submissions = _api(page, "GET", f"{hub.formgrader}/api/submitted_notebooks/{A01}/{A01}")
    (bob,) = [s for s in submissions if s["student"] == learners["bob"]]
    assert page.goto(f"{hub.formgrader}/submissions/{bob['id']}").status == 200
    page.locator(f"textarea#{MANUAL}-comment").wait_for()
    assert "bob-wrote-this" in page.inner_text("body")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[onerror]").count() == 0

    # 5. feedback: nbgrader's Generate Feedback works with the course's configuration; `course rescore` then puts
    # the hand-graded points (and any late penalty on them) into the totals and the pages; Release Feedback
    text = _formgrader_action(page, hub, "generate-feedback", "Successfully generated feedback")
    assert re.search("Successfully generated feedback", text, re.I), text
    rescored = hub.as_grader("course", "rescore")
    assert rescored.returncode == 0, rescored.stdout + rescored.stderr
    text = _formgrader_action(page, hub, "release-feedback", "Successfully released feedback")
    assert re.search("Successfully released feedback", text, re.I), text

    # 6. each learner fetches feedback and reads their own page
    markers = {"alice": None, "bob": "bob-wrote-this", "carol": "carol-wrote-this"}
    for short, name in learners.items():
        learner = pages[short]
        _assignment_list(learner)
        submitted = learner.locator("#submitted_assignments_list .list_item", has_text=A01).first
        submitted.locator("button", has_text="Fetch Feedback").click()
        learner.wait_for_function(
            "url => fetch(url).then(r => r.ok ? r.json() : {content: []}).then(d => d.content.length > 0)",
            arg=f"{hub.url}/user/{name}/api/contents/{A01}/feedback",
            timeout=60_000,
            polling=500,
        )
        listing = _api(learner, "GET", f"{hub.url}/user/{name}/api/contents/{A01}/feedback")
        (stamp,) = listing["content"]
        files = _api(learner, "GET", f"{hub.url}/user/{name}/api/contents/{stamp['path']}")["content"]
        assert [f["name"] for f in files] == [f"{A01}.html"], files
        feedback = learner.context.new_page()
        requests: list[str] = []
        feedback.on("request", lambda r: requests.append(r.url))
        feedback.goto(f"{hub.url}/user/{name}/files/{stamp['path']}/{A01}.html")
        body = feedback.inner_text("body")
        for other, marker in markers.items():
            if marker:
                assert (marker in body) == (other == short), (short, other)
        assert feedback.locator("math").count() > 0, "no typeset maths on the feedback page"
        assert not [u for u in requests if not u.startswith(hub.url)], requests
        if short == "carol":
            assert feedback.locator("table td", has_text="good not bad").count() == 1
            assert HAND_COMMENT in body
            assert f"Score: {FULL_01 + HAND_SCORE} / {FULL_01 + WRITTEN_01}" in body, body[:400]
        # another learner's server is out of reach
        other = next(n for s, n in learners.items() if s != short)
        assert learner.request.get(f"{hub.url}/user/{other}/api/contents").status in (403, 404)
        feedback.close()

    # 7. the LMS: its class list imported once, the assignment mapped to its own column, the export carries the
    # hand-entered score with every row and the Points Possible line kept
    column = "01 Sequence data (90210)"
    roster = ["Student,ID,SIS User ID,SIS Login ID,Section," + column, "    Points Possible,,,,,14.00"]
    roster += [f"{short.title()},{4700 + i},s{i},{name},A," for i, (short, name) in enumerate(learners.items())]
    (hub.course / "canvas-gradebook.csv").write_text("\n".join(roster) + "\n")
    for command in (
        ("course", "roster", "import", "canvas", "canvas-gradebook.csv"),
        ("course", "roster", "map-assignment", A01, column),
        ("course", "export", "canvas"),
    ):
        done = hub.as_grader(*command)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    rows = list(csv.DictReader(io.StringIO((hub.course / "canvas-grades.csv").read_text())))
    assert rows[0]["Student"].strip() == "Points Possible"
    scores = {r["SIS Login ID"]: r[column] for r in rows[1:]}
    assert float(scores[learners["carol"]]) == pytest.approx(FULL_01 + HAND_SCORE)
    # alice's and bob's written answers await a grader: left empty (the LMS keeps what it had) and listed
    assert scores[learners["alice"]] == scores[learners["bob"]] == ""
    assert learners["alice"] in done.stdout + done.stderr and learners["bob"] in done.stdout + done.stderr
