"""The ``course`` command: what instructors and learners run.

course release [ASSIGNMENT ...]      regenerate notebooks/ from solutions/ (nbgrader generate_assignment)
course validate NOTEBOOK             run a notebook's tests as the grader will, before handing it in
course grade SUBMISSIONS             grade a class: sandboxed, judged outside the learner's kernel;
                                     writes the gradebook, feedback HTML, grades.csv and a report
course rescore                       totals, late penalties and feedback pages from the gradebook (no kernel)
course due ASSIGNMENT DATE           the assignment's due date (then rescore)
course extend STUDENT ASSIGNMENT     an extension, --hours H or --until DATE (then rescore)
course roster import canvas|moodle FILE     the LMS's class list; map-assignment A COLUMN: its grade column
course export canvas|moodle          the gradebook as the CSV Canvas's / Moodle's grade import takes
course history STUDENT               who changed which of the student's scores, when (.course/audit.jsonl)
course stats                         per exercise over the term: mean, full marks, discrimination, top mistake
course doctor                        say in plain words what is wrong with this set-up
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from course_lib.grading import limits
from course_lib.nbgrader_setup import CourseError

__all__ = ["main"]


def _find_root(start: Path) -> Path:
    for folder in [start, *start.parents]:
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    raise CourseError(
        f"no course folder (with nbgrader_config.py and solutions/) at or above {start}; pass --course-dir"
    )


def _cmd_release(args) -> int:
    from course_lib.release import release

    root = args.course_dir or _find_root(Path.cwd())
    for path in release(root, args.assignments or None):
        print(f"released {path.relative_to(root)}")
    return 0


def _cmd_validate(args) -> int:
    from course_lib.validate import validate

    report = validate(Path(args.notebook), timeout=args.timeout)
    print(report.text())
    return 0 if report.passed else 1


def _cmd_grade(args) -> int:
    from course_lib.grading.coordinator.class_run import GradeOptions, grade_class

    root = args.course_dir or _find_root(Path.cwd())
    options = GradeOptions(
        jobs=args.jobs,
        assignments=args.assignment or None,
        sandbox=not args.no_sandbox,
        force=args.force,
        notebook_timeout=args.notebook_timeout,
        cell_timeout=args.cell_timeout,
        memory_mb=args.memory_mb,
        warm_kernels=args.warm_kernels,
        lms_pattern=args.lms_pattern,
        due=args.due,
        scheduler=args.scheduler,
        tls_ca_file=args.tls_ca_file,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        quiet=args.quiet,
    )
    summary = grade_class(root, Path(args.submissions), options)
    print(summary.text())
    return 1 if summary.failed else 0  # a submission not graded is a failure of the run


def _rescored(root: Path, assignments: list[str] | None = None) -> int:
    """Rescore from the gradebook and write the term's grades.csv and report."""
    from course_lib.grading.coordinator.class_run import _source_notebooks
    from course_lib.grading.coordinator.rescore import rescore
    from course_lib.grading.coordinator.term import write_term
    from course_lib.nbgrader_setup import course_config

    config = course_config(root)
    done = rescore(root, config, assignments)
    csv_path, report_path = write_term(root, config.CourseDirectory.db_url, _source_notebooks(root))
    print(f"{done.text()}\nscores: {csv_path}\nreport: {report_path}")
    return 0


def _cmd_rescore(args) -> int:
    return _rescored(args.course_dir or _find_root(Path.cwd()), args.assignment or None)


def _known_assignment(root: Path, assignment: str) -> None:
    from course_lib.nbgrader_setup import assignments

    if assignment not in assignments(root):
        raise CourseError(f"unknown assignment {assignment!r}; the course has {assignments(root)}")


def _cmd_due(args) -> int:
    from course_lib.grading.coordinator.late import parse_due
    from course_lib.grading.coordinator.rescore import set_due
    from course_lib.nbgrader_setup import _ensure_bin_on_path, course_config

    root = args.course_dir or _find_root(Path.cwd())
    _known_assignment(root, args.assignment)
    try:
        due = None if args.date == "none" else parse_due(args.date)
    except ValueError as error:
        raise CourseError(str(error))
    _ensure_bin_on_path()
    set_due(course_config(root).CourseDirectory.db_url, args.assignment, due)
    print(f"{args.assignment} is due {due:%Y-%m-%d %H:%M} UTC" if due else f"{args.assignment} has no due date")
    return _rescored(root, [args.assignment])


def _cmd_extend(args) -> int:
    from course_lib.grading.coordinator.rescore import set_extension

    root = args.course_dir or _find_root(Path.cwd())
    _known_assignment(root, args.assignment)
    if args.hours is None and args.until is None and not args.remove:
        raise CourseError("say how long: --hours H, --until DATE, or --remove")
    print(set_extension(root, args.student, args.assignment, args.hours, args.until))
    from course_lib.nbgrader_setup import _ensure_bin_on_path

    _ensure_bin_on_path()
    return _rescored(root, [args.assignment])


def _cmd_export(args) -> int:
    from course_lib.grading.coordinator.export import export_grades
    from course_lib.nbgrader_setup import course_config

    root = args.course_dir or _find_root(Path.cwd())
    out = args.output or Path(root) / f"{args.lms}-grades.csv"
    try:
        result = export_grades(
            root, course_config(root).CourseDirectory.db_url, args.lms, out, args.assignment or None, args.roster
        )
    except (ValueError, OSError) as error:
        raise CourseError(str(error))
    print(result.text())
    return 1 if result.unmatched else 0  # a student whose grade could not be placed is a failure


def _cmd_roster(args) -> int:
    from course_lib.grading.coordinator.roster import import_roster, map_assignment
    from course_lib.nbgrader_setup import _ensure_bin_on_path, course_config

    root = args.course_dir or _find_root(Path.cwd())
    _ensure_bin_on_path()
    if args.roster_command == "import":
        if not args.file.is_file():
            raise CourseError(f"no such file: {args.file}")
        result = import_roster(root, course_config(root).CourseDirectory.db_url, args.lms, args.file)
        print(result.text())
        return 1 if result.unmatched else 0
    print(map_assignment(root, args.assignment, args.column))
    return 0


def _known_student(root: Path, db_url: str, student: str) -> None:
    from course_lib.grading.coordinator.audit import read_log
    from course_lib.grading.coordinator.roster import our_students

    known = set(our_students(root, db_url)) | {line["student"] for line in read_log(root)}
    if student not in known:
        shown = ", ".join(sorted(known)[:20]) + (", …" if len(known) > 20 else "")
        raise CourseError(f"unknown student {student!r}; the course has {len(known)} student(s): {shown or 'none'}")


def _cmd_history(args) -> int:
    from course_lib.grading.coordinator.audit import history
    from course_lib.nbgrader_setup import _ensure_bin_on_path, course_config

    root = args.course_dir or _find_root(Path.cwd())
    _ensure_bin_on_path()
    _known_student(root, course_config(root).CourseDirectory.db_url, args.student)
    if args.assignment:
        _known_assignment(root, args.assignment)
    print(history(root, args.student, args.assignment))
    return 0


def _cmd_stats(args) -> int:
    import json

    from course_lib.grading.coordinator.stats import compute, text, write_stats
    from course_lib.nbgrader_setup import _ensure_bin_on_path, course_config

    root = args.course_dir or _find_root(Path.cwd())
    for assignment in args.assignment or []:
        _known_assignment(root, assignment)
    _ensure_bin_on_path()
    report_path = Path(root) / "grading-report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    stats = compute(course_config(root).CourseDirectory.db_url, report, args.assignment or None)
    stem = "grading-stats" + "".join(f"-{a}" for a in sorted(args.assignment or []))
    paths = write_stats(root, stats, stem)
    print(text(stats))
    if not report:
        print("(no grading-report.json yet: no failure messages to count)")
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def _cmd_doctor(args) -> int:
    from course_lib.doctor import diagnose

    ok, text = diagnose()
    print(text)
    return 0 if ok else 1


# The commands that read or write the gradebook: each records score changes (course_lib/grading/coordinator/audit.py)
AUDITED = {"grade", "rescore", "due", "extend", "export", "roster import", "history", "stats"}


def _action(argv: list[str]) -> str:
    """The command line as typed, without --course-dir: ``course extend alice 01_sequence_data --hours 48``."""
    words, skip = [], False
    for word in argv:
        if skip or word.startswith("--course-dir="):
            skip = False
            continue
        if word == "--course-dir":
            skip = True
            continue
        words.append(word)
    return "course " + shlex.join(words)


def _audited(args, argv: list[str]) -> int:
    """Run the command; around one of :data:`AUDITED`, the audit log's before and after (audit.watch)."""
    name = args.command + (f" {args.roster_command}" if args.command == "roster" else "")
    if name not in AUDITED:
        return args.func(args)
    from course_lib.grading.coordinator.audit import watch
    from course_lib.nbgrader_setup import course_config

    args.course_dir = args.course_dir or _find_root(Path.cwd())
    with watch(args.course_dir, course_config(args.course_dir).CourseDirectory.db_url, name, _action(argv)):
        return args.func(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description="Sequence Modelling course: release, validate, grade.")
    parser.add_argument("--course-dir", type=Path, default=None, help="the course folder (default: found from here)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("validate", help="run a notebook's checks as the grader will")
    p.add_argument("notebook")
    p.add_argument("--timeout", type=int, default=600, help="seconds for the whole notebook")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("grade", help="grade a folder (or LMS zip) of submissions")
    p.add_argument(
        "submissions", help="folder laid out as SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb, or a zip"
    )
    p.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes of the local cluster (default: number of cores); ignored with --scheduler",
    )
    p.add_argument("--force", action="store_true", help="re-grade submissions already graded")
    p.add_argument("--notebook-timeout", type=int, default=limits.NOTEBOOK_SECONDS, help="seconds per notebook")
    p.add_argument("--cell-timeout", type=int, default=limits.CELL_SECONDS, help="seconds per cell")
    p.add_argument("--memory-mb", type=int, default=limits.MEMORY_MB, help="memory limit of a learner kernel")
    p.add_argument(
        "--warm-kernels",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one sandbox per student's task, each notebook in a fresh kernel forked from a parent with torch and "
        "matplotlib imported (the default); --no-warm-kernels: one sandbox and one freshly started kernel per notebook",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="address of a running Dask scheduler (tls://host:8786) whose workers grade; default: a "
        "local cluster of --jobs workers",
    )
    p.add_argument("--tls-ca-file", default=None, help="CA certificate of the cluster (with --scheduler tls://...)")
    p.add_argument("--tls-cert", default=None, help="this client's certificate, signed by that CA")
    p.add_argument("--tls-key", default=None, help="this client's private key")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no problem lines while grading")
    p.add_argument(
        "--lms-pattern",
        default=None,
        help="regular expression with (?P<student_id>...) and (?P<file_id>...) for flat LMS exports "
        "(default: Canvas's file names)",
    )
    p.add_argument(
        "--due",
        default=None,
        help="due date of the graded assignment(s), e.g. 2026-12-01T23:59 (UTC unless an offset is given); "
        "late work is penalised as nbgrader_config.py's LatePenalty says",
    )
    p.add_argument("--no-sandbox", action="store_true", help="run without bubblewrap (trusted code only)")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("rescore", help="totals, late penalties and feedback pages from the gradebook (no kernel)")
    p.add_argument("--assignment", action="append", help="rescore only this assignment (repeatable)")
    p.set_defaults(func=_cmd_rescore)

    p = sub.add_parser("due", help="set an assignment's due date, then rescore")
    p.add_argument("assignment")
    p.add_argument("date", help="e.g. 2026-12-01T23:59 (UTC unless +hh:mm is given), or none")
    p.set_defaults(func=_cmd_due)

    p = sub.add_parser("extend", help="give a student an extension on an assignment, then rescore")
    p.add_argument("student")
    p.add_argument("assignment")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--hours", type=float, default=None, help="hours after the due date")
    how.add_argument("--until", default=None, help="a date, e.g. 2026-12-05T12:00 (kept if the due date moves)")
    how.add_argument("--remove", action="store_true", help="take the extension back")
    p.set_defaults(func=_cmd_extend)

    p = sub.add_parser("export", help="write the gradebook as the CSV Canvas's or Moodle's grade import takes")
    p.add_argument("lms", choices=["canvas", "moodle"])
    p.add_argument("--assignment", action="append", help="export only this assignment (repeatable; default: all)")
    p.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="the LMS's own gradebook export (CSV): its student and section columns are kept, and "
        "students are matched to its rows",
    )
    p.add_argument("-o", "--output", type=Path, default=None, help="the file to write (default: <lms>-grades.csv)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("roster", help="the LMS's class list and assignment columns, imported once")
    roster = p.add_subparsers(dest="roster_command", required=True)
    q = roster.add_parser("import", help="read Canvas's gradebook export or Moodle's grade export / participants")
    q.add_argument("lms", choices=["canvas", "moodle"])
    q.add_argument("file", type=Path)
    q.set_defaults(func=_cmd_roster)
    q = roster.add_parser("map-assignment", help="the LMS's own column of an assignment")
    q.add_argument("assignment")
    q.add_argument("column", help='the column exactly as the LMS exported it, e.g. "Sequence data (90210)"')
    q.set_defaults(func=_cmd_roster)

    p = sub.add_parser("history", help="who changed which of a student's scores, and when")
    p.add_argument("student")
    p.add_argument("--assignment", default=None, help="only this assignment")
    p.set_defaults(func=_cmd_history)

    p = sub.add_parser("stats", help="per exercise over the term: mean, full marks, discrimination, top mistake")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable; default: all)")
    p.set_defaults(func=_cmd_stats)

    p = sub.add_parser("doctor", help="check this set-up")
    p.set_defaults(func=_cmd_doctor)

    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        return _audited(args, argv)
    except CourseError as error:
        print(f"course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
