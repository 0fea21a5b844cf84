"""Helpers shared by several test files: loading repository scripts, finding Chromium."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str, path: Path) -> ModuleType:
    """Import a repository script by path under ``name`` (several folders have a build.py, and
    ``build`` is also a PyPI package); loaded once per name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# the finder and flags the slide build uses too (one copy, in tools/chromium.py)
_chromium = load_script("chromium", ROOT / "tools" / "chromium.py")
CHROMIUM_ARGS = _chromium.CHROMIUM_ARGS
find_chromium = _chromium.find_chromium


def require_chromium(purpose: str = "the browser tests") -> str:
    """Chromium's path; skip the test without it (fail in CI, where .ci/run installs it)."""
    found = find_chromium()
    if found is None:
        msg = (
            "Chromium not found: install it with `sudo apt-get install chromium` "
            f"(or set CHROMIUM=/path/to/chrome) to run {purpose}"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found
