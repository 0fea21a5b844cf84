"""``grade.py --container``: the command it runs, and a real grading where an engine runs.

The grading test needs a running Docker or Podman engine (a client alone is not enough) and
skips with a message otherwise. It uses ``$HOMEWORK_GRADER_IMAGE`` when set, else builds
``homework/Containerfile`` (several minutes: the locked dependencies are installed).
"""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
hwgrade = load_script("homework_grade", ROOT / "homework" / "grade.py")
HW1 = "hw1-implement-dropout"


def test_the_container_command_has_no_network_and_a_read_only_root(tmp_path):
    cmd = hwgrade.container_command("docker", "img", "grade-x", tmp_path, 2)
    text = " ".join(cmd)
    for flag in (
        "--network none",
        "--read-only",
        "--cap-drop ALL",
        "--memory 2g",
        "no-new-privileges",
        f"{tmp_path}:/grade/work",
        f"{hwgrade.SANDBOX_PATH}:/grade/sandbox.py:ro",
    ):
        assert flag in text, (flag, cmd)
    assert cmd[-4:] == ["img", "python", "/grade/sandbox.py", "score"]
    assert not any(a.startswith("-e") and "PATH=" in a for a in cmd), "PATH is the image's"


def test_the_command_line_refuses_a_container_without_an_engine(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hwgrade, "container_available", lambda runtime: False)
    (tmp_path / "a-autograder.zip").write_bytes(b"")
    with pytest.raises(SystemExit):
        hwgrade.main([str(tmp_path / "a-autograder.zip"), str(tmp_path), "--container", "podman"])
    assert "no running podman engine" in capsys.readouterr().err


@pytest.fixture(scope="session")
def container_runtime() -> str:
    """docker or podman with a running engine; skips (before any build) when there is none."""
    for runtime in ("docker", "podman"):
        if hwgrade.container_available(runtime):
            return runtime
    pytest.skip(
        "no running Docker or Podman engine (`docker info` fails; a client alone is not "
        "enough): the container path of grade.py is not exercised here"
    )


@pytest.mark.slow
def test_grading_in_a_container_gives_the_same_scores(container_runtime, homework_build, tmp_path):
    runtime = container_runtime
    image = os.environ.get("HOMEWORK_GRADER_IMAGE")
    if image is None:
        image = "dropoutcourse-grader:test"
        build = [runtime, "build", "-f", "homework/Containerfile", "-t", image, "."]
        subprocess.run(build, cwd=ROOT, check=True)
    summary = homework_build[HW1]
    folder = tmp_path / "subs"
    folder.mkdir()
    solution = nbformat.read(summary["dir"] / "autograder" / f"{HW1}.ipynb", as_version=4)
    nbformat.write(solution, folder / "correct.ipynb")
    student = nbformat.read(summary["dir"] / "student" / f"{HW1}.ipynb", as_version=4)
    first = next(c for c in student.cells if c.cell_type == "code")
    first.source = "import runpy\nrunpy.run_path = lambda *a, **k: {'run': print}\n" + first.source
    nbformat.write(student, folder / "tampered.ipynb")
    out = tmp_path / "grades"
    args = [summary["zip"], str(folder), "--out", str(out), "--container", runtime]
    assert hwgrade.main([*args, "--image", image, "--timeout", "120"]) == 0
    with open(out / HW1 / "scores.csv") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    assert float(rows["correct.ipynb"]["total"]) == float(rows["correct.ipynb"]["possible"])
    assert float(rows["tampered.ipynb"]["total"]) == 0, rows
