"""Fixtures shared by the homework test files."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def homework_build(tmp_path_factory) -> dict[str, dict]:
    """Every homework built once per session (``otter assign`` with its tests, 2 in parallel);
    maps name -> build summary plus ``dir``. ``make test`` has just built them into
    homework/dist (for the website) from the same sources: that build is used, not repeated.
    Otherwise they are built into a pytest temporary folder. Tests only read these folders."""
    hwbuild = load_script("homework_build", ROOT / "homework" / "build.py")
    summaries = hwbuild.existing_build(hwbuild.DIST)
    out = hwbuild.DIST
    if summaries is None:
        out = tmp_path_factory.mktemp("homework-dist")
        summaries = hwbuild.build(out=out, jobs=2)
    return {s["name"]: {**s, "dir": out / s["name"]} for s in summaries}
