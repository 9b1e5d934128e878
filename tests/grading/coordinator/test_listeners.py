"""Does the grading run's own Dask cluster listen anywhere but on its TLS comm ports?

Dask starts an HTTP server in the scheduler and in every worker (dashboard, Prometheus, ``/info`` JSON) even
when told ``dashboard_address=None``; on a shared machine any user can read it.  Here the cluster ``course grade``
starts (:func:`course_lib.grading.coordinator.cluster.grading_client`, two workers) is inspected from outside: every listening
socket of the coordinator and of its child processes (nannies, workers) must be one of the cluster's comm
addresses, and none of them may answer plain HTTP.
"""

from __future__ import annotations

import os
import socket

import psutil

from course_lib.grading.coordinator.cluster import ClusterOptions, grading_client


def _listening(processes) -> set[tuple[str, int]]:
    found = set()
    for process in processes:
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                found.add((connection.laddr.ip, connection.laddr.port))
    return found


def _answers_http(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET /info/main/workers.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
        try:
            return s.recv(64)
        except (TimeoutError, ConnectionResetError):
            return b""


def test_the_local_grading_cluster_listens_only_on_its_tls_comm_ports():
    me = psutil.Process()
    # what already runs under this process (in a whole suite: the browser tests' JupyterLab and Chromium, kept
    # for the session) and its listeners are not the cluster's
    earlier = {child.pid for child in me.children(recursive=True)}
    before = _listening([me])
    with grading_client(ClusterOptions(jobs=2)) as client:
        client.wait_for_workers(2, timeout=120)
        info = client.scheduler_info()
        comm = {info["address"], *info["workers"], *(w["nanny"] for w in info["workers"].values() if w.get("nanny"))}
        assert all(address.startswith("tls://127.0.0.1:") for address in comm), comm
        ports = {int(address.rsplit(":", 1)[1]) for address in comm}
        children = [c for c in me.children(recursive=True) if c.pid not in earlier]  # nannies here, workers below
        workers = set(client.run(os.getpid).values())
        assert len(workers) == 2 and workers <= {child.pid for child in children}
        listening = _listening([me, *children]) - before
        assert {port for _, port in listening} == ports, f"listening {sorted(listening)}, comm ports {sorted(ports)}"
        assert all(ip == "127.0.0.1" for ip, _ in listening), listening
        for ip, port in sorted(listening):
            assert not _answers_http(ip, port).startswith(b"HTTP/"), f"{ip}:{port} answers plain HTTP"
