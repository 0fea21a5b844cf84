"""Checks shared by the homework tests (this file ships with every assignment).

Each test loads this file by path into a fresh namespace (``runpy.run_path``), so names that a
notebook redefines or patches never change what a test does. Students may read it: it holds
no answers, only the rules every graded function must follow.
"""

from __future__ import annotations

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
    return [
        n
        for n, v in vars(module).items()
        if isinstance(v, types.FunctionType) and v.__module__ != REFERENCE
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
