"""Checks of ``make_windows`` (a series -> windows ``X: (T - window, window)`` and the next value
``Y: (T - window,)``) and ``make_char_windows`` (ids -> ``X, Y: (T - seq_len, seq_len)``, ``Y`` shifted by one
step); the reference windows are torch's ``Tensor.unfold``."""

from __future__ import annotations

import numpy as np
import torch

from course_lib.checks.core import CheckFailure, Exercise, result_of
from course_lib.checks.toolkit import (
    as_tensor,
    assert_close,
    assert_dtype,
    generator,
    pair,
    sequence_differences,
    visible_first,
)

__all__ = ["MAKE_WINDOWS", "MAKE_CHAR_WINDOWS", "check_make_windows", "check_make_char_windows"]


def _series_cases(seed, hidden, key, lengths):
    g = generator(seed)
    cases = {}
    for T, w in lengths:
        if key == "series":
            values = torch.randn(T, generator=g, dtype=torch.float64)
        else:
            values = torch.randint(0, 20, (T,), generator=g)
        cases[f"T={T}, window={w}"] = {key: values.numpy(), "window": w}
    return cases


def _windows_cases(seed, hidden):
    return _series_cases(seed, hidden, "series", [(8, 3)] + ([(20, 5), (6, 5), (12, 1)] if hidden else []))


def _windows_run(fn, case):
    return tuple(fn(torch.from_numpy(case["series"]), case["window"]))


def _windows_judge(cases, results):
    for name, case in cases.items():
        series = torch.from_numpy(case["series"])
        w = case["window"]
        X_ref = series.unfold(0, w, 1)[:-1]  # (T - w, w): rows s[i : i + w]
        Y_ref = series[w:]  # (T - w,): the value right after each window
        X, Y = pair(result_of(results, name, "make_windows"), "make_windows", "X, Y")
        T = series.shape[0]
        if isinstance(X, np.ndarray) and X.shape[:1] == (T - w + 1,):
            raise CheckFailure(
                f"case '{name}': X has {T - w + 1} windows, expected T - window = {T - w}: the last window has no "
                f"next value to predict (off by one)."
            )
        X = as_tensor(X, f"X on case '{name}'", tuple(X_ref.shape), "(T - window, window)")
        Y = as_tensor(Y, f"Y on case '{name}'", tuple(Y_ref.shape), "(T - window,)")
        for value, label in ((X, "X"), (Y, "Y")):  # the series' dtype, float64 here, is the contract's
            assert_dtype(value, series.dtype, f"{label} on case '{name}'")
        assert_close(X, X_ref, f"X on case '{name}'", hint="Row i is the window that starts at step i.", letters="T _")
        if torch.equal(Y.double(), X_ref[:, -1].double()) and w > 0:
            raise CheckFailure(
                f"case '{name}': Y[i] is the last value inside window i; the target is the next value, "
                f"series[i + window] (targets not shifted)."
            )
        assert_close(Y, Y_ref, f"Y on case '{name}'", hint="Y[i] = series[i + window], the value after window i.")


MAKE_WINDOWS = Exercise("make_windows", "make_windows", visible_first(_windows_cases), _windows_run, _windows_judge)

check_make_windows = MAKE_WINDOWS.check


def _char_windows_cases(seed, hidden):
    return _series_cases(seed, hidden, "ids", [(10, 4)] + ([(30, 7), (5, 4), (9, 1)] if hidden else []))


def _char_windows_run(fn, case):
    return tuple(fn(torch.from_numpy(case["ids"]), case["window"]))


def _char_windows_judge(cases, results):
    for name, case in cases.items():
        ids = torch.from_numpy(case["ids"])
        L = case["window"]
        windows = ids.unfold(0, L + 1, 1)  # (T - L, L + 1)
        X_ref, Y_ref = windows[:, :-1], windows[:, 1:]  # both (T - L, L), Y shifted by one step
        X, Y = pair(result_of(results, name, "make_char_windows"), "make_char_windows", "X, Y")
        X = as_tensor(X, f"X on case '{name}'", tuple(X_ref.shape), "(T - seq_len, seq_len)")
        Y = as_tensor(Y, f"Y on case '{name}'", tuple(Y_ref.shape), "(T - seq_len, seq_len)")
        if X.dtype != torch.long or Y.dtype != torch.long:
            raise CheckFailure(f"X and Y hold token ids and should stay torch.long, got {X.dtype} and {Y.dtype}")
        if not torch.equal(X, X_ref):
            raise CheckFailure(
                f"case '{name}': X[i] should be ids[i : i + seq_len]; X[i, j] {sequence_differences(X, X_ref)}"
            )
        if torch.equal(Y, X_ref):
            raise CheckFailure(
                f"case '{name}': Y equals X; the targets are the inputs shifted by one step, "
                f"Y[i] = ids[i + 1 : i + 1 + seq_len] (targets not shifted)."
            )
        if not torch.equal(Y, Y_ref):
            raise CheckFailure(
                f"case '{name}': Y[i] should be ids[i + 1 : i + 1 + seq_len]; Y[i, j] {sequence_differences(Y, Y_ref)}"
            )


MAKE_CHAR_WINDOWS = Exercise(
    "make_char_windows", "make_char_windows", visible_first(_char_windows_cases), _char_windows_run, _char_windows_judge
)

check_make_char_windows = MAKE_CHAR_WINDOWS.check
