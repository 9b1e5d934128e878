"""Every limit and default of ``course grade`` in one place: the CLI, the options, the task, the sandbox
and the uid allocator read them from here (so a number is changed once).

Time and memory of one learner kernel (``--notebook-timeout``, ``--cell-timeout``, ``--memory-mb``):

    NOTEBOOK_SECONDS  wall-clock limit of one notebook, enforced from outside the sandbox
    CELL_SECONDS      one cell; past it the kernel is interrupted (or replaced) and the run goes on
    MEMORY_MB         address space of the kernel and everything it starts

Sizes (what one submission can make the grader hold or write):

    MAX_NOTEBOOK_BYTES  one submitted notebook (intake)
    MAX_FOLDER_BYTES    the extra files one student's assignment folder brings along (intake)
    MAX_ZIP_BYTES       an LMS export, unpacked (intake)
    MAX_RECORD_BYTES    the execution record one notebook run sends back (sandbox)
    MAX_CELL_OUTPUT     output kept of one cell run (runner)
    MAX_PROBE_OUTPUT    one probe's answer, base64 included (runner); >= 4/3 of MAX_PLAIN_BYTES
    MAX_PLAIN_BYTES     array data one exercise may send back (checks.core, the judge's decoder)
"""

from __future__ import annotations

__all__ = [
    "ALLOWED_FAILURES",
    "CELL_SECONDS",
    "DISK_MB",
    "INTERRUPT_GRACE",
    "MAX_CELL_OUTPUT",
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "MAX_FOLDER_BYTES",
    "MAX_NOTEBOOK_BYTES",
    "MAX_PLAIN_BYTES",
    "MAX_PROBE_OUTPUT",
    "MAX_RECORD_BYTES",
    "MAX_ZIP_BYTES",
    "MEMORY_MB",
    "NOTEBOOK_SECONDS",
    "PROCESSES",
    "THREADS",
    "UID_BASE",
    "UID_COUNT",
]

NOTEBOOK_SECONDS = 300
CELL_SECONDS = 120
MEMORY_MB = 4096
DISK_MB = 256  # the kernel's private /tmp
PROCESSES = 128  # processes the kernel may start (RLIMIT_NPROC of its uid)
THREADS = 1  # torch/BLAS threads of a kernel unless its job has more cores
INTERRUPT_GRACE = 5  # seconds a cell has to stop after the interrupt before its kernel is killed and replaced

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_FOLDER_BYTES = 200 * 2**20
MAX_ZIP_BYTES = 2 * 2**30
MAX_ENTRIES = 10_000  # files and folders one student's assignment folder may hold (intake)
MAX_DEPTH = 12  # folders inside folders (intake)
MAX_RECORD_BYTES = 64 * 2**20
MAX_CELL_OUTPUT = 4 * 2**20
MAX_PROBE_OUTPUT = 48 * 2**20
MAX_PLAIN_BYTES = 32 * 2**20

# A submission whose grading kills its worker this many times is given up (Dask's allowed-failures).
ALLOWED_FAILURES = 2

# Sandbox uids when grading as root: UID_BASE .. UID_BASE + UID_COUNT - 1, one per running notebook on
# this machine, whichever `course grade` run it belongs to (see course_lib.grading.task.uids).
UID_BASE = 60000
UID_COUNT = 4096
