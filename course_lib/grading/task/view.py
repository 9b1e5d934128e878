"""The grading view of ``course_lib.checks``: what a learner's kernel can import while ``course grade`` runs it.

A check's judge computes the expected answer (with torch, autograd or an invariant) and its failure message
names it.  If the learner's kernel could import the judges at grading time, a stub could call the check on
the very inputs the probe hands it and return what the check expects, earning the exercise without an
algorithm.  So the sandbox mounts this view over ``course_lib/checks`` instead of the real package.  It holds:

- ``core.py``, ``__init__.py``: copied as they are (the plain-data machinery and the registry, no judge);
- for every notebook's package ``nbNN_topic``: a generated module exporting the package's public names, in
  which each :class:`~course_lib.checks.core.Exercise` keeps its ``name``, ``function``, plain settings and
  ``run`` step (shipped by value with `cloudpickle <https://github.com/cloudpipe/cloudpickle>`_, so exactly
  the code ``run`` references comes along), while ``cases``, ``judge`` and any other callable become
  :class:`GraderOnly` stubs; every ``check_<exercise>`` becomes a :class:`GradedByGrader` that only says the
  check runs in the grader, so the notebook's import cells and its own calls keep working;
- every other module of the package (``references.py``, helpers shared by judges): its public names only,
  each callable a :class:`GraderOnly` stub, so that an import of it keeps working and brings no code.

The grader builds the cases itself from its secret seeds and hands them to the probe as plain data (see
:mod:`course_lib.grading.kernel.probe`), so the kernel needs no ``cases`` either.  Every build is audited
(:mod:`course_lib.grading.task.view_audit`): a view that would carry a judge, a case generator or a reference
module's code is refused.  Views are cached per digest of course_lib's code (and the interpreter), one folder each under
``$XDG_CACHE_HOME/course_lib/grading-views`` (those of other versions go after a week unused); a build
goes to a scratch folder renamed into place, so parallel grading workers never see half a view.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import hashlib
import importlib
import os
import pickle
import pkgutil
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import course_lib
from course_lib.grading.task.view_audit import MARK, VERBATIM, ViewLeak, audit, inventory

__all__ = [
    "VERBATIM",
    "GradedByGrader",
    "GraderOnly",
    "ViewLeak",
    "audit",
    "build_view",
    "grading_view",
    "inventory",
    "load_namespace",
]

KEPT_FIELDS = ("name", "function", "run", "parts")  # an Exercise's fields the kernel gets; other callables are stubbed
PICKLE = "namespace.pkl"
GENERATED = (
    '"""'
    + MARK
    + ''' from course_lib/checks/{source}: the grading view. Do not edit.

Under ``course grade`` this replaces the real module in the learner's kernel: each exercise's run step and
the notebook's public names, no judge, no case generator, no reference.
"""

from course_lib.grading.task.view import load_namespace as _load

globals().update(_load(__file__, {pickle!r}))
del _load
__all__ = {names!r}
'''
)


@dataclasses.dataclass(frozen=True)
class GradedByGrader:
    """``check_<exercise>`` inside the grading sandbox: the check itself runs in the grader."""

    function: str

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        print(
            f"check for {self.function}: under `course grade` the checks run in the grader, not in this "
            f"kernel; your {self.function} is judged there."
        )


@dataclasses.dataclass(frozen=True)
class GraderOnly:
    """A judge, a case generator or a reference inside the grading sandbox: available to the grader only."""

    what: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self.what} runs only in the grader (course grade), not in the learner's kernel")


def load_namespace(module_file: str, name: str = PICKLE) -> dict[str, Any]:
    """The public names of a generated view module (used by the generated modules themselves)."""
    with open(Path(module_file).with_name(name), "rb") as handle:
        return pickle.load(handle)


# --------------------------------------------------------------------------------------------------
# Building a view


def grading_view(cache: Path | None = None) -> Path:
    """The view's ``checks`` folder for the course_lib in use: built once, then reused."""
    cache = Path(cache) if cache is not None else _cache_dir()
    final = cache / _digest()
    if (final / "checks" / "__init__.py").is_file():
        with contextlib.suppress(OSError):
            os.utime(final)  # in use: not pruned by another version's build
        return final / "checks"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache (a read-only home): a private folder for this process
        return _private_view()
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        build_view(scratch / "checks")
        _open_up(scratch)
        try:
            scratch.rename(final)
        except OSError:  # another worker was first: its view is the same
            if not (final / "checks" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _prune(cache, keep=final)
    return final / "checks"


def _prune(cache: Path, keep: Path, days: float = 7) -> None:
    """Views (and interrupted builds) of other course_lib versions, untouched for ``days``, go."""
    old = time.time() - days * 86400
    for folder in cache.iterdir():
        if folder != keep and folder.is_dir() and folder.stat().st_mtime < old:
            shutil.rmtree(folder, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _private_view() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="course-grading-view-"))
    atexit.register(shutil.rmtree, folder, True)
    build_view(folder / "checks")
    _open_up(folder)
    return folder / "checks"


def build_view(target: Path) -> None:
    """Write the view of ``course_lib.checks`` into ``target`` (created; must not exist)."""
    import cloudpickle

    import course_lib.checks as real

    source = Path(real.__file__).parent
    target.mkdir(parents=True)
    for name in VERBATIM:
        shutil.copyfile(source / name, target / name)
    children = sorted(pkgutil.iter_modules(real.__path__), key=lambda info: info.name)
    by_value = [importlib.import_module(f"{real.__name__}.{info.name}") for info in children if info.name != "core"]
    trusted = _trusted_functions(real.EXERCISES.values())
    for module in by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        for info in children:
            if info.name == "core":
                continue
            module = importlib.import_module(f"{real.__name__}.{info.name}")
            names = _public_names(module)
            if info.name.startswith("nb"):
                namespace = {name: _translate(getattr(module, name), trusted) for name in names}
            else:  # references, helpers shared by judges: names without code
                namespace = {name: _name_only(getattr(module, name), f"{module.__name__}.{name}") for name in names}
            folder = target / info.name if info.ispkg else target
            folder.mkdir(exist_ok=True)
            pickle_name = PICKLE if info.ispkg else f"{info.name}.pkl"
            (folder / pickle_name).write_bytes(cloudpickle.dumps(namespace, protocol=pickle.HIGHEST_PROTOCOL))
            relative = f"{info.name}/" if info.ispkg else f"{info.name}.py"
            module_file = folder / ("__init__.py" if info.ispkg else f"{info.name}.py")
            module_file.write_text(GENERATED.format(source=relative, pickle=pickle_name, names=names), encoding="utf-8")
    finally:
        for module in by_value:
            cloudpickle.unregister_pickle_by_value(module)
    audit(target)


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n for n in vars(module) if not n.startswith("_") and not isinstance(getattr(module, n), types.ModuleType)
        ]
    return sorted(set(names) | ({"EXERCISES"} if hasattr(module, "EXERCISES") else set()))


def _name_only(value: Any, what: str) -> Any:
    """A public name of a module the kernel must not get the code of: plain data, or a stub."""
    plain = (bool, int, float, str, type(None))
    if isinstance(value, plain) or (isinstance(value, tuple) and all(isinstance(v, plain) for v in value)):
        return value
    return GraderOnly(what)


def _translate(value: Any, trusted: dict[int, str]) -> Any:
    """What the kernel gets in place of one public value of a checks module."""
    from course_lib.checks.core import Exercise

    if isinstance(value, Exercise):
        return _exercise_view(value)
    if isinstance(value, types.MethodType) and isinstance(value.__self__, Exercise):
        return GradedByGrader(value.__self__.function)  # check_<exercise> = EXERCISE.check
    if isinstance(value, (tuple, list)):
        return type(value)(_translate(v, trusted) for v in value)
    if callable(value) and id(value) in trusted:
        return GraderOnly(trusted[id(value)])
    return value


def _exercise_view(exercise) -> Any:
    """The exercise without its trusted parts: every field but name, function and run that is not plain
    data (a bool, a number, a string) is a stub."""
    changes = {}
    for field in dataclasses.fields(exercise):
        value = getattr(exercise, field.name)
        if field.name in KEPT_FIELDS or isinstance(value, (bool, int, float, str, type(None))):
            continue
        changes[field.name] = GraderOnly(f"the {field.name} of the {exercise.name} check")
    return dataclasses.replace(exercise, **changes)


def _trusted_functions(exercises) -> dict[int, str]:
    """id -> description of every exercise's callables other than ``run`` (its cases and judge)."""
    out = {}
    for exercise in exercises:
        for field in dataclasses.fields(exercise):
            value = getattr(exercise, field.name)
            if field.name != "run" and callable(value):
                out[id(value)] = f"the {field.name} of the {exercise.name} check"
    return out


def _open_up(folder: Path) -> None:
    """World-readable: as root, each grading job reads the view under its own unprivileged uid."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "course_lib" / "grading-views"


@functools.lru_cache(maxsize=1)
def _digest() -> str:
    """Of course_lib's code, the interpreter and cloudpickle: pickled code fits one interpreter only."""
    import cloudpickle

    digest = hashlib.sha256(f"{sys.version}|{cloudpickle.__version__}|{course_lib.__version__}".encode())
    root = Path(course_lib.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]
