"""Helpers shared by several test files: loading repository scripts, finding Chromium."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _slides_build() -> ModuleType:
    """slides/build.py, which holds the repository's one script loader (``load_script``).

    slides/ is not a package and the loader cannot load the file it is defined in, so this
    one file is loaded by hand; everything else goes through ``load_script``.
    """
    spec = importlib.util.spec_from_file_location("slides_build", ROOT / "slides" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so load_script("slides_build", ...) finds this one
    spec.loader.exec_module(module)
    return module


# load_script(name, path): import a script by path under name, once per name (several
# folders have a build.py, and ``build`` is also a PyPI package)
load_script = _slides_build().load_script

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
