"""Helpers shared by several test files: loading repository scripts, finding Chromium."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: headless flags: no sandbox (containers), no GPU, no background traffic or first-run pages
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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


def find_chromium() -> str | None:
    """``$CHROMIUM`` or the first Chromium/Chrome on the PATH (None if there is none)."""
    return os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


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
