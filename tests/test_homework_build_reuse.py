"""`make test` builds the homework once: the tests reuse homework/dist only when it was built
from exactly the current sources (homework/build.py's recorded fingerprint)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
hwbuild = load_script("homework_build", ROOT / "homework" / "build.py")


def _record(out: Path, name: str, sources: str, returncode: int = 0) -> None:
    (out / name).mkdir(parents=True)
    summary = {"name": name, "returncode": returncode, "log": "", "sources": sources}
    (out / name / hwbuild.SUMMARY).write_text(json.dumps(summary), encoding="utf-8")


def test_a_build_of_the_current_sources_is_reused(tmp_path):
    current = hwbuild.sources_fingerprint()
    for name in hwbuild.masters():
        _record(tmp_path, name, current)
    reused = hwbuild.existing_build(tmp_path)
    assert [s["name"] for s in reused] == list(hwbuild.masters())
    assert all("sources" not in s for s in reused)


def test_a_stale_failed_or_partial_build_is_not_reused(tmp_path):
    names = list(hwbuild.masters())
    current = hwbuild.sources_fingerprint()
    for name in names[:-1]:
        _record(tmp_path, name, current)
    assert hwbuild.existing_build(tmp_path) is None  # one homework missing
    _record(tmp_path, names[-1], "0" * 64)
    assert hwbuild.existing_build(tmp_path) is None  # built from other sources
    (tmp_path / names[-1] / hwbuild.SUMMARY).unlink()
    (tmp_path / names[-1]).rmdir()
    _record(tmp_path, names[-1], current, returncode=1)
    assert hwbuild.existing_build(tmp_path) is None  # otter assign failed


def test_the_fingerprint_follows_the_sources_and_the_settings(monkeypatch, tmp_path):
    assert hwbuild.sources_fingerprint(package="other") != hwbuild.sources_fingerprint()
    assert hwbuild.sources_fingerprint(run_tests=False) != hwbuild.sources_fingerprint()
    copy = tmp_path / "homework"  # a copy of the sources, edited below
    shutil.copytree(hwbuild.SOURCE, copy / "source")
    monkeypatch.setattr(hwbuild, "HERE", copy)
    monkeypatch.setattr(hwbuild, "SOURCE", copy / "source")
    monkeypatch.setattr(hwbuild, "TEMPLATES", copy / "templates")
    before = hwbuild.sources_fingerprint()
    assert hwbuild.sources_fingerprint() == before
    master = next(iter((copy / "source").glob("hw*/hw*.ipynb")))
    master.write_text(master.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert hwbuild.sources_fingerprint() != before
