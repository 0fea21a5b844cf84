"""Install anywhere: the lock file, pyproject.toml, environment.yml, Binder and the Makefile agree.

The lock (requirements/lock.txt, `make lock`) pins every package for every supported platform;
`make lab`/`make test`, conda (environment.yml) and Binder all install from it. The
resolution tests ask a resolver that evaluates environment markers for the *target* platform
(uv) whether every pinned version has a wheel there; they need the package registry and are
skipped with a message without it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# uv's target triples and the marker values a Python there reports
PLATFORMS = {
    "x86_64-unknown-linux-gnu": {"sys_platform": "linux", "platform_machine": "x86_64"},
    "aarch64-unknown-linux-gnu": {"sys_platform": "linux", "platform_machine": "aarch64"},
    "aarch64-apple-darwin": {"sys_platform": "darwin", "platform_machine": "arm64"},
    "x86_64-pc-windows-msvc": {"sys_platform": "win32", "platform_machine": "AMD64"},
}
SYSTEMS = {"linux": ("Linux", "posix"), "darwin": ("Darwin", "posix"), "win32": ("Windows", "nt")}
PYTHONS = ("3.11", "3.12")
# where TensorFlow publishes a CPU-only wheel; elsewhere the course needs plain `tensorflow`
TF_CPU_PLATFORMS = {"x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"}


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def active(self, env: dict[str, str]) -> bool:
        return self.marker is None or self.marker.evaluate(env)


def read_lock(path: Path = LOCK) -> list[Pin]:
    """Parse a pip-style hashed requirements file (one `name==version ; marker` per entry)."""
    text = path.read_text().replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = tuple(re.findall(r"--hash=(\S+)", line))
        req = Requirement(re.sub(r"\s*--hash=\S+", "", line))
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}: {line!r} is not an exact pin"
        pins.append(Pin(canonicalize_name(req.name), Version(spec.version), req.marker, hashes))
    return pins


def marker_env(platform: str, python: str, full: str | None = None) -> dict[str, str]:
    system, os_name = SYSTEMS[PLATFORMS[platform]["sys_platform"]]
    return {
        **PLATFORMS[platform],
        "platform_system": system,
        "os_name": os_name,
        "python_version": python,
        "python_full_version": full or f"{python}.0",  # as uv's --python-version 3.11
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


ENVIRONMENTS = {
    f"{platform}-py{full}": marker_env(platform, full[:4], full)
    for platform in PLATFORMS
    for full in ("3.11.0", "3.11.9", "3.12.0")
}


def project_requirements() -> list[Requirement]:
    """The runtime requirements and those of every extra, without the self-references (`all`)."""
    lines = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        lines += extra
    reqs = [Requirement(line) for line in lines]
    return [r for r in reqs if canonicalize_name(r.name) != canonicalize_name(PROJECT["name"])]


PINS = read_lock()


# --------------------------------------------------------------------------- the lock itself
def test_lock_pins_every_entry_exactly_with_hashes():
    assert len(PINS) > 50, "the lock should pin the whole environment, not only direct deps"
    unhashed = [p.name for p in PINS if not p.hashes]
    assert not unhashed, f"no --hash for {unhashed}: regenerate with `make lock`"
    assert all(h.startswith("sha256:") for p in PINS for h in p.hashes)


@pytest.mark.parametrize("env_id", sorted(ENVIRONMENTS))
def test_lock_has_one_version_per_package_on_each_platform(env_id):
    env = ENVIRONMENTS[env_id]
    seen: dict[str, list[Version]] = {}
    for pin in PINS:
        if pin.active(env):
            seen.setdefault(pin.name, []).append(pin.version)
    twice = {name: versions for name, versions in seen.items() if len(versions) > 1}
    assert not twice, f"{env_id}: several pins active at once: {twice}"


@pytest.mark.parametrize("env_id", sorted(ENVIRONMENTS))
def test_lock_satisfies_every_pyproject_requirement(env_id):
    """Each requirement of pyproject (runtime and extras) has an active pin inside its range."""
    env = ENVIRONMENTS[env_id]
    problems = []
    for req in project_requirements():
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        pins = [p for p in PINS if p.name == canonicalize_name(req.name) and p.active(env)]
        if not pins:
            problems.append(f"{req} has no pin")
        elif not req.specifier.contains(pins[0].version, prereleases=True):
            problems.append(f"{req} but the lock pins {pins[0].version}")
    assert not problems, f"{env_id}: lock out of date, run `make lock`: {problems}"


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_each_platform_gets_the_tensorflow_wheel_that_exists_there(platform):
    env = marker_env(platform, "3.11")
    tf = {p.name for p in PINS if p.name in {"tensorflow", "tensorflow-cpu"} and p.active(env)}
    assert tf == ({"tensorflow-cpu"} if platform in TF_CPU_PLATFORMS else {"tensorflow"})


def test_lock_header_is_the_make_lock_command():
    """The lock says how it was made, and that is what `make lock` runs (universal, hashed)."""
    header = LOCK.read_text().splitlines()[1].lstrip("# ").split()
    assert header[:3] == ["uv", "pip", "compile"]
    assert {"--universal", "--generate-hashes", "pyproject.toml"} <= set(header)
    assert header[header.index("--extra") + 1] == "all", "the lock must cover every extra"
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    recipe = re.search(r"^lock:.*\n\t(.+)$", makefile, flags=re.MULTILINE)
    assert recipe, "Makefile has no `lock` target"
    command = recipe.group(1).split()
    for flag in ("--universal", "--generate-hashes", "--extra", "all", "pyproject.toml"):
        assert flag in command, f"`make lock` does not pass {flag}"
    python = header[header.index("--python-version") + 1]
    assert command[command.index("--python-version") + 1] == python


def test_pins_are_the_versions_this_environment_runs():
    """Notebook outputs and slide numbers are made here: this interpreter must run the lock."""
    env = _current_env()
    wrong = []
    for pin in PINS:
        if not pin.active(env):
            continue
        try:
            installed = Version(importlib.metadata.version(pin.name))
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{pin.name} not installed (lock: {pin.version})")
            continue
        if installed != pin.version:
            wrong.append(f"{pin.name} {installed} (lock: {pin.version})")
    assert not wrong, f"the environment does not match the lock (`make` reinstalls it): {wrong}"


def _current_env() -> dict[str, str]:
    from packaging.markers import default_environment

    return {**default_environment(), "extra": ""}


# --------------------------------------------------------------------------- pyproject
def test_runtime_dependencies_hold_no_course_tools():
    runtime = {canonicalize_name(Requirement(d).name) for d in PROJECT["dependencies"]}
    tools = {"jupyterlab", "ipywidgets", "otter-grader", "playwright", "pytest", "nbformat"}
    assert not runtime & tools, f"belong in an extra, not the library: {runtime & tools}"
    extras = PROJECT["optional-dependencies"]
    assert {"lab", "build", "test", "all"} <= set(extras)
    (everything,) = extras["all"]
    assert set(Requirement(everything).extras) == {"lab", "build", "test"}


def _third_party(names: set[str], local: set[str]) -> set[str]:
    return {
        n
        for n in names
        if n not in sys.stdlib_module_names and n not in local and n != "__future__"
    }


def _imports(source: str) -> set[str]:
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "importorskip":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value).split(".")[0])
    return found


def _notebook_imports(path: Path) -> set[str]:
    found = set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            code = "".join(cell["source"])
            code = "\n".join(x for x in code.splitlines() if not x.lstrip().startswith(("%", "!")))
            found |= _imports(code)
    return found


def _declared(*groups: str) -> set[str]:
    """Distribution names declared in pyproject for the given groups ("" = runtime)."""
    lines = []
    for group in groups:
        lines += PROJECT["dependencies"] if group == "" else PROJECT["optional-dependencies"][group]
    return {canonicalize_name(Requirement(line).name) for line in lines}


def _undeclared(modules: set[str], declared: set[str]) -> set[str]:
    mapping = importlib.metadata.packages_distributions()
    missing = set()
    for module in modules:
        dists = {canonicalize_name(d) for d in mapping.get(module, [])}
        if not dists:
            missing.add(f"{module} (not installed)")
        elif not dists & declared:
            missing.add(f"{module} (from {sorted(dists)})")
    return missing


# the repository's own modules: the package, test helpers, build scripts, tools/chromium.py
LOCAL = {
    "dropoutcourse",
    "conftest",
    "_support",
    "build",
    "figures",
    "claim_numbers",
    "grade",
    "chromium",
}
USERS = {
    "dropoutcourse": ("dropoutcourse/**/*.py", ("",)),
    "notebooks": ("notebooks/*.ipynb", ("", "lab")),
    "homework": ("homework/**/*.py", ("", "build")),
    "homework notebooks": ("homework/source/**/*.ipynb", ("", "lab", "build", "test")),
    "slides": ("slides/*.py", ("", "build")),
    "benchmarks": ("benchmarks/*.py", ("", "build", "test")),
    "tests": ("tests/**/*.py", ("", "lab", "build", "test")),
}


@pytest.mark.parametrize("user", sorted(USERS))
def test_every_import_is_declared_where_it_is_used(user):
    pattern, groups = USERS[user]
    modules: set[str] = set()
    for path in ROOT.glob(pattern):
        if any(part in {"node_modules", "dist", "build"} for part in path.parts[:-1]):
            continue
        reader = _notebook_imports if path.suffix == ".ipynb" else lambda p: _imports(p.read_text())
        modules |= reader(path)
    missing = _undeclared(_third_party(modules, LOCAL), _declared(*groups))
    assert not missing, f"{user} imports what pyproject does not declare for it: {missing}"


# --------------------------------------------------------------------------- conda and Binder
def _pip_lines(requirements: Path) -> list[str]:
    return [
        line.strip()
        for line in requirements.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_environment_yml_installs_exactly_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    assert PROJECT["requires-python"].startswith(">=3.11")
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip == ["-r requirements/lock.txt"], "conda must take its Python pins from the lock"
    # conda may add tools that are not Python packages, never a second pin of a locked one
    locked = {p.name for p in PINS}
    clash = {canonicalize_name(re.split(r"[<>=! ]", d)[0]) for d in conda} & locked
    assert not clash, f"pinned by conda and by the lock: {clash}"


def test_environment_yml_pins_equal_the_lock():
    """What conda installs, read the way pip reads it (nested -r), is the lock entry for entry."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    included = [ROOT / line.split(maxsplit=1)[1] for line in pip if line.startswith("-r ")]
    assert [read_lock(p) for p in included] == [PINS]


def test_binder_installs_the_lock_then_the_package():
    binder = ROOT / "binder"
    lines = _pip_lines(binder / "requirements.txt")
    assert lines == ["-r ../requirements/lock.txt"]
    assert (binder / lines[0].split()[1]).resolve() == LOCK
    runtime = (binder / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11"
    post = (binder / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post
    assert (binder / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    json.loads((binder / "overrides.json").read_text())


def test_make_installs_from_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert stamp, "Makefile has no $(STAMP) rule"
    assert "$(LOCK)" in stamp.group(1) and "pyproject.toml" in stamp.group(1)
    recipe = stamp.group(2)
    assert "--require-hashes -r $(LOCK)" in recipe
    assert "--no-deps -e ." in recipe
    assert recipe.index("--require-hashes") < recipe.index("--no-deps")
    assert re.search(r"^LOCK\s*:?=\s*requirements/lock\.txt$", makefile, flags=re.MULTILINE)


# --------------------------------------------------------------------------- every platform
NETWORK_ERRORS = re.compile(
    r"dns error|failed to lookup|connect|timed out|network|offline|tcp|tls|certificate",
    re.IGNORECASE,
)


def _uv() -> str:
    uv = pytest.importorskip("uv", reason="uv comes with the test extra (pip install -e .[test])")
    return uv.find_uv_bin()


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_lock_resolves_with_wheels_only_on_every_platform(platform, python, tmp_path):
    """uv evaluates the markers for the target: every pinned version must have a wheel there."""
    out = tmp_path / "resolved.txt"
    command = [
        _uv(), "pip", "compile", str(LOCK), "--python-platform", platform,
        "--python-version", python, "--only-binary", ":all:", "--no-header", "--no-annotate",
        "--quiet", "-o", str(out),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if run.returncode != 0 and NETWORK_ERRORS.search(run.stderr):
        pytest.skip(f"package registry not reachable, resolution not checked: {run.stderr[-300:]}")
    assert run.returncode == 0, f"{platform}, Python {python}:\n{run.stderr}"
    resolved = {p.name: p.version for p in read_lock(out)}
    env = marker_env(platform, python)
    expected = {p.name: p.version for p in PINS if p.active(env)}
    assert resolved == expected


def test_make_refuses_a_python_the_lock_is_not_made_for(tmp_path):
    """`make lab` with another Python says which variable to set, before creating anything."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path)
    (tmp_path / "requirements").mkdir()
    shutil.copy(LOCK, tmp_path / "requirements")
    fake = tmp_path / "python3.13"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.exit(1)'\n")
    fake.chmod(0o755)
    run = subprocess.run(
        [make, "lab", f"PYTHON={fake}"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert f"PYTHON={fake} is not Python 3.11 or 3.12" in run.stdout
    assert "make lab PYTHON=python3.12" in run.stdout
    assert not (tmp_path / ".venv").exists()
