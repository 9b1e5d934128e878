"""Which (student, assignment) pairs one grading task takes: one student's, so that their notebooks share a sandbox.

A task (:func:`course_lib.grading.task.job.grade_submissions`) runs its notebooks one after another in one sandbox
with warm kernels (:mod:`course_lib.grading.task.session`): the zygote's imports and the sandbox's start are paid
once per task.  A task never holds two students (the sandbox is the trust boundary).  With fewer students than
worker slots, a student's pairs are split into several tasks (balanced by their expected seconds), so that one
student's seven notebooks still use every core: one full submission on 2 cores stays about as fast as before, at
the price of one more zygote.  Each pair keeps its own record, result and resume mark; only the grouping is new.
"""

from __future__ import annotations

import math

__all__ = ["student_tasks"]

Pair = tuple[str, str, str]  # (student, assignment, fingerprint)


def student_tasks(pairs: list[Pair], expected: dict[tuple[str, str], float], slots: int) -> list[list[Pair]]:
    """The pairs grouped into tasks, longest expected task first.

    ``expected``: (student, assignment) -> expected seconds (:mod:`course_lib.grading.coordinator.estimate`); ``slots``: how many tasks the cluster runs at once.  Each
    student's pairs go into ``ceil(slots / students)`` tasks at most (one per student once the class fills the
    slots), each pair to the task with the least expected time so far, longest pair first.
    """
    by_student: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_student.setdefault(pair[0], []).append(pair)
    per_student = max(1, math.ceil(max(1, slots) / max(1, len(by_student))))
    tasks: list[tuple[float, list[Pair]]] = []
    for own in by_student.values():
        groups: list[tuple[float, list[Pair]]] = [(0.0, []) for _ in range(min(per_student, len(own)))]
        for pair in sorted(own, key=lambda p: (-expected.get(p[:2], 0.0), p[1])):
            lightest = min(range(len(groups)), key=lambda i: groups[i][0])
            seconds, members = groups[lightest]
            groups[lightest] = (seconds + expected.get(pair[:2], 0.0), members + [pair])
        tasks += groups
    return [members for _, members in sorted(tasks, key=lambda task: (-task[0], task[1][0][0], task[1][0][1]))]
