"""Build the course website, offline: site/_build/html/index.html.

    python site/build.py            # what `make site` runs (after `make slides` and `make homework`)
    python site/build.py --out DIR

The site holds the README's syllabus, the executed lecture notebooks (stored outputs, math
rendered), the slide decks and their PDF handouts (slides/build/), the homework student
notebooks and bundles (homework/dist/*/student/ and *-student.zip, never the autograder or
instructor versions) and the set-up
instructions. Pages are assembled in a staging folder and rendered by Sphinx with MyST-NB;
nothing is executed and nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "site"
DEFAULT_OUT = HERE / "_build"


@dataclass(frozen=True)
class Lecture:
    number: int
    title: str
    notebook: str  # file name in notebooks/
    deck: str  # stem in slides/
    homework: tuple[str, ...]  # homework folder names in homework/dist/


def _table_rows(readme: str) -> list[list]:
    """The body rows of the README's first table: per row, its cells' inline tokens."""
    from markdown_it import MarkdownIt

    rows: list[list] = []
    row: list | None = None
    in_body = False
    for token in MarkdownIt("commonmark").enable("table").parse(readme):
        if token.type == "tbody_open":
            in_body = True
        elif token.type == "tbody_close":
            break
        elif in_body and token.type == "tr_open":
            row = []
        elif in_body and token.type == "inline" and row is not None:
            row.append(token)
        elif in_body and token.type == "tr_close" and row is not None:
            rows.append(row)
    return rows


def _link(cell, folder: str, suffix: str) -> str | None:
    """The file name of the first link (or `code` path) in ``cell`` into ``folder``/*``suffix``."""
    for child in cell.children or []:
        target = child.attrs.get("href") if child.type == "link_open" else child.content
        if isinstance(target, str) and target.startswith(f"{folder}/") and target.endswith(suffix):
            return Path(target).name
    return None


def syllabus(readme: str, homework_names: list[str]) -> list[Lecture]:
    """The lectures of the README's table, with their notebook, deck and homework."""
    lectures = []
    for cells in _table_rows(readme):
        if len(cells) != 4:
            raise ValueError(f"README syllabus rows have 4 columns, got {len(cells)}")
        number, _, title = cells[0].content.partition(". ")
        notebook = _link(cells[1], "notebooks", ".ipynb")
        deck = _link(cells[2], "slides", ".md")
        if not (number.isdigit() and notebook and deck):
            row = " | ".join(c.content for c in cells)
            raise ValueError(f"README syllabus row without a number, notebook or deck: {row!r}")
        numbers = re.findall(r"HW(\d+)", cells[3].content)
        homework = tuple(n for k in numbers for n in homework_names if n.startswith(f"hw{k}-"))
        lectures.append(Lecture(int(number), title.strip(), notebook, deck[:-3], homework))
    if not lectures:
        raise ValueError("README.md has no syllabus table (| 1. Title | notebook | slides | hw |)")
    return lectures


def readme_section(readme: str, start: str, stop: str) -> str:
    """The README text from heading `start` up to (not including) heading `stop`."""
    begin = readme.index(start)
    return readme[begin : readme.index(stop, begin)]


def index_page(readme: str, lectures: list[Lecture], homework_titles: dict[str, str]) -> str:
    """The home page: the README's title and introduction, then the syllabus as a table."""
    title, _, rest = readme.partition("\n")
    intro = rest[: rest.index("|")].strip()
    rows = []
    for lec in lectures:
        hw = "<br>".join(
            f'<a href="homework/{h}.html">{html.escape(homework_titles[h])}</a> '
            f'(<a href="homework/{h}-student.zip" download>student bundle, .zip</a>)'
            for h in lec.homework
        )
        rows.append(
            "<tr>"
            f"<td>{lec.number}. {html.escape(lec.title)}</td>"
            f'<td><a href="lectures/{lec.notebook[:-6]}.html">notebook</a> '
            f'(<a href="lectures/{lec.notebook}" download>.ipynb</a>)</td>'
            f'<td><a href="slides/{lec.deck}.html">slides</a> · '
            f'<a href="slides/{lec.deck}.pdf">PDF</a></td>'
            f"<td>{hw or '—'}</td>"
            "</tr>"
        )
    table = (
        '<div class="syllabus-wrap"><table class="syllabus">\n'
        "<thead><tr><th>Lecture</th><th>Notebook</th><th>Slides</th><th>Homework</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div>"
    )
    toc = "\n".join(
        ["```{toctree}", ":hidden:", ":caption: Lectures", ""]
        + [f"lectures/{lec.notebook[:-6]}" for lec in lectures]
        + ["```", "", "```{toctree}", ":hidden:", ":caption: Homework", ""]
        + [f"homework/{h}" for h in homework_titles]
        + ["```", "", "```{toctree}", ":hidden:", ":caption: Practical", "", "setup", "```"]
    )
    return f"{title}\n\n{intro}\n\n## Syllabus\n\n{table}\n\n{toc}\n"


def lecture_links(lec: Lecture, homework_titles: dict[str, str]) -> str:
    """The strip shown under a lecture page's title: its deck, handout, homework, notebook."""
    links = [
        f'<a href="../slides/{lec.deck}.html">Slides</a>',
        f'<a href="../slides/{lec.deck}.pdf">PDF handout</a>',
        *(
            f'<a href="../homework/{h}.html">{html.escape(homework_titles[h])}</a>'
            for h in lec.homework
        ),
        f'<a href="{lec.notebook}" download>Notebook (.ipynb)</a>',
    ]
    return '<p class="lecture-links">' + " · ".join(links) + "</p>"


def with_links_after_title(notebook: dict, strip: str) -> dict:
    """A copy of ``notebook`` with ``strip`` right under its title (the first cell's ``# `` line)."""
    out = copy.deepcopy(notebook)
    first = out["cells"][0]
    title, _, rest = "".join(first["source"]).partition("\n")
    if first["cell_type"] != "markdown" or not title.startswith("# "):
        raise ValueError("a lecture notebook must open with a Markdown cell starting '# Title'")
    first["source"] = f"{title}\n\n{strip}\n\n{rest.lstrip()}"
    return out


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook (its page title)."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def stage(stage_dir: Path) -> Path:
    """Assemble the Sphinx sources in `stage_dir`; fail clearly when a built input is missing."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    decks = ROOT / "slides" / "build"
    students = sorted((ROOT / "homework" / "dist").glob("*/student/*.ipynb"))
    if not students:
        raise FileNotFoundError("homework/dist/*/student/ is empty: run `make homework` first")
    homework_titles = {p.stem: notebook_title(p) for p in students}
    lectures = syllabus(readme, list(homework_titles))

    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    extra = stage_dir / "_extra"
    for sub in ("lectures", "homework", "_static"):
        (stage_dir / sub).mkdir(parents=True)
    (extra / "slides").mkdir(parents=True)
    (extra / "lectures").mkdir()
    (extra / "homework").mkdir()

    shutil.copy(HERE / "conf.py", stage_dir / "conf.py")
    shutil.copy(HERE / "course.css", stage_dir / "_static" / "course.css")
    # UTF-8 whatever the platform's default: the pages hold −, →, ≈ and accented names
    (stage_dir / "index.md").write_text(
        index_page(readme, lectures, homework_titles), encoding="utf-8"
    )
    setup = readme_section(readme, "## Two commands", "## The slides")
    (stage_dir / "setup.md").write_text("# Setting up\n\n" + setup, encoding="utf-8")
    for lec in lectures:
        nb = ROOT / "notebooks" / lec.notebook
        page = with_links_after_title(
            json.loads(nb.read_text(encoding="utf-8")), lecture_links(lec, homework_titles)
        )
        (stage_dir / "lectures" / lec.notebook).write_text(
            json.dumps(page, indent=1, ensure_ascii=False), encoding="utf-8"
        )
        shutil.copy(nb, extra / "lectures")  # downloadable, to open in JupyterLab
        for suffix in (".html", ".pdf"):
            deck = decks / f"{lec.deck}{suffix}"
            if not deck.exists():
                raise FileNotFoundError(f"{deck.relative_to(ROOT)} is missing: run `make slides`")
            shutil.copy(deck, extra / "slides")
    for student in students:
        shutil.copy(student, stage_dir / "homework")
        # what students download: the student bundle (notebook, helper file, install notes)
        bundle = student.parents[1] / f"{student.stem}-student.zip"
        if not bundle.exists():
            raise FileNotFoundError(f"{bundle.relative_to(ROOT)} is missing: run `make homework`")
        shutil.copy(bundle, extra / "homework")
    mathjax = mathjax_dir()
    shutil.copytree(mathjax, stage_dir / "_static" / "mathjax")
    return stage_dir


def mathjax_dir() -> Path:
    """MathJax 2, as shipped inside the `jupyter-server-mathjax` package (no download)."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def build(out: Path = DEFAULT_OUT) -> Path:
    """Stage the sources and run Sphinx; return the folder holding index.html."""
    source = stage(Path(out) / "src")
    html_dir = Path(out) / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
               "-E", str(source), str(html_dir)]  # fmt: skip
    subprocess.run(command, check=True)
    return html_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    try:
        html_dir = build(args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"error: Sphinx failed (exit {exc.returncode}), see its messages above", file=sys.stderr
        )
        return 1
    print(f"site: {html_dir / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
