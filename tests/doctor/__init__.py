"""Tests of ``course_lib.doctor``: each check is fed a broken set-up (a fake torch, a kernel from another
environment, a disabled extension, too many threads...) and must answer PROBLEM (or NOTE for
instructor-only tools) with a fix; the whole report runs on this machine and its ok flag agrees with its lines.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from course_lib.doctor.findings import Finding

STATUS_LINE = re.compile(r"^(OK|PROBLEM|NOTE) {2,}\S")


def statuses(findings: list[Finding]) -> list[str]:
    return [f.status for f in findings]


def fake_torch(version: str, cuda: str | None = None, gpu: bool = False):
    return SimpleNamespace(
        __version__=version,
        version=SimpleNamespace(cuda=cuda, hip=None),
        cuda=SimpleNamespace(is_available=lambda: gpu),
    )
