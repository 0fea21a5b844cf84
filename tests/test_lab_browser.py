"""JupyterLab as students meet it: a real server on loopback, driven in Chromium by Playwright.

nbval runs the notebooks' kernels; these tests use the interface: `make lab` serves the README
(rendered) with links to the lectures, every lecture notebook opens with its stored outputs,
lecture 2 runs from the Run menu without an error or a line on stderr, and its rate slider
(an ipywidget) redraws the figure when it is dragged. The notebooks are served from a copy, so
that nothing the interface does (running cells, autosave) can touch the repository.
Without Chromium the tests are skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _support import CHROMIUM_ARGS, require_chromium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR = '[data-mime-type="application/vnd.jupyter.error"]'
KERNEL_STATUS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null;
}"""

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Poll until the server answers 200, failing early (with its log) if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"no answer from {url} within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop a server started in its own session (make and jupyter alike)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def isolated_env(home: Path) -> dict[str, str]:
    """The test's environment, with Jupyter's per-user state (workspaces, settings) in `home`.

    Checkpoints, which the server writes next to a file when it is opened, go to `home` too:
    a test that serves the repository itself leaves nothing in it.
    """
    env = dict(os.environ)
    for name, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("JUPYTERLAB_SETTINGS_DIR", "user-settings"),
    ]:
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    config = {"FileCheckpoints": {"checkpoint_dir": str(home / "checkpoints")}}
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    return env


@dataclass
class Lab:
    base: str
    token: str
    root: Path
    log: Path
    remote: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        """A fresh workspace each time: no tab of an earlier test is restored."""
        return f"{self.base}/lab/workspaces/{secrets.token_hex(4)}/tree/{path}?token={self.token}"

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.base}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{session['id']}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """JupyterLab on a free loopback port with a token, serving a copy of README + notebooks."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "README.md", root)
    for nb in NOTEBOOKS:
        shutil.copy(nb, root / "notebooks")
    # the settings `make lab` uses, plus: every cell in the DOM, and no autosave in the test
    settings = tmp / "app-settings"
    settings.mkdir()
    overrides = json.loads((ROOT / "binder" / "overrides.json").read_text())
    overrides.setdefault("@jupyterlab/docmanager-extension:plugin", {})["autosave"] = False
    overrides["@jupyterlab/notebook-extension:tracker"] = {"windowingMode": "none"}
    (settings / "overrides.json").write_text(json.dumps(overrides))

    port, token = free_port(), secrets.token_hex(16)
    env = isolated_env(tmp / "home") | {"JUPYTER_TOKEN": token}
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={settings}", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/status?token={token}", server, log)
        yield Lab(base, token, root, log)
    finally:
        stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Watched:
    page: object
    errors: list[str]
    remote: list[str]


@pytest.fixture
def page(browser, request) -> Iterator[Watched]:
    """A fresh page that records JavaScript errors and requests leaving the machine."""
    p = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    remote: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on(
        "request",
        lambda r: (
            None
            if re.match(r"^(https?://127\.0\.0\.1[:/]|data:|blob:)", r.url)
            else remote.append(r.url)
        ),
    )
    yield Watched(p, errors, remote)
    p.close()


def open_notebook(page, lab: Lab, name: str, n_cells: int) -> None:
    """Open a notebook in a fresh workspace; wait for all its cells and an idle kernel."""
    page.goto(lab.url(f"notebooks/{name}"))
    count = "() => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length"
    try:
        page.wait_for_function(f"({count})() === {n_cells}", timeout=180_000)
        page.wait_for_function(f"({KERNEL_STATUS})() === 'idle'", timeout=180_000)
    except Exception as exc:  # say what was on the screen, not only "timeout"
        state = page.evaluate(f"[({count})(), ({KERNEL_STATUS})()]")
        pytest.fail(f"{name}: {state[0]} of {n_cells} cells shown, kernel {state[1]}: {exc}")


def cells_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def prompts(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell "
        ".jp-InputPrompt')).map(e => e.textContent.trim())"
    )


# --------------------------------------------------------------------------- make lab itself
def checkpoints() -> set[Path]:
    """Checkpoint folders in the part of the repository the test opens (README, notebooks)."""
    folders = (ROOT / ".ipynb_checkpoints", ROOT / "notebooks" / ".ipynb_checkpoints")
    return {p for p in folders if p.exists()}


def test_make_lab_serves_the_readme_and_prints_its_url(page, tmp_path):
    """`make lab` as the README says: loopback, root allowed, the printed URL opens the README."""
    require_chromium()
    make = shutil.which("make")
    if make is None or not (ROOT / ".venv" / ".installed-stamp").exists():
        pytest.skip("needs make and the project's .venv (created by `make lab` or `make test`)")
    if subprocess.run([make, "-q", ".venv/.installed-stamp"], cwd=ROOT).returncode != 0:
        pytest.skip(".venv is older than the lock file: `make test` refreshes it first")
    port = free_port()
    before = checkpoints()
    log = tmp_path / "make-lab.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [make, "--no-print-directory", "lab", f"LAB_PORT={port}"],
            cwd=ROOT,
            env=isolated_env(tmp_path / "home") | {"BROWSER": "true"},  # no browser window
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"http://\S+\?token=\w+", log.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        url = found.group(0)
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/README.md?token=")
        wait_for_http(url, server, log)
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True
        )
        if listening.returncode == 0:  # iproute2 is there: check what it binds
            assert listening.stdout.split() and f"127.0.0.1:{port}" in listening.stdout, (
                listening.stdout
            )

        page.page.goto(url)
        heading = page.page.locator(".jp-RenderedMarkdown h1").first
        heading.wait_for(timeout=180_000)
        assert "dropoutcourse" in heading.inner_text()
        links = page.page.locator(".jp-RenderedMarkdown a[href*='notebooks/']")
        assert links.count() >= len(NOTEBOOKS), "the README links every lecture notebook"
        links.first.click()  # a student's first click: lecture 1 opens in JupyterLab
        page.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=180_000)
        assert not page.errors, f"JavaScript errors: {page.errors}"
        assert not page.remote, f"requests leaving the machine: {page.remote}"
    finally:
        stop(server)
    assert "Running as root is not recommended" not in log.read_text()
    left = checkpoints() - before
    assert not left, f"serving the repository left checkpoints in it: {sorted(map(str, left))}"


# --------------------------------------------------------------------------- every lecture
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_lecture_notebook_opens_with_its_stored_outputs(notebook, lab, page):
    cells = cells_of(notebook)
    try:
        open_notebook(page.page, lab, notebook.name, len(cells))
        # every stored figure is displayed (figures behind widgets need the kernel: not counted)
        stored = sum(
            "image/png" in out.get("data", {}) for cell in cells for out in cell.get("outputs", [])
        )
        shown = page.page.locator(".jp-NotebookPanel .jp-OutputArea-output img").count()
        assert shown >= stored > 0, f"{shown} figures shown, {stored} stored"
        assert page.page.locator(f".jp-NotebookPanel {ERROR}").count() == 0
        assert page.page.locator(".jp-NotebookPanel .jp-RenderedMarkdown").count() == sum(
            cell["cell_type"] == "markdown" for cell in cells
        )
        assert not page.errors, f"JavaScript errors: {page.errors}"
        assert not page.remote, f"requests leaving the machine: {page.remote}"
    finally:
        lab.shut_down_kernels()


# --------------------------------------------------------------------------- lecture 2, live
def test_lecture2_runs_from_the_menu_and_its_rate_slider_redraws_the_figure(lab, page):
    notebook = ROOT / "notebooks" / "02-Intuition.ipynb"
    cells = cells_of(notebook)
    widget_cell = next(
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and "FloatSlider" in "".join(c["source"])
    )
    p = page.page
    try:
        open_notebook(p, lab, notebook.name, len(cells))
        p.get_by_role("menuitem", name="Run", exact=True).click()
        p.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        p.wait_for_function(
            "() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell "
            ".jp-InputPrompt')).every(e => /^\\[\\d+\\]:$/.test(e.textContent.trim()))",
            timeout=600_000,
        )
        p.wait_for_function(f"({KERNEL_STATUS})() === 'idle'", timeout=60_000)
        numbers = [int(x.strip("[]:")) for x in prompts(p)]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers
        errors = p.locator(f".jp-NotebookPanel {ERROR}")
        assert errors.count() == 0, errors.first.inner_text()
        stderr = p.locator(f".jp-NotebookPanel {STDERR}")
        assert stderr.count() == 0, f"stderr output: {stderr.first.inner_text()}"

        cell = p.locator(".jp-NotebookPanel .jp-Cell").nth(widget_cell)
        slider = cell.locator(".widget-slider", has_text="rate").first
        slider.wait_for(timeout=30_000)
        readout = slider.locator(".widget-readout")
        assert readout.inner_text() == "0.50"
        figure = cell.locator(".widget-output img").first
        figure.wait_for(timeout=30_000)
        before = figure.get_attribute("src")

        handle = slider.locator(".noUi-handle")
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        p.mouse.move(x, y)
        p.mouse.down()
        p.mouse.move(x + 40, y, steps=8)
        p.mouse.up()
        p.wait_for_function(
            "el => el.textContent.trim() !== '0.50'", arg=readout.element_handle(), timeout=10_000
        )
        moved = float(readout.inner_text())
        assert moved > 0.5, f"dragged right, the rate went to {moved}"
        p.wait_for_function(
            "([el, old]) => el.querySelector('img') && el.querySelector('img').src !== old",
            arg=[cell.locator(".widget-output").first.element_handle(), before],
            timeout=30_000,
        )
        after = cell.locator(".widget-output img").first.get_attribute("src")
        assert after.startswith("data:image/png") and after != before
        assert cell.locator(f"{ERROR}, {STDERR}").count() == 0
        assert not page.errors, f"JavaScript errors: {page.errors}"
        assert not page.remote, f"requests leaving the machine: {page.remote}"
    finally:
        lab.shut_down_kernels()
