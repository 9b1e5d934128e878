"""Make the sandbox's runner unreachable from the learner's kernel, which runs beside it with the same uid.

Without this, the kernel can ``PTRACE_ATTACH`` to the runner (the process that writes the record of what each
cell did) or open ``/proc/<runner>/mem`` for writing, and forge the record from the inside.  ``prctl(
PR_SET_DUMPABLE, 0)`` makes the kernel (Linux) refuse both to any process without ``CAP_SYS_PTRACE`` in the
runner's user namespace (``ptrace_may_access``: a non-dumpable target needs that capability; bubblewrap drops
it).  The flag is reset on ``execve``, so the learner's kernel, which the runner starts with an exec, stays an
ordinary process: only the runner is shielded.  Cheaper and narrower than a seccomp filter on ``ptrace`` and
``process_vm_writev``, and it needs no ``kernel.yama`` setting on the host.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["PR_SET_DUMPABLE", "PR_GET_DUMPABLE", "make_undumpable"]

PR_SET_DUMPABLE = 4  # <linux/prctl.h>
PR_GET_DUMPABLE = 3


def make_undumpable() -> None:
    """``prctl(PR_SET_DUMPABLE, 0)`` for this process; raises ``OSError`` where the kernel refuses."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_DUMPABLE, 0) failed: {os.strerror(errno)}")
    if libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError("prctl(PR_SET_DUMPABLE, 0) did not take effect")
