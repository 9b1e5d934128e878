"""Does the recorder take work without waiting, record it in order in batches, and pass its error on?"""

from __future__ import annotations

import threading

import pytest

from course_lib.grading.coordinator.recorder import Recorder


def test_put_returns_while_recording_is_stuck_and_what_queued_meanwhile_is_one_batch():
    release, started, batches = threading.Event(), threading.Event(), []

    def record(batch):
        batches.append(batch)
        started.set()
        assert release.wait(60), "the test never released the recorder"

    with Recorder(record) as recorder:
        recorder.put([1])
        assert started.wait(60)
        for item in range(2, 10):  # the recorder is stuck in its first batch: these must not wait for it
            recorder.put([item])
        assert batches == [[1]]
        release.set()
    assert batches == [[1], list(range(2, 10))] and recorder.batches == 2


def test_an_error_in_record_is_raised_on_close_and_stops_recording():
    calls = []

    def record(batch):
        calls.append(batch)
        raise ValueError("the gradebook is gone")

    recorder = Recorder(record)
    recorder.put(["a"])
    with pytest.raises(ValueError, match="gradebook is gone"):
        recorder.close()
    assert calls == [["a"]]
