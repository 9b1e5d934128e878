"""Does `course doctor` find too many threads, missing instructor tools and a missing Chinese font?"""

from __future__ import annotations

from course_lib.doctor import machine
from course_lib.doctor.findings import NOTE, OK, PROBLEM
from tests.doctor import statuses


def test_more_threads_than_cores_is_a_problem():
    [finding] = machine.check_threads(threads=16, cores=2)
    assert finding.status == PROBLEM and "OMP_NUM_THREADS=2" in finding.fix
    assert statuses(machine.check_threads(threads=2, cores=2)) == [OK]
    assert machine.available_cores() >= 1


def test_instructor_tools_missing_are_notes_not_problems():
    findings = machine.check_instructor_tools(lambda name: None)
    assert statuses(findings) == [NOTE, NOTE]
    assert "bubblewrap" in findings[0].fix and "alembic" in findings[1].text


def test_fonts():
    assert statuses(machine.check_fonts(lambda: "WenQuanYi Micro Hei", lambda: [])) == [OK]
    [stale] = machine.check_fonts(lambda: None, lambda: ["/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"])
    assert stale.status == NOTE and "fontlist" in stale.fix
    [none] = machine.check_fonts(lambda: None, lambda: ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"])
    assert none.status == NOTE and "fonts-wqy-microhei" in none.fix
