"""Build the lecture decks into self-contained HTML (and PDF handouts).

    python slides/build.py                 # figures (if missing), every deck, index, PDFs
    python slides/build.py --deck 03       # one deck only
    python slides/build.py --no-pdf        # skip the Chromium step
    python slides/build.py --force         # regenerate the figures too

Each ``slides/NN-name.md`` (``---`` between slides, ``Note:`` starts speaker notes) is embedded
into ``slides/build/NN-name.html`` together with reveal.js 5 (markdown, notes and KaTeX math
plugins), KaTeX and every font and figure as inline text or ``data:`` URIs, so a deck opens from
``file://`` with no network. reveal.js and KaTeX come from ``slides/node_modules`` (installed with
``npm ci`` from the committed lock file). PDF handouts are printed with headless Chromium.
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

SLIDES = Path(__file__).resolve().parent
ROOT = SLIDES.parent
BUILD = SLIDES / "build"
FIGURES = BUILD / "figures"
NODE = SLIDES / "node_modules"
REVEAL = NODE / "reveal.js"
KATEX = NODE / "katex" / "dist"


def load_script(name: str, path: Path) -> ModuleType:
    """Import a file of the repository by path under ``name``, once per name.

    slides/, homework/ and site/ each have a build.py (and ``build`` is also a PyPI package),
    and none of these folders is a package, so they are loaded by path instead of through
    ``sys.path``. The one implementation: the tests load their scripts through it too
    (tests/_support.py).
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# the Chromium finder and flags the browser tests share
_chromium = load_script("chromium", ROOT / "tools" / "chromium.py")
CHROMIUM_ARGS, find_chromium = _chromium.CHROMIUM_ARGS, _chromium.find_chromium

# the lecture notebooks that go with each deck, by deck number
NOTEBOOKS = {
    "01": "01-Overfitting.ipynb",
    "02": "02-Intuition.ipynb",
    "03": "03-Dropout-in-Keras.ipynb",
    "04": "04-Gaussian-Dropout-and-Regularization.ipynb",
    "05": "05-Dropout-in-CNNs.ipynb",
    "06": "06-Beyond.ipynb",
    "07": "07-Dropout-Today.ipynb",
    "08": "08-Uncertainty.ipynb",
}

# the same regular expressions reveal.js's markdown plugin is given (see deck_html)
SLIDE_SEPARATOR = r"\r?\n---\r?\n"
NOTES_SEPARATOR = r"^Note:"
FIGURE_REF = re.compile(r"\]\(figures/([A-Za-z0-9_\-]+)\.png\)")

THEME = "white"
EXTRA_CSS = """
.reveal { font-size: 34px; }
.reveal h1 { font-size: 2.1em; }
.reveal h2 { font-size: 1.45em; }
.reveal h3 { font-size: 1.15em; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; }
.reveal section img { max-height: 420px; margin: 0.2em auto; border: none; box-shadow: none; }
.reveal pre { width: 100%; font-size: 0.6em; box-shadow: none; }
.reveal pre code { max-height: 560px; padding: 0.6em; background: #f5f5f5; color: #222; }
.reveal table { font-size: 0.8em; }
.reveal blockquote { width: 85%; font-size: 0.85em; }
.reveal .small, .reveal small { font-size: 0.6em; }
.reveal .slide-number { font-size: 16px; }
.reveal ul, .reveal ol { display: block; margin-left: 1.2em; }
.reveal li { margin: 0.15em 0; }
"""


def log(msg: str) -> None:
    print(f"[slides] {msg}", flush=True)


# --------------------------------------------------------------------------- node assets
def ensure_node_modules() -> None:
    """Install the pinned reveal.js/KaTeX with `npm ci` when slides/node_modules is missing."""
    if (REVEAL / "dist" / "reveal.js").exists() and (KATEX / "katex.min.js").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "[slides] error: npm is not installed, but it is needed once to fetch reveal.js and "
            "KaTeX into slides/node_modules.\n"
            "  Install Node.js (which includes npm): `sudo apt-get install nodejs npm` on "
            "Debian/Ubuntu, `brew install node` on macOS, or see https://nodejs.org/en/download.\n"
            "  Then run `make slides` again."
        )
    log("installing reveal.js and KaTeX: npm ci (slides/package-lock.json)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SLIDES, check=True)


def data_uri(path: Path) -> str:
    mime = {
        ".woff2": "font/woff2",
        ".woff": "font/woff",
        ".ttf": "font/ttf",
        ".png": "image/png",
        ".svg": "image/svg+xml",
    }.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    if mime is None:
        raise ValueError(f"unknown MIME type for {path}")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


# --------------------------------------------------------------------------- CSS inlining
# reveal.js's and KaTeX's stylesheets are read with a small tokenizer (CSS Syntax Level 3,
# cut down to what inlining needs) rather than searched with patterns: a comment or a string
# is one token, so an "@import" or "url(" written inside one is never taken for the real
# thing, and the tokens' texts join back into the input exactly, so everything the inlining
# does not rewrite is copied byte for byte.
_CSS_SPACE = frozenset(" \t\n\r\f")
_BLANK = frozenset({"whitespace", "comment"})


@dataclass(frozen=True)
class CssToken:
    """A piece of a stylesheet.

    ``text`` is the piece verbatim. ``kind`` is "comment", "whitespace", "string", "url"
    (the whole ``url(...)``), "at-keyword", "name" (an identifier or a number: only ``url``
    and ``src`` are ever looked at) or, for any other character, the character itself.
    ``value`` is a string's contents, a url's address, an at-keyword's lower-case name.
    """

    kind: str
    text: str
    value: str = ""


def _is_name_char(ch: str) -> bool:
    # ASCII letters, digits, "-", "_" and every non-ASCII character, as in CSS identifiers
    return not ch.isascii() or ch.isalnum() or ch in "-_"


def _name_end(css: str, i: int) -> int:
    """Where the name starting at ``i`` ends (a backslash escapes the character after it)."""
    while i < len(css):
        if css[i] == "\\" and i + 1 < len(css):
            i += 2
        elif _is_name_char(css[i]):
            i += 1
        else:
            break
    return i


def _string_end(css: str, i: int) -> int:
    """Just past the closing quote of the string whose opening quote is at ``i``."""
    quote, i = css[i], i + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return min(i + 1, len(css))


def _skip_space(css: str, i: int) -> int:
    while i < len(css) and css[i] in _CSS_SPACE:
        i += 1
    return i


def _url_end(css: str, i: int) -> tuple[int, str] | None:
    """``(end, address)`` of the ``url(`` whose contents start at ``i``, quoted or not.

    None when it is not a url after all (a quoted address followed by more than blanks):
    its pieces are then tokenized one by one, and none of them is rewritten.
    """
    start = _skip_space(css, i)
    if start < len(css) and css[start] in "\"'":
        end = _string_end(css, start)
        close = _skip_space(css, end)
        if close < len(css) and css[close] == ")":
            return close + 1, css[start + 1 : end - 1]
        return None
    close = css.find(")", start)
    return None if close == -1 else (close + 1, css[start:close].rstrip(" \t\n\r\f"))


def _css_token(css: str, i: int) -> CssToken:
    """The token that starts at ``css[i]``."""
    ch = css[i]
    if css.startswith("/*", i):
        end = css.find("*/", i + 2)
        return CssToken("comment", css[i : len(css) if end == -1 else end + 2])
    if ch in _CSS_SPACE:
        return CssToken("whitespace", css[i : _skip_space(css, i)])
    if ch in "\"'":
        text = css[i : _string_end(css, i)]
        return CssToken("string", text, text[1:-1])
    if ch == "@" and _name_end(css, i + 1) > i + 1:
        end = _name_end(css, i + 1)
        return CssToken("at-keyword", css[i:end], css[i + 1 : end].lower())
    if _is_name_char(ch) or ch == "\\":
        end = _name_end(css, i)
        if css[i:end].lower() == "url" and css.startswith("(", end):
            url = _url_end(css, end + 1)
            if url is not None:
                return CssToken("url", css[i : url[0]], url[1])
        return CssToken("name", css[i:end])
    return CssToken(ch, ch)


def css_tokens(css: str) -> list[CssToken]:
    """The stylesheet ``css`` as tokens whose texts join back into it exactly."""
    tokens, i = [], 0
    while i < len(css):
        tokens.append(_css_token(css, i))
        i += len(tokens[-1].text)
    return tokens


def _is_remote(address: str) -> bool:
    return address.startswith(("http://", "https://", "//"))


def _inline_url(token: CssToken, sheet: Path) -> str:
    """The token's text, a ``url()`` of a file beside ``sheet`` made a ``data:`` URI."""
    if token.kind != "url" or token.value.startswith(("data:", "#")):
        return token.text
    if _is_remote(token.value):
        raise ValueError(f"remote url({token.value}) in {sheet}")
    return f"url({data_uri((sheet.parent / token.value.split('?')[0]).resolve())})"


def _at_rule_end(tokens: list[CssToken], i: int) -> int:
    """Just past the at-rule starting at ``tokens[i]``: its ";", or the "}" of its block."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += {"{": 1, "}": -1}.get(tokens[j].kind, 0)
        if depth == 0 and tokens[j].kind in (";", "}"):
            return j + 1
    return len(tokens)


def _inline_import(statement: list[CssToken], sheet: Path, seen: set[Path]) -> str:
    """What an ``@import`` statement becomes: the stylesheet it names, inlined (a remote one
    is dropped: a deck must open with no network)."""
    target = next((t.value for t in statement if t.kind in ("url", "string")), None)
    if target is None:  # not an import we understand: leave it to the browser to ignore
        return "".join(t.text for t in statement)
    if _is_remote(target):
        log(f"  dropping remote @import {target} in {sheet.name}")
        return ""
    return inline_css(sheet.parent / target, seen)


def _declarations(body: list[CssToken]) -> list[list[CssToken]]:
    """A block's contents cut after each ";" (the last declaration may have none)."""
    cuts = [0] + [j + 1 for j, t in enumerate(body) if t.kind == ";"]
    return [body[a:b] for a, b in zip(cuts, cuts[1:] + [len(body)], strict=True) if a < b]


def _property(declaration: list[CssToken]) -> str:
    """The lower-case property name the declaration sets ("" if it sets none)."""
    solid = [t for t in declaration if t.kind not in _BLANK]
    if len(solid) >= 2 and solid[0].kind == "name" and solid[1].kind == ":":
        return solid[0].text.lower()
    return ""


# the font files an @font-face may offer, best first, and their format() names
_FONT_FORMATS = {".woff2": "woff2", ".woff": "woff", ".ttf": "truetype", ".otf": "opentype"}


def _inline_font_face(rule: list[CssToken], sheet: Path) -> str:
    """An ``@font-face`` rule with a single font file, the best on offer, as a ``data:`` URI.

    Its ``src`` declarations go (the blanks before them stay) and one ``src`` takes their
    place at the end of the block: embedding every format would triple the decks' fonts.
    """
    opening = next((j + 1 for j, t in enumerate(rule) if t.kind == "{"), len(rule))
    closing = max(opening, len(rule) - 1 if rule[-1].kind == "}" else len(rule))
    kept, files = rule[:opening], []
    for declaration in _declarations(rule[opening:closing]):
        if _property(declaration) == "src":
            files += [
                t.value.split("?")[0].split("#")[0]
                for t in declaration
                if t.kind == "url" and not t.value.startswith("data:")
            ]
            # keep the blanks before it, as the text around a removed declaration stays
            declaration = declaration[: [t.kind in _BLANK for t in declaration].index(False)]
        kept += declaration
    best = next((f for ext in _FONT_FORMATS for f in files if f.lower().endswith(ext)), None)
    if best is None:  # no font file we know: the rule as written, its url()s inlined
        return "".join(_inline_url(t, sheet) for t in rule)
    fmt = _FONT_FORMATS[Path(best).suffix.lower()]
    src = f"src: url({data_uri((sheet.parent / best).resolve())}) format('{fmt}');"
    return "".join(_inline_url(t, sheet) for t in kept) + src + "}"


def inline_css(path: Path, _seen: set[Path] | None = None) -> str:
    """CSS text with local @imports resolved and every url() turned into a data: URI."""
    seen = _seen if _seen is not None else set()
    path = path.resolve()
    if path in seen:
        return ""
    seen.add(path)
    tokens = css_tokens(path.read_text(encoding="utf-8"))
    out, i = [], 0
    while i < len(tokens):
        at_rule = tokens[i].value if tokens[i].kind == "at-keyword" else None
        if at_rule == "import":
            end = _at_rule_end(tokens, i)
            out.append(_inline_import(tokens[i:end], path, seen))
        elif at_rule == "font-face":
            end = _at_rule_end(tokens, i)
            out.append(_inline_font_face(tokens[i:end], path))
        else:
            end = i + 1
            out.append(_inline_url(tokens[i], path))
        i = end
    return "".join(out)


# --------------------------------------------------------------------------- page assets
def script_safe(js: str) -> str:
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def load_assets() -> dict[str, str]:
    read = lambda p: p.read_text(encoding="utf-8")  # noqa: E731
    return {
        "reveal_css": inline_css(REVEAL / "dist" / "reset.css")
        + inline_css(REVEAL / "dist" / "reveal.css"),
        "theme_css": inline_css(REVEAL / "dist" / "theme" / f"{THEME}.css"),
        "katex_css": inline_css(KATEX / "katex.min.css"),
        "scripts": "\n".join(
            f"<script>/* {name} */\n{script_safe(read(p))}\n</script>"
            for name, p in [
                ("reveal.js", REVEAL / "dist" / "reveal.js"),
                ("reveal.js markdown plugin", REVEAL / "plugin" / "markdown" / "markdown.js"),
                ("reveal.js notes plugin", REVEAL / "plugin" / "notes" / "notes.js"),
                ("reveal.js math plugin", REVEAL / "plugin" / "math" / "math.js"),
                ("KaTeX", KATEX / "katex.min.js"),
                ("KaTeX auto-render", KATEX / "contrib" / "auto-render.min.js"),
            ]
        ),
    }


# --------------------------------------------------------------------------- decks
def deck_paths(only: str | None = None) -> list[Path]:
    decks = sorted(p for p in SLIDES.glob("[0-9][0-9]-*.md"))
    if only is not None:
        decks = [p for p in decks if p.name.startswith(f"{int(only):02d}-")]
        if not decks:
            sys.exit(f"[slides] error: no deck slides/{only}-*.md")
    return decks


def deck_title(md: str, fallback: str) -> str:
    m = re.search(r"^#\s+(.+)$", md, flags=re.MULTILINE)
    return m.group(1).strip() if m else fallback


def count_slides(md: str) -> int:
    """Number of slides reveal.js makes from the deck (same separator as the markdown plugin)."""
    return len(re.split(SLIDE_SEPARATOR, md.strip("\n")))


_CODE = re.compile(r"(^```.*?^```[ \t]*$|`[^`\n]+`)", re.MULTILINE | re.DOTALL)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^\s$][^$\n]*?\$", re.DOTALL)
_PUNCT = re.compile(r"([!\"#%&'()*+,\-./:;<=>?@\[\]\\^_`{|}~])")


def protect_math(md: str) -> str:
    """Backslash-escape Markdown punctuation inside $...$ and $$...$$ (not in code).

    reveal.js runs the Markdown through `marked` before KaTeX sees it, and marked would eat
    `\\|`, `\\{` and turn `_..._` into emphasis. Escaped punctuation comes out verbatim.
    """
    parts = _CODE.split(md)
    for i in range(0, len(parts), 2):  # even parts are outside code
        parts[i] = _MATH.sub(lambda m: _PUNCT.sub(r"\\\1", m.group(0)), parts[i])
    return "".join(parts)


def embed_figures(md: str, deck: Path) -> str:
    def _sub(m: re.Match) -> str:
        png = FIGURES / f"{m.group(1)}.png"
        if not png.exists():
            raise FileNotFoundError(f"{deck.name} uses figures/{png.name}, which was not built")
        return f"]({data_uri(png)})"

    return FIGURE_REF.sub(_sub, md)


REVEAL_CONFIG = {
    "hash": True,
    "slideNumber": "c/t",
    "width": 1280,
    "height": 720,
    "margin": 0.05,
    "center": False,
    "transition": "none",
    "pdfSeparateFragments": False,
    "pdfMaxPagesPerSlide": 1,
    # KaTeX is inlined below; the math plugin still "loads" its scripts from `local`, so point it
    # at an empty data: URL (a JS comment) instead of the CDN. Nothing leaves the file.
    "katex": {"local": "data:text/javascript,//", "throwOnError": False},
}


# claim results used by the decks (one run per claim per build) and what each deck shows
CLAIM_RESULTS: dict = {}
RENDERED: dict[str, dict[str, str]] = {}


def deck_html(deck: Path, assets: dict[str, str]) -> str:
    claim_numbers = load_script("claim_numbers", SLIDES / "claim_numbers.py")

    md, RENDERED[deck.name] = claim_numbers.render(deck.read_text(encoding="utf-8"), CLAIM_RESULTS)
    title = deck_title(md, deck.stem)
    body = html.escape(protect_math(embed_figures(md, deck)), quote=False)
    config = json.dumps(REVEAL_CONFIG, indent=2)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="dropoutcourse slides/build.py (reveal.js 5, KaTeX)">
<title>{html.escape(title)}</title>
<style>{assets["reveal_css"]}</style>
<style>{assets["theme_css"]}</style>
<style>{assets["katex_css"]}</style>
<style>{EXTRA_CSS}</style>
</head>
<body>
<div class="reveal"><div class="slides">
<section data-markdown data-separator="{SLIDE_SEPARATOR}" data-separator-notes="{NOTES_SEPARATOR}">
<textarea data-template>
{body}
</textarea>
</section>
</div></div>
{assets["scripts"]}
<script>
const config = {config};
if (/print-pdf/i.test(window.location.search)) {{
  // handouts get the speaker notes on a page after each slide
  config.showNotes = "separate-page";
}}
Reveal.initialize(Object.assign(config, {{
  plugins: [RevealMarkdown, RevealNotes, RevealMath.KaTeX],
}}));
</script>
</body>
</html>
"""


def index_html(decks: list[Path], pdfs: bool) -> str:
    rows = []
    for deck in decks:
        title = deck_title(deck.read_text(encoding="utf-8"), deck.stem)
        num = deck.name[:2]
        nb = NOTEBOOKS.get(num)
        links = [f'<a href="{deck.stem}.html">slides</a>']
        if pdfs or (BUILD / f"{deck.stem}.pdf").exists():
            links.append(f'<a href="{deck.stem}.pdf">PDF handout</a>')
        if nb:
            links.append(f'<a href="../../notebooks/{nb}">notebook</a>')
        rows.append(
            f"<li><span class='num'>{num}</span> <strong>{html.escape(title)}</strong>"
            f"<br>{' · '.join(links)}</li>"
        )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Dropout regularization: lecture slides</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46em; margin: 3em auto; padding: 0 1em;
       color: #222; line-height: 1.5; }}
li {{ margin: 0.9em 0; list-style: none; }}
ul {{ padding: 0; }}
.num {{ display: inline-block; width: 2.2em; color: #0072B2; font-weight: bold; }}
a {{ color: #0072B2; }}
</style>
</head>
<body>
<h1>Dropout regularization: lecture slides</h1>
<p>Press <kbd>S</kbd> in a deck for the speaker notes, <kbd>F</kbd> for full screen,
<kbd>Esc</kbd> for the overview. The PDF handouts carry the notes after each slide.</p>
<ul>
{chr(10).join(rows)}
</ul>
</body>
</html>
"""


# --------------------------------------------------------------------------- figures
def build_figures(decks: list[Path], force: bool) -> None:
    figures = load_script("figures", SLIDES / "figures.py")

    wanted: list[str] = []
    for deck in decks:
        used = FIGURE_REF.findall(deck.read_text(encoding="utf-8"))
        listed = figures.DECK_FIGURES.get(deck.name[:2], [])
        unlisted = sorted(set(used) - set(listed))
        if unlisted:
            sys.exit(
                f"[slides] error: {deck.name} uses figures not listed in figures.py: {unlisted}"
            )
        wanted += [n for n in listed if n not in wanted]
    todo = [n for n in wanted if force or not (FIGURES / f"{n}.png").exists()]
    if not todo:
        return
    FIGURES.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for name in todo:
        t = time.perf_counter()
        figures.make(name, FIGURES / f"{name}.png")
        log(f"  figure {name}.png ({time.perf_counter() - t:.1f} s)")
    log(f"{len(todo)} figure(s) in {time.perf_counter() - t0:.1f} s")


# --------------------------------------------------------------------------- PDFs
def print_pdfs(chromium: str, decks: list[Path]) -> list[Path]:
    """Print each deck's handout (``deck.pdf`` beside ``deck.html``) with Playwright.

    reveal.js lays out its print view (``?print-pdf``: a page per slide, then its notes) and
    marks itself ready; the page is printed at the size its print CSS asks for.
    """
    from playwright.sync_api import sync_playwright

    pdfs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for deck_html_path in decks:
                page = browser.new_page()
                page.goto(deck_html_path.resolve().as_uri() + "?print-pdf")
                page.wait_for_function(
                    "() => window.Reveal && Reveal.isReady() && document.querySelector('.pdf-page')",
                    timeout=120_000,
                )
                page.wait_for_load_state("networkidle")
                pdfs.append(deck_html_path.with_suffix(".pdf"))
                page.pdf(path=str(pdfs[-1]), prefer_css_page_size=True, print_background=True)
                page.close()
        finally:
            browser.close()
    return pdfs


def count_pdf_pages(pdf: Path) -> int:
    """Pages of a PDF file, read by pypdf."""
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


# --------------------------------------------------------------------------- main
def prefill_claims(jobs: int = 2) -> None:
    """Train every claim the decks and figures quote into the claims cache, ``jobs`` at a time
    (nothing to do when they are cached; without a cache folder they are run one by one)."""
    from dropoutcourse.claims import registry

    t = time.perf_counter()
    done = registry.prefill(jobs=jobs)
    if done:
        log(
            f"{len(done)} claims ready in the cache ({jobs} at a time): {time.perf_counter() - t:.1f} s"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--deck", help="build only deck NN (e.g. 03)")
    ap.add_argument("--no-pdf", action="store_true", help="skip the PDF handouts")
    ap.add_argument("--force", action="store_true", help="regenerate figures that already exist")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    ensure_node_modules()
    BUILD.mkdir(parents=True, exist_ok=True)
    decks = deck_paths(args.deck)
    if args.deck is None:
        prefill_claims()
    build_figures(decks, args.force)
    assets = load_assets()
    built = []
    for deck in decks:
        out = BUILD / f"{deck.stem}.html"
        out.write_text(deck_html(deck, assets), encoding="utf-8")
        built.append(out)
        n = count_slides(deck.read_text(encoding="utf-8"))
        log(f"{out.relative_to(ROOT)}: {n} slides, {out.stat().st_size / 1e6:.1f} MB")

    want_pdf = not args.no_pdf
    chromium = find_chromium() if want_pdf else None
    if want_pdf and chromium is None:
        msg = (
            "Chromium not found, so no PDF handouts "
            "(install it with `sudo apt-get install chromium`, or set CHROMIUM=/path/to/chrome)"
        )
        if os.environ.get("CI") == "true":
            sys.exit(f"[slides] error: {msg}")
        log(f"skipping PDFs: {msg}")
        want_pdf = False
    if want_pdf:
        t = time.perf_counter()
        for pdf in print_pdfs(chromium, built):
            log(f"{pdf.relative_to(ROOT)}: {count_pdf_pages(pdf)} pages")
        log(f"{len(built)} PDF handout(s) in {time.perf_counter() - t:.1f} s")

    (BUILD / "numbers.json").write_text(json.dumps(RENDERED, indent=1), encoding="utf-8")
    all_decks = deck_paths()
    (BUILD / "index.html").write_text(index_html(all_decks, want_pdf), encoding="utf-8")
    log(f"slides/build/index.html; done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
