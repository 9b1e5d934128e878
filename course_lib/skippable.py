"""Which demonstration cells grading may skip: the course's marks on its solution cells, and their static check.

A cell of ``solutions/`` marked ``"course": {"grading": "skip"}`` in its metadata does work that no grade needs (a
demonstration's training, a figure, a printed table).  Grading may leave it out, on two conditions that
:func:`problems` checks:

1. the cell is a **locked nbgrader cell** (``nbgrader.locked``, a ``grade_id``, neither a solution nor graded):
   nbgrader's autograde restores a locked cell's source from the course's copy, and the list of cells to skip is
   read from that copy (:func:`skippable_grade_ids`), never from a submission, so a learner can neither mark nor
   unmark a cell;
2. **no later kept cell reads a name it defines**: for every later code cell that is not skipped (the graded
   test cells included), the names it reads before binding them itself (its free names, :func:`free_names`)
   must not come from a skipped cell (the last cell before it that binds the name, :func:`bound_names`).

The analysis is by name, at statement granularity in evaluation order (``x = f(x)`` reads ``x``; a ``for``
binds its target before its body; a function's body counts as read where the function is defined; a kept cell
with an IPython magic may read any name).  It does
not see a skipped cell that mutates an object another cell made, or draws from a global random generator that a
later cell uses: the run test (the solution with its skipped cells removed passes every test cell) covers those.
"""

from __future__ import annotations

import ast

from IPython.core.inputtransformer2 import TransformerManager

__all__ = [
    "SKIP",
    "bound_names",
    "cells_to_skip",
    "free_names",
    "graded_dependencies",
    "is_marked_skip",
    "problems",
    "skippable_grade_ids",
]

SKIP = "skip"
_ipython = TransformerManager()


def is_marked_skip(cell) -> bool:
    """True when the cell's metadata says ``"course": {"grading": "skip"}``."""
    return cell.get("metadata", {}).get("course", {}).get("grading") == SKIP


def _is_locked_demo(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(
        cell.get("cell_type") == "code"
        and meta.get("locked")
        and meta.get("grade_id")
        and not meta.get("solution")
        and not meta.get("grade")
    )


def skippable_grade_ids(nb) -> list[str]:
    """The grade_ids of the cells grading may skip: marked skip *and* locked demo cells, in notebook order.

    ``nb`` must be the course's own copy of the notebook (the source or the gradebook's), never a submission.
    """
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"] if is_marked_skip(c) and _is_locked_demo(c)]


class _Scope(ast.NodeVisitor):
    """Walk statements in evaluation order; names loaded before this scope binds them are free."""

    def __init__(self, bound: set[str] | None = None):
        self.bound: set[str] = set(bound or ())
        self.free: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.bound:
                self.free.add(node.id)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name) and node.target.id not in self.bound:
            self.free.add(node.target.id)
        self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.visit(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bound.add(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name)

    def _inner(self, body: list[ast.AST], local: set[str]) -> None:
        """A function's, class's or comprehension's body: its own names are local, the rest read from here."""
        inner = _Scope(self.bound | local)
        for node in body:
            inner.visit(node)
        self.free |= inner.free

    def _function(self, node) -> None:
        for expression in [*getattr(node, "decorator_list", []), *node.args.defaults, *node.args.kw_defaults]:
            if expression is not None:
                self.visit(expression)
        args = node.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
        body = node.body if isinstance(node.body, list) else [node.body]
        if not isinstance(node, ast.Lambda):
            self.bound.add(node.name)  # bound before the body runs: recursion reads it
        self._inner(body, params | _stores(body))

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self._inner(node.body, _stores(node.body))
        self.bound.add(node.name)

    def _comprehension(self, node) -> None:
        inner = _Scope(self.bound)
        for generator in node.generators:
            inner.visit(generator.iter)
            inner.visit(generator.target)
            for condition in generator.ifs:
                inner.visit(condition)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            inner.visit(part)
        self.free |= inner.free  # the comprehension's own variables stay inside it

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


def _stores(body: list[ast.AST]) -> set[str]:
    """Every name a function or class body binds anywhere in it (its locals), not looking into nested scopes."""
    names: set[str] = set()
    for node in body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load):
                names.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names.update(a.asname or a.name.split(".")[0] for a in sub.names)
    return names


def _scope(source: str) -> _Scope:
    scope = _Scope()
    scope.visit(ast.parse(_ipython.transform_cell(source)))
    return scope


def free_names(source: str) -> set[str]:
    """The names a cell reads before it binds them (so: from an earlier cell, or a builtin)."""
    return _scope(source).free


def bound_names(source: str) -> set[str]:
    """The names a cell binds at its top level (assignments, definitions, imports, loop and ``with`` targets)."""
    return _scope(source).bound


def problems(nb) -> list[str]:
    """Why the notebook's skip marks are not safe, one sentence each; [] when they are."""
    found = []
    provider: dict[str, int] = {}  # name -> index of the last code cell so far that binds it
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            if is_marked_skip(cell):
                found.append(f"cell {index} is marked skip but is a {cell.get('cell_type')} cell")
            continue
        skipped = is_marked_skip(cell)
        if skipped and not _is_locked_demo(cell):
            found.append(f"cell {index} is marked skip but is not a locked nbgrader demo cell (locked, grade_id)")
        scope = _scope(cell["source"])
        if not skipped:
            # a magic's arguments are a string to the parser: a cell with one may read any name
            reads = set(provider) if "get_ipython" in scope.free else scope.free
            for name in sorted(reads):
                source = provider.get(name)
                if source is not None and is_marked_skip(nb["cells"][source]):
                    what = nb["cells"][index].get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"
                    found.append(f"{what} reads {name!r}, which skipped cell {source} defines")
        for name in scope.bound:
            provider[name] = index
    return found


def cells_to_skip(submission, source) -> list[int]:
    """Indices of the submission's cells that grading skips: the course's marks, safe for this submission.

    ``source`` is the course's copy of the notebook: its marks (:func:`skippable_grade_ids`) are the only ones
    read.  A submission's cell is skipped when it is locked and carries one of those grade_ids (nbgrader's
    autograde has restored its source from the course's copy), and when no later kept cell of *this
    submission* -- the learner's own code included -- reads a name that it binds; marks on the learner's cells
    count for nothing.
    """
    marked = set(skippable_grade_ids(source))
    cells = submission["cells"]
    skip = {
        i
        for i, cell in enumerate(cells)
        if cell.get("cell_type") == "code"
        and _is_locked_demo(cell)
        and cell["metadata"]["nbgrader"]["grade_id"] in marked
    }
    while True:  # unmark the cells that a kept cell reads from, until none is read
        provider: dict[str, int] = {}
        read = set()
        for index, cell in enumerate(cells):
            if cell.get("cell_type") != "code":
                continue
            try:
                scope = _scope(cell["source"])
            except SyntaxError:  # a learner's cell that does not parse reads nothing it could get
                continue
            if index not in skip:
                reads = set(provider) if "get_ipython" in scope.free else scope.free
                read |= {provider[name] for name in reads if provider.get(name) in skip}
            for name in scope.bound:
                provider[name] = index
        if not read:
            return sorted(skip)
        skip -= read


def graded_dependencies(nb) -> set[int]:
    """Indices of the code cells whose names a graded test cell reads, directly or through other cells.

    The cells outside this set are the candidates for a skip mark (a learner's solution cell may still read
    them: :func:`cells_to_skip` checks each submission).
    """
    providers: list[dict[str, int]] = []  # before each cell: name -> the cell that last bound it
    provider: dict[str, int] = {}
    scopes = {}
    for index, cell in enumerate(nb["cells"]):
        providers.append(dict(provider))
        if cell.get("cell_type") == "code":
            scopes[index] = _scope(cell["source"])
            for name in scopes[index].bound:
                provider[name] = index
    needed: set[int] = set()
    todo = [
        i for i, c in enumerate(nb["cells"]) if c.get("metadata", {}).get("nbgrader", {}).get("grade") and i in scopes
    ]
    while todo:
        index = todo.pop()
        free = scopes[index].free
        reads = set(providers[index]) if "get_ipython" in free else free
        for name in reads:
            source = providers[index].get(name)
            if source is not None and source not in needed:
                needed.add(source)
                todo.append(source)
    return needed
