"""nbgrader's autograde with execution replaced by :class:`SandboxedExecute` (the config a grading task uses).

Runs in a grading task's process (trusted; see :mod:`course_lib.grading.task.job`).  For debugging one
submission by hand in a course folder: ``python -m course_lib.grading.task.autograde ROOT STUDENT ASSIGNMENT
--settings JSON`` prints one JSON line, ``{"success": bool, "error": str}``; it writes that course's
gradebook itself, so never run it beside ``course grade``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["autograde_config", "main"]


def autograde_config(root: Path, settings: dict):
    """The course config with nbgrader's Execute replaced by the sandboxed, trusted execution."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
    )

    from course_lib.grading.task.bonus import SaveAutoGradesAndBonus
    from course_lib.grading.task.sandboxed_execute import SandboxedExecute
    from course_lib.nbgrader_setup import course_config

    config = course_config(root, db_url=settings.get("db_url"))
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGradesAndBonus,  # nbgrader's SaveAutoGrades + a bonus exercise's extra credit
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    for name, value in settings.get("sandbox", {}).items():
        setattr(config.SandboxedExecute, name, value)
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("student")
    parser.add_argument("assignment")
    parser.add_argument("--settings", default="{}", help="JSON: db_url and SandboxedExecute traits")
    args = parser.parse_args(argv)
    try:
        from course_lib.nbgrader_setup import api_for

        api = api_for(autograde_config(args.root, json.loads(args.settings)))
        result = api.autograde(args.assignment, args.student, force=True, create=True)
        out = {
            "success": bool(result.get("success")),
            "error": (result.get("error") or "")[-3000:],
            "log": (result.get("log") or "")[-3000:],
        }
    except Exception as error:  # reported for this student; the class goes on
        out = {"success": False, "error": f"{type(error).__name__}: {error}", "log": ""}
    print(json.dumps(out))
    return 0 if out["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
