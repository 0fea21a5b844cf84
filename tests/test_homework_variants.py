"""Shortcut and typical-mistake submissions of homeworks 2 and 3 grade as they deserve.

As in ``test_homework_shortcuts.py`` (homework 1): submissions are generated from the built
solutions notebook by replacing answer cells, graded in one parallel batch per homework with
``homework/grade.py``, and each one's grade range is asserted.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
HW2, HW3 = "hw2-dropout-variants", "hw3-tune-dropout-rate"


def _load(name: str):
    return load_script(f"homework_{name}", ROOT / "homework" / f"{name}.py")


hwbuild, hwgrade = _load("build"), _load("grade")


def _submission(solution: nbformat.NotebookNode, replace: dict[str, str]):
    nb = nbformat.reads(nbformat.writes(solution), as_version=4)
    for start, source in replace.items():
        cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start)]
        assert len(cells) == 1, f"no unique answer cell starting with {start!r}"
        cells[0].source = source
    return nb


def _grade_all(build: dict, tmp_path_factory, name: str, submissions: dict) -> tuple[dict, Path]:
    summary = build[name]
    assert summary["returncode"] == 0, summary["log"][-3000:]
    solution = nbformat.read(summary["dir"] / "autograder" / f"{name}.ipynb", as_version=4)
    folder = tmp_path_factory.mktemp(f"submissions-{name}")
    for sub, (replace, _, _) in submissions.items():
        nbformat.write(_submission(solution, replace), folder / f"{sub}.ipynb")
    files = sorted(folder.glob("*.ipynb"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = pool.map(
            lambda p: hwgrade.grade_one(Path(summary["zip"]), p, folder / "r", folder / "f"), files
        )
    return {Path(r["submission"]).stem: r for r in rows}, folder


def _in_range(rows: dict, submissions: dict, sub: str) -> None:
    row = rows[sub]
    assert not row.get("error"), row
    _, low, high = submissions[sub]
    fraction = row["total"] / row["possible"]
    assert low <= fraction <= high, (
        f"{sub}: {row['total']}/{row['possible']} not in [{low}, {high}]"
    )


def _messages(folder: Path, sub: str, question: str) -> str:
    """Failure messages of one question in an instructor report."""
    report = json.loads((folder / "r" / f"{sub}.json").read_text())
    tests = [t for t in report["tests"] if t.get("name") == question]
    return "\n".join(str(t.get("output", "")) for t in tests)


# ---------------------------------------------------------------------------------------------
# homework 2

GAUSSIAN_STD = "def gaussian_std(rate):\n    return {}\n\n\n{}"
VAR_CODE = (
    "keep = np.random.default_rng(0).random(1_000_000) >= 0.3\n"
    "bernoulli_mask_var = float(np.var(keep / (1 - 0.3)))\n"
)
DELEGATE2 = {
    "def gaussian_std": (
        "from dropoutcourse import theory as _t\n"
        "import dropoutcourse.reference as _r\n\n\n"
        "def gaussian_std(rate):\n    return _t.gaussian_sigma(rate)\n\n\n"
        "bernoulli_mask_var = float(\n"
        "    np.var(_r.dropout_forward(np.ones(1_000_000), 0.3, rng=np.random.default_rng(0))[1])\n"
        ")\n"
    ),
    "def gaussian_dropout_forward": (
        "from dropoutcourse.reference import gaussian_dropout_forward as _g\n\n\n"
        "def gaussian_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    return _g(x, rate, training=training, rng=rng)\n"
    ),
    "def spatial_dropout_forward": (
        "def _helper(*args, **kwargs):\n"
        "    return __import__('dropoutcourse.reference').reference.spatial_dropout_forward(\n"
        "        *args, **kwargs\n    )\n\n\n"
        "def spatial_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    return _helper(x, rate, training=training, rng=rng)\n"
    ),
    "def dropconnect_forward": (
        "import dropoutcourse\n\n\n"
        "def dropconnect_forward(x, W, b, rate, *, training=True, rng=None):\n"
        "    return dropoutcourse.reference.dropconnect_forward(x, W, b, rate, training=training, rng=rng)\n\n\n"
        "def dropconnect_backward(dout, x, W, W_mask):\n"
        "    return dropoutcourse.reference.dropconnect_backward(dout, x, W, W_mask)\n"
    ),
}
# outputs typed in to pass the public checks, nothing else; then the package is patched
HARDCODE2 = {
    "def gaussian_std": (
        "def gaussian_std(rate):\n"
        "    return {0.3: 0.6546536707079771, 0.7: 1.5275252316519468}.get(rate, 1.0)\n\n\n"
        "bernoulli_mask_var = 0.4286\n"
    ),
    "def gaussian_dropout_forward": (
        "def gaussian_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    if not training or rate == 0:\n        return x, None\n"
        "    noise = np.ones_like(x)\n    noise.flat[0] = 2.0\n    return x * noise, noise\n"
    ),
    "def spatial_dropout_forward": (
        "def spatial_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    if not training or rate == 0:\n        return x, None\n"
        "    mask = np.full((x.shape[0], 1, 1, x.shape[-1]), 1 / 0.7)\n"
        "    mask.reshape(-1)[: int(0.3 * mask.size)] = 0\n    return x * mask, mask\n"
    ),
    "def dropconnect_forward": (
        "def dropconnect_forward(x, W, b, rate, *, training=True, rng=None):\n"
        "    if not training or rate == 0:\n        return x @ W + b, None\n"
        "    W_mask = np.full(W.shape, 1 / 0.7)\n"
        "    W_mask.reshape(-1)[: int(0.3 * W.size)] = 0\n    return x @ (W * W_mask) + b, W_mask\n\n\n"
        "def dropconnect_backward(dout, x, W, W_mask):\n"
        "    return np.zeros_like(x), np.zeros_like(W), np.zeros(dout.shape[1])\n"
    ),
}
PATCH2 = (
    "\n\nimport dropoutcourse.reference as _ref\n\n"
    "_ref.gaussian_dropout_forward = gaussian_dropout_forward\n"
    "_ref.spatial_dropout_forward = spatial_dropout_forward\n"
    "_ref.dropconnect_forward = dropconnect_forward\n"
)
ZERO2 = {
    "def gaussian_std": "def gaussian_std(rate):\n    return 0.0\n\n\nbernoulli_mask_var = 0.0\n",
    "def gaussian_dropout_forward": (
        "def gaussian_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    return x, np.ones_like(x)\n"
    ),
    "def spatial_dropout_forward": (
        "def spatial_dropout_forward(x, rate, *, training=True, rng=None):\n"
        "    return x * 0, np.zeros((x.shape[0], 1, 1, x.shape[-1]))\n"
    ),
    "def dropconnect_forward": (
        "def dropconnect_forward(x, W, b, rate, *, training=True, rng=None):\n"
        "    return x @ W + b, np.ones_like(W)\n\n\n"
        "def dropconnect_backward(dout, x, W, W_mask):\n"
        "    return np.zeros_like(x), np.zeros_like(W), np.zeros(dout.shape[1])\n"
    ),
}
SPATIAL_KEEP = (
    "def spatial_dropout_forward(x, rate, *, training=True, rng=None):\n"
    "    if not training or rate == 0:\n        return x, None\n"
    "    if rng is None:\n        rng = np.random.default_rng()\n"
    "    keep = rng.random((x.shape[0], 1, 1, x.shape[-1])) < rate\n"
    "    mask = (keep / rate).astype(x.dtype)\n    return x * mask, mask\n"
)
SUBMISSIONS2 = {
    # name: (answer cells replaced, lowest and highest allowed fraction of the points)
    "correct": ({}, 1.0, 1.0),
    "sigma_squared": (
        {"def gaussian_std": GAUSSIAN_STD.format("rate / (1.0 - rate)", VAR_CODE)},
        0.8,
        0.9,
    ),
    "rate_as_keep": (
        {
            "def gaussian_std": GAUSSIAN_STD.format("np.sqrt((1.0 - rate) / rate)", VAR_CODE),
            "def spatial_dropout_forward": SPATIAL_KEEP,
        },
        0.55,
        0.7,
    ),
    "delegate": (DELEGATE2, 0.0, 0.2),
    "hardcode": (HARDCODE2, 0.0, 0.2),
    "hardcode_patch": (
        {**HARDCODE2, "def dropconnect_forward": HARDCODE2["def dropconnect_forward"] + PATCH2},
        0.0,
        0.2,
    ),
    "zero_effort": (ZERO2, 0.0, 0.2),
    # a leftover print in a graded function does not fail a test (the checks capture output)
    "print_left": (
        {
            "def gaussian_std": GAUSSIAN_STD.format(
                "print(rate) or np.sqrt(rate / (1 - rate))", VAR_CODE
            )
        },
        1.0,
        1.0,
    ),
}


@pytest.fixture(scope="module")
def graded2(homework_build, tmp_path_factory):
    return _grade_all(homework_build, tmp_path_factory, HW2, SUBMISSIONS2)


@pytest.mark.parametrize("sub", list(SUBMISSIONS2))
def test_hw2_submission_grades_in_its_range(graded2, sub):
    _in_range(graded2[0], SUBMISSIONS2, sub)


def test_hw2_sigma_squared_is_named_and_penalised_once(graded2):
    rows, folder = graded2
    row = rows["sigma_squared"]
    assert "sigma squared" in _messages(folder, "sigma_squared", "q1"), "q1 must name the mistake"
    assert row["q1"] == 1 and row["q2"] == 4, row  # q2 uses the student's own sigma


def test_hw2_rate_as_keep_is_named_and_penalised_once(graded2):
    rows, folder = graded2
    row = rows["rate_as_keep"]
    for question in ("q1", "q3"):
        assert "KEEP" in _messages(folder, "rate_as_keep", question), question
    assert row["q1"] == 1 and row["q2"] == 4 and row["q3"] == 0 and row["q4"] == 5, row


def test_hw2_feedback_has_public_messages_and_no_hidden_tests(graded2):
    rows, folder = graded2
    text = (folder / "f" / "rate_as_keep.txt").read_text()
    assert "KEEP" in text and f"{rows['rate_as_keep']['total']:g} / 16" in text, text
    _, hidden = hwbuild.secret_lines(hwbuild.masters()[HW2])
    for sub in SUBMISSIONS2:
        feedback = (folder / "f" / f"{sub}.txt").read_text()
        leaked = [line for line in hidden if line in feedback]
        assert not leaked and "# HIDDEN" not in feedback, (sub, leaked)


def test_hw2_delegation_and_patching_lose_every_function_question(graded2):
    rows, folder = graded2
    for sub in ("delegate", "hardcode_patch"):
        for question in ("q2", "q3", "q4"):
            assert rows[sub][question] == 0, (sub, question, rows[sub])
    assert "patching" in _messages(folder, "hardcode_patch", "q2")
    assert "no credit" in _messages(folder, "delegate", "q1")


# ---------------------------------------------------------------------------------------------
# homework 3

CONFIGS = "configs = [ReplicaConfig(hidden_rate=r, seed=s) for r in RATES for s in SEEDS]\n"
TRAIN = "result = train_replicas(data, configs, **TRAINING)\nfinal = result.final()\n"
PLOT = (
    "fig, ax = plt.subplots(figsize=(5, 3.5))\n"
    "ax.errorbar(table['hidden_rate'], table['mean']{}, marker='o')\n"
    "ax.set_xlabel('rate')\nax.set_ylabel('test accuracy')\n"
)
FABRICATED = (
    CONFIGS + "fake = np.random.default_rng(0)\n"
    "final = pd.DataFrame(\n"
    "    [\n"
    "        {'hidden_rate': r, 'seed': s, 'train_acc': 1.0,\n"
    "         'test_acc': 0.9 + 0.03 * r + 0.005 * fake.random()}\n"
    "        for r in RATES\n        for s in SEEDS\n    ]\n)\n"
)
SETTINGS_CELL = (
    "import matplotlib.pyplot as plt\nimport numpy as np\nimport pandas as pd\n"
    "from scipy import stats\n\n"
    "from dropoutcourse.data import load_digits\n"
    "from dropoutcourse.engine import ReplicaConfig, train_replicas\n"
    "from dropoutcourse.experiments import summarize\n\n"
    "data = load_digits(train_size=200, seed=0)\n"
    "RATES = [0.0, 0.2, 0.4, 0.6]\nSEEDS = [0, 1, 2, 3, 4]\n"
    "TRAINING = dict(hidden=(128, 128), epochs=20, learning_rate=0.01, verbose=False)\n"
)
SUBMISSIONS3 = {
    "correct": ({}, 1.0, 1.0),
    "forgot_seed": (
        {"configs =": CONFIGS.replace(", seed=s", "") + TRAIN},
        0.55,
        0.7,
    ),
    "sem_bars": (
        {"fig, ax": PLOT.format(", yerr=table['std'] / np.sqrt(table['n'])")},
        0.85,
        0.9,
    ),
    "no_yerr": ({"fig, ax": PLOT.format("")}, 0.85, 0.9),
    "fabricated": ({"configs =": FABRICATED}, 0.0, 0.2),
    "changed_settings": ({"import matplotlib": SETTINGS_CELL}, 0.0, 0.2),
}


@pytest.fixture(scope="module")
def graded3(homework_build, tmp_path_factory):
    return _grade_all(homework_build, tmp_path_factory, HW3, SUBMISSIONS3)


@pytest.mark.parametrize("sub", list(SUBMISSIONS3))
def test_hw3_submission_grades_in_its_range(graded3, sub):
    _in_range(graded3[0], SUBMISSIONS3, sub)


def test_hw3_typical_mistakes_are_named_and_penalised_once(graded3):
    rows, folder = graded3
    assert "seed=seed" in _messages(folder, "forgot_seed", "q1")
    assert rows["forgot_seed"]["q2"] == 2 and rows["forgot_seed"]["q3"] == 2, rows["forgot_seed"]
    assert "standard error" in _messages(folder, "sem_bars", "q3")
    assert "no yerr" in _messages(folder, "no_yerr", "q3")
    for sub in ("sem_bars", "no_yerr"):
        assert rows[sub]["q3"] == 0.5 and rows[sub]["q4"] == 4, rows[sub]


def test_hw3_fabricated_or_changed_runs_are_detected(graded3):
    rows, folder = graded3
    assert "training with the stated settings" in _messages(folder, "fabricated", "q2")
    assert "changed the settings" in _messages(folder, "changed_settings", "q1")
    assert rows["changed_settings"]["q1"] == 0, rows["changed_settings"]
    # made-up numbers pass the public checks (they look right) and nothing else
    for question, public in (("q1", 0.5), ("q2", 0.5), ("q3", 0.5), ("q4", 0.5)):
        assert rows["fabricated"][question] == public, rows["fabricated"]
