"""Does course_lib pick the device the notebooks compute on: CUDA when present, else the CPU, COURSE_DEVICE
overriding, and a clear error for a device that is asked for but absent? (Runs on CPU-only CI: CUDA's presence
is simulated where it matters, never required.)"""

from __future__ import annotations

from collections import namedtuple

import pytest
import torch

from course_lib.devices import ENV, device, to_device


def test_cpu_when_no_gpu(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device() == torch.device("cpu")


def test_cuda_when_a_gpu_is_present(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device() == torch.device("cuda")


@pytest.mark.parametrize("value, expected", [("cpu", "cpu"), (" cpu ", "cpu"), ("", None)])
def test_course_device_overrides(monkeypatch, value, expected):
    monkeypatch.setenv(ENV, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device() == torch.device(expected or "cuda")


def test_cuda_index_within_the_gpus_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv(ENV, "cuda:1")
    assert device() == torch.device("cuda", 1)
    monkeypatch.setenv(ENV, "cuda:2")
    with pytest.raises(RuntimeError, match=r"sees 2 CUDA GPU\(s\), numbered from 0"):
        device()


def test_asking_for_an_absent_gpu_says_so(monkeypatch):
    monkeypatch.setenv(ENV, "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="torch sees no CUDA GPU.*set it to cpu"):
        device()


@pytest.mark.parametrize("value, pattern", [("gpu", "not a device torch knows"), ("meta", "cpu, cuda or mps")])
def test_unknown_devices_are_named(monkeypatch, value, pattern):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ValueError, match=pattern):
        device()


def test_to_device_moves_nested_tensors_and_keeps_containers():
    Batch = namedtuple("Batch", "x lengths")
    moved = to_device({"a": [torch.ones(2), (torch.zeros(1), 3)], "b": Batch(torch.ones(1), "n")}, "meta")
    assert moved["a"][0].device.type == "meta" and moved["a"][1][0].device.type == "meta"
    assert moved["a"][1][1] == 3 and isinstance(moved["a"][1], tuple)
    assert isinstance(moved["b"], Batch) and moved["b"].x.device.type == "meta" and moved["b"].lengths == "n"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CI has none; run it where one is)")
def test_checks_accept_results_computed_on_a_gpu():
    """A learner's function that computes on the GPU passes: results are moved to the CPU before they are judged."""
    from course_lib.checks.nb05_gru import check_final_states

    def final_states_on_gpu(h_n, c_n=None):
        def bridge(state):  # (2L, N, F) -> (L, N, 2F) on the GPU
            states = state.cuda().view(-1, 2, *state.shape[1:])  # (L, 2, N, F)
            return torch.cat([states[:, 0], states[:, 1]], dim=-1)

        return bridge(h_n), None if c_n is None else bridge(c_n)

    check_final_states(final_states_on_gpu, hidden=True)
