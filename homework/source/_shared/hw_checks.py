"""Checks shared by the homework tests (this file ships with every assignment).

In the student's notebook each public test loads this file by path (``runpy.run_path``) and
runs with the live notebook functions (:func:`own` inspects them). The grader runs every test,
hidden ones included, in a separate process where no notebook code runs; there the notebook's
functions are only reachable by calling them, so :func:`own` is replaced by a check of the
notebook's source text (:func:`static_delegation`, :func:`static_patches`). Students may read
this file: it holds no answers, only the rules every graded function must follow.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import sys
import types
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

PACKAGE = "dropoutcourse"
# modules of the course package an answer may use (everything else holds reference answers)
ALLOWED = ("dropoutcourse.gradcheck",)
REFERENCE = "dropoutcourse.reference"


def _forbidden_module(name: object) -> bool:
    if not isinstance(name, str) or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
        return False
    return not any(name == a or name.startswith(a + ".") for a in ALLOWED)


def _refers_to_package(obj: object) -> bool:
    return any(_forbidden_module(getattr(obj, a, None)) for a in ("__name__", "__module__"))


def _code_names(code: types.CodeType) -> tuple[set[str], list[str]]:
    """Global/attribute names and string constants used by ``code`` and its nested functions."""
    names: set[str] = set()
    strings: list[str] = []
    todo = [code]
    while todo:
        c = todo.pop()
        names |= set(c.co_names)
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                todo.append(const)
            elif isinstance(const, str):
                strings.append(const)
    return names, strings


def delegation(f: object, name: str) -> str | None:
    """Why ``f`` does not count as the student's own work, or ``None`` when it does.

    ``f`` must be a plain function; neither it nor any function of the notebook it calls (followed
    recursively) may use the course package's modules (other than ``gradcheck``), whether through
    an import, an alias, a module attribute (``dropoutcourse.reference.x``), a closure or a
    string passed to ``__import__``/``importlib``.
    """
    if not isinstance(f, types.FunctionType):
        return f"{name} must be a function defined with def in your notebook"
    seen: set[int] = set()
    todo: list[object] = [f]
    while todo:
        g = todo.pop()
        if id(g) in seen:
            continue
        seen.add(id(g))
        if isinstance(g, partial):
            todo += [g.func, *g.args, *g.keywords.values()]
            continue
        if _refers_to_package(g):
            return f"{name} uses {getattr(g, '__module__', None) or g.__name__}"
        if not isinstance(g, types.FunctionType):
            continue
        names, strings = _code_names(g.__code__)
        if any(PACKAGE in s for s in strings):
            return f"{name} names the package {PACKAGE!r} in a string"
        if "reference" in names or "theory" in names:
            return f"{name} uses a module attribute 'reference'/'theory'"
        used = [g.__globals__[n] for n in names if n in g.__globals__]
        used += [c.cell_contents for c in g.__closure__ or () if _has_contents(c)]
        used += list(g.__defaults__ or ()) + list((g.__kwdefaults__ or {}).values())
        for obj in used:
            if isinstance(obj, types.ModuleType | type) or callable(obj):
                todo.append(obj)
    return None


def _has_contents(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:  # an empty closure cell
        return False
    return True


def patched_reference() -> list[str]:
    """Names of ``dropoutcourse.reference`` that the notebook has replaced."""
    module = sys.modules.get(REFERENCE)
    if module is None:
        return []
    # its own functions and the package helpers it imports come from the package; anything
    # else (a notebook function, a lambda) was put there by the notebook
    return [
        n
        for n, v in vars(module).items()
        if callable(v)
        and not isinstance(v, type)
        and not str(getattr(v, "__module__", "")).startswith((PACKAGE, "numpy", "__future__"))
    ]


def own(f: object, name: str) -> None:
    """Fail unless ``f`` is the student's own implementation (see :func:`delegation`)."""
    why = delegation(f, name)
    assert why is None, (
        f"{why}: implement {name} yourself with NumPy; code that calls the course package's "
        "reference implementations gets no credit"
    )
    patched = patched_reference()
    assert not patched, (
        f"your notebook replaced {patched} in {REFERENCE}; the tests compare against a private "
        "copy, so patching the package only costs you the points of this test"
    )


def reference() -> types.ModuleType:
    """A private copy of ``dropoutcourse/reference.py`` that no notebook code can have patched."""
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.submodule_search_locations, f"{PACKAGE} is not installed"
    path = Path(list(spec.submodule_search_locations)[0]) / "reference.py"
    private = importlib.util.spec_from_file_location("_private_reference", path)
    module = importlib.util.module_from_spec(private)
    private.loader.exec_module(module)
    return module


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Capture what the tested code prints, so a leftover ``print`` never fails a test."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


def run(test: Callable[[types.SimpleNamespace], None]) -> None:
    """Run one test case, passing it these checks, with the tested code's output captured.

    A test cell ends with ``__import__("runpy").run_path("hw_checks.py")["run"](_test)``.
    """
    checks = types.SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith("_")})
    with quiet():
        test(checks)


# ------------------------------------------------------------- the same rules, on source text


def _bindings(cells: list[str]) -> tuple[dict[str, ast.AST], list[str]]:
    """Last top-level binding of every name in the notebook's cells, and its star imports.

    A binding is the ``def``/``class``/``import``/assignment statement (or ``for``/``with``
    target) that gave the name its final value, in cell order; statements inside ``if``/``try``/
    ``with``/``for`` blocks count, function bodies do not.
    """
    bound: dict[str, ast.AST] = {}
    stars: list[str] = []
    todo = [stmt for tree in _trees(cells) for stmt in tree.body]
    while todo:
        stmt = todo.pop(0)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound[stmt.name] = stmt
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                if alias.name == "*":
                    stars.append(str(getattr(stmt, "module", "")))
                else:
                    bound[alias.asname or alias.name.split(".")[0]] = stmt
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound[node.id] = stmt
            for field in ("body", "orelse", "finalbody", "handlers"):
                todo[:0] = [s for s in getattr(stmt, field, []) if isinstance(s, ast.stmt)]
    return bound, stars


def _trees(cells: list[str]) -> list[ast.Module]:
    """The cells that parse as Python (IPython magics and shell lines blanked out)."""
    trees = []
    for source in cells:
        lines = [
            line[: len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("%", "!"))
            else line
            for line in source.split("\n")
        ]
        try:
            trees.append(ast.parse("\n".join(lines)))
        except SyntaxError:
            continue
    return trees


def _import_targets(stmt: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """Bound name -> module (or module attribute) it refers to, for one import statement."""
    if isinstance(stmt, ast.Import):
        return {
            a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
            for a in stmt.names
        }
    base = "." * stmt.level + (stmt.module or "")
    return {a.asname or a.name: f"{base}.{a.name}" for a in stmt.names}


def _statement_names(stmt: ast.AST) -> tuple[set[str], list[str]]:
    """Names and strings the compiled statement uses (its bodies, defaults and decorators)."""
    module = ast.Module(
        body=[stmt] if isinstance(stmt, ast.stmt) else [ast.Expr(stmt)], type_ignores=[]
    )
    # compile, never run: the code objects list every global, attribute and string used
    return _code_names(compile(ast.fix_missing_locations(module), "<notebook>", "exec"))


def static_delegation(cells: list[str], name: str) -> str | None:
    """:func:`delegation` from the notebook's source text alone (nothing is executed).

    ``name`` must be bound last by a ``def`` in the notebook; neither that function nor any
    notebook definition it uses (followed recursively, defaults and decorators included) may
    use the course package's modules other than ``gradcheck``: by an import, an alias, an
    attribute ``reference``/``theory``, or a string naming the package.
    """
    bound, stars = _bindings(cells)
    if any(_forbidden_module(s) for s in stars):
        return f"your notebook imports * from {[s for s in stars if _forbidden_module(s)]}"
    first = bound.get(name)
    if not isinstance(first, ast.FunctionDef):
        return f"{name} must be a function defined with def in your notebook"
    seen: set[int] = set()
    todo: list[ast.AST] = [first]
    while todo:
        stmt = todo.pop()
        if id(stmt) in seen:
            continue
        seen.add(id(stmt))
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            bad = [m for m in _import_targets(stmt).values() if _forbidden_module(m)]
            if bad:
                return f"{name} uses {bad[0]}"
            continue
        names, strings = _statement_names(stmt)
        if any(PACKAGE in s for s in strings):
            return f"{name} names the package {PACKAGE!r} in a string"
        if "reference" in names or "theory" in names:
            return f"{name} uses a module attribute 'reference'/'theory'"
        if any(_forbidden_module(n) for n in names):
            return f"{name} imports {next(n for n in names if _forbidden_module(n))}"
        todo += [bound[n] for n in names if n in bound]
    return None


def static_patches(cells: list[str]) -> list[str]:
    """Attributes of the course package (other than ``gradcheck``) the notebook assigns to.

    Covers ``module.attr = ...``, ``setattr(module, "attr", ...)`` and ``del`` on names bound
    to a package module by an import, and ``sys.modules[...]`` entries of the package.
    """
    bound, _ = _bindings(cells)
    modules = {
        n: target
        for n, stmt in bound.items()
        if isinstance(stmt, ast.Import | ast.ImportFrom)
        for bname, target in _import_targets(stmt).items()
        if bname == n
    }

    def module_of(node: ast.AST) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in modules:
            return ".".join([modules[node.id], *parts])
        return None

    patched = []
    for tree in _trees(cells):
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = node.targets if hasattr(node, "targets") else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _forbidden_module(module_of(target.value)):
                    patched.append(f"{module_of(target.value)}.{target.attr}")
                elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    if _forbidden_module(target.slice.value):
                        patched.append(f"sys.modules[{target.slice.value!r}]")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "delattr")
                and node.args
                and _forbidden_module(module_of(node.args[0]))
            ):
                patched.append(f"{module_of(node.args[0])} (via {node.func.id})")
    return patched


def own_static(cells: list[str], f: object, name: str) -> None:
    """:func:`own` for the grader: the same rules, checked on the notebook's source text."""
    why = (
        static_delegation(cells, name)
        if callable(f)
        else (f"{name} must be a function defined with def in your notebook")
    )
    assert why is None, (
        f"{why}: implement {name} yourself with NumPy; code that calls the course package's "
        "reference implementations gets no credit"
    )
    patched = static_patches(cells)
    assert not patched, (
        f"your notebook replaced {patched} in {REFERENCE}; the tests compare against a private "
        "copy, so patching the package only costs you the points of this test"
    )


# --------------------------------------------------------------------------- experiments (hw3)


def changed_settings(expected: dict[str, object], env: dict[str, object]) -> list[str]:
    """Names in ``expected`` whose value in the notebook's namespace ``env`` differs."""
    return [name for name, value in expected.items() if env.get(name) != value]


def retrain(data: object, rows: list[tuple[float, int]], training: dict) -> dict:
    """Train the replicas ``(hidden_rate, seed)`` with ``training``; map each to its final row."""
    from dropoutcourse.engine import ReplicaConfig, train_replicas

    configs = [ReplicaConfig(hidden_rate=float(r), seed=int(s)) for r, s in rows]
    final = train_replicas(data, configs, **training).final().reset_index(drop=True)
    return {row: final.iloc[i] for i, row in enumerate(rows)}


def spot_rows(final: object, rates: list[float]) -> list[tuple[float, int]]:
    """Up to three (rate, seed) rows of ``final`` to re-train: rate 0, the best rate, the last rate."""
    by_rate = final.groupby("hidden_rate")["test_acc"].mean()
    picks = []
    for k, rate in enumerate(dict.fromkeys([rates[0], float(by_rate.idxmax()), rates[-1]])):
        seeds = sorted(final.loc[final["hidden_rate"] == rate, "seed"].tolist())
        if seeds:
            picks.append((float(rate), int(seeds[(k + 1) % len(seeds)])))
    return picks


def not_trained(final: object, reference: dict, columns: tuple[str, ...]) -> list[str]:
    """Rows of ``final`` that disagree with the re-trained ``reference`` rows."""
    bad = []
    for (rate, seed), expected in reference.items():
        got = final[(final["hidden_rate"] == rate) & (final["seed"] == seed)]
        for column in columns:
            if column not in got.columns or len(got) == 0:
                bad.append(f"rate {rate}, seed {seed}: no {column}")
            elif not all(abs(float(v) - float(expected[column])) < 1e-4 for v in got[column]):
                bad.append(
                    f"rate {rate}, seed {seed}: {column} {got[column].tolist()} but training "
                    f"gives {float(expected[column]):.4f}"
                )
    return bad


HW3_RATES = [0.0, 0.2, 0.4, 0.6]
HW3_SEEDS = [0, 1, 2, 3, 4]
HW3_TRAINING = dict(hidden=(128, 128), epochs=40, learning_rate=0.01, verbose=False)


def hw3_not_trained(final: object, cache: dict) -> list[str]:
    """Why homework 3's ``final`` is not what training gives (empty when it is).

    Training is deterministic, so up to three of the notebook's replicas are trained again with
    the stated settings (once per grading; ``cache`` keeps them) and compared row by row.
    """
    import pandas as pd

    from dropoutcourse.data import load_digits

    if not isinstance(final, pd.DataFrame) or not {"hidden_rate", "seed"} <= set(final.columns):
        return ["final is not the DataFrame returned by result.final()"]
    if "rows" not in cache:
        rows = spot_rows(final, HW3_RATES)
        cache["rows"] = retrain(load_digits(train_size=200, seed=0), rows, HW3_TRAINING)
    return not_trained(final, cache["rows"], ("test_acc", "train_acc"))
