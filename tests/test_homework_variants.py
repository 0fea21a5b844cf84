"""Shortcut and typical-mistake submissions of homeworks 2, 3 and 4 grade as they deserve.

As in ``test_homework_shortcuts.py`` (homework 1): submissions are generated from the built
solutions notebook by replacing answer cells, graded in one parallel batch per homework with
``homework/grade.py``, and each one's grade range is asserted. The unchanged solutions are
graded once, in ``test_homework.py`` (full marks on every homework), not again here.
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
HW2, HW3, HW4 = "hw2-dropout-variants", "hw3-tune-dropout-rate", "hw4-uncertainty"


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


def _failures(folder: Path, sub: str, question: str) -> str:
    """Only the assertion messages of one question's failed test cases (not their code)."""
    lines = _messages(folder, sub, question).splitlines()
    return "\n".join(line for line in lines if "AssertionError:" in line)


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

BUILD = (
    "def build_model(rate):\n"
    "    model = keras.Sequential(\n"
    "        [\n"
    "            keras.Input((data.n_features,)),\n"
    "            keras.layers.Dense(128, activation='relu'),\n"
    "            keras.layers.Dropout({first}),\n"
    "            keras.layers.Dense(128, activation='relu'),\n"
    "{second}"
    "            keras.layers.Dense(data.n_classes, activation='softmax'),\n"
    "        ]\n"
    "    )\n"
    "    model.compile(\n"
    "        optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),\n"
    "        loss='sparse_categorical_crossentropy',\n"
    "        metrics=['accuracy'],\n"
    "    )\n"
    "    return model\n\n\n"
)
DROPOUT2 = "            keras.layers.Dropout({}),\n"
RUNS = (
    "runs = dropoutcourse.fit_replicas(\n"
    "    [build_model(r) for r in RATES], data.x_train, data.y_train, seeds=SEEDS,\n"
    "    validation_data=(data.x_test, data.y_test), verbose=False, **TRAINING\n"
    ")\n"
    "final = runs[runs['epoch'] == TRAINING['epochs']].copy()\n"
    "final['rate'] = [RATES[k] for k in final['model']]\n"
)
CORRECT_BUILD = BUILD.format(first="rate", second=DROPOUT2.format("rate"))
PLOT = (
    "fig, ax = plt.subplots(figsize=(5, 3.5))\n"
    "ax.errorbar(table['rate'], table['mean']{}, marker='o')\n"
    "ax.set_xlabel('rate')\nax.set_ylabel('test accuracy')\n"
)
FABRICATED = (
    CORRECT_BUILD + "fake = np.random.default_rng(0)\n"
    "final = pd.DataFrame(\n"
    "    [\n"
    "        {'model': RATES.index(r), 'rate': r, 'seed': s, 'epoch': 40, 'accuracy': 1.0,\n"
    "         'val_loss': 0.3, 'val_accuracy': 0.9 + 0.03 * r + 0.005 * fake.random()}\n"
    "        for r in RATES\n        for s in SEEDS\n    ]\n)\n"
)
SETTINGS_CELL = (
    "import keras\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport pandas as pd\n"
    "from scipy import stats\n\nimport dropoutcourse\n"
    "from dropoutcourse.data import load_digits\n"
    "from dropoutcourse.experiments import summarize\n\n"
    "data = load_digits(train_size=200, seed=0)\n"
    "RATES = [0.0, 0.2, 0.4, 0.6]\nSEEDS = [0, 1, 2, 3, 4]\n"
    "TRAINING = dict(epochs=20, batch_size=32)\n"
)
SUBMISSIONS3 = {
    # the typical Keras slip: Dropout after the first hidden layer only
    "one_dropout": ({"def build_model": BUILD.format(first="rate", second="") + RUNS}, 0.6, 0.7),
    # Dropout(0.5) whatever the argument: every "rate" is the same model (p-value undefined)
    "fixed_rate": (
        {"def build_model": BUILD.format(first="0.5", second=DROPOUT2.format("0.5")) + RUNS},
        0.3,
        0.5,
    ),
    "sem_bars": (
        {"fig, ax": PLOT.format(", yerr=table['std'] / np.sqrt(table['n'])")},
        0.85,
        0.9,
    ),
    "no_yerr": ({"fig, ax": PLOT.format("")}, 0.85, 0.9),
    "fabricated": ({"def build_model": FABRICATED}, 0.0, 0.2),
    "changed_settings": ({"import keras": SETTINGS_CELL}, 0.0, 0.2),
}


@pytest.fixture(scope="module")
def graded3(homework_build, tmp_path_factory):
    return _grade_all(homework_build, tmp_path_factory, HW3, SUBMISSIONS3)


@pytest.mark.parametrize("sub", list(SUBMISSIONS3))
def test_hw3_submission_grades_in_its_range(graded3, sub):
    _in_range(graded3[0], SUBMISSIONS3, sub)


def test_hw3_typical_mistakes_are_named_and_penalised_once(graded3):
    rows, folder = graded3
    assert "the stated model has" in _failures(folder, "one_dropout", "q1")
    row = rows["one_dropout"]
    assert row["q1"] == 0 and row["q2"] == 2 and row["q3"] == 2 and row["q4"] == 4, row
    assert "argument rate" in _failures(folder, "fixed_rate", "q1")
    assert rows["fixed_rate"]["q1"] == 0 and rows["fixed_rate"]["q2"] == 2, rows["fixed_rate"]
    assert "standard error" in _messages(folder, "sem_bars", "q3")
    assert "no yerr" in _messages(folder, "no_yerr", "q3")
    for sub in ("sem_bars", "no_yerr"):
        assert rows[sub]["q3"] == 0.5 and rows[sub]["q4"] == 4, rows[sub]


def test_hw3_fabricated_or_changed_runs_are_detected(graded3):
    rows, folder = graded3
    assert "training your build_model with the stated settings" in _failures(
        folder, "fabricated", "q2"
    )
    assert "changed the settings" in _failures(folder, "changed_settings", "q1")
    assert rows["changed_settings"]["q1"] == 0, rows["changed_settings"]
    # made-up numbers pass the public checks (they look right) and nothing else
    for question, public in (("q1", 0.5), ("q2", 0.5), ("q3", 0.5), ("q4", 0.5)):
        assert rows["fabricated"][question] == public, rows["fabricated"]


# ---------------------------------------------------------------------------------------------
# homework 4

ECE = (
    "def ece(probs, labels, n_bins=15):\n"
    "    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels)\n"
    "    confidence = {confidence}\n"
    "    correct = probs.argmax(axis=1) == labels\n"
    "    edges = np.linspace(0.0, 1.0, n_bins + 1)\n"
    "    which = np.searchsorted(edges[1:-1], confidence, side='left')\n"
    "    parts = [\n"
    "        ((which == m).mean(), abs(correct[which == m].mean() - confidence[which == m].mean()))\n"
    "        for m in range(n_bins)\n"
    "        if (which == m).any()\n"
    "    ]\n"
    "    return float({total})\n"
)
WEIGHTED = "sum(w * g for w, g in parts)"
TOP = "probs.max(axis=1)"
DROP_PATH = (
    "def drop_path(x, rate, *, training=True, rng=None):\n"
    "    x = np.asarray(x)\n"
    "    if not training or rate == 0:\n        return x\n"
    "    rng = np.random.default_rng() if rng is None else rng\n"
    "    keep = rng.random({shape}) >= rate\n"
    "    return x * keep{scale}\n"
)
PER_SAMPLE = "(x.shape[0],) + (1,) * (x.ndim - 1)"
FABRICATED4 = (
    "probs = {(m, s): np.full((len(data.y_test), 10), 0.1) for m in ('ensemble', 'mc_dropout')\n"
    "         for s in SHIFTS}\n"
    "results = pd.DataFrame(\n"
    "    [{'method': m, 'shift': s, 'accuracy': float(np.mean(data.y_test == 0)),\n"
    "      'nll': float(np.log(10)), 'ece': ece(p, data.y_test)} for (m, s), p in probs.items()]\n"
    ")\n"
)
SUBMISSIONS4 = {
    # mistakes named by q1 and q2, not penalised again in q3 (its ece is the student's own)
    "unweighted_per_element": (
        {
            "def ece": ECE.format(confidence=TOP, total="np.mean([g for _, g in parts])"),
            "def drop_path": DROP_PATH.format(shape="x.shape", scale=" / (1.0 - rate)"),
        },
        0.45,
        0.5,
    ),
    "true_class_unscaled": (
        {
            "def ece": ECE.format(
                confidence="probs[np.arange(len(labels)), labels]", total=WEIGHTED
            ),
            "def drop_path": DROP_PATH.format(shape=PER_SAMPLE, scale=""),
        },
        0.3,
        0.35,
    ),
    "delegate": (
        {
            "def ece": (
                "from dropoutcourse.uncertainty import expected_calibration_error as _e\n\n\n"
                "def ece(probs, labels, n_bins=15):\n    return _e(probs, labels, n_bins)\n"
            ),
            "def drop_path": (
                "import dropoutcourse.layers as _layers\n\n\n"
                "def drop_path(x, rate, *, training=True, rng=None):\n"
                "    return np.asarray(_layers.DropPath(rate)(x, training=training))\n"
            ),
            "# BEGIN SOLUTION\nmembers =": "...\n",
        },
        0.0,
        0.2,
    ),
    "fabricated": ({"# BEGIN SOLUTION\nmembers =": FABRICATED4}, 0.65, 0.75),
    "zero_effort": (
        {
            "def ece": "def ece(probs, labels, n_bins=15):\n    return 0.0\n",
            "def drop_path": "def drop_path(x, rate, *, training=True, rng=None):\n    return x\n",
            "# BEGIN SOLUTION\nmembers =": "probs = {}\nresults = pd.DataFrame()\n",
        },
        0.0,
        0.2,
    ),
}


@pytest.fixture(scope="module")
def graded4(homework_build, tmp_path_factory):
    return _grade_all(homework_build, tmp_path_factory, HW4, SUBMISSIONS4)


@pytest.mark.parametrize("sub", list(SUBMISSIONS4))
def test_hw4_submission_grades_in_its_range(graded4, sub):
    _in_range(graded4[0], SUBMISSIONS4, sub)


def test_hw4_typical_mistakes_are_named_and_penalised_once(graded4):
    rows, folder = graded4
    assert "weight each bin by its share" in _failures(folder, "unweighted_per_element", "q1")
    assert "WHOLE branch" in _failures(folder, "unweighted_per_element", "q2")
    assert "top-class confidence" in _failures(folder, "true_class_unscaled", "q1")
    assert "1/(1 - rate)" in _failures(folder, "true_class_unscaled", "q2")
    for sub in ("unweighted_per_element", "true_class_unscaled"):
        assert rows[sub]["q1"] == 0 and rows[sub]["q3"] == 4.5, rows[sub]


def test_hw4_delegation_and_fabrication_get_no_credit(graded4):
    rows, folder = graded4
    for question in ("q1", "q2"):
        assert rows["delegate"][question] == 0, rows["delegate"]
        assert "no credit" in _failures(folder, "delegate", question)
    assert rows["fabricated"]["q3"] == 0.5, rows["fabricated"]
    assert "not what the stated experiment gives" in _failures(folder, "fabricated", "q3")
