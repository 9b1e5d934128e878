"""``course grade``: sandboxed, distributed autograding on top of nbgrader.

Four kinds of process take part; each module runs in one of them, and only the last runs learner code.

**Coordinator** -- the ``course grade`` process, trusted; the only writer of the course folder and the
real gradebook:

    class_run    the class run, step by step (register, intake, pending pairs, grade, report)
    intake       submissions -> ``submitted/``, every problem named
    late         due dates and submission times into nbgrader's late-submission machinery
    cluster      the Dask cluster: a local one started here, or ``--scheduler``; TLS; same-code check
    coordinator  records each returned outcome: gradebook (nbgrader's SaveAutoGrades), files, resume marks
    progress     the progress bar and the problem lines
    report       ``grades.csv``, ``grading-report.md`` / ``.json`` (autograded, manual, pending, late)
    export       ``course export canvas|moodle``: the gradebook as an LMS's grade import takes it
    audit        who changed which score, when: ``.course/audit.jsonl``, ``course history``
    stats        per exercise over the term: means, full marks, discrimination, the top mistake

**Grading task** -- inside a Dask worker process (this machine or another), trusted; sees no course
folder, only what the coordinator sent:

    task               one student's assignment in a scratch course; returns notebooks, feedback, summaries
    autograde          nbgrader's autograde configured with the sandboxed execution
    sandboxed_execute  ``SandboxedExecute``: probes in, sandbox run, verdicts out
    judge              judges the probes' plain data against the checks (never inside the sandbox)
    keys               a quiz's answer key, read from the gradebook's copy of the instructor's test cell
    view, view_audit   the grading view of ``course_lib.checks`` the sandbox gets: run steps, no judge
    inert              makes learner-written HTML inert (nh3) before anyone's browser shows it
    feedback           the feedback page nbgrader's ``generate_feedback`` writes (titles, pending, no script)
    mathml             the feedback page's maths as MathML (latex2mathml, cleaned by nh3)
    uids               the sandbox uid this notebook runs under, held by a lock machine-wide
    sandbox            bubblewrap + resource limits around the runner

**Sandbox runner** -- inside bubblewrap, beside the learner's kernel; untrusted (its record is data):

    sandbox_runner  runs the notebook cell by cell with nbclient, writes the record to the grader's pipe

**Learner kernel** -- the learner's code; untrusted:

    kernel_probe  the only grading code in the kernel: calls the learner's function on the grader's inputs

**Everywhere**: ``limits`` -- every time, memory and size limit and default, read by all of the above.
"""
