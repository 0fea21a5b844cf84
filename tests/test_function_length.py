"""No function of the package is longer than MAX_LINES lines (split it into named helpers)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dropoutcourse"
MAX_LINES = 60
#: Left out, relative to the package: nothing (a path here would skip that file or folder).
EXCLUDED: tuple[str, ...] = ()


def _checked_files() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.relative_to(PACKAGE).as_posix().startswith(EXCLUDED)
    ]


def long_functions(max_lines: int = MAX_LINES) -> list[str]:
    """``file:line name (N lines)`` for every function (def line to last line) over the limit."""
    found = []
    for path in _checked_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > max_lines:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({n})")
    return found


def test_the_exclusions_exist():
    for name in EXCLUDED:
        assert (PACKAGE / name.rstrip("/")).exists(), f"{name} is excluded but does not exist"
    assert len(_checked_files()) > 20


def test_no_function_is_longer_than_the_limit():
    assert long_functions() == [], f"functions over {MAX_LINES} lines: split them"


def test_the_check_finds_a_long_function():
    assert long_functions(max_lines=5), "the walk found no function at all"
