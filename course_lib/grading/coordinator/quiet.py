"""Dask's scheduler and worker without an HTTP listener, for grading clusters.

Dask's scheduler and workers start an HTTP server (dashboard, Prometheus metrics, ``/info`` JSON, health) even
with ``dashboard=False`` and ``dashboard_address=None`` (dask/distributed#6301, #7207 and #8136, open; the
``LocalCluster`` docstring says None disables it): plain, unauthenticated HTTP on 127.0.0.1 that any user of the
machine can read, about the grading run.  Grading needs none of it.  Here the routes are made as Dask makes them
and nothing listens, so a grading process's only sockets are its TLS comm ports
(``tests/grading/coordinator/test_listeners.py``).  Its own module, so that a nanny's worker process imports it by name and
``course grade`` does not import ``distributed`` before it needs to.
"""

from __future__ import annotations

from distributed import Scheduler, Worker
from distributed.http.routing import RoutingApplication

__all__ = ["QuietScheduler", "QuietWorker"]


class _NoHTTP:
    """Overrides ``distributed.node.ServerNode.start_http_server``: the routes, no server."""

    def start_http_server(self, routes, dashboard_address, default_port=0, ssl_options=None):
        self.http_application = RoutingApplication(routes)


class QuietScheduler(_NoHTTP, Scheduler):
    """A Dask scheduler without an HTTP listener."""


class QuietWorker(_NoHTTP, Worker):
    """A Dask worker without an HTTP listener; on another machine:
    ``dask worker ADDRESS --worker-class course_lib.grading.coordinator.quiet.QuietWorker --no-dashboard ...``."""
