"""Homework: the otter masters build, leak nothing, run for students and grade as expected.

Everything is built once per session into a pytest tmp folder (never into the repo):
``homework/build.py`` runs ``otter assign`` on every master, which also runs the solutions
against all tests and fails unless they get full marks. Then

* no student file contains a solution line or a hidden-test line (and the checker is shown to
  catch a tampered notebook and otter's "unmarked solution cell" pitfall);
* every student notebook runs top to bottom in a fresh kernel and its ``grader.check`` cells
  report failures (with the tests' messages) instead of crashing;
* the autograder gives the solutions full marks, a half-done notebook partial marks and the
  untouched student notebook zero (graded with ``homework/grade.py``).
"""

from __future__ import annotations

import copy
import csv
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ROOT / "homework"
SOLUTION_TAG = "otter_assign_solution_cell"


def _load(name: str):
    # loaded by path: `build` would otherwise clash with the PyPI package of that name
    return load_script(f"homework_{name}", HOMEWORK / f"{name}.py")


hwbuild = _load("build")
hwgrade = _load("grade")
HOMEWORKS = list(hwbuild.masters())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(homework_build):
    """Every homework, built once per session (tests/conftest.py); name -> build summary."""
    return homework_build


def _student_nb(built, name) -> Path:
    return built[name]["dir"] / "student" / f"{name}.ipynb"


def _solution_nb(built, name) -> Path:
    return built[name]["dir"] / "autograder" / f"{name}.ipynb"


# ---------------------------------------------------------------------------------------------
# build


def test_every_homework_has_a_master():
    assert len(HOMEWORKS) >= 3, f"expected at least three homework masters, found {HOMEWORKS}"
    for master in hwbuild.masters().values():
        assert master.is_file(), f"missing master notebook {master}"


@pytest.mark.parametrize("name", HOMEWORKS)
def test_build_succeeds_and_solutions_pass_all_tests(built, name):
    s = built[name]
    assert s["returncode"] == 0, f"otter assign failed for {name}:\n{s['log'][-3000:]}"
    # otter assign grades the solutions notebook and raises unless the score is 100%
    assert s["tests_passed"], f"otter assign did not report passing tests for {name}"
    assert _student_nb(built, name).is_file() and _solution_nb(built, name).is_file()
    assert s["zip"] and Path(s["zip"]).is_file(), "autograder zip missing"


@pytest.mark.parametrize("name", HOMEWORKS)
def test_student_version_has_hidden_and_public_tests_split(built, name):
    student = nbformat.read(_student_nb(built, name), as_version=4)
    solution = nbformat.read(_solution_nb(built, name), as_version=4)

    def cases(nb, hidden):
        return [
            c
            for t in nb.metadata["otter"]["tests"].values()
            for suite in t["suites"]
            for c in suite["cases"]
            if c["hidden"] == hidden
        ]

    assert cases(student, True) == [], "hidden tests must not be shipped to students"
    assert cases(student, False), "students need public tests for grader.check"
    assert cases(solution, True), "every homework should have hidden tests beyond the public ones"


# ---------------------------------------------------------------------------------------------
# leak check


@pytest.mark.parametrize("name", HOMEWORKS)
def test_no_student_file_contains_a_solution_line(built, name):
    solutions, hidden = hwbuild.secret_lines(hwbuild.masters()[name])
    assert len(solutions) >= 5 and hidden, "the leak check would be vacuous: no secrets found"
    leaks = hwbuild.find_leaks(hwbuild.masters()[name], built[name]["dir"] / "student")
    assert leaks == [], "solution leaked into the student version:\n" + "\n".join(leaks)


def test_leak_check_detects_a_tampered_student_notebook(built, tmp_path):
    name = HOMEWORKS[0]
    solutions, _ = hwbuild.secret_lines(hwbuild.masters()[name])
    secret = next(line for line in solutions if "=" in line)
    student_dir = tmp_path / "student"
    shutil.copytree(built[name]["dir"] / "student", student_dir)
    path = student_dir / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer = next(c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", []))
    answer.source += "\n    " + secret  # an instructor pasted one line of the answer back
    nbformat.write(nb, path)
    leaks = hwbuild.find_leaks(hwbuild.masters()[name], student_dir)
    assert any(secret in leak for leak in leaks), f"leak of {secret!r} not detected: {leaks}"


def _tiny_master(path: Path, marked: str) -> Path:
    """A one-question master whose answer is marked well, not at all, or only on its last line."""
    body = "    return 2 * x + 41  # the secret answer"
    if marked == "marked":
        body = "    # BEGIN SOLUTION\n" + body + "\n    # END SOLUTION"
    elif marked == "split":  # what a formatter makes of a long `... # SOLUTION` line
        body = "    return (\n        2 * x + 41\n    )  # SOLUTION"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_raw_cell("# ASSIGNMENT CONFIG\nname: tiny\nexport_cell: false"),
        nbformat.v4.new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 2"),
        nbformat.v4.new_markdown_cell("Write `f`."),
        nbformat.v4.new_raw_cell("# BEGIN SOLUTION"),
        nbformat.v4.new_code_cell("def f(x):\n" + body),
        nbformat.v4.new_raw_cell("# END SOLUTION"),
        nbformat.v4.new_raw_cell("# BEGIN TESTS"),
        nbformat.v4.new_code_cell("assert f(0) == 41, 'f(0) should be 41'"),
        nbformat.v4.new_code_cell("# HIDDEN\nassert f(1) == 43, 'f(1) should be 43'"),
        nbformat.v4.new_raw_cell("# END TESTS"),
        nbformat.v4.new_raw_cell("# END QUESTION"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.mkdir(parents=True)
    nbformat.write(nb, path / "tiny.ipynb")
    return path / "tiny.ipynb"


@pytest.mark.parametrize("marked", ["unmarked", "split", "marked"])
def test_leak_check_catches_otters_unmarked_solution_cell_pitfall(tmp_path, marked):
    from otter.assign import main as otter_assign

    master = _tiny_master(tmp_path / "src", marked)
    out = tmp_path / "dist"
    otter_assign(str(master), str(out), no_run_tests=True)
    student_text = (out / "student" / "tiny.ipynb").read_text()
    leaks = hwbuild.find_leaks(master, out / "student")
    if marked == "marked":
        assert "2 * x + 41" not in student_text and leaks == []
    elif marked == "split":
        # only the closing bracket is replaced: the answer line itself reaches students
        assert "2 * x + 41" in student_text
        assert any("only part of a multi-line statement" in leak for leak in leaks), leaks
    else:
        # otter copies an unmarked cell of a solution block verbatim: the checker must say so
        assert "2 * x + 41" in student_text
        assert any("2 * x + 41" in leak for leak in leaks), leaks
    assert "f(1) == 43" not in student_text, "hidden test shipped to students"


@pytest.mark.parametrize("name", HOMEWORKS)
def test_build_makes_a_student_and_an_instructor_bundle(built, name):
    import zipfile

    bundles = built[name]["bundles"]
    with zipfile.ZipFile(bundles["student"]) as zf:
        files = {n.split("/", 1)[1] for n in zf.namelist()}
        readme = zf.read(f"{name}-student/README.md").decode()
    assert {f"{name}.ipynb", "README.md"} <= files, files
    config = nbformat.read(hwbuild.masters()[name], as_version=4).cells[0].source
    for helper in yaml.safe_load(config.split("\n", 1)[1]).get("files", []):
        assert helper in files, f"{helper} listed under files: but not in the student bundle"
    assert not any("autograder" in f or f.endswith(".zip") for f in files), files
    assert "pip install" in readme and "otter-grader" in readme and "dropoutcourse" in readme
    with zipfile.ZipFile(bundles["instructor"]) as zf:
        files = {n.split("/", 1)[1] for n in zf.namelist()}
    expected = {f"{name}.ipynb", f"{name}-autograder.zip", "grade.py", "sandbox.py", "README.md"}
    assert expected <= files, files


# ---------------------------------------------------------------------------------------------
# student notebooks run, and their checks fail clearly


@pytest.fixture(scope="module")
def executed_students(built, tmp_path_factory):
    from nbclient import NotebookClient

    executed = {}
    for name in HOMEWORKS:
        work = tmp_path_factory.mktemp(f"run-{name}")
        shutil.copytree(built[name]["dir"] / "student", work, dirs_exist_ok=True)
        nb = nbformat.read(work / f"{name}.ipynb", as_version=4)
        client = NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(work)}},
        )
        client.execute()
        executed[name] = nb
    return executed


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(str(out.get("data", {}).get("text/plain", "")))
        if out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(parts)


# errors an unfinished answer may cause further down (e.g. unpacking the None of a stub)
STUB_ERRORS = {"TypeError", "NameError", "AttributeError", "ValueError", "KeyError", "IndexError"}


@pytest.mark.parametrize("name", HOMEWORKS)
def test_student_notebook_runs_and_checks_report_failure(executed_students, name):
    nb = executed_students[name]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "not every cell was executed"
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    unexpected = [f"{o.ename}: {o.evalue}" for o in errors if o.ename not in STUB_ERRORS]
    assert unexpected == [], (
        f"student notebook crashed for a reason other than a stub: {unexpected}"
    )
    # the set-up (imports, otter init) must work before the student writes anything
    first_answer = next(
        i for i, c in enumerate(code) if "otter_answer_cell" in c.metadata.get("tags", [])
    )
    for cell in code[:first_answer]:
        assert not any(o.output_type == "error" for o in cell.outputs), _text(cell)
    checks = [c for c in code if c.source.startswith("grader.check(")]
    assert checks, "no grader.check cells"
    for cell in checks:
        out = _text(cell)
        assert not any(o.output_type == "error" for o in cell.outputs), f"check crashed: {out}"
        assert "Test case failed" in out or "❌" in out, f"{cell.source} did not report failure"
        assert "AssertionError" in out or "Error" in out, f"{cell.source}: no failure message"


# ---------------------------------------------------------------------------------------------
# grading: full, partial, zero


def _partial(student: nbformat.NotebookNode, solution: nbformat.NotebookNode):
    """The student notebook with the first autograded answer filled in from the solutions."""
    nb = copy.deepcopy(student)
    sol_cells = [c for c in solution.cells if SOLUTION_TAG in c.metadata.get("tags", [])]
    first = next(c for c in sol_cells if c.cell_type == "code")
    for cell in nb.cells:
        if cell.get("id") == first.get("id"):
            cell.source = first.source
            return nb
    raise AssertionError("could not align student and solution cells by id")


@pytest.fixture(scope="module")
def grades(built, tmp_path_factory):
    """Grade a correct, a partially correct and an empty submission of every homework."""
    from concurrent.futures import ThreadPoolExecutor

    folders, jobs = {}, []
    for name in HOMEWORKS:
        folder = folders[name] = tmp_path_factory.mktemp(f"submissions-{name}")
        student = nbformat.read(_student_nb(built, name), as_version=4)
        solution = nbformat.read(_solution_nb(built, name), as_version=4)
        nbformat.write(solution, folder / "correct.ipynb")
        nbformat.write(_partial(student, solution), folder / "partial.ipynb")
        nbformat.write(student, folder / "empty.ipynb")
        for kind in ("correct", "partial", "empty"):
            jobs.append((name, Path(built[name]["zip"]), folder / f"{kind}.ipynb"))
    # all nine gradings share two workers (each is one scorer and one notebook process)
    with ThreadPoolExecutor(max_workers=2) as pool:
        graded = list(
            pool.map(lambda j: (j[0], hwgrade.grade_one(j[1], j[2], j[2].parent / "reports")), jobs)
        )
    rows = {}
    for name in HOMEWORKS:
        mine = [row for n, row in graded if n == name]
        hwgrade.write_csv(mine, folders[name] / "scores.csv")
        rows[name] = ({r["submission"]: r for r in mine}, folders[name])
    return rows


@pytest.mark.parametrize("name", HOMEWORKS)
def test_autograder_gives_full_partial_and_zero(grades, name):
    rows, folder = grades[name]
    for row in rows.values():
        assert "error" not in row or not row["error"], row
    correct, partial, empty = rows["correct.ipynb"], rows["partial.ipynb"], rows["empty.ipynb"]
    assert correct["possible"] > 0
    assert correct["total"] == correct["possible"], f"solutions lost points: {correct}"
    assert 0 < partial["total"] < partial["possible"], f"expected partial credit: {partial}"
    assert empty["total"] == 0, f"an untouched notebook must score 0: {empty}"
    # the CSV has one row per submission and the per-question columns
    with open(folder / "scores.csv") as f:
        table = list(csv.DictReader(f))
    assert sorted(r["submission"] for r in table) == sorted(rows)
    assert "q1" in table[0] and "percent" in table[0]
    report = (folder / "reports" / "empty.json").read_text()
    assert "AssertionError" in report or "Error" in report, "failure messages missing from report"
