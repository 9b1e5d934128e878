"""Is the whole `course doctor` report one status per line, with ok agreeing, a crashing check a line, and the exit code right?"""

from __future__ import annotations

from course_lib import doctor
from course_lib.cli import main
from course_lib.doctor.findings import OK, Finding
from tests.doctor import STATUS_LINE


def test_report_on_this_machine_has_one_status_per_line_and_ok_agrees_with_them():
    ok, text = doctor.diagnose()
    findings = [line for line in text.splitlines() if STATUS_LINE.match(line)]
    assert len(findings) >= 8, text
    assert ok == (not any(line.startswith("PROBLEM") for line in findings)), text
    for topic in ("Python", "torch", "kernel", "nbgrader", "threads", "bubblewrap"):
        assert topic in text, f"the report says nothing about {topic}:\n{text}"
    assert "Traceback" not in text


def test_a_crashing_check_is_a_problem_line_not_a_traceback():
    def check_widgets():
        raise RuntimeError("boom")

    ok, text = doctor.diagnose(checks=(lambda: [Finding(OK, "fine")], check_widgets))
    assert not ok
    assert "PROBLEM  could not check widgets: RuntimeError: boom" in text and "Traceback" not in text


def test_course_doctor_exits_1_on_a_problem_and_0_otherwise(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "diagnose", lambda: (False, "PROBLEM  x"))
    assert main(["doctor"]) == 1
    assert "PROBLEM  x" in capsys.readouterr().out
    monkeypatch.setattr(doctor, "diagnose", lambda: (True, "OK       y"))
    assert main(["doctor"]) == 0
