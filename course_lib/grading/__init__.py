"""``course grade``: sandboxed, distributed autograding on top of nbgrader.

Four kinds of process take part, one package each, so the tree shows the trust boundary: ``coordinator`` and
``task`` are trusted, ``sandbox`` and ``kernel`` run beside or inside the learner's code.

``coordinator/`` -- the ``course grade`` process (and the instructor's other ``course`` commands), trusted; the only
writer of the course folder and the real gradebook:

    class_run    the class run, step by step (register, intake, pending pairs, grade, report)
    intake       submissions -> ``submitted/``, every problem named
    late         due dates and submission times into nbgrader's late-submission machinery
    cluster      the Dask cluster: a local one started here, or ``--scheduler``; TLS; same-code check
    quiet        Dask's scheduler and worker without their HTTP listener (also used by remote workers)
    tasks        which pairs one task takes: one student's (their notebooks then share a sandbox)
    estimate     how long a pair is expected to take (tasks go out longest first)
    record       records each returned outcome: gradebook, files, resume marks
    batch        many outcomes in one gradebook session and one transaction (the rows SaveAutoGrades writes)
    rescore      scores again from the gradebook (late penalties, due dates, extensions), pages refreshed
    progress     the progress bar and the problem lines
    report       ``grades.csv``, ``grading-report.md`` / ``.json`` (autograded, manual, pending, late)
    export       ``course export canvas|moodle``: the gradebook as an LMS's grade import takes it
    roster       the LMS roster: import, map LMS assignments to the course's
    term         ``term.json``: the term's assignments, due dates and weights
    audit        who changed which score, when: ``.course/audit.jsonl``, ``course history``
    stats        per exercise over the term: means, full marks, discrimination, the top mistake

``task/`` -- a grading task, inside a Dask worker process (this machine or another), trusted; sees no course
folder, only what the coordinator sent:

    job                one student's assignments, each in a scratch course; returns notebooks, feedback, summaries
    session            one sandbox for a task's notebooks, one after another (warm kernels that pay)
    autograde          nbgrader's autograde configured with the sandboxed execution
    sandboxed_execute  ``SandboxedExecute``: probes in, sandbox run, verdicts out
    bwrap              bubblewrap + resource limits around the sandbox runner
    uids               the sandbox uid this notebook runs under, held by a lock machine-wide
    view, view_audit   the grading view of ``course_lib.checks`` the sandbox gets: run steps, no judge
                       (built here; the kernel imports its loader)
    ran                whether the sandbox ran the notebook at all ("not graded", never a number)
    judge              judges the probes' plain data against the checks (never inside the sandbox)
    keys               a quiz's answer key, read from the gradebook's copy of the instructor's test cell
    inert              makes learner-written HTML inert (nh3) before anyone's browser shows it
    feedback           the feedback page nbgrader's ``generate_feedback`` writes (titles, pending, no script)
    mathml             the feedback page's maths as MathML (latex2mathml, cleaned by nh3)

``sandbox/`` -- inside bubblewrap, beside the learner's kernel; untrusted (its record is data):

    runner  runs the notebook cell by cell with nbclient, writes the record to the grader's pipe
    turns   ``--serve``: one notebook after another, the sandbox cleared between two (leftovers, /tmp, limits)
    zygote  with ``--warm-kernels``: the runner's warm parent that forks the kernels (torch etc. imported once)

``kernel/`` -- the learner's kernel; untrusted:

    probe  the only grading code in the kernel: calls the learner's function on the grader's inputs

Beside them, read by all: ``limits`` (every time, memory and size limit and default) and ``templates/`` (the
feedback page's template).
"""
