"""Static checks of every lecture notebook: structure, hygiene, no network, no stored noise.

Execution itself is checked by nbval (`pytest notebooks/`); these tests read the files.
"""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
EXPECTED = [
    "01-Overfitting.ipynb",
    "02-Intuition.ipynb",
    "03-Dropout-in-Keras.ipynb",
    "04-Gaussian-Dropout-and-Regularization.ipynb",
    "05-Dropout-in-CNNs.ipynb",
    "06-Beyond.ipynb",
    "07-Dropout-Today.ipynb",
    "08-Uncertainty.ipynb",
]
# code that would reach the network or an online data set
NETWORK = re.compile(
    r"https?://|urlopen|requests\.|keras\.datasets|fetch_openml|get_dataset\(|wget "
)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_all_lectures_exist():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_structure_goals_summary_exercises(path):
    markdown = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown").lower()
    assert "learning goals" in markdown or "you will learn" in markdown
    assert "summary" in markdown
    assert "exercise" in markdown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_package_imported_before_tensorflow(path):
    """`import dropoutcourse` silences TensorFlow; it must come before the first TF/Keras import."""
    code = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    pkg = code.find("import dropoutcourse")
    if pkg == -1:
        pkg = code.find("from dropoutcourse")
    assert pkg != -1, "the notebook must import the course package"
    tf = min(
        (
            i
            for i in (
                code.find("import tensorflow"),
                code.find("import keras"),
                code.find("from keras"),
                code.find("from tensorflow"),
            )
            if i != -1
        ),
        default=len(code),
    )
    assert pkg < tf


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_carry_no_tooling_comments(path):
    """Lint and import-order pragmas are set once in pyproject.toml, out of the students' way."""
    pragma = re.compile(r"#\s*(isort:|noqa|type:\s*ignore|fmt:|ruff:)")
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not pragma.search(_source(cell)), f"cell {i} carries a tooling comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_network_and_short_cells(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        src = _source(cell)
        assert not NETWORK.search(src), f"cell {i} looks like it reaches the network"
        lines = [line for line in src.splitlines() if line.strip()]
        assert len(lines) <= 25, f"cell {i} has {len(lines)} lines: move code into the package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(path):
    """Readers see the stored outputs: no errors, no stderr, no leaked figure reprs."""
    for i, cell in enumerate(_cells(path)):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"cell {i} stored an error"
            assert out.get("name") != "stderr", f"cell {i} stored stderr: {out.get('text')}"
            text = "".join(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"at 0x[0-9a-f]{6,}", text), f"cell {i} leaks a repr: {text}"
