"""Where grading tasks run: a Dask cluster, started here or reached at ``--scheduler``.

Runs in the coordinator (trusted).  By default ``course grade`` starts a ``LocalCluster`` of ``--jobs``
single-threaded worker processes (each restarted by its nanny if it dies), named 0, 1, ... so that a
task knows its job slot (its share of the cores) from its worker's name; the local cluster talks TLS with
a throw-away certificate, so another user of this machine cannot reach it.  With ``--scheduler ADDRESS``
the tasks go to a running cluster instead (``dask scheduler`` / ``dask worker`` on other machines, Slurm
through dask-jobqueue, Kubernetes through dask-kubernetes); ``--tls-ca-file/--tls-cert/--tls-key`` give
the certificates (Dask's ``Security``).

Dask does the scheduling and the retries: a task whose worker dies is re-run on another worker, and one
whose grading killed ``ALLOWED_FAILURES + 1`` workers is given up (``KilledWorker``).  Before anything is
sent, every worker's grading code is compared with the coordinator's (:func:`check_workers`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Iterator

from course_lib.grading.limits import ALLOWED_FAILURES
from course_lib.grading.task.job import describe_differences, grader_manifest, manifest_differences
from course_lib.nbgrader_setup import CourseError

__all__ = [
    "ClusterOptions",
    "check_workers",
    "grading_client",
    "local_cluster",
    "local_slots",
]


@dataclasses.dataclass
class ClusterOptions:
    jobs: int = 1
    scheduler: str | None = None  # a running cluster's address (tcp://host:8786, tls://host:8786)
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    connect_seconds: int = 60


def local_slots(jobs: int) -> dict[str, dict]:
    """Worker name -> its share of this machine's cores and the torch/BLAS threads to match."""
    cores = sorted(os.sched_getaffinity(0))
    per = max(1, len(cores) // jobs)
    return {str(i): {"threads": per, "cpus": cores[(i * per) % len(cores) :][:per] or cores[:per]} for i in range(jobs)}


def _security(options: ClusterOptions):
    from distributed.security import Security

    given = [options.tls_ca_file, options.tls_cert, options.tls_key]
    if not any(given):
        return None
    if not all(given):
        raise CourseError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    missing = [path for path in given if not os.path.isfile(path)]
    if missing:
        raise CourseError(f"TLS file(s) not found: {missing}")
    return Security(
        tls_ca_file=options.tls_ca_file,
        tls_client_cert=options.tls_cert,
        tls_client_key=options.tls_key,
        require_encryption=True,
    )


@contextlib.contextmanager
def grading_client(options: ClusterOptions) -> Iterator:
    """A Dask ``Client`` on the grading cluster; a local cluster lives exactly as long as the block."""
    import dask
    from distributed import Client

    with dask.config.set(
        {
            "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
            "distributed.scheduler.work-stealing": True,
            "distributed.admin.tick.limit": "60s",
        }
    ):
        if options.scheduler:
            security = _security(options)
            if options.scheduler.startswith("tls://") and security is None:
                raise CourseError(f"{options.scheduler} talks TLS: give --tls-ca-file, --tls-cert and --tls-key")
            try:
                client = Client(options.scheduler, security=security, timeout=options.connect_seconds)
            except (OSError, TimeoutError) as error:
                raise CourseError(f"cannot reach the Dask scheduler at {options.scheduler}: {error}")
            with client:
                try:
                    client.wait_for_workers(1, timeout=options.connect_seconds)
                except TimeoutError:
                    raise CourseError(
                        f"the Dask scheduler at {options.scheduler} has no worker "
                        f"(start some with: dask worker {options.scheduler} --nthreads 1)"
                    )
                check_workers(client)
                yield client
            return
        with local_cluster(options.jobs) as cluster, Client(cluster) as client:
            check_workers(client)
            yield client


def local_cluster(jobs: int):
    """This machine's grading cluster: ``jobs`` single-threaded worker processes (each under a nanny that restarts
    it), named 0, 1, ..., talking TLS with a throw-away certificate on 127.0.0.1, with no HTTP listener at all
    (what ``LocalCluster`` builds, with :mod:`course_lib.grading.coordinator.quiet`'s scheduler and worker)."""
    from distributed import Nanny, SpecCluster
    from distributed.security import Security

    from course_lib.grading.coordinator.quiet import QuietScheduler, QuietWorker

    security = Security.temporary()
    common = {"host": "127.0.0.1", "protocol": "tls://", "security": security, "dashboard": False}
    worker = {
        "cls": Nanny,
        "options": {
            **common,
            "nthreads": 1,
            "memory_limit": 0,
            "silence_logs": logging.CRITICAL,
            "worker_class": QuietWorker,
        },
    }
    return SpecCluster(
        scheduler={"cls": QuietScheduler, "options": {**common, "dashboard_address": None}},
        workers={i: worker for i in range(jobs)},
        worker=worker,
        silence_logs=logging.CRITICAL,
        security=security,
    )


def check_workers(client) -> None:
    """Refuse a cluster where some worker's grading code, data, templates or versions differ from this
    coordinator's, naming what differs (:func:`~course_lib.grading.task.job.grader_manifest`)."""
    ours = grader_manifest()
    theirs = client.run(grader_manifest)
    other = {address: manifest_differences(ours, manifest) for address, manifest in theirs.items()}
    other = {address: names for address, names in other.items() if names}
    if other:
        each = "; ".join(f"{address}: {describe_differences(names)}" for address, names in sorted(other.items()))
        raise CourseError(
            f"{len(other)} grading worker(s) run other grading code than this coordinator ({each}). Install the "
            f"same course_lib and the same versions on every worker, so that every submission is graded by the "
            f"same code."
        )
