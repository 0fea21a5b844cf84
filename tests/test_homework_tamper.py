"""Submissions that attack the grading itself score nothing, on every homework (issue 18).

Each zero-effort submission (the student notebook as handed out) gets a few lines at the top of
its first code cell that, under plain ``otter run``, decided the grade: every test ended in
``runpy.run_path('hw_checks.py')`` inside the student's kernel. ``grade.py`` runs the tests in a
separate interpreter, so each one must stay at <= 20 %; the correct solutions with the same
lines keep 100 %; a never-ending notebook gets 0 with the reason, within its time limit. All
of it is graded in two ``grade.py`` command-line batches (every homework, 2 workers): the
attacks and the correct solutions with a generous time limit, the never-ending notebooks with
a short one.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import nbformat
import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
hwgrade = load_script("homework_grade", ROOT / "homework" / "grade.py")
TIMEOUT = 8  # seconds: the never-ending notebooks (each keeps a core busy until then)
GENEROUS = 600  # seconds: only a notebook that never ends reaches it

FAKE = "{'run': lambda f: None}"
TAMPER = {
    "runpy": f"import runpy as _r\n_r.run_path = lambda *a, **k: {FAKE}\n",
    "sys_modules": (
        "import sys as _s, types as _t\n_m = _t.ModuleType('runpy')\n"
        f"_m.run_path = lambda *a, **k: {FAKE}\n_s.modules['runpy'] = _m\n"
    ),
    "import_hook": (
        "import builtins as _b, types as _t\n_fake = _t.ModuleType('runpy')\n"
        f"_fake.run_path = lambda *a, **k: {FAKE}\n_orig = _b.__import__\n\n\n"
        "def _imp(name, *a, **k):\n    return _fake if name == 'runpy' else _orig(name, *a, **k)\n\n\n"
        "_b.__import__ = _imp\n"
    ),
    "numpy": (
        "import numpy as _np\n"
        "_np.allclose = _np.isclose = _np.array_equal = lambda *a, **k: True\n"
        "_np.testing.assert_allclose = _np.testing.assert_array_equal = lambda *a, **k: None\n"
    ),
    "otter": (
        "try:\n    import otter.test_files.abstract_test as _a\n\n"
        "    _a.TestFile.passed_all = property(lambda self: True)\n"
        "    _a.TestFile.grade = property(lambda self: 1.0)\n"
        "    _a.TestFile.score = property(lambda self: sum(self.points))\n"
        "except Exception:\n    pass\n"
    ),
}
NEVER_ENDING = "while True:\n    pass\n"


def _with_lines(nb: nbformat.NotebookNode, lines: str) -> nbformat.NotebookNode:
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = lines + first.source
    return nb


def _batch(args: list[str], out: Path, timeout: int) -> tuple[int, float]:
    start = time.monotonic()
    status = hwgrade.main([*args, "--out", str(out), "--jobs", "2", "--timeout", str(timeout)])
    return status, time.monotonic() - start


def _rows(out: Path, names) -> dict:
    rows = {}
    for name in names:
        with open(out / name / "scores.csv") as f:
            rows[name] = {Path(r["submission"]).stem: r for r in csv.DictReader(f)}
    return rows


@pytest.fixture(scope="module")
def tampered(homework_build, tmp_path_factory):
    """Grade every attack on every homework in one command-line batch (a time limit no honest
    notebook reaches: homework 4 trains for a while, and so does its grader), and the
    never-ending notebooks in a second batch with a short limit; rows and timing."""
    args, never, names = [], [], list(homework_build)
    for name, summary in homework_build.items():
        assert summary["returncode"] == 0, summary["log"][-2000:]
        folder = tmp_path_factory.mktemp(f"tampered-{name}")
        endless = tmp_path_factory.mktemp(f"endless-{name}")
        student = nbformat.read(summary["dir"] / "student" / f"{name}.ipynb", as_version=4)
        solution = nbformat.read(summary["dir"] / "autograder" / f"{name}.ipynb", as_version=4)
        for kind, lines in TAMPER.items():
            nbformat.write(_with_lines(student, lines), folder / f"{kind}.ipynb")
        nbformat.write(_with_lines(solution, TAMPER["runpy"]), folder / "correct_runpy.ipynb")
        nbformat.write(_with_lines(student, NEVER_ENDING), endless / "never_ending.ipynb")
        args += [summary["zip"], str(folder)]
        never += [summary["zip"], str(endless)]
    out, out_never = tmp_path_factory.mktemp("tampered-grades"), tmp_path_factory.mktemp("endless")
    status_all, _ = _batch(args, out, GENEROUS)
    status, elapsed = _batch(never, out_never, TIMEOUT)
    rows, endless_rows = _rows(out, names), _rows(out_never, names)
    for name in names:
        rows[name].update(endless_rows[name])
    return {"rows": rows, "out": out_never, "status": status, "elapsed": elapsed, "all": status_all}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_zero_effort_plus_tampering_scores_at_most_20_percent(tampered, kind):
    for name, rows in tampered["rows"].items():
        row = rows[kind]
        assert not row["error"], (name, row)
        assert float(row["total"]) <= 0.2 * float(row["possible"]), (name, kind, row)


def test_correct_work_with_tampering_lines_keeps_full_marks(tampered):
    for name, rows in tampered["rows"].items():
        row = rows["correct_runpy"]
        assert float(row["total"]) == float(row["possible"]) > 0, (name, row)


def test_a_never_ending_notebook_gets_zero_with_the_reason(tampered):
    assert tampered["status"] == 1, "a submission that could not be graded makes the status 1"
    for name, rows in tampered["rows"].items():
        row = rows["never_ending"]
        assert float(row["total"]) == 0 and row["error"] == f"timed out after {TIMEOUT} s", row
        text = (tampered["out"] / name / "feedback" / "never_ending.txt").read_text()
        assert f"timed out after {TIMEOUT} s" in text, text
    # one never-ending notebook per homework on 2 workers, each waiting out its time limit
    limit = (TIMEOUT + 20) * len(tampered["rows"])
    assert tampered["elapsed"] < limit, f"the batch took {tampered['elapsed']:.0f} s"


def test_the_batch_of_gradable_submissions_has_status_0(tampered):
    assert tampered["all"] == 0, "every tampering submission could be graded"
