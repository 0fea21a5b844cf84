"""Per-claim cache key: a claim is retrained only when code it runs, or its settings, change.

The key hashes the claim's settings (name, seeds, the switch state of
:mod:`dropoutcourse.switches`), the library versions, and the code the claim's *experiment*
runs: in its lecture module, the definitions the experiment function reaches (functions and
constants it names, transitively; :func:`experiment_fingerprint`), and the full source of every
module of ``dropoutcourse`` those definitions import, transitively. So editing a claim's
decision rule, its statement or its thresholds re-judges the cached data without retraining,
while editing anything the training runs retrains. Imports are read with :mod:`ast` from the
files (never by importing them), including imports inside functions (the package imports
lazily). A package's ``__init__`` counts only when it is itself imported
(``from dropoutcourse import claims``), not for ``from dropoutcourse.x import y``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

try:  # POSIX: a lock the kernel releases when its process dies (no stale lock files)
    import fcntl
except ImportError:  # Windows: no lock; two processes may then train the same claim twice
    fcntl = None

#: Environment variable naming the cache folder (``make test`` sets it).
CACHE_ENV = "DROPOUTCOURSE_CLAIMS_CACHE"
ROOT = Path(__file__).resolve().parents[1]  # the dropoutcourse package
_LIBRARIES = ("numpy", "tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "mnist1d")


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of ``dropoutcourse.<...>`` under ``root`` (a module or a package's __init__)."""
    parts = module.split(".")
    if parts[0] != root.name:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, root: Path) -> set[str]:
    """Modules of the package named by the import statements of ``path``."""
    return _imports_in(ast.parse(path.read_text(encoding="utf-8")), root)


def _imports_in(tree: ast.AST, root: Path) -> set[str]:
    """Modules of the package named by the import statements inside ``tree``."""
    found: set[str] = set()
    package = root.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != package:
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if module_file(sub, root) else node.module)
    return found


def dependencies(module: str, root: Path = ROOT) -> list[Path]:
    """Every package file ``module`` imports, transitively (itself included), sorted.

    Imports from outside ``<package>.claims`` into it are not followed: the trainers never
    run the claims' decision code, so editing a decision rule must not retrain every claim.
    """
    claims_pkg = f"{root.name}.claims"
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = module_file(name, root)
        if name in seen or path is None:
            continue
        seen[name] = path
        found = _imported_modules(path, root) - set(seen)
        if not name.startswith(claims_pkg):
            found = {m for m in found if not m.startswith(claims_pkg)}
        todo += sorted(found)
    return sorted(set(seen.values()))


@lru_cache(maxsize=1)
def _library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for pkg in _LIBRARIES:
        try:
            found.append(f"{pkg}={version(pkg)}")
        except PackageNotFoundError:
            pass
    return ";".join(found)


def fingerprint(module: str, root: Path = ROOT) -> str:
    """Hash of the source ``module`` runs and of the numeric libraries' versions."""
    h = hashlib.sha256()
    for path in dependencies(module, root):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    h.update(_library_versions().encode())
    h.update(os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").encode())
    return h.hexdigest()[:16]


def _top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    """Name → defining statement (function, class, assignment) of a module's top level."""
    defs: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defs[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        defs[n.id] = node
        elif isinstance(node, ast.ImportFrom | ast.Import):
            for alias in node.names:
                defs[(alias.asname or alias.name).split(".")[0]] = node
    return defs


def _reached(module: str, function: str, root: Path) -> tuple[dict, set[str]] | None:
    """Top-level definitions ``module.function`` reaches, following names imported from other
    modules of ``<package>.claims`` into *their* definitions; plus the other package modules
    the reached code imports. None when ``function`` is not a top-level definition."""
    claims_pkg = f"{root.name}.claims"
    parsed: dict[str, dict[str, ast.stmt]] = {}

    def defs(mod: str) -> dict[str, ast.stmt]:
        if mod not in parsed:
            path = module_file(mod, root)
            parsed[mod] = _top_level(ast.parse(path.read_text(encoding="utf-8"))) if path else {}
        return parsed[mod]

    if function not in defs(module):
        return None
    reached: dict[tuple[str, str], ast.stmt] = {}
    imported: set[str] = set()
    todo = [(module, function)]
    while todo:
        mod, name = todo.pop()
        node = defs(mod).get(name)
        if (mod, name) in reached or node is None:
            continue
        reached[(mod, name)] = node
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(claims_pkg):
            alias = next(a for a in node.names if (a.asname or a.name) == name)
            if module_file(f"{node.module}.{alias.name}", root) is None:  # a name, not a module
                todo.append((node.module, alias.name))
                continue
        imported |= _imports_in(node, root)
        todo += [(mod, n.id) for n in ast.walk(node) if isinstance(n, ast.Name)]
    return reached, imported - {module}


def experiment_fingerprint(module: str, function: str, root: Path = ROOT) -> str:
    """Hash of what ``module.function`` runs: the top-level definitions it reaches (by name,
    transitively, also into other claims modules it imports names from) and the full source
    of every other package module they import.

    Falls back to :func:`fingerprint` of the whole module when ``function`` is not a
    top-level definition of it (e.g. a lambda).
    """
    found = _reached(module, function, root)
    if found is None:
        return fingerprint(module, root)
    reached, imported = found
    h = hashlib.sha256()
    for (mod, name), node in sorted(reached.items(), key=lambda kv: kv[0]):
        h.update(f"{mod}:{name}".encode())
        h.update(ast.dump(node).encode())
    files = {p for m in sorted(imported) for p in dependencies(m, root)}
    for dep in sorted(files):
        h.update(dep.relative_to(root).as_posix().encode())
        h.update(dep.read_bytes())
    h.update(_library_versions().encode())
    h.update(os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").encode())
    return h.hexdigest()[:16]


def cache_path(
    name: str, module: str, seeds: list[int], dropout: bool, function: str | None = None
) -> Path | None:
    """Where claim ``name`` on ``seeds`` is cached (None without ``$DROPOUTCOURSE_CLAIMS_CACHE``).

    ``function`` (the experiment's name in ``module``) narrows the code hashed to what it
    reaches (:func:`experiment_fingerprint`). Runs without dropout (the negative control) get
    their own key and file name, so they never read or overwrite the normal entries.
    """
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    code = fingerprint(module) if function is None else experiment_fingerprint(module, function)
    key = json.dumps([name, seeds, len(seeds), dropout, code])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    tag = "" if dropout else "-nodropout"
    return Path(folder) / f"{name}-{seeds[0]}{tag}-{digest}.pkl"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for cache entry ``path`` while inside the block.

    Parallel test workers (``pytest -n``) and the slide build may ask for the same claim at
    once; with the lock the second one waits and then reads what the first one wrote,
    instead of training the claim again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
