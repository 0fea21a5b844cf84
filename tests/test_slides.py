"""The lecture decks: built, self-contained (no network), rendered by a real browser, printed.

`make test` runs `make slides` first, so slides/build/ holds every deck's HTML (and, with
Chromium installed, its PDF handout). The browser tests drive the system Chromium through
Playwright; without Chromium they are skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import ast
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from _support import CHROMIUM_ARGS, find_chromium, load_script, require_chromium

ROOT = Path(__file__).resolve().parents[1]
SLIDES = ROOT / "slides"
BUILD = SLIDES / "build"
DECKS = sorted(SLIDES.glob("[0-9][0-9]-*.md"))


_load = load_script  # slides/ and homework/ both have a build.py


build = _load("slides_build", SLIDES / "build.py")  # separators, notebooks, page counter

CHROMIUM = find_chromium()
REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import\s+['\"]([^'\"]+)", re.IGNORECASE)


def built(deck: Path) -> Path:
    html = BUILD / f"{deck.stem}.html"
    if not html.exists():
        pytest.fail(f"{html.relative_to(ROOT)} is missing: run `make slides`")
    return html


def has_math(md: str) -> bool:
    return bool(re.search(r"\$\$.+?\$\$|\$[^\s$][^$\n]*?\$", md, flags=re.DOTALL))


class ResourceCollector(HTMLParser):
    """Every URL the page would *load*: src/href of non-<a> elements, CSS url()/@import."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []
        self._in_style = False

    def _css(self, text: str, where: str) -> None:
        for url in CSS_URL.findall(text) + CSS_IMPORT.findall(text):
            self.loads.append((where, url))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "poster", "data", "srcset", "data-src", "data-background"):
            value = attrs.get(name)
            if value and not (tag == "a" and name == "href"):
                self.loads.append((f"<{tag} {name}>", value))
        if attrs.get("style"):
            self._css(attrs["style"], f"<{tag} style>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data, "<style>")


def remote_loads(text: str) -> list[tuple[str, str]]:
    parser = ResourceCollector()
    parser.feed(text)
    return [(where, url) for where, url in parser.loads if REMOTE.match(url)]


# --------------------------------------------------------------------------- static checks
def test_there_are_six_decks():
    assert [d.name[:2] for d in DECKS] == ["01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_is_built_and_self_contained(deck):
    text = built(deck).read_text(encoding="utf-8")
    assert "<textarea data-template>" in text, "the Markdown must be embedded in the HTML"
    assert "Reveal.initialize" in text
    bad = remote_loads(text)
    assert not bad, f"{deck.stem}.html loads from the network: {bad[:5]}"
    # figures and fonts are inlined, and no figure reference was left unresolved
    assert "](figures/" not in text
    # stronger than "no network": the deck is one file, every resource is inline or data:
    parser = ResourceCollector()
    parser.feed(text)
    local = [(w, u[:60]) for w, u in parser.loads if not u.startswith(("data:", "#"))]
    assert not local, f"{deck.stem}.html needs files next to it: {local[:5]}"


def test_resource_checker_catches_remote_references():
    page = """<html><head><link rel="stylesheet" href="https://cdn.example/x.css">
    <style>@font-face { src: url(https://fonts.example/f.woff2) } .a { background: url(data:image/png;base64,AA) }</style>
    <script src="//cdn.example/reveal.js"></script></head>
    <body><img src="figures/a.png"><a href="https://jmlr.org">paper</a></body></html>"""
    found = {url for _, url in remote_loads(page)}
    assert found == {
        "https://cdn.example/x.css",
        "https://fonts.example/f.woff2",
        "//cdn.example/reveal.js",
    }


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_has_structure(deck):
    md = deck.read_text(encoding="utf-8")
    slides = re.split(build.SLIDE_SEPARATOR, md.strip("\n"))
    assert slides[0].lstrip().startswith("# "), "first slide is a title slide"
    assert "learning goals" in slides[1].lower()
    assert any("try it" in s.lower() and ".ipynb" in s for s in slides), "a Try it slide"
    assert "references" in slides[-1].lower()
    with_notes = sum(bool(re.search(build.NOTES_SEPARATOR, s, flags=re.M)) for s in slides)
    assert with_notes >= len(slides) / 2, "speaker notes on most slides"
    nb = build.NOTEBOOKS[deck.name[:2]]
    assert f"../../notebooks/{nb}" in md


def test_index_links_every_deck_pdf_and_notebook():
    index = (BUILD / "index.html").read_text(encoding="utf-8")
    for deck in DECKS:
        assert f'href="{deck.stem}.html"' in index
        assert f'href="../../notebooks/{build.NOTEBOOKS[deck.name[:2]]}"' in index
        if CHROMIUM is not None:
            assert f'href="{deck.stem}.pdf"' in index
    assert not remote_loads(index)


def test_every_figure_is_listed_and_built():
    figures = _load("slides_figures", SLIDES / "figures.py")
    for deck in DECKS:
        used = build.FIGURE_REF.findall(deck.read_text(encoding="utf-8"))
        assert set(used) <= set(figures.DECK_FIGURES[deck.name[:2]]), deck.name
        for name in used:
            assert name in figures.FIGURES
            assert (BUILD / "figures" / f"{name}.png").exists()


def test_every_listed_figure_is_shown():
    # each listed figure costs build time (the experiment ones tens of seconds): none unused
    figures = _load("slides_figures", SLIDES / "figures.py")
    for deck in DECKS:
        used = set(build.FIGURE_REF.findall(deck.read_text(encoding="utf-8")))
        unused = set(figures.DECK_FIGURES[deck.name[:2]]) - used
        assert not unused, f"{deck.name}: listed in DECK_FIGURES but not on a slide: {unused}"


# --------------------------------------------------------------------------- the build itself
def test_slide_scripts_leave_sys_path_alone():
    """slides/*.py load their siblings with build.load_script, never by editing sys.path."""
    for path in SLIDES.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        attributes = {ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not {a for a in attributes if a.startswith("sys.path")}, path.name


def test_css_tokens_join_back_into_every_stylesheet():
    # what the inlining does not rewrite must come out byte for byte
    sheets = sorted(build.NODE.glob("reveal.js/dist/**/*.css")) + sorted(build.KATEX.glob("*.css"))
    if not sheets:
        pytest.skip("slides/node_modules is not installed (make slides)")
    for sheet in sheets:
        css = sheet.read_text(encoding="utf-8")
        assert "".join(t.text for t in build.css_tokens(css)) == css, sheet.name


def test_inline_css_imports_fonts_and_urls(tmp_path):
    (tmp_path / "f.ttf").write_bytes(b"ttf")
    (tmp_path / "f.woff2").write_bytes(b"woff2")
    (tmp_path / "a.png").write_bytes(b"png")
    (tmp_path / "sub.css").write_text('@import "main.css";\n.b { background: url(a.png?v=1) }')
    (tmp_path / "main.css").write_text(
        "/* @import url(gone.css); url(gone.png) */\n"
        "@import url(https://fonts.example/x.css);\n"
        "@import 'sub.css';\n"
        "@font-face {\n  font-family: 'F';\n"
        "  src: url('f.ttf') format('truetype'), url(\"f.woff2#x\") format('woff2');\n"
        "  font-weight: bold;\n}\n"
        '.a::before { content: "url(gone.png)"; background: URL( a.png ); }\n'
    )
    png, woff2 = build.data_uri(tmp_path / "a.png"), build.data_uri(tmp_path / "f.woff2")
    assert build.inline_css(tmp_path / "main.css") == (
        "/* @import url(gone.css); url(gone.png) */\n"  # comments and strings stay as they are
        "\n"  # the remote import is dropped, and sub.css's import of main.css (a cycle) too
        f"\n.b {{ background: url({png}) }}\n"
        "@font-face {\n  font-family: 'F';\n  \n  font-weight: bold;\n"
        f"src: url({woff2}) format('woff2');}}\n"
        f'.a::before {{ content: "url(gone.png)"; background: url({png}); }}\n'
    )


def test_an_at_rule_ends_at_its_semicolon_or_its_block(tmp_path):
    # a block-less @font-face (invalid, ignored by browsers) must not swallow the next rule
    (tmp_path / "x.css").write_text("@font-face; .a { color: red }")
    assert build.inline_css(tmp_path / "x.css") == "@font-face; .a { color: red }"


def test_inline_css_refuses_a_remote_url(tmp_path):
    (tmp_path / "x.css").write_text(".a { background: url('//cdn.example/a.png') }")
    with pytest.raises(ValueError, match="remote url"):
        build.inline_css(tmp_path / "x.css")


# --------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def browser():
    executable = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def non_blank(png: bytes) -> float:
    """Standard deviation of the grey levels of a PNG screenshot."""
    try:
        from PIL import Image

        img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    except ImportError:
        import matplotlib.image as mpimg

        img = mpimg.imread(io.BytesIO(png), format="png")[..., :3].mean(axis=-1) * 255
    return float(img.std())


@pytest.mark.browser
@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_renders_in_chromium(deck, browser, tmp_path):
    html = built(deck)
    md = deck.read_text(encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    errors, remote = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: remote.append(r.url) if REMOTE.match(r.url) else None)
    try:
        page.goto(html.as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
        assert page.evaluate("Reveal.getTotalSlides()") == build.count_slides(md)
        assert page.evaluate("Reveal.getConfig().slideNumber"), "slide numbers are on"
        if has_math(md):
            page.wait_for_selector(".katex", state="attached", timeout=10_000)
            assert page.locator(".katex-error").count() == 0, "KaTeX could not parse a formula"
        # speaker notes made it into the slides
        if re.search(build.NOTES_SEPARATOR, md, flags=re.M):
            assert page.locator("aside.notes").count() > 0
        page.evaluate("Reveal.slide(1)")  # the learning goals
        page.wait_for_timeout(200)
        shot = page.screenshot()
        (tmp_path / f"{deck.stem}.png").write_bytes(shot)
        assert non_blank(shot) > 5, "the screenshot is blank"
        assert not errors, f"JavaScript errors: {errors}"
        assert not remote, f"network requests: {remote}"
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_pdf_handout_has_a_page_per_slide(deck):
    require_chromium()
    pdf = BUILD / f"{deck.stem}.pdf"
    if not pdf.exists():
        pytest.fail(
            f"{pdf.relative_to(ROOT)} is missing: run `make slides` with Chromium installed"
        )
    n_slides = build.count_slides(deck.read_text(encoding="utf-8"))
    assert build.count_pdf_pages(pdf) >= n_slides


# --------------------------------------------------------------------------- measured numbers
claim_numbers = _load("slides_claim_numbers", SLIDES / "claim_numbers.py")


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_numbers_are_rendered_from_the_claims(deck):
    """Every {{ claim.number }} of a deck was rendered, from the same run the claim tests use."""
    import json

    from dropoutcourse import claims

    text = built(deck).read_text(encoding="utf-8")
    left = claim_numbers.PLACEHOLDER.findall(text)
    assert not left, f"{deck.stem}.html has unrendered placeholders: {left[:3]}"
    rendered = json.loads((BUILD / "numbers.json").read_text(encoding="utf-8")).get(deck.name, {})
    results = {}  # one claims.run per claim (a run re-times the claims that measure a cost)
    for m in claim_numbers.PLACEHOLDER.finditer(deck.read_text(encoding="utf-8")):
        name, key, fmt = m.groups()
        if name not in results:  # the cached run under `make test`; otherwise a fresh one
            results[name] = claims.run(name)
        result = results[name]
        assert result.holds, f"{deck.name} quotes claim {name!r}, which does not hold"
        expected = claim_numbers.format_number(result.numbers[key], fmt)
        assert rendered.get(m.group(0)) == expected, (m.group(0), rendered.get(m.group(0)))
        assert expected in text


def test_placeholder_syntax_and_formatting():
    md = "gain {{ flagship.gain:+.1f }} and {{flagship.n_seeds}}"
    assert claim_numbers.placeholders(md) == [
        ("flagship", "gain", "+.1f"),
        ("flagship", "n_seeds", None),
    ]
    assert claim_numbers.format_number(7.123, None) == "7.1"
    assert claim_numbers.format_number(5, None) == "5"
