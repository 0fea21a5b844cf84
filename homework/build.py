"""Build the student and autograder versions of every homework from its otter master notebook.

    python homework/build.py                      # all homeworks into homework/dist/
    python homework/build.py --out /tmp/hw hw1-implement-dropout
    python homework/build.py --no-run-tests       # skip running the solutions against the tests

For each master ``homework/source/<hw>/<hw>.ipynb`` this runs ``otter assign``, which writes
``<out>/<hw>/student/<hw>.ipynb`` (what students get: no solutions, public tests only) and
``<out>/<hw>/autograder/`` (solutions notebook, all tests, and the autograder zip, renamed here to
``<hw>-autograder.zip``, to which ``grading.json`` is added: the master's imports for grade.py). otter assign also executes the solutions and fails unless they get full
marks. Afterwards the student folder is checked for leaked solution lines and hidden tests
(:func:`find_leaks`); any leak fails the build. Finally two bundles are zipped per homework:
``<out>/<hw>/<hw>-student.zip`` (the student folder plus a README with install instructions:
what you hand out) and ``<out>/<hw>/<hw>-instructor.zip`` (solutions, autograder zip and
``grade.py`` with ``sandbox.py``: keep private). Helper files in ``source/_shared/`` are copied next to every master
before ``otter assign``; an assignment ships those its config lists under ``files:``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from dropoutcourse import subprocess_env

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
SHARED = SOURCE / "_shared"  # helper files copied next to every master before otter assign
TEMPLATES = HERE / "templates"  # README of the student and instructor bundles
DIST = HERE / "dist"
SUMMARY = "build-summary.json"  # <out>/<hw>/: what build_one returned, with the sources' hash
# what students install; set HOMEWORK_PACKAGE (or --package) to your course's package location
PACKAGE = os.environ.get("HOMEWORK_PACKAGE", "dropoutcourse @ git+<course repository URL>")

# lines that carry no information about the solution and may appear anywhere
TRIVIAL = {"...", "pass", "return", "else:", "try:", "break", "continue", ")", "]", "}"}
MIN_SECRET_LEN = 8
PASSED_MESSAGE = "All autograder tests passed."
PARTIAL_MARKER = "a trailing # SOLUTION marks only part of a multi-line statement: "


def masters() -> dict[str, Path]:
    """Map homework name -> master notebook, for every ``source/<hw>/<hw>.ipynb``."""
    return {
        p.name: p / f"{p.name}.ipynb"
        for p in sorted(SOURCE.iterdir())
        if p.is_dir() and not p.name.startswith(("_", "."))
    }


def stage(master: Path, into: Path) -> Path:
    """Copy a master's folder plus the shared helper files into ``into``; return the copy's master.

    otter assign ships only files from the master's own folder (the config's ``files:``), so the
    helpers every assignment shares live once in ``source/_shared/`` and are copied in here.
    """
    target = Path(into) / master.parent.name
    shutil.copytree(master.parent, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for helper in sorted(SHARED.glob("*.py")) if SHARED.is_dir() else []:
        shutil.copy2(helper, target / helper.name)
    return target / master.name


# ---------------------------------------------------------------------------------------------
# leak check


def _norm(line: str) -> str:
    return " ".join(line.split())


def _marker(cell, word: str) -> bool:
    return cell.cell_type == "raw" and cell.source.strip().upper().startswith(f"# {word}")


def secret_lines(master: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Lines of a master notebook that must never reach a student.

    Returns ``(solutions, hidden)``: dicts mapping a normalised line to a short description of
    where it came from. Solution lines are code lines between ``# BEGIN SOLUTION`` and
    ``# END SOLUTION`` comments, lines ending in ``# SOLUTION`` (and the right-hand side of such an
    assignment), every line of a Markdown cell inside a raw ``# BEGIN SOLUTION`` block, and every
    line of a *code* cell in such a block that has no solution markers at all (otter copies those
    verbatim: the classic way to publish the answers). Hidden lines are the lines of ``# HIDDEN``
    test cells. Trivial lines, and lines that also occur in the public part of the master (prompts,
    scaffolding, public tests), are not secrets.
    """
    nb = nbformat.read(master, as_version=4)
    solutions: dict[str, str] = {}
    hidden: dict[str, str] = {}
    public: list[str] = []
    in_solution = in_tests = False
    for i, cell in enumerate(nb.cells):
        where = f"{master.name} cell {i}"
        if cell.cell_type == "raw":
            if _marker(cell, "BEGIN SOLUTION"):
                in_solution = True
            elif _marker(cell, "END SOLUTION"):
                in_solution = False
            elif _marker(cell, "BEGIN TESTS"):
                in_tests = True
            elif _marker(cell, "END TESTS"):
                in_tests = False
            continue
        lines = cell.source.split("\n")
        if in_tests:
            target = hidden if lines and lines[0].strip().upper().startswith("# HIDDEN") else None
            for line in lines:
                (
                    target.__setitem__(_norm(line), where)
                    if target is not None
                    else public.append(line)
                )
            continue
        if cell.cell_type == "markdown":
            for line in lines:
                if in_solution:
                    solutions[_norm(line)] = where
                else:
                    public.append(line)
            if not in_solution:
                # as the site renders it: inline code without backticks, lines joined
                public.append(" ".join(lines).replace("`", ""))
            continue
        has_markers = any(re.search(r"#\s*(BEGIN |END )?SOLUTION", line) for line in lines)
        if in_solution and not has_markers:
            for line in lines:
                solutions[_norm(line)] = f"{where} (solution cell without # BEGIN/END SOLUTION)"
            continue
        block = prompt = False
        for line in lines:
            stripped = line.strip()
            if re.match(r"#\s*BEGIN SOLUTION", stripped):
                block = True
            elif re.match(r"#\s*END SOLUTION", stripped):
                block = False
            elif "# BEGIN PROMPT" in line:
                prompt = True
            elif "# END PROMPT" in line:
                prompt = False
            elif block:
                solutions[_norm(line)] = where
            elif re.search(r"#\s*SOLUTION(\s+NO PROMPT)?\s*$", line):
                code = re.sub(r"#\s*SOLUTION(\s+NO PROMPT)?\s*$", "", line)
                solutions[_norm(code)] = where
                try:
                    ast.parse(code.strip())
                except SyntaxError:
                    # e.g. a formatter split the statement: the other lines reach students
                    solutions[PARTIAL_MARKER + _norm(code)] = where
                lhs, eq, rhs = code.partition("=")
                if eq and not rhs.startswith("=") and re.fullmatch(r"[\w.,\s\[\]'\"]+", lhs):
                    solutions[_norm(rhs)] = where
            elif not prompt:
                public.append(line)

    public_text = _norm("\n".join(public).replace("\n", " \n "))

    def keep(line: str) -> bool:
        return (
            len(line) >= MIN_SECRET_LEN
            and line not in TRIVIAL
            and not line.startswith("#")
            and line not in public_text
        )

    return (
        {k: v for k, v in solutions.items() if keep(k)},
        {k: v for k, v in hidden.items() if keep(k)},
    )


def _student_text(student_dir: Path) -> str:
    """Everything a student receives, as one normalised string (sources, test metadata, files)."""
    chunks = []
    for path in sorted(student_dir.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb.get("cells", []):
                src = cell.get("source", "")
                chunks.append("".join(src) if isinstance(src, list) else src)
            chunks.append(json.dumps(nb.get("metadata", {}), ensure_ascii=False))
            # test code in the metadata is JSON-escaped above; add it unescaped too
            for test in nb.get("metadata", {}).get("otter", {}).get("tests", {}).values():
                for suite in test.get("suites", []) if isinstance(test, dict) else []:
                    chunks.extend(case.get("code", "") for case in suite.get("cases", []))
        else:
            try:
                chunks.append(path.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                continue
    text = "\n".join(chunks)
    # doctest prompts (">>> ", "... ") would hide a leaked test line; drop them
    text = re.sub(r"(?m)^\s*(>>>|\.\.\.) ?", "", text)
    return " \n ".join(_norm(line) for line in text.split("\n"))


def find_leaks(master: Path, student_dir: Path) -> list[str]:
    """Solution lines and hidden-test lines of ``master`` found anywhere in ``student_dir``."""
    solutions, hidden = secret_lines(Path(master))
    text = _student_text(Path(student_dir))
    leaks = [f"{w}: {line}" for line, w in solutions.items() if line.startswith(PARTIAL_MARKER)]
    leaks += [f"solution line from {w}: {line!r}" for line, w in solutions.items() if line in text]
    leaks += [f"hidden test line from {w}: {line!r}" for line, w in hidden.items() if line in text]
    return leaks


# ---------------------------------------------------------------------------------------------
# bundles


def _zip_folder(folder: Path, target: Path) -> Path:
    """Zip ``folder``'s files under a top-level folder named like the zip (without .zip)."""
    root = target.name.removesuffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{root}/{path.relative_to(folder)}")
    return target


def make_bundles(name: str, master: Path, result: Path, package: str = PACKAGE) -> dict:
    """Write ``<hw>-student.zip`` and ``<hw>-instructor.zip`` into ``result``.

    The student bundle is the student folder (notebook and helper files) plus a README with the
    install instructions; it is leak-checked like the student folder. The instructor bundle
    holds the solutions notebook, the autograder zip, ``grade.py`` and ``sandbox.py``. Returns
    ``{"student": path, "instructor": path, "leaks": [...]}``.
    """
    fill = {"name": name, "package": package}
    with tempfile.TemporaryDirectory(prefix=f"bundle-{name}-") as tmp:
        student = Path(tmp) / "student"
        shutil.copytree(result / "student", student)
        readme = (TEMPLATES / "student-README.md").read_text(encoding="utf-8")
        (student / "README.md").write_text(readme.format(**fill), encoding="utf-8")
        leaks = find_leaks(master, student)
        student_zip = _zip_folder(student, result / f"{name}-student.zip")
        instructor = Path(tmp) / "instructor"
        instructor.mkdir()
        shutil.copy2(result / "autograder" / f"{name}.ipynb", instructor)
        shutil.copy2(result / "autograder" / f"{name}-autograder.zip", instructor)
        shutil.copy2(HERE / "grade.py", instructor)
        shutil.copy2(HERE / "sandbox.py", instructor)
        readme = (TEMPLATES / "instructor-README.md").read_text(encoding="utf-8")
        (instructor / "README.md").write_text(readme.format(**fill), encoding="utf-8")
        instructor_zip = _zip_folder(instructor, result / f"{name}-instructor.zip")
    return {"student": student_zip, "instructor": instructor_zip, "leaks": leaks}


# ---------------------------------------------------------------------------------------------
# what grade.py needs besides otter's tests


def master_imports(master: Path) -> str:
    """The import statements of the master's handed-out code cells (not answers, not tests).

    ``grade.py`` runs every test in a namespace that starts from these imports (``np``,
    ``numerical_gradient``, ``load_digits`` ...), so a test's tools never come from the
    submission, whatever the notebook rebinds.
    """
    nb = nbformat.read(master, as_version=4)
    lines: list[str] = []
    hidden = False  # inside a solution or tests block
    for cell in nb.cells:
        if cell.cell_type == "raw":
            if _marker(cell, "BEGIN SOLUTION") or _marker(cell, "BEGIN TESTS"):
                hidden = True
            elif _marker(cell, "END SOLUTION") or _marker(cell, "END TESTS"):
                hidden = False
            continue
        if cell.cell_type != "code" or hidden:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "\n".join(dict.fromkeys(lines)) + "\n"


def add_grading_spec(autograder_zip: Path, name: str, master: Path) -> None:
    """Add ``grading.json`` (the assignment's name and the master's imports) to the zip."""
    spec = {"format": 1, "assignment": name, "imports": master_imports(master)}
    with zipfile.ZipFile(autograder_zip, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("grading.json", json.dumps(spec, indent=1))


# ---------------------------------------------------------------------------------------------
# build


def build_one(
    name: str, master: Path, out: Path, run_tests: bool = True, package: str = PACKAGE
) -> dict:
    """Run otter assign for one homework, check it, and bundle it. Returns a summary dict."""
    result = out / name
    shutil.rmtree(result, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"stage-{name}-") as tmp:
        staged = stage(master, Path(tmp))
        cmd = [sys.executable, "-m", "otter", "assign", "-v", str(staged), str(result)]
        if not run_tests:
            cmd.append("--no-run-tests")
        env = subprocess_env()  # quiet TensorFlow in the grading kernels
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=staged.parent)
    log = proc.stdout + proc.stderr
    summary = {
        "name": name,
        "returncode": proc.returncode,
        "log": log,
        "tests_passed": PASSED_MESSAGE in log,
        "leaks": [],
        "zip": None,
        "bundles": {},
    }
    if proc.returncode != 0:
        return summary
    zips = sorted((result / "autograder").glob("*-autograder_*.zip"))
    if zips:
        stable = result / "autograder" / f"{name}-autograder.zip"
        zips[-1].rename(stable)
        summary["zip"] = str(stable)
    if summary["zip"]:
        add_grading_spec(Path(summary["zip"]), name, master)
    summary["leaks"] = find_leaks(master, result / "student")
    if summary["zip"] and not summary["leaks"]:
        bundles = make_bundles(name, master, result, package)
        summary["leaks"] = bundles.pop("leaks")
        summary["bundles"] = {k: str(v) for k, v in bundles.items()}
    recorded = {**summary, "sources": sources_fingerprint(package, run_tests)}
    (result / SUMMARY).write_text(json.dumps(recorded, indent=1), encoding="utf-8")
    return summary


def sources_fingerprint(package: str = PACKAGE, run_tests: bool = True) -> str:
    """Hash of everything a build depends on: the masters and shared files, the templates, the
    build and grading scripts, the course package the solutions run, and the lock file."""
    repo = HERE.parent
    files = [f for f in SOURCE.rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    files += [*TEMPLATES.rglob("*"), *HERE.glob("*.py"), *(repo / "dropoutcourse").rglob("*.py")]
    files.append(repo / "requirements" / "lock.txt")
    digest = hashlib.sha256(f"{package}|{run_tests}".encode())
    for f in sorted(f for f in files if f.is_file() and ".ipynb_checkpoints" not in f.parts):
        digest.update(f.relative_to(repo).as_posix().encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def existing_build(out: Path = DIST, package: str = PACKAGE) -> list[dict] | None:
    """The summaries of a complete, successful build of every homework in ``out`` made from
    exactly the current sources (``make homework`` before ``make test``), else None."""
    expected = sources_fingerprint(package)
    summaries = []
    for name in masters():
        recorded = Path(out) / name / SUMMARY
        if not recorded.is_file():
            return None
        summary = json.loads(recorded.read_text(encoding="utf-8"))
        if summary.pop("sources", None) != expected or summary["returncode"] != 0:
            return None
        summaries.append(summary)
    return summaries


def build(
    names: list[str] | None = None,
    out: Path = DIST,
    run_tests: bool = True,
    jobs: int = 1,
    package: str = PACKAGE,
) -> list[dict]:
    """Build the given homeworks (default: all) into ``out``; returns one summary per homework."""
    available = masters()
    names = names or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown homework(s) {unknown}; available: {list(available)}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda n: build_one(n, available[n], out, run_tests, package), names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="homeworks to build (default: all)")
    parser.add_argument(
        "--out", type=Path, default=DIST, help="output folder (default homework/dist)"
    )
    parser.add_argument(
        "--no-run-tests",
        action="store_true",
        help="do not run the solutions against the autograder tests",
    )
    parser.add_argument("--jobs", type=int, default=1, help="homeworks built in parallel")
    parser.add_argument(
        "--package",
        default=PACKAGE,
        help="pip requirement students install for the course package (default: "
        "$HOMEWORK_PACKAGE or a placeholder to edit)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    ok = True
    for s in build(args.names, args.out, not args.no_run_tests, args.jobs, args.package):
        if s["returncode"] != 0:
            ok = False
            print(f"FAILED  {s['name']}: otter assign exited with {s['returncode']}\n{s['log']}")
            continue
        if s["leaks"]:
            ok = False
            print(f"LEAK    {s['name']}: the student version contains secrets:")
            print("\n".join("    " + leak for leak in s["leaks"]))
            continue
        tests = "solutions pass all autograder tests" if s["tests_passed"] else "tests not run"
        print(
            f"ok      {s['name']}: {tests}; no solution leaks; "
            f"hand out {s['bundles']['student']}, keep {s['bundles']['instructor']} private"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
