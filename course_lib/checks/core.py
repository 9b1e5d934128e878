"""What every check shares: exercises split into cases, a learner run and a judge; plain data; messages.

A learner's code runs in the same kernel as the notebook's test cells and can change anything there,
so a check is cut in three pieces that can run in different processes:

1. ``cases(seed, hidden)``  -- trusted.  The inputs of every case, as plain data, chosen from a seed.
2. ``run(fn, case)``        -- the learner's kernel.  Calls the learner's function on one case and turns
   what it returned into plain data (numpy arrays, numbers, strings, lists, dicts).
3. ``judge(cases, results)`` -- trusted.  Computes the reference with torch's own modules, autograd or
   an invariant, and raises :class:`CheckFailure` with a message that names the mistake.

In a notebook the three run one after the other (:func:`run_check`).  Under ``course grade`` only the
middle one runs in the (sandboxed) learner kernel, on cases the grader made from its own secret seed; the
grader judges the returned plain data itself, so nothing the learner's code patched can change the
verdict, and the kernel holds no judge to ask (see :mod:`course_lib.grading.task.view`).

A quiz (``callable_answer=False``: the learner fills in a value) is marked against an answer key that
lives only with the instructor, in the hidden tests of the source notebook
(``check_x(ANSWER, key=...)``).  The key reaches the judge as the ``key`` entry of every case
(:func:`with_key`); without it, as in the learner's notebook, the judge checks the answer's form only and
the check says the answer is recorded.

References: CS231n's ``rel_error``; the Coursera sequence-models tests, which switch one term on at a
time to name the wrong one.
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
import sys
from typing import Any, Callable, Mapping

import numpy as np
import torch

__all__ = [
    "CheckFailure",
    "Exercise",
    "LearnerError",
    "VISIBLE_SEED",
    "HIDDEN_SEED",
    "run_check",
    "run_cases",
    "with_key",
    "together",
    "PART",
    "encode_plain",
    "encode_results",
    "decode_plain",
    "result_of",
]

VISIBLE_SEED = 20261124
HIDDEN_SEED = 20261125
MAX_PLAIN_BYTES = 32 * 2**20  # what one exercise may send back from a learner's kernel

_ARRAY_DTYPES = {"float32", "float64", "int64", "int32", "bool", "float16", "uint8", "int8", "int16"}


class CheckFailure(AssertionError):
    """A check found a mistake; the message says which output, expected vs got, and a hint."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback through course_lib's internals: the message is the point.
        return [f"\x1b[0;31mCheckFailure\x1b[0m: {self}"]


@dataclasses.dataclass(frozen=True)
class LearnerError:
    """The learner's function raised instead of returning: kept as plain data for the judge."""

    type: str
    message: str


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    name:      the exercise id; the notebook's test cell is ``test_<name>`` and calls ``check_<name>``.
    function:  the name the learner's function (or class) has in the notebook.
    cases:     ``cases(seed, hidden) -> {case_name: {input_name: plain data}}`` (trusted).
    run:       ``run(fn, case) -> plain data``: calls the learner's code (runs in the learner's kernel).
    judge:     ``judge(cases, results) -> None | notes``: raises :class:`CheckFailure` (trusted); may return a
               list of notes on a right answer (a slow pattern), printed under the ✓, ignored by grading.
    Every case may carry a ``kind`` (see :mod:`course_lib.checks.toolkit`): the promise of the docstring it tests.
    bonus:     a bonus exercise's points ("(bonus, k points)" in its notebook; 0: a required exercise).  Its test
               cell has 0 nbgrader points: grading adds these as nbgrader's extra credit
               (:mod:`course_lib.grading.task.bonus`), never to the maximum; ``course validate`` reports them apart.
    parts:     the functions a learner writes on the way to ``function`` and that one test cell checks with it,
               first (07's ``key_gates`` before ``attention_decoder_step``): see :func:`together`.
    """

    name: str
    function: str
    cases: Callable[[int, bool], dict[str, dict[str, Any]]]
    run: Callable[[Callable, dict[str, Any]], Any]
    judge: Callable[[dict[str, dict[str, Any]], dict[str, Any]], Any]
    callable_answer: bool = True  # False where the learner fills in a value (a quiz answer), not code
    bonus: float = 0.0  # a bonus exercise's points: extra credit, apart from the notebook's required total
    parts: tuple[str, ...] = ()  # functions checked with ``function`` by the same test cell, before it

    @property
    def title(self) -> str:
        """What the check's messages call the exercise: its function, after the parts it is built on."""
        names = [*self.parts, self.function]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def check(self, fn: Any, hidden: bool = False, seed: int | None = None, key: Any = None) -> None:
        """Run the whole check in this process (what the notebook's test cell does); ``key``: a quiz's
        answer key (the instructor's hidden tests pass it)."""
        __tracebackhide__ = True
        run_check(self, fn, hidden=hidden, seed=seed, key=key)


PART = "part"  # a case's entry in an exercise made by :func:`together`: the part's function the case calls


def together(main: Exercise, *parts: Exercise) -> Exercise:
    """One graded exercise of several functions: ``parts`` are the stepping stones a learner writes, each in its own
    cell, on the way to ``main``, and ``main``'s one test cell checks them all.  A stepping stone alone is one idea
    and a transcription; graded with the function that needs it, it is a step of the derivation.

    The cases are each part's, named ``"<case> [<part function>]"`` and marked with ``part`` (:data:`PART`), then
    ``main``'s; the run calls a part's case on the learner's function of that name, found where the learner defined
    ``main``'s function (its module's globals: the notebook's namespace); the judge judges the parts first, in
    order, each with its own judge (so each names its own mistakes), then ``main``, whose failure says that the parts
    passed.  The run closes over the runs only: the grading view ships it without a judge
    (:mod:`course_lib.grading.task.view`).
    """
    if main.parts or any(p.parts or not p.callable_answer or p.bonus for p in parts):
        raise ValueError("together() joins required code exercises that are not made of parts themselves")
    part_runs = {p.function: p.run for p in parts}

    def cases(seed: int, hidden: bool) -> dict[str, dict[str, Any]]:
        made = {
            f"{name} [{p.function}]": {**case, PART: p.function}
            for p in parts
            for name, case in p.cases(seed, hidden).items()
        }
        return {**made, **main.cases(seed, hidden)}

    def judge(cases: dict[str, dict[str, Any]], results: dict[str, Any]) -> Any:
        __tracebackhide__ = True
        notes = []
        for p in parts:
            own = {name: _without_part(case) for name, case in cases.items() if case.get(PART) == p.function}
            try:
                notes += p.judge(own, results) or []
            except CheckFailure as failure:
                text = str(failure)
                raise CheckFailure(text if text.startswith(p.function) else f"{p.function}: {text}") from None
        try:
            return notes + list(main.judge({n: c for n, c in cases.items() if PART not in c}, results) or [])
        except CheckFailure as failure:  # the parts passed: say so, the learner may have written only them
            done = " and ".join(p.function for p in parts) + (" passed its" if len(parts) == 1 else " passed their")
            raise CheckFailure(f"{done} cases; {failure}") from None

    cases.__doc__, judge.__doc__ = main.cases.__doc__, main.judge.__doc__
    return dataclasses.replace(
        main,
        cases=cases,
        run=_run_with_parts(main.run, part_runs, main.function),
        judge=judge,
        parts=tuple(part_runs),
    )


def _without_part(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k != PART}


class PartMissing(NameError):
    """The learner's notebook has no function of a part's name where the exercise's function was defined."""


def _run_with_parts(main_run: Callable, part_runs: dict[str, Callable], function: str) -> Callable:
    """The run of an exercise made by :func:`together` (it runs in the learner's kernel: runs only, no judge)."""

    def run(fn: Any, case: dict[str, Any]) -> Any:
        part = case.get(PART)
        if part is None:
            return main_run(fn, case)
        namespace = getattr(fn, "__globals__", None)
        if namespace is None:  # a class or a callable object: the globals of the module it was defined in
            module = sys.modules.get(getattr(fn, "__module__", "__main__")) or sys.modules["__main__"]
            namespace = vars(module)
        learner_part = namespace.get(part)
        if not callable(learner_part):
            raise PartMissing(
                f"{part} is not defined: the check of {function} tests {part} first, which has its own cell "
                f"before {function}'s; write {part} there and run that cell, then this one"
            )
        return part_runs[part](learner_part, _without_part(case))

    return run


# --------------------------------------------------------------------------------------------------
# Running a learner's function on the cases


def run_cases(exercise: Exercise, fn: Any, cases: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Call ``fn`` on every case; what it raised is recorded as a :class:`LearnerError`, not raised."""
    results: dict[str, Any] = {}
    for case_name, case in cases.items():
        try:
            results[case_name] = exercise.run(fn, _copy_inputs(case))
        except Exception as error:  # the learner's bug becomes data the judge can name
            message = str(error)[:500]
            if isinstance(error, NotImplementedError):  # which stub raised: another exercise's, maybe
                message = f"{_RAISED_IN}{_innermost_function(error)}: {message}"
            results[case_name] = LearnerError(type(error).__name__, message)
    return results


_RAISED_IN = "raised in "


def _innermost_function(error: BaseException) -> str:
    """The name of the function whose frame raised ``error`` (a stub's: ``rnn_cell``, ``forward``)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else "?"


def _unwritten(function: str, error: LearnerError) -> str:
    """The function to write first: ``function`` itself, or the other exercise whose stub ``function`` called."""
    match = re.match(rf"{_RAISED_IN}(\w+):", error.message)
    inner = match.group(1) if match else function
    if inner == function:
        return function
    from course_lib.checks import EXERCISES  # the registry imports every check, this module first

    return inner if inner in {f for e in EXERCISES.values() for f in (*e.parts, e.function)} else function


def run_check(exercise: Exercise, fn: Any, hidden: bool = False, seed: int | None = None, key: Any = None) -> None:
    """Cases, learner run and judge in one process; prints a line when every case passes."""
    __tracebackhide__ = True
    if exercise.callable_answer and not callable(fn):
        raise CheckFailure(
            f"{exercise.function} should be a function (or class), but it is a "
            f"{type(fn).__name__}. Did a later cell reuse the name?"
        )
    if seed is None:
        seed = HIDDEN_SEED if hidden else VISIBLE_SEED
    cases = exercise.cases(seed, hidden)
    # The round trip through plain data is the same one grading uses, so a result that cannot cross a
    # process boundary fails here too, with the same message.
    results = decode_plain(encode_results(run_cases(exercise, fn, cases)))
    notes = exercise.judge(with_key(cases, key), results)
    if not exercise.callable_answer and key is None:
        print(
            f"✓ {exercise.function}: your answer is recorded (every part in the expected form); "
            f"the grader marks it against your instructor's key"
        )
        return
    kind = "hidden" if hidden else "visible"
    tested = sorted({str(case.get("kind", "values")) for case in cases.values() if isinstance(case, dict)})
    print(
        f"✓ {exercise.title}: {len(cases)} {kind} case{'' if len(cases) == 1 else 's'} passed"
        + (f" ({', '.join(tested)})" if tested != ["values"] else "")
    )
    for text in notes or ():  # a remark on a right answer (a slow pattern): it costs no points
        print(f"  note: {text}")


def with_key(cases: dict[str, dict[str, Any]], key: Any) -> dict[str, dict[str, Any]]:
    """The cases as the judge of a quiz sees them: each with the answer key as its ``key`` entry (the
    learner's run never gets it).  Unchanged without a key."""
    return cases if key is None else {name: {**case, "key": key} for name, case in cases.items()}


def _copy_inputs(case: dict[str, Any]) -> dict[str, Any]:
    """Fresh copies, so a learner's function that writes into its inputs cannot change the judge's."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.items()}


# --------------------------------------------------------------------------------------------------
# Plain data: what may cross from a learner's kernel to the grader


def encode_plain(value: Any) -> Any:
    """Turn tensors, arrays, errors and containers into JSON-ready plain data."""
    if isinstance(value, LearnerError):
        return {"__error__": value.type, "message": value.message}
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().resolve_conj().resolve_neg().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.name not in _ARRAY_DTYPES:
            raise TypeError(f"arrays of dtype {value.dtype} cannot be checked")
        data = np.ascontiguousarray(value)
        return {
            "__ndarray__": base64.b64encode(data.tobytes()).decode("ascii"),
            "dtype": value.dtype.name,
            "shape": list(value.shape),
        }
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return encode_plain(value.item())
    if isinstance(value, (list, tuple)):
        return {"__seq__": type(value).__name__, "items": [encode_plain(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[encode_plain(k), encode_plain(v)] for k, v in value.items()]}
    raise TypeError(f"a {type(value).__name__} cannot be checked; return tensors, numbers or strings")


UNCHECKABLE_RETURN = "UncheckableReturn"  # a LearnerError type: the function returned what no check can read


def encode_results(results: dict[str, Any]) -> dict:
    """Encode each case's result; one that cannot cross a process boundary becomes a LearnerError.

    Past MAX_PLAIN_BYTES of array data in all (what the grader's decoder accepts), a case's result is replaced
    by a LearnerError that says so before anything is encoded: a wrong broadcast can return gigabytes.
    """
    encoded, used = {}, 0
    for case, value in results.items():
        try:
            size = _array_bytes(value)
            used += size
            if used > MAX_PLAIN_BYTES:
                raise ValueError(
                    f"it holds {size / 2**20:.0f} MB of tensors, more than the check takes "
                    f"({MAX_PLAIN_BYTES // 2**20} MB in all): is a shape wrong?"
                )
            encoded[case] = encode_plain(value)
        except (TypeError, ValueError, RecursionError) as error:
            encoded[case] = encode_plain(
                LearnerError(UNCHECKABLE_RETURN, f"the value returned cannot be checked: {error}")
            )
    return {"__dict__": [[k, v] for k, v in encoded.items()]}


def _array_bytes(value: Any) -> int:
    """Bytes of tensor and array data in ``value`` (nested in lists, tuples and dicts)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (list, tuple)):
        return sum(_array_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_array_bytes(v) for v in value.values())
    return 0


def decode_plain(value: Any, _budget: list[int] | None = None) -> Any:
    """Inverse of :func:`encode_plain`; refuses anything else (the grader reads untrusted data)."""
    budget = [MAX_PLAIN_BYTES] if _budget is None else _budget
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        if "__ndarray__" in value:
            dtype = value.get("dtype")
            shape = value.get("shape")
            if dtype not in _ARRAY_DTYPES or not isinstance(shape, list):
                raise ValueError("malformed array")
            if not all(isinstance(s, int) and 0 <= s for s in shape):
                raise ValueError("malformed array shape")
            raw = base64.b64decode(str(value["__ndarray__"]), validate=True)
            budget[0] -= len(raw)
            if budget[0] < 0:
                raise ValueError("results too large")
            count = math.prod(shape)
            if count * np.dtype(dtype).itemsize != len(raw):
                raise ValueError("array data does not match its shape")
            return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        if "__error__" in value:
            return LearnerError(str(value["__error__"]), str(value.get("message", "")))
        if "__float__" in value:
            return float(value["__float__"])
        if "__seq__" in value:
            items = [decode_plain(v, budget) for v in value["items"]]
            return tuple(items) if value["__seq__"] == "tuple" else items
        if "__dict__" in value:
            out = {}
            for pair in value["__dict__"]:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ValueError("malformed dict entry")
                key = decode_plain(pair[0], budget)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise ValueError("dict keys must be strings or numbers")
                out[key] = decode_plain(pair[1], budget)
            return out
    raise ValueError(f"unexpected value of type {type(value).__name__} in results")


# --------------------------------------------------------------------------------------------------
# Reading results and comparing them, with messages a learner can act on


def result_of(results: Mapping[str, Any], case: str, function: str) -> Any:
    """The value the learner's function returned on ``case``; names what it raised instead."""
    __tracebackhide__ = True
    if case not in results:
        raise CheckFailure(f"no result for case '{case}': the check did not reach {function}")
    value = results[case]
    if isinstance(value, LearnerError):
        if value.type == "NotImplementedError":
            inner = _unwritten(function, value)
            if inner != function:
                raise CheckFailure(
                    f"{function} calls {inner}, which is not implemented yet: write {inner} in its own cell "
                    f"first (its check says when it is right), run that cell, then this one."
                )
            raise CheckFailure(
                f"{function} is not implemented yet: replace `raise NotImplementedError()` in its cell "
                f"with your code, run that cell, then this one."
            )
        if value.type == PartMissing.__name__:
            raise CheckFailure(f"{value.message} (case '{case}').")
        if value.type == "InputModified":
            raise CheckFailure(f"{function}, case '{case}': {value.message}.")
        if value.type == UNCHECKABLE_RETURN:  # it returned, without raising: what it returned was refused
            raise CheckFailure(
                f"{function} raised nothing, but what it returned was refused: {value.message} (case '{case}')"
            )
        raise CheckFailure(f"{function} raised {value.type}: {value.message} (case '{case}')")
    return value
