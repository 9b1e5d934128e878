"""``SandboxedExecute``: the nbgrader preprocessor that replaces nbgrader's ``Execute`` in ``course grade``.

nbgrader's autograde pipeline stays as it is (sanitize, overwrite the test cells from the source,
save grades, late penalties); only the execution step changes: the notebook runs in the sandbox with
probes instead of test cells, and each test cell's output is the grader's own verdict
(:mod:`course_lib.grading.task.judge`).  A per-notebook JSON summary is written next to the gradebook for
the class report.  Before anyone's browser shows the notebook, its learner-written HTML is made inert
(:mod:`course_lib.grading.task.inert`).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Int, List, Unicode

import course_lib
from course_lib.checks import checks_module
from course_lib.grading import limits as defaults
from course_lib.grading.kernel.probe import probe_inputs
from course_lib.grading.task.bwrap import MAX_RECORD_BYTES, Limits, run_sandboxed
from course_lib.grading.task.inert import OVER_BUDGET, make_inert
from course_lib.grading.task.judge import (
    grading_seeds,
    judge_cell,
    merge_record,
    probe_notebook,
    verdict_outputs,
)
from course_lib.grading.task.keys import answer_keys
from course_lib.grading.task.ran import NotGraded, not_run
from course_lib.grading.task.session import current as current_session
from course_lib.skippable import cells_to_skip

__all__ = ["SandboxedExecute"]


class SandboxedExecute(NbGraderPreprocessor):
    """Execute in the sandbox; judge the test cells in this (trusted) process."""

    cell_timeout = Int(defaults.CELL_SECONDS, help="seconds one cell may run").tag(config=True)
    notebook_timeout = Int(defaults.NOTEBOOK_SECONDS, help="seconds the whole notebook may run").tag(config=True)
    memory_mb = Int(defaults.MEMORY_MB, help="address-space limit of the learner's kernel").tag(config=True)
    disk_mb = Int(defaults.DISK_MB, help="size of the learner's private /tmp").tag(config=True)
    processes = Int(defaults.PROCESSES, help="processes the learner's kernel may start").tag(config=True)
    threads = Int(defaults.THREADS, help="torch/BLAS threads of the learner's kernel").tag(config=True)
    cpus = List(Int(), default_value=[], help="CPU cores the learner's kernel may use").tag(config=True)
    sandbox = Bool(True, help="run the kernel inside bubblewrap").tag(config=True)
    secret_file = Unicode("", help="file holding the course's grading secret").tag(config=True)
    hide = List(Unicode(), default_value=[], help="folders invisible inside the sandbox").tag(config=True)
    report_dir = Unicode("", help="where the per-notebook JSON summaries go").tag(config=True)
    source_dir = Unicode(
        "", help="the course's source notebooks of the assignment: their skip marks say which demo cells need not run"
    ).tag(config=True)

    def _skip(self, run, notebook: str) -> list[int]:
        """Empty the cells that the course's copy marks as skippable (course_lib.skippable), where this is safe.

        The marks are read from ``source_dir`` (the course's notebook), never from the submission; the cells keep
        their places, so that every index the record and the verdicts use stays the same.
        """
        source = Path(self.source_dir) / f"{notebook}.ipynb" if self.source_dir else None
        if source is None or not source.is_file():
            return []
        skipped = cells_to_skip(run, nbformat.read(source, as_version=4))
        for index in skipped:
            run.cells[index].source = "# not run under grading: the course marks this demonstration as skippable"
        return skipped

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        secret = Path(self.secret_file).read_bytes() if self.secret_file else b""

        def seeds_of(exercise: str):
            return grading_seeds(secret, assignment, student, exercise)

        # nb's test cells are the gradebook's (nbgrader's OverwriteCells): a quiz's key is read from there,
        # here, and the cell is replaced by a probe before anything runs.
        keys = answer_keys(nb, checks_module(assignment))
        run, tests = probe_notebook(nb, checks_module(assignment))
        skipped = self._skip(run, notebook)
        inputs_json, made = probe_inputs(tests.values(), seeds_of)
        limits = Limits(
            notebook_seconds=self.notebook_timeout,
            cell_seconds=self.cell_timeout,
            memory_mb=self.memory_mb,
            disk_mb=self.disk_mb,
            processes=self.processes,
            threads=self.threads,
            cpus=tuple(self.cpus),
        )
        session = current_session() if self.sandbox else None  # the task's one sandbox (task/session.py)
        if session is not None:
            result, record = session.run(nbformat.writes(run), limits, hide=list(self.hide), inputs_json=inputs_json)
        else:
            result, record = run_sandboxed(
                nbformat.writes(run), limits, hide=list(self.hide), sandbox=self.sandbox, inputs_json=inputs_json
            )
        if self.sandbox:  # without bubblewrap (course validate) the runner is this very course_lib
            cause = not_run(result, record, Path(course_lib.__file__).resolve().parent, MAX_RECORD_BYTES)
            if cause:
                raise NotGraded(cause)  # no verdict at all: nbgrader's autograde fails, the coordinator reports it
        probes, events = merge_record(nb, record, tests)
        if skipped:
            events.append(f"skipped {len(skipped)} demonstration cell(s) that no grade needs: {skipped}")
        turned_off = make_inert(nb)  # formgrader and feedback render the learner's HTML as it is
        events += [change for change in turned_off if change.startswith(OVER_BUDGET)]  # a problem, not a detail
        if result.timed_out:
            reason = f"the notebook ran past its limit of {self.notebook_timeout} s and was stopped"
        elif not record:
            reason = f"the notebook could not be executed ({result.stderr.strip().splitlines()[-1:] or ['no output']})"
        else:
            reason = "the kernel stopped before this cell (see the cells above)"
        verdicts = []
        for index, exercise in tests.items():
            grade_id = nb.cells[index].metadata["nbgrader"]["grade_id"]
            verdict = judge_cell(
                grade_id,
                exercise,
                probes.get(index),
                seeds_of(exercise),
                reason,
                made=made[exercise],
                key=keys.get(exercise),
                need_key=True,
            )
            nb.cells[index].outputs = verdict_outputs(verdict)
            verdicts.append(verdict)
        if self.report_dir:
            target = Path(self.report_dir) / student / assignment
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{notebook}.json").write_text(
                json.dumps(
                    {
                        "student": student,
                        "assignment": assignment,
                        "notebook": notebook,
                        "seconds": round(result.seconds, 1),
                        "timed_out": result.timed_out,
                        "events": events,
                        "html_turned_off": turned_off,
                        "verdicts": [v.__dict__ for v in verdicts],
                    },
                    indent=1,
                )
            )
        return nb, resources
