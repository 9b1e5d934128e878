"""Does any public function or class of ``course_lib`` earn a graded exercise's points in the learner's place?

A learner's kernel can import all of ``course_lib`` (the notebooks do); under ``course grade`` it gets the
grading view of ``course_lib.checks`` instead of the real package.  A helper that already computes an
exercise's answer -- ``Vocab(sentences, min_freq).itos`` was notebook 01's ``build_vocab``, the article's
column-vector ``SimpleRNN.cell`` notebook 02's ``rnn_cell`` -- turns the exercise into one line of glue.

Every candidate is offered to every exercise's hidden cases through the grading path (run the cases, encode
the results as plain data, JSON, decode, judge), in the forms a learner would try:

- the function or class itself;
- a class built from the exercise's arguments (all, a leading part, in reverse order, one of them wrapped in
  a list) and then one of its attributes, or one of its methods (``__call__`` included) on the remaining
  arguments;
- a class's method called unbound on a namespace holding the exercise's arguments under their names (the
  keys of a dict argument too), on the remaining arguments, in row form and in the article's column form
  (``x.T`` in, ``.T`` out, biases as columns).

The candidates are every public name (``__all__``, else the names not starting with ``_``) of every module of
``course_lib`` outside ``course_lib.checks``, and of ``course_lib.checks`` what the grading view hands the
kernel.  The test fails on any pass not listed in :data:`ALLOWED`, and every entry there must be named in the
README's threat model.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import importlib
import inspect
import io
import json
import pkgutil
import signal
import types
from typing import Any, Callable, Iterator

import pytest
import torch

import course_lib
from course_lib.checks import EXERCISES
from course_lib.checks.core import (
    HIDDEN_SEED,
    CheckFailure,
    Exercise,
    LearnerError,
    decode_plain,
    encode_results,
    run_cases,
)
from course_lib.grading.task.view import GradedByGrader, GraderOnly, build_view, load_namespace
from tests.conftest import ROOT, code_trees

pytestmark = pytest.mark.slow

# (exercise key, candidate) -> the README threat-model phrase that names it.  Each is a helper the later notebooks
# need in that very form: a vocabulary that encodes (02-07).  (05's `gru_variant` refuses PyTorch's own GRU cell.)
ALLOWED: dict[tuple[str, str], str] = {
    (
        "nb01_sequence_data.encode",
        "course_lib.data.vocab.Vocab",
    ): "`Vocab([itos]).encode(tokens)` is notebook 01's `encode`",
}

# Seeds of the sweep: the default hidden seed and two the grader could draw.
SEEDS = (HIDDEN_SEED, 7, 2**31 - 5)
CALL_SECONDS = 5.0  # one candidate call; a helper that trains or loops on odd input is cut off here
# The grader's and the instructor's tools: they take paths, notebooks and configurations, none a tensor or a
# token list, and some change the calling process (resource limits, file descriptors, signals), so they are not
# called here.  Everything else is, in a scratch folder.
TOOLS = (
    "course_lib.grading",
    "course_lib.cli",
    "course_lib.doctor",
    "course_lib.release",
    "course_lib.validate",
    "course_lib.nbgrader_setup",
)


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _limit(seconds: float) -> Iterator[None]:
    def _raise(*_):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------------
# Candidates


def _public(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)]
    return sorted(names)


def _is_candidate(value: Any) -> bool:
    if isinstance(value, (GradedByGrader, GraderOnly, Exercise)) or not callable(value):
        return False
    return str(getattr(value, "__module__", "") or "").startswith("course_lib")


def candidates(view_folder) -> dict[str, Any]:
    """``module.name`` -> every public function and class a learner's kernel can import from course_lib."""
    found: dict[str, Any] = {}
    seen: set[int] = set()  # a name re-exported by a package is offered once, under its defining module
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        if any(info.name == p or info.name.startswith(p + ".") for p in ("course_lib.checks", *TOOLS)):
            continue
        module = importlib.import_module(info.name)
        for name in _public(module):
            value = getattr(module, name, None)
            if _is_candidate(value) and id(value) not in seen:
                seen.add(id(value))
                found[f"{value.__module__}.{name}"] = value
    # course_lib.checks as the grading view gives it: core as it is, each package's public names as translated
    import course_lib.checks.core as core

    for name in _public(core):
        if _is_candidate(getattr(core, name)):
            found[f"course_lib.checks.core.{name}"] = getattr(core, name)
    for pickled in sorted(view_folder.rglob("*.pkl")):
        module = pickled.parent.name if pickled.name == "namespace.pkl" else pickled.stem
        for name, value in load_namespace(str(pickled), pickled.name).items():
            if _is_candidate(value):
                found[f"course_lib.checks.{module}.{name}"] = value
    return found


# --------------------------------------------------------------------------------------------------
# The exercises' argument names (from the solution notebooks' cells)


def argument_names() -> dict[str, list[str]]:
    """exercise key -> the parameter names of the function (or the class's ``__init__``) its solution defines."""
    names: dict[str, list[str]] = {}
    for folder in sorted((ROOT / "solutions").iterdir()):
        if not folder.is_dir():
            continue
        module = f"nb{folder.name}"
        defined: dict[str, list[str]] = {}
        for tree in code_trees(folder / f"{folder.name}.ipynb"):
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    defined[node.name] = [a.arg for a in node.args.args + node.args.kwonlyargs]
                elif isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                            defined[node.name] = [a.arg for a in item.args.args[1:] + item.args.kwonlyargs]
        for key, exercise in EXERCISES.items():
            if key.startswith(module + ".") and exercise.function in defined:
                names[key] = defined[exercise.function]
    return names


# --------------------------------------------------------------------------------------------------
# Adapters: the forms in which a learner could hand a helper to the check


@dataclasses.dataclass(frozen=True)
class Form:
    """One way of answering an exercise with a candidate; ``make(args, kwargs)`` is the answer's value."""

    label: str
    make: Callable[[tuple, dict], Any]

    def __call__(self, *args, **kwargs):
        return self.make(args, kwargs)


def _orders(n: int) -> list[tuple[str, Callable[[tuple], tuple]]]:
    """The arguments as given or reversed, each way as they are or with one of them wrapped in a list."""
    out = []
    for label, turn in (("args", lambda a: a), ("reversed", lambda a: tuple(reversed(a)))):
        out.append((label, turn))
        for i in range(n):
            out.append((f"{label}, [#{i}]", lambda a, turn=turn, i=i: turn(a)[:i] + ([turn(a)[i]],) + turn(a)[i + 1 :]))
    return out


def _column(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dim() == 2:
        return value.T
    if isinstance(value, (tuple, list)):
        return type(value)(_column(v) for v in value)
    return value


def _unwrap(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _namespace(names: list[str], args: tuple, kwargs: dict, column: bool) -> tuple[dict, list[str]]:
    """Attribute values of the exercise's arguments by name (a dict argument's keys too)."""
    values = dict(zip(names, args)) | kwargs
    attributes = {}
    for name, value in values.items():
        entries = value.items() if isinstance(value, dict) else [(name, value)]
        for key, item in entries:
            if column and isinstance(item, torch.Tensor) and item.dim() == 1:
                item = item.unsqueeze(-1)
            attributes[str(key)] = item
    return attributes, list(values)


def _unbound_forms(cls: type, names: list[str]) -> Iterator[Form]:
    """Each method of ``cls`` called on a namespace of the exercise's arguments, on the arguments it does not
    read as attributes (the last parameter may take the rest as a tuple: a state)."""
    own = {}  # the methods course_lib's classes define (torch's nn.Module methods answer no exercise)
    for klass in reversed(cls.__mro__):
        if str(klass.__module__).startswith("course_lib"):
            own |= {n: v for n, v in vars(klass).items() if inspect.isfunction(v) and not n.startswith("__")}
    for method_name, method in sorted(own.items()):
        read = set(method.__code__.co_names)
        params = list(inspect.signature(method).parameters)[1:]
        for column in (False, True):
            for as_tuple in (False, True):

                def make(args, kwargs, method=method, read=read, params=params, column=column, as_tuple=as_tuple):
                    attributes, order = _namespace(names, args, kwargs, column)
                    values = dict(zip(names, args)) | kwargs
                    rest = []
                    for name in order:
                        value = values[name]
                        keys = value.keys() if isinstance(value, dict) else [name]
                        if not read & set(map(str, keys)):
                            rest.append(_column(value) if column else value)
                    if as_tuple and params:
                        rest = rest[: len(params) - 1] + [tuple(rest[len(params) - 1 :])]
                    out = method(types.SimpleNamespace(**attributes), *rest)
                    return _unwrap(_column(out) if column else out)

                yield Form(
                    f"{cls.__name__}.{method_name}(namespace, ...){' column' if column else ''}"
                    f"{' state tuple' if as_tuple else ''}",
                    make,
                )


def _instance_forms(cls: type, args: tuple, kwargs: dict) -> Iterator[Form]:
    """``cls`` built from (some of) the arguments, then an attribute, or a method on the rest."""
    for order_label, order in _orders(len(args)):
        ordered = order(args)
        for split in range(len(ordered) + 1):
            try:
                with _limit(CALL_SECONDS), _quiet():
                    instance = cls(*ordered[:split], **(kwargs if split == len(ordered) else {}))
            except BaseException as error:  # noqa: BLE001 -- any failure: this form cannot answer
                if isinstance(error, KeyboardInterrupt):
                    raise
                continue
            members = _own_members(cls, instance) + ["__call__"] * callable(instance)
            for member in members:
                try:
                    value = getattr(instance, member)
                except Exception:  # noqa: BLE001 -- a property that needs more state
                    continue
                label = f"{cls.__name__}({order_label}[:{split}]).{member}"
                if callable(value):

                    def make(a, k, order=order, split=split, member=member):
                        a = order(a)
                        built = cls(*a[:split])
                        return getattr(built, member)(*a[split:], **k)

                    yield Form(label + "(rest)", make)
                elif split == len(ordered):

                    def make(a, k, order=order, member=member):
                        return getattr(cls(*order(a), **k), member)

                    yield Form(label, make)


def _own_members(cls: type, instance: Any) -> list[str]:
    """Public attributes of the instance and public members course_lib's classes define (not torch's nn.Module
    methods: those answer no exercise)."""
    names = {n for n in getattr(instance, "__dict__", {}) if not n.startswith("_")}
    for klass in cls.__mro__:
        if str(klass.__module__).startswith("course_lib"):
            names |= {n for n in vars(klass) if not n.startswith("_")}
    if isinstance(instance, torch.nn.Module):
        names |= {n for n, _ in instance.named_parameters()} | {n for n, _ in instance.named_children()}
    return sorted(names)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _first_call(exercise: Exercise, case: dict) -> tuple[tuple, dict] | None:
    """The arguments ``run`` hands the learner's function on ``case``."""
    seen = []

    def record(*args, **kwargs):
        seen.append((args, kwargs))
        raise _Timeout()

    with contextlib.suppress(BaseException), _quiet():
        exercise.run(record, dict(case))
    return seen[0] if seen else None


def forms(name: str, value: Any, exercise: Exercise, case: dict, names: list[str]) -> Iterator[Form]:
    yield Form(name, lambda a, k: value(*a, **k))
    if not isinstance(value, type):
        return
    call = _first_call(exercise, case)
    if call is not None:
        yield from _instance_forms(value, *call)
    yield from _unbound_forms(value, names)


# --------------------------------------------------------------------------------------------------
# The grading path


def _answers(exercise: Exercise, fn: Callable, seed: int) -> bool:
    """Does ``fn`` pass every hidden case of ``exercise`` on ``seed``, judged as ``course grade`` judges?"""
    cases = exercise.cases(seed, True)
    for case_name, case in cases.items():  # cheap first: one case at a time, stop at the first error
        try:
            with _limit(CALL_SECONDS), _quiet():
                results = run_cases(exercise, fn, {case_name: case})
        except _Timeout:
            return False
        if isinstance(results[case_name], LearnerError):
            return False
    with _limit(10 * CALL_SECONDS), _quiet():
        try:
            results = decode_plain(json.loads(json.dumps(encode_results(run_cases(exercise, fn, cases)))))
            exercise.judge(exercise.cases(seed, True), results)
        except (CheckFailure, _Timeout):
            return False
        except Exception:  # noqa: BLE001 -- a judge tripping on an odd value is not a pass
            return False
    return True


def _returns(form: Form, call: tuple[tuple, dict] | None) -> bool:
    """Whether ``form`` returns at all on (a copy of) the first case's arguments: most forms raise at once,
    and this spares them ``run``'s set-up (modules, gradients) on every case."""
    if call is None:
        return True
    try:
        args, kwargs = copy.deepcopy(call)
    except Exception:  # noqa: BLE001 -- arguments that cannot be copied: let the grading path decide
        return True
    try:
        with _limit(CALL_SECONDS), _quiet():
            form(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 -- any failure: this form cannot answer
        if isinstance(error, KeyboardInterrupt):
            raise
        return False
    return True


def sweep(keys, found, names, seeds=SEEDS) -> dict[tuple[str, str], str]:
    """(exercise key, candidate) -> the form that passed every hidden case on every seed."""
    passes = {}
    for key in keys:
        exercise = EXERCISES[key]
        if not exercise.callable_answer:
            continue
        first_case = next(iter(exercise.cases(seeds[0], True).values()))
        call = _first_call(exercise, first_case)
        for name, value in found.items():
            for form in forms(name, value, exercise, first_case, names.get(key, [])):
                if _returns(form, call) and all(_answers(exercise, form, seed) for seed in seeds):
                    passes[(key, name)] = form.label
                    break
    return passes


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    view = tmp_path_factory.mktemp("view") / "checks"
    build_view(view)
    return candidates(view)


@pytest.mark.parametrize("module", sorted({key.split(".")[0] for key in EXERCISES}))
def test_no_public_helper_answers_an_exercise(module, found, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a helper that writes files writes them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    keys = [key for key in EXERCISES if key.startswith(module + ".")]
    passes = sweep(keys, found, argument_names())
    unexpected = {pair: label for pair, label in passes.items() if pair not in ALLOWED}
    assert not unexpected, "a course_lib helper earns an exercise's points:\n" + "\n".join(
        f"{key}: {label}" for (key, _), label in sorted(unexpected.items())
    )


def test_every_allowed_helper_is_named_in_the_threat_model():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())  # phrases may wrap
    missing = [f"{pair}: {phrase!r}" for pair, phrase in ALLOWED.items() if phrase not in readme]
    assert not missing, "allowed in the test but not named in README's threat model:\n" + "\n".join(missing)


def test_the_sweep_finds_a_helper_that_answers():
    """The sweep itself: a helper that computes build_vocab's answer, hidden in a class attribute, is found."""

    class Counted:
        __module__ = "course_lib.fake"

        def __init__(self, sentences, min_freq=1, max_size=None):
            import collections

            from course_lib.data.vocab import SPECIALS

            counts = collections.Counter(t for s in sentences for t in s)
            kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
            self.itos = list(SPECIALS) + kept[:max_size]

    passes = sweep(["nb01_sequence_data.build_vocab"], {"course_lib.fake.Counted": Counted}, argument_names())
    assert passes == {("nb01_sequence_data.build_vocab", "course_lib.fake.Counted"): "Counted(args[:1]).itos"}
