"""Is every notebook's checks package wired to its solution notebook, and does every check show a learner, in
the visible cases, every kind of case that grading's hidden cases use?

One test for all notebooks (01 to 07): each graded test cell ``test_X`` of ``solutions/NN_topic`` has an
exercise ``X`` in ``course_lib.checks.nbNN_topic.EXERCISES``, whose function the solution cell ``X`` defines and
whose ``check_X`` the test cell calls; and every exercise of the package is graded in the notebook (a part of an
exercise, :func:`course_lib.checks.core.together`, in its own solution cell before it and with no test cell).  Then, for
every exercise, the kinds of case (:data:`course_lib.checks.toolkit.KINDS`) and the families of case (shapes,
dtypes, argument values: :func:`course_lib.checks.toolkit.families`) of the hidden cases are among those of the
visible cases: hidden cases add seeds and values, never a kind or a family a learner has not seen pass.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from course_lib.checks import EXERCISES, MODULES, checks_module
from course_lib.checks.toolkit import KINDS, families, kinds
from course_lib.grading.task.judge import test_exercise as exercise_of  # renamed: pytest would collect test_*
from tests.conftest import ROOT

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
SEEDS = (0, 1, 20261124, 2**31 - 2)


def _cells(assignment: str) -> tuple[dict[str, str], dict[str, str]]:
    """{exercise: solution cell source}, {exercise: test cell source} of a solution notebook."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    solutions, tests = {}, {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        name = exercise_of(cell)
        if name:
            tests[name] = cell.source
        elif cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            solutions[meta["grade_id"]] = cell.source
    return solutions, tests


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_package_matches_its_solution_notebook(assignment):
    module = checks_module(assignment)
    assert module in MODULES, f"solutions/{assignment} has no checks package course_lib/checks/{module}"
    package = {exercise.name: exercise for exercise in MODULES[module].EXERCISES}
    solutions, tests = _cells(assignment)
    assert tests, f"{assignment} has no graded test cells"
    assert set(tests) == set(package), (
        f"{assignment}: graded test cells {sorted(tests)} but {module}.EXERCISES {sorted(package)}"
    )
    for name, source in tests.items():
        exercise = package[name]
        assert f"{module}.{name}" in EXERCISES, f"{module}.{name} is not in the registry"
        calls = re.findall(r"^check_(\w+)\((\w+)", source, flags=re.M)
        assert calls and all(c == (name, exercise.function) for c in calls), (
            f"{assignment}: test_{name} should call check_{name}({exercise.function}), it has {source!r}"
        )
        if exercise.callable_answer:  # a quiz answer (a value) has no hidden cases to run
            assert re.search(r"hidden=True", source), f"{assignment}: test_{name} has no hidden call"
        check = getattr(MODULES[module], f"check_{name}")
        assert check == exercise.check, f"{module}.check_{name} is not {name}'s Exercise.check"
        if exercise.callable_answer:
            defined = re.search(rf"^(def|class) {re.escape(exercise.function)}\b", solutions.get(name, ""), re.M)
            assert defined, f"{assignment}: the solution cell '{name}' does not define {exercise.function}"
        for part in exercise.parts:  # a stepping stone graded with the exercise: its own cell, before, no test cell
            assert re.search(rf"^def {re.escape(part)}\b", solutions.get(part, ""), re.M), (
                f"{assignment}: {name} checks {part} too, but no solution cell '{part}' defines it"
            )
            assert list(solutions).index(part) < list(solutions).index(name), f"{assignment}: {part} after {name}"
            assert part not in tests, f"{assignment}: {part} is graded with {name}, yet has its own test cell"


def _exercise_of_solution_cell(module: str, grade_id: str):
    """The exercise a solution cell belongs to: its own, or the one that checks it as a part."""
    if f"{module}.{grade_id}" in EXERCISES:
        return EXERCISES[f"{module}.{grade_id}"]
    (owner,) = [e for key, e in EXERCISES.items() if key.startswith(f"{module}.") and grade_id in e.parts]
    return owner


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_every_kind_of_hidden_case_is_visible_first(key):
    exercise = EXERCISES[key]
    for seed in SEEDS:
        visible, hidden = kinds(exercise.cases(seed, False)), kinds(exercise.cases(seed, True))
        assert visible | hidden <= set(KINDS), f"{key}: unknown kinds {sorted((visible | hidden) - set(KINDS))}"
        assert hidden <= visible, (
            f"{key}: the hidden cases have kinds {sorted(hidden - visible)} that no visible "
            f"case has (seed {seed}): a learner could see ✓ and lose points for them"
        )


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_every_family_of_hidden_case_is_visible_first(key):
    """Families, not labels: the shapes (batch 1, T = 1, ids of any rank), dtypes and argument values (pad ids: the
    default, another, a negative one) of the hidden cases all appear among the visible cases' (toolkit.families)."""
    exercise = EXERCISES[key]
    for seed in SEEDS:
        seen = set().union(*(families(c) for c in exercise.cases(seed, False).values()))
        hidden = set().union(*(families(c) for c in exercise.cases(seed, True).values()))
        assert hidden <= seen, (
            f"{key}: the hidden cases have families {sorted(hidden - seen, key=str)} that no visible case has "
            f"(seed {seed}): a learner could see ✓ and lose points for them"
        )


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_every_case_names_its_kind_or_is_a_values_case(key):
    """A case without a ``kind`` is a ``values`` case; kinds that a docstring promises carry their name."""
    for hidden in (False, True):
        for name, case in EXERCISES[key].cases(SEEDS[0], hidden).items():
            assert isinstance(case, dict), f"{key}: case '{name}' is not a dict"
            assert isinstance(case.get("kind", "values"), str), f"{key}: case '{name}' has a kind that is not a name"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_bonus_exercises_are_the_ones_the_notebook_calls_bonus(assignment):
    """An exercise is bonus in course_lib (``Exercise.bonus``, counted apart by ``course validate``) exactly when the
    statement before its solution cell says so ("**Bonus exercise 4a**", "**Exercise 7 (bonus, 3 points)**")."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    module, statement = checks_module(assignment), ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"\*\*((?:Bonus )?[Ee]xercise [^*]*)\*\*", cell.source)
            statement = found[-1] if found else statement
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            said = "bonus" in statement.lower()
            exercise = _exercise_of_solution_cell(module, grade_id)
            assert bool(exercise.bonus) == said, (
                f"{assignment}: exercise {grade_id} is {'not ' * (not said)}called bonus in its statement "
                f"({statement!r}) but Exercise.bonus is {exercise.bonus}"
            )
