"""The course website: assembled from the README, the notebooks, the decks and the homework.

`make test` runs `make site` first, so site/_build/html/ holds the built site. The browser test
visits every page reachable from the home page in Chromium (file://, like a student opening
the folder or a static host): no JavaScript error, no request leaving the machine, every
internal link resolves, math is typeset. The homework pages never show a solution line.
"""

from __future__ import annotations

import functools
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
from _support import CHROMIUM_ARGS, load_script, require_chromium

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "site" / "_build" / "html"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
# assignments: folders of homework/source/ holding their master notebook (not _shared/)
HOMEWORK = sorted(
    p.parent.name
    for p in (ROOT / "homework" / "source").glob("*/*.ipynb")
    if p.stem == p.parent.name
)
_load = load_script  # slides/, homework/ and site/ each have a build.py


site_build = _load("site_build", ROOT / "site" / "build.py")


def built(relative: str) -> Path:
    page = HTML / relative
    if not page.exists():
        pytest.fail(f"{page.relative_to(ROOT)} is missing: run `make site`")
    return page


class Text(HTMLParser):
    """Visible text and links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"script", "style"}:
            self._skip += 1
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and (tag != "link" or attrs.get("rel") != "canonical"):
                self.links.append(attrs[key])

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


def parse(page: Path) -> Text:
    parser = Text()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def local_target(page: Path, link: str) -> tuple[Path, str] | None:
    """The file (and #fragment) a relative link points to; None for external or special links."""
    url, fragment = urldefrag(link)
    parsed = urlparse(url)
    if parsed.scheme or link.startswith("//"):
        return None
    target = (page.parent / unquote(parsed.path)).resolve() if parsed.path else page
    return target, fragment


# --------------------------------------------------------------------------- the page builder
def test_syllabus_has_every_lecture_deck_and_assignment():
    lectures = site_build.syllabus((ROOT / "README.md").read_text(), HOMEWORK)
    assert [lec.notebook for lec in lectures] == [p.name for p in NOTEBOOKS]
    for lec in lectures:
        assert (ROOT / "slides" / f"{lec.deck}.md").exists(), lec.deck
    assigned = {h for lec in lectures for h in lec.homework}
    assert assigned == set(HOMEWORK), "every assignment appears in the syllabus"


def test_syllabus_rejects_a_readme_without_its_table():
    with pytest.raises(ValueError, match="README"):
        site_build.syllabus("# A title\n\nno table here\n", HOMEWORK)


def test_syllabus_rejects_a_row_without_its_notebook_link():
    readme = (
        "# T\n\n| Lecture | Notebook | Slides | Homework |\n|---|---|---|---|\n"
        "| 1. A lecture | no link here | `slides/01-a.md` | — |\n"
    )
    with pytest.raises(ValueError, match="1. A lecture"):
        site_build.syllabus(readme, HOMEWORK)
    good = readme.replace("no link here", "[01-A](notebooks/01-A.ipynb)")
    (lecture,) = site_build.syllabus(good, HOMEWORK)
    assert (lecture.number, lecture.title, lecture.notebook, lecture.deck, lecture.homework) == (
        1,
        "A lecture",
        "01-A.ipynb",
        "01-a",
        (),
    )


def test_site_build_names_the_missing_inputs(tmp_path, monkeypatch):
    monkeypatch.setattr(site_build, "ROOT", tmp_path)
    (tmp_path / "README.md").write_text((ROOT / "README.md").read_text())
    with pytest.raises(FileNotFoundError, match="make homework"):
        site_build.stage(tmp_path / "stage")


# --------------------------------------------------------------------------- the built site
def test_site_has_a_page_for_every_lecture_assignment_and_deck():
    built("index.html")
    for nb in NOTEBOOKS:
        built(f"lectures/{nb.stem}.html")
        built(f"lectures/{nb.name}")  # the notebook itself, to download
    for hw in HOMEWORK:
        built(f"homework/{hw}.html")
        built(f"homework/{hw}-student.zip")
    lectures = site_build.syllabus((ROOT / "README.md").read_text(), HOMEWORK)
    for lec in lectures:
        built(f"slides/{lec.deck}.html")
        built(f"slides/{lec.deck}.pdf")


def test_lecture_pages_show_the_stored_outputs():
    import json

    for nb in NOTEBOOKS:
        stored = sum(
            "image/png" in out.get("data", {})
            for cell in json.loads(nb.read_text())["cells"]
            for out in cell.get("outputs", [])
        )
        page = parse(built(f"lectures/{nb.stem}.html"))
        images = [link for link in page.links if link.endswith(".png")]
        assert len(images) >= stored > 0, f"{nb.name}: {len(images)} figures of {stored}"


def test_every_lecture_page_links_its_deck_handout_homework_and_notebook():
    lectures = site_build.syllabus((ROOT / "README.md").read_text(), HOMEWORK)
    for lec in lectures:
        links = set(parse(built(f"lectures/{lec.notebook[:-6]}.html")).links)
        wanted = {f"../slides/{lec.deck}.html", f"../slides/{lec.deck}.pdf", lec.notebook}
        wanted |= {f"../homework/{h}.html" for h in lec.homework}
        assert wanted <= links, f"{lec.notebook}: missing {wanted - links}"


def test_the_link_strip_goes_under_the_title_and_needs_one():
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# 9. A title\n", "Intro."]}]}
    page = site_build.with_links_after_title(notebook, "<p>links</p>")
    assert "".join(page["cells"][0]["source"]) == "# 9. A title\n\n<p>links</p>\n\nIntro."
    assert notebook["cells"][0]["source"] == ["# 9. A title\n", "Intro."]  # not modified
    with pytest.raises(ValueError, match="# Title"):
        site_build.with_links_after_title({"cells": [{"cell_type": "code", "source": ""}]}, "x")


def test_site_uses_the_course_theme():
    page = built("index.html").read_text(encoding="utf-8")
    assert "sphinx-book-theme" in page and "_static/course.css" in page


@pytest.mark.parametrize("hw", HOMEWORK)
def test_homework_pages_hold_no_solution(hw, tmp_path):
    homework_build = _load("homework_build", ROOT / "homework" / "build.py")
    master = ROOT / "homework" / "source" / hw / f"{hw}.ipynb"
    published = tmp_path / hw
    published.mkdir()
    (published / "page.txt").write_text("".join(parse(built(f"homework/{hw}.html")).chunks))
    with zipfile.ZipFile(built(f"homework/{hw}-student.zip")) as bundle:
        bundle.extractall(published / "bundle")
    assert list(published.rglob(f"{hw}.ipynb")), "the bundle holds the student notebook"
    leaks = homework_build.find_leaks(master, published)
    assert not leaks, f"the site publishes solution or hidden-test lines: {leaks[:5]}"
    solutions, _ = homework_build.secret_lines(master)
    assert solutions, "the check needs a master with solutions to mean anything"


def test_site_publishes_nothing_for_instructors():
    names = [p.name for p in HTML.rglob("*") if p.is_file()]
    private = [n for n in names if "instructor" in n or "autograder" in n]
    assert not private, f"instructor files on the website: {private}"


def _pages() -> list[Path]:
    """Every HTML page reachable from index.html by links."""
    seen, todo = set(), [built("index.html").resolve()]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".html" or not page.exists():
            continue
        seen.add(page)
        if page.is_relative_to((HTML / "slides").resolve()):
            continue  # decks are tested by test_slides.py
        for link in parse(page).links:
            target = local_target(page, link)
            if target:
                todo.append(target[0])
    return sorted(seen)


def test_internal_links_resolve():
    broken = []
    for page in _pages():
        if page.is_relative_to((HTML / "slides").resolve()):
            continue
        for link in parse(page).links:
            target = local_target(page, link)
            if target is None:
                continue
            path, fragment = target
            if not path.exists():
                broken.append(f"{page.relative_to(HTML.resolve())}: {link}")
            elif fragment and path.suffix == ".html" and fragment not in parse(path).ids:
                broken.append(f"{page.relative_to(HTML.resolve())}: {link} (no such anchor)")
    assert not broken, broken


def test_every_lecture_deck_and_assignment_is_reachable_from_the_home_page():
    pages = {p.relative_to(HTML.resolve()).as_posix() for p in _pages()}
    lectures = site_build.syllabus((ROOT / "README.md").read_text(), HOMEWORK)
    wanted = {f"lectures/{nb.stem}.html" for nb in NOTEBOOKS}
    wanted |= {f"homework/{hw}.html" for hw in HOMEWORK}
    wanted |= {f"slides/{lec.deck}.html" for lec in lectures}
    assert wanted <= pages, wanted - pages


# --------------------------------------------------------------------------- in Chromium
# never leave the page; MathJax 2 probes its web fonts with an about:blank font request
LOCAL_SCHEMES = ("data:", "blob:", "about:")
# The MathJax copy ships the STIX-Web fonts only; for \\mathcal it first asks for its TeX
# script font, gets a 404 from the host and draws the glyph from STIX-Web. Nothing else may fail.
MATHJAX_PROBE = "/_static/mathjax/fonts/HTML-CSS/TeX/"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@contextmanager
def static_host(folder: Path) -> Iterator[str]:
    """Serve `folder` on a free loopback port, as a static host (e.g. GitHub Pages) would."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_loads_offline_in_chromium_with_math_typeset():
    executable = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    problems = []
    root = HTML.resolve()
    pages = [p for p in _pages() if not p.is_relative_to(root / "slides")]
    with static_host(root) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for page_path in pages:
            name = page_path.relative_to(root).as_posix()
            page = browser.new_page()
            errors, remote, failed = [], [], []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on(
                "request",
                lambda r, remote=remote: (
                    None if r.url.startswith((base, *LOCAL_SCHEMES)) else remote.append(r.url)
                ),
            )
            page.on(
                "requestfailed",
                lambda r, failed=failed: (
                    None
                    if r.url.startswith(LOCAL_SCHEMES) or MATHJAX_PROBE in r.url
                    else failed.append(r.url)
                ),
            )
            page.goto(f"{base}/{name}")
            page.wait_for_load_state("load")
            if page.locator("span.math, div.math").count():
                try:
                    page.wait_for_function(
                        "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                        " && document.querySelectorAll('span.MathJax, div.MathJax_Display').length",
                        timeout=60_000,
                    )
                except Exception as exc:
                    problems.append(f"{name}: math not typeset ({exc})")
                if page.locator(".MathJax_Error, merror").count():
                    problems.append(f"{name}: a formula failed to typeset")
            problems += [f"{name}: JavaScript error {e}" for e in errors]
            problems += [f"{name}: network request {u}" for u in remote]
            problems += [f"{name}: could not load {u}" for u in failed]
            page.close()
        browser.close()
    assert len(pages) >= len(NOTEBOOKS) + len(HOMEWORK) + 1
    assert not problems, problems


# desktop and phone: the page never scrolls sideways, the site title is one unbroken line on
# a desktop, and on a phone the lecture navigation sits behind its menu button
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
_TITLE_LINES = """() => { const t = document.querySelector('.logo__title'); if (!t) return -1;
  return Math.round(t.getBoundingClientRect().height / parseFloat(getComputedStyle(t).lineHeight));
}"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS, ids=str)
def test_pages_fit_the_screen_at_desktop_and_phone_width(width):
    executable = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    root = HTML.resolve()
    names = ["index.html", "setup.html"]
    names += [f"lectures/{nb.stem}.html" for nb in NOTEBOOKS]
    names += [f"homework/{hw}.html" for hw in HOMEWORK]
    w, h = WIDTHS[width]
    problems = []
    with static_host(root) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": w, "height": h})
        for name in names:
            page.goto(f"{base}/{name}")
            page.wait_for_load_state("load")
            if (extra := page.evaluate(_OVERFLOW)) > 0:
                problems.append(f"{name}: {extra} px wider than the screen")
        page.goto(f"{base}/index.html")
        page.wait_for_load_state("load")
        nav = page.locator(".bd-sidebar-primary a[href*='lectures/']").first
        if width == "desktop":
            if page.evaluate(_TITLE_LINES) != 1:
                problems.append("the site title does not fit on one line")
            if not nav.is_visible():
                problems.append("the lecture navigation is hidden on a desktop")
        else:
            if nav.is_visible():
                problems.append("the lecture navigation covers the page on a phone")
            page.locator("button.primary-toggle:visible").first.click()
            nav.wait_for(state="visible", timeout=5_000)
        browser.close()
    assert not problems, problems
