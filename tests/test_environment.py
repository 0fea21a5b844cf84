"""The set-up files agree with each other, and the house rules hold."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_yml_uses_conda_forge_and_python_311():
    env = _environment()
    assert env["channels"] == ["conda-forge"]
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"]
    requires = _pyproject()["project"]["requires-python"]
    assert ">=3.11" in requires, "environment.yml pins 3.11, pyproject must allow it"


def test_environment_yml_does_not_contradict_pyproject_pins():
    """Runtime deps come from pyproject via `-e .`; conda may only add non-Python tools."""
    runtime = {
        re.split(r"[<>=!\[ ;]", dep, maxsplit=1)[0].lower()
        for dep in _pyproject()["project"]["dependencies"]
    }
    conda_pkgs = {
        re.split(r"[<>=! ]", d, maxsplit=1)[0].lower()
        for d in _environment()["dependencies"]
        if isinstance(d, str)
    }
    clash = (conda_pkgs & runtime) - {"python", "pip"}
    assert not clash, f"pin these only in pyproject.toml, not in environment.yml: {clash}"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip().startswith("make ")]
    assert commands == ["make test"]


def test_nothing_reads_the_shared_folder():
    """Users clone the project alone: no code or notebook may reach for ../shared."""
    offenders = []
    for path in ROOT.rglob("*"):
        if any(p in path.parts for p in (".venv", "node_modules", ".git", "build", "dist")):
            continue
        if path.suffix in {".py", ".ipynb", ".md", ".toml", ".yml", ".json"} and path.is_file():
            if path.resolve() == Path(__file__).resolve():
                continue
            if re.search(r"\.\./shared|/work/shared", path.read_text(errors="ignore")):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


@pytest.mark.parametrize(
    "module",
    [
        "dropoutcourse",
        "dropoutcourse.reference",
        "dropoutcourse.theory",
        "dropoutcourse.gradcheck",
        "dropoutcourse.uncertainty",
    ],
)
def test_numpy_modules_do_not_import_tensorflow(module):
    code = f"import sys, {module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"{module} pulled in TensorFlow/Keras"
