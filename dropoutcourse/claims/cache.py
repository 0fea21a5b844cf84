"""Per-claim cache key: a claim is retrained only when code it runs, or its settings, change.

The key hashes the claim's settings (name, seeds, the switch state of
:mod:`dropoutcourse.switches`), the library versions, and the source of the modules of
``dropoutcourse`` that the claim's lecture module imports, transitively. Imports are read
with :mod:`ast` from the files (never by importing them), including imports inside functions
(the package imports lazily). A package's ``__init__`` counts only when it is itself imported
(``from dropoutcourse import claims``), not for ``from dropoutcourse.x import y``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

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
    found: set[str] = set()
    package = root.name
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
    """Every package file ``module`` imports, transitively (itself included), sorted."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = module_file(name, root)
        if name in seen or path is None:
            continue
        seen[name] = path
        todo += sorted(_imported_modules(path, root) - set(seen))
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


def cache_path(name: str, module: str, seeds: list[int], dropout: bool) -> Path | None:
    """Where claim ``name`` on ``seeds`` is cached (None without ``$DROPOUTCOURSE_CLAIMS_CACHE``).

    Runs without dropout (the negative control) get their own key and file name, so they
    never read or overwrite the normal entries.
    """
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    key = json.dumps([name, seeds, len(seeds), dropout, fingerprint(module)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    tag = "" if dropout else "-nodropout"
    return Path(folder) / f"{name}-{seeds[0]}{tag}-{digest}.pkl"
