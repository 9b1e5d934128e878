"""Recording off the path that hands tasks out and collects results: a thread of its own, fed by a queue.

Runs in the coordinator (trusted).  ``course grade``'s main thread submits every task to Dask and then
collects results as they finish (``as_completed(...).batches()``); it hands each collected batch to
:meth:`Recorder.put` and goes straight back to collecting, never waiting on the gradebook.  The recorder's
thread takes *everything* queued since its last write as one batch (so a slow commit makes the next batch
larger, not the queue longer) and calls ``record`` on it: the coordinator's single writer of the gradebook
and the course folder, as before, just not on the main thread.  An exception in ``record`` stops the
recorder and is raised again by :meth:`Recorder.close` (nothing is lost: unrecorded pairs have no resume
mark and are graded again by the next run).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

__all__ = ["Recorder"]

_DONE = object()


class Recorder:
    """``with Recorder(record) as r: r.put(items)``: ``record(list)`` runs on the recorder's thread."""

    def __init__(self, record: Callable[[list], None]):
        self._record = record
        self._queue: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self.batches = 0
        self.seconds = 0.0  # spent in ``record``
        self._thread = threading.Thread(target=self._run, name="course-recorder", daemon=True)
        self._thread.start()

    def put(self, items: list) -> None:
        """Queue ``items`` for recording; returns at once."""
        if self._error is not None:
            raise self._error
        self._queue.put(list(items))

    def _run(self) -> None:
        done = False
        while not done:
            batch = []
            first = self._queue.get()  # wait for work
            for items in [first, *self._drain()]:
                if items is _DONE:
                    done = True
                else:
                    batch += items
            if batch and self._error is None:
                started = time.monotonic()
                try:
                    self._record(batch)
                except BaseException as error:  # noqa: BLE001 -- raised again in close(), on the main thread
                    self._error = error
                self.seconds += time.monotonic() - started
                self.batches += 1

    def _drain(self) -> list:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Record what is queued, stop the thread, and raise what ``record`` raised."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.close()
        else:  # the run is failing already: stop, and let its own exception through
            self._queue.put(_DONE)
            self._thread.join()
