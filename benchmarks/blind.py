"""Run an independent ("blind") suite of learner mistakes and correct alternatives through the checks.

    python benchmarks/blind.py /work/blind [nb04 ...] [--seeds 3] [--show generic|uncaught|rejected|all]

The suite's ``nbNN.py`` files each hold ``CASES = [dict(notebook, exercise, kind, name, what, fn)]`` (``kind``:
``"mistake"`` or ``"correct"``; ``exercise``: the function's name, or the class name for ``RNNLM``, ``FusedLSTM``,
``FusedGRU``).  Every case runs through

- the **visible** check, as the notebook's test cell runs it (``Exercise.check(fn)``, the visible seed), and
- the **grading path** on secret-style seeds, as ``course grade`` and ``tests/checks/test_hidden_seeds.py`` run it:
  ``run_cases`` on ``cases(seed, hidden=True)``, the results through plain data and JSON, then ``judge``; the
  seeds are ``HIDDEN_SEED`` and ``--seeds - 1`` more drawn like ``test_hidden_seeds.py``'s.

Printed per notebook and exercise:

- **caught / mistakes**: mistakes that fail the visible check or any hidden seed;
- **named / caught**: caught mistakes whose message (the visible one when the visible check fails, else the first
  hidden one) is *named or located*, defined strictly below;
- **accepted / correct**: correct alternatives that pass the visible check and every hidden seed;
- **vis✓hid✗**: mistakes that pass the visible check but fail a hidden seed (a learner sees ✓ and loses points).

**Named or located** (strict): the message says *what* is wrong or *where*, beyond "this output differs":

- a mistake named from a check's table (any message that is not only the generic difference), or
- a location or manner statement of the diagnosis layer (``course_lib.checks.diagnose``: which output of several,
  which time steps, which gate block, which rows or positions, which factor, sign, transpose, shift, reversal,
  detach), recognised by its marker ``Where:`` / ``How:`` lines, or
- a message about the form of the result (its shape, dtype, type, length, device, in-place change of an input), or
  an exception the learner's own code raised on a named case (which says where in their code it failed).

(``--rescore FILE.json`` recomputes the table from a saved ``--json`` run with this definition.)

It is **not** named or located when the message's only statement is the generic comparison -- "``<what>`` is
wrong: n of m values differ" or "the value differs" with the first differences and at most a generic hint -- or
a check's last-resort text ("the outputs differ", "is wrong on case ...") with no diagnosis line.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import importlib.util
import io
import json
import re
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.checks import MODULES  # noqa: E402
from course_lib.checks.core import (  # noqa: E402
    HIDDEN_SEED,
    CheckFailure,
    Exercise,
    decode_plain,
    encode_results,
    run_cases,
)

CLASS_GRADE_IDS = {"RNNLM": "rnn_lm", "FusedLSTM": "fused_lstm", "FusedGRU": "fused_gru"}
GENERIC = re.compile(r"\d+ of \d+ values differ|the value differs")
DIAGNOSIS = re.compile(r"(^|\n)\s*(Where|How):")
# what a check says when it has nothing more to say than "different"
LAST_RESORT = re.compile(r"^[^\n]*(the outputs? differ|does not match the reference)[.:]?$", re.I)


def secret_seeds(count: int) -> list[int]:
    """HIDDEN_SEED, then seeds drawn like tests/checks/test_hidden_seeds.py's (a different prefix)."""
    drawn = [
        int.from_bytes(hashlib.sha256(f"blind-seed-{i}".encode()).digest()[:4], "big") & 0x7FFFFFFF
        for i in range(max(count - 1, 0))
    ]
    return [HIDDEN_SEED, *drawn]


def exercise_for(notebook: str, exercise: str):
    """The check of one function alone: a blind case is one function, also where the notebook grades it with the
    stepping stone it builds on (``core.together``: the module exports each alone, ``CONTEXT_GATES``, ``DECODER_STEP_ALONE``)."""
    module = MODULES[f"nb{notebook}"]
    wanted = CLASS_GRADE_IDS.get(exercise, exercise)
    for spec in vars(module).values():
        if isinstance(spec, Exercise) and not spec.parts and (spec.name == wanted or spec.function == exercise):
            return spec
    raise KeyError(f"{notebook}: no exercise {exercise}")


class Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def _raise(*_):
        raise Timeout(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def visible(spec, fn) -> str | None:
    """None when the visible check passes, else its message."""
    try:
        with time_limit(120), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            spec.check(fn)
    except CheckFailure as failure:
        return str(failure)
    except Timeout as error:
        return f"[timeout] {error}"
    except Exception as error:  # a check that crashes is a bug of the check
        return f"[check crashed] {type(error).__name__}: {error}"
    return None


def graded(spec, fn, seed: int) -> str | None:
    """None when the grading path passes on ``seed``, else its message."""
    try:
        with time_limit(120), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            results = run_cases(spec, fn, spec.cases(seed, True))
            results = decode_plain(json.loads(json.dumps(encode_results(results))))
            spec.judge(spec.cases(seed, True), results)
    except CheckFailure as failure:
        return str(failure)
    except Timeout as error:
        return f"[timeout] {error}"
    except Exception as error:
        return f"[check crashed] {type(error).__name__}: {error}"
    return None


def named_or_located(message: str) -> bool:
    """See the module docstring."""
    if message.startswith("[check crashed]"):
        return False
    if DIAGNOSIS.search(message):
        return True
    generic = GENERIC.search(message)
    if generic is None:
        return not LAST_RESORT.search(message)
    before = message[: generic.start()]
    # "<what> is wrong: " (or "...: ") right before the generic figures is the fallback's own preamble
    before = re.sub(r"[^\n]*?(is wrong|differs?|wrong values)\s*:?\s*$", "", before)
    return bool(before.strip(" \n:.,"))


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"blind_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", type=Path)
    parser.add_argument("only", nargs="*", help="notebooks (nb04) or exercises (nb04:lstm_cell)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--show", choices=["generic", "uncaught", "rejected", "all", "none"], default="none")
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    parser.add_argument("--rescore", type=Path, help="recompute the table from a saved --json run")
    args = parser.parse_args()
    if args.rescore:
        return rescore(args.rescore)
    seeds = secret_seeds(args.seeds)
    rows = collections.defaultdict(collections.Counter)
    records = []
    for path in sorted(args.suite.glob("nb0*.py")):
        if args.only and not any(o.split(":")[0] == path.stem for o in args.only):
            continue
        for case in load(path):
            if args.only and not any(o == path.stem or o == f"{path.stem}:{case['exercise']}" for o in args.only):
                continue
            spec = exercise_for(case["notebook"], case["exercise"])
            seen = visible(spec, case["fn"])
            hidden = [graded(spec, case["fn"], seed) for seed in seeds]
            failed_hidden = [m for m in hidden if m is not None]
            row = rows[(case["notebook"], case["exercise"])]
            record = {k: case[k] for k in ("notebook", "exercise", "kind", "name", "what")}
            record.update(visible=seen, hidden=failed_hidden[:1])
            if case["kind"] == "mistake":
                row["mistakes"] += 1
                caught = seen is not None or bool(failed_hidden)
                message = seen if seen is not None else (failed_hidden[0] if failed_hidden else "")
                row["caught"] += caught
                row["named"] += caught and named_or_located(message)
                row["vis_ok_hid_bad"] += seen is None and bool(failed_hidden)
                record.update(caught=caught, named=caught and named_or_located(message))
            else:
                row["correct"] += 1
                accepted = seen is None and not failed_hidden
                row["accepted"] += accepted
                record.update(accepted=accepted)
            records.append(record)
            show = args.show
            if (
                show == "all"
                or (show == "uncaught" and record.get("caught") is False)
                or (show == "generic" and record.get("caught") and not record.get("named"))
                or (show == "rejected" and record.get("accepted") is False)
            ):
                text = seen if seen is not None else (failed_hidden[0] if failed_hidden else "(passed)")
                print(f"--- {case['notebook']} {case['exercise']} {case['kind']} {case['name']}: {case['what']}")
                print("    " + text[:900].replace("\n", "\n    "))
            sys.stdout.flush()
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1, default=str))
    return 0


def rescore(path: Path) -> int:
    """The table of a saved run (the first failing message of each case is kept), scored again."""
    rows = collections.defaultdict(collections.Counter)
    for record in json.loads(path.read_text()):
        row = rows[(record["notebook"], record["exercise"])]
        if record["kind"] == "mistake":
            message = record["visible"] if record["visible"] is not None else (record["hidden"] or [""])[0]
            row["mistakes"] += 1
            row["caught"] += record["caught"]
            row["named"] += record["caught"] and named_or_located(message)
            row["vis_ok_hid_bad"] += record["visible"] is None and bool(record["hidden"])
        else:
            row["correct"] += 1
            row["accepted"] += record["accepted"]
    print_table(rows)
    return 0


def print_table(rows) -> None:
    head = f"{'notebook':<22}{'exercise':<26}{'caught':>10}{'named':>10}{'accepted':>10}{'vis✓hid✗':>10}"
    print("\n" + head)
    by_notebook = collections.defaultdict(collections.Counter)
    for (notebook, exercise), row in sorted(rows.items()):
        by_notebook[notebook].update(row)
        print(
            f"{notebook:<22}{exercise:<26}{row['caught']:>5}/{row['mistakes']:<4}{row['named']:>5}/{row['caught']:<4}"
            f"{row['accepted']:>5}/{row['correct']:<4}{row['vis_ok_hid_bad']:>6}"
        )
    total = collections.Counter()
    print()
    for notebook, row in sorted(by_notebook.items()):
        total.update(row)
        print(
            f"{notebook:<48}{row['caught']:>5}/{row['mistakes']:<4}{row['named']:>5}/{row['caught']:<4}"
            f"{row['accepted']:>5}/{row['correct']:<4}{row['vis_ok_hid_bad']:>6}"
        )
    print(
        f"{'all':<48}{total['caught']:>5}/{total['mistakes']:<4}{total['named']:>5}/{total['caught']:<4}"
        f"{total['accepted']:>5}/{total['correct']:<4}{total['vis_ok_hid_bad']:>6}"
    )
    if total["mistakes"]:
        print(
            f"caught {100 * total['caught'] / total['mistakes']:.1f} %; named or located "
            f"{100 * total['named'] / max(total['caught'], 1):.1f} % of caught; accepted "
            f"{total['accepted']}/{total['correct']}; visible ✓ hidden ✗: {total['vis_ok_hid_bad']}"
        )


if __name__ == "__main__":
    sys.exit(main())
