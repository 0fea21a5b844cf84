"""Shortcut and typical-mistake submissions of homework 1 grade as they deserve.

Submissions are generated from the built solutions notebook by replacing answer cells, graded
in one parallel batch with ``homework/grade.py``, and each
row of issue 12's table is asserted to fall in its grade range. The unchanged solutions are
graded once, in ``test_homework.py`` (full marks), not again here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
HW1 = "hw1-implement-dropout"


def _load(name: str):
    return load_script(f"homework_{name}", ROOT / "homework" / f"{name}.py")


hwbuild, hwgrade = _load("build"), _load("grade")

DELEGATE = {
    "def dropout_forward": (
        "from dropoutcourse import reference as _r\n\n\n"
        "def dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    return _r.dropout_forward(x, rate, training=training, rng=rng)\n"
    ),
    "def dropout_backward": (
        "import dropoutcourse.reference\n\n\n"
        "def dropout_backward(dout, mask):\n"
        "    return dropoutcourse.reference.dropout_backward(dout, mask)\n"
    ),
    "def classic_dropout_forward": (
        "from dropoutcourse.reference import classic_dropout_forward\n"
    ),
}
GRAD_COPY = (
    "x_check = np.random.default_rng(0).standard_normal((10, 10)) + 10\n"
    "dout_check = np.random.default_rng(1).standard_normal((10, 10))\n"
    "rate_check = 0.2\n"
    "_, mask_check = dropout_forward(x_check, rate_check, rng=np.random.default_rng(123))\n"
    "dx = dropout_backward(dout_check, mask_check)\n"
    "dx_num = dx.copy()\n"
    "grad_error = rel_error(dx, dx_num)\n"
)
ZERO_EFFORT = {
    "def dropout_forward": (
        "def dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    if not training or rate == 0:\n"
        "        return x, None\n"
        "    return x * 0, np.zeros_like(x)\n"
    ),
    "def dropout_backward": "def dropout_backward(dout, mask):\n    return dout * 0\n",
    "x_check =": GRAD_COPY.replace(
        "dx_num = dx.copy()\ngrad_error = rel_error(dx, dx_num)\n",
        "dx_num = dx\ngrad_error = 0.0\n",
    ),
    "def classic_dropout_forward": (
        "def classic_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    return x * 0, np.zeros_like(x)\n"
    ),
    "rate_cs231n =": (
        "rate_cs231n = 0.5\nrate_deeplearning_ai = 0.5\nrate_paper_input = 0.5\nrate_keras = 0.5\n"
    ),
}
RATE_AS_KEEP = {
    "def dropout_forward": (
        "def dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    if not training or rate == 0:\n"
        "        return x, None\n"
        "    if rng is None:\n"
        "        rng = np.random.default_rng()\n"
        "    mask = ((rng.random(x.shape) < rate) / rate).astype(x.dtype)\n"
        "    return x * mask, mask\n"
    ),
}
SUBMISSIONS = {
    # name: (answer cells replaced, lowest and highest allowed fraction of the points)
    "delegate": (
        {**DELEGATE, "x_check =": GRAD_COPY, "rate_cs231n =": ZERO_EFFORT["rate_cs231n ="]},
        0.0,
        0.2,
    ),
    "zero_effort": (ZERO_EFFORT, 0.0, 0.2),
    "rate_as_keep": (RATE_AS_KEEP, 0.3, 0.9),
}


def _submission(solution: nbformat.NotebookNode, replace: dict[str, str]):
    nb = nbformat.from_dict(solution)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    for start, source in replace.items():
        cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
        assert len(cells) == 1, f"no unique answer cell starting with {start!r}"
        cells[0].source = source
    return nb


@pytest.fixture(scope="module")
def graded(homework_build, tmp_path_factory):
    summary = homework_build[HW1]
    assert summary["returncode"] == 0, summary["log"]
    solution = nbformat.read(summary["dir"] / "autograder" / f"{HW1}.ipynb", as_version=4)
    folder = tmp_path_factory.mktemp("hw1-submissions")
    for name, (replace, _, _) in SUBMISSIONS.items():
        nbformat.write(_submission(solution, replace), folder / f"{name}.ipynb")
    files = sorted(folder.glob("*.ipynb"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = pool.map(lambda p: hwgrade.grade_one(Path(summary["zip"]), p, folder / "r"), files)
    return {Path(r["submission"]).stem: r for r in rows}, folder


@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_submission_grades_in_its_range(graded, name):
    rows, _ = graded
    row = rows[name]
    assert not row.get("error"), row
    _, low, high = SUBMISSIONS[name]
    fraction = row["total"] / row["possible"]
    assert low <= fraction <= high, (
        f"{name}: {row['total']}/{row['possible']} not in [{low}, {high}]"
    )


def test_delegation_loses_every_function_question(graded):
    rows, _ = graded
    for question in ("q1", "q2", "q3", "q4"):
        assert rows["delegate"][question] == 0, (question, rows["delegate"])


def test_rate_as_keep_is_named_in_the_failure_message(graded):
    _, folder = graded
    report = (folder / "r" / "rate_as_keep.json").read_text()
    assert "KEEP" in report and "probability" in report, "the q1 message must name the mistake"
    # penalised once: q1 loses its statistical tests, later questions keep their points
    row = graded[0]["rate_as_keep"]
    assert row["q1"] <= 1 and row["q2"] == 3 and row["q4"] == 3, row


@pytest.mark.parametrize("failure", ["bad zip", "grader crash"])
def test_a_broken_submission_gets_zero_with_reason_and_the_batch_goes_on(
    tmp_path, monkeypatch, failure
):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.zip").write_text("not a zip")
    (tmp_path / "c.ipynb").write_text("{}")
    real = hwgrade.grade_one

    def fake(autograder, path, reports=None, feedback=None, **options):
        if path.suffix == ".zip":
            return real(autograder, path, reports, feedback, **options)
        if failure == "grader crash" and path.name == "a.ipynb":
            raise RuntimeError("kernel died")
        return {"submission": path.name, "total": 1.0, "possible": 1.0, "percent": 100.0}

    monkeypatch.setattr(hwgrade, "grade_one", fake)
    rows = {r["submission"]: r for r in hwgrade.grade_folder(tmp_path / "x.zip", tmp_path)}
    assert sorted(rows) == ["a.ipynb", "b.zip", "c.ipynb"]
    assert rows["b.zip"]["total"] == 0 and "zip" in rows["b.zip"]["error"].lower()
    assert rows["c.ipynb"]["total"] == 1.0
    if failure == "grader crash":
        assert rows["a.ipynb"]["total"] == 0 and "kernel died" in rows["a.ipynb"]["error"]
