"""``claims.train_in_background``: a lecture's claims trained beside the notebook, same numbers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dropoutcourse import claims
from dropoutcourse.claims import background

CHEAP = "pixel_drop"  # a few seconds, the cheapest claim that trains a network


def _state(pid: int) -> str | None:
    """The process' state letter (Z: exited, not reaped), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


def test_the_background_run_is_what_claims_run_reads_and_gives(monkeypatch):
    monkeypatch.setenv(claims.CACHE_ENV, "")  # no cache folder (restored after the test)
    process = claims.train_in_background([CHEAP], cores=1)  # one thread: the same numbers
    folder = os.environ[claims.CACHE_ENV]  # a folder made for this session
    assert process.wait(timeout=300) == 0, (Path(folder) / background.LOG_NAME).read_text()
    path = claims.get(CHEAP).cache_path()
    assert path.exists() and str(path).startswith(folder)
    written = path.stat().st_mtime_ns
    result = claims.run(CHEAP)  # reads the entry, trains nothing
    assert path.stat().st_mtime_ns == written
    fresh = claims.run(CHEAP, cache=False)
    assert result.numbers == fresh.numbers and result.holds == fresh.holds
    # everything asked for is cached now: nothing is started
    assert claims.train_in_background([(CHEAP, claims.DEFAULT_OFFSET)]) is None


def test_bad_names_get_errors_that_name_them(tmp_path, monkeypatch):
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    with pytest.raises(KeyError, match="no_such_claim"):
        claims.train_in_background(["no_such_claim"])
    with pytest.raises(TypeError, match="names must be a list"):
        claims.train_in_background(CHEAP)
    with pytest.raises(ValueError, match="seed_offset"):
        claims.train_in_background([(CHEAP, -1)])
    with pytest.raises(ValueError, match="cores"):
        claims.train_in_background([CHEAP], cores=0)
    assert not list(tmp_path.iterdir()), "nothing started, nothing written"


def test_the_background_process_ends_with_the_kernel_that_started_it(tmp_path):
    """A kernel that is restarted or closed leaves no training process behind."""
    parent = (
        "import sys, dropoutcourse.claims as c\n"
        f"p = c.train_in_background([{CHEAP!r}])\n"
        "print(p.pid, flush=True)\n"  # then this parent exits at once
    )
    env = {**os.environ, claims.CACHE_ENV: str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", parent], env=env, capture_output=True, text=True, check=True
    )
    child = int(out.stdout.split()[-1])
    deadline = time.monotonic() + 30
    while _state(child) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _state(child) in (None, "Z"), "the background process outlived its parent"
