"""nbgrader's API, configured from the course's ``nbgrader_config.py``.

nbgrader's ``NbGraderAPI`` does not read ``nbgrader_config.py`` by itself, and nbgrader shells out to
``alembic`` to create a gradebook, so the interpreter's ``bin`` directory must be on PATH.  Both are
done here, once, for every ``course`` sub-command.

Every new gradebook asks a fresh ``alembic heads`` process for the schema's revision (2.6 s of Python start-up
and imports each time, for an answer that is fixed by the installed nbgrader): :func:`api_for` makes nbgrader
ask once per process.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

__all__ = ["CourseError", "course_config", "api_for", "assignments"]


class CourseError(Exception):
    """A problem the instructor can fix (missing folder, unknown assignment); printed without a traceback."""


def _ensure_bin_on_path() -> None:
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def course_config(root: Path, db_url: str | None = None, **overrides) -> Config:
    """The course's nbgrader config, with ``root`` as the course directory."""
    root = Path(root).resolve()
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise CourseError(f"{root} is not the course folder: it has no nbgrader_config.py")
    config = PyFileConfigLoader(str(config_file)).load_config()
    config.CourseDirectory.root = str(root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    for dotted, value in overrides.items():
        section, name = dotted.split(".")
        setattr(config[section], name, value)
    return config


def api_for(config: Config):
    """An ``NbGraderAPI`` on ``config`` (imported late: nbgrader is slow to import)."""
    _ensure_bin_on_path()
    import nbgrader.api
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):  # the installed nbgrader's head, asked once
        nbgrader.api.get_alembic_version = functools.cache(nbgrader.api.get_alembic_version)

    return NbGraderAPI(CourseDirectory(config=config), config=config)


def assignments(root: Path) -> list[str]:
    """The assignment ids: the sub-folders of ``solutions/`` that hold a notebook, in order."""
    source = Path(root) / "solutions"
    if not source.is_dir():
        raise CourseError(f"no solutions/ folder in {root}")
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
