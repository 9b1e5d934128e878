"""Does the reason a sandbox stopped say it was killed, whichever process the signal reached?"""

from __future__ import annotations

from pathlib import Path

import pytest

import course_lib
from course_lib.grading.task.bwrap import MAX_RECORD_BYTES, SandboxResult
from course_lib.grading.task.ran import not_run

LIBRARY = Path(course_lib.__file__).resolve().parent


@pytest.mark.parametrize(
    "code, how",
    [
        (-9, "killed by signal 9;"),  # the bwrap process itself was killed
        (137, "killed by signal 9 (exit status 137);"),  # the process bwrap runs was: bwrap exits 128 + 9
        (1, "exit status 1;"),
    ],
)
def test_a_sandbox_stopped_early_says_how(code, how):
    said = not_run(
        SandboxResult(returncode=code, seconds=1.0, timed_out=False, stderr=""), b"", LIBRARY, MAX_RECORD_BYTES
    )
    assert said.startswith(f"the sandbox stopped before the notebook finished ({how}"), said
