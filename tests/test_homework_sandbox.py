"""homework/sandbox.py on tiny synthetic assignments: what crosses, what cannot, the limits.

Each test writes a notebook and a one-question spec, and runs the real scorer and child
(``grade.run_scorer``: two processes, about a second), without otter or a build.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]
hwgrade = load_script("homework_grade", ROOT / "homework" / "grade.py")
sandbox = hwgrade.sandbox
IMPORTS = "import numpy as np\nimport pandas as pd\n"


def _score(tmp_path: Path, cells: list[str], cases: list[str], **options) -> dict:
    """Grade a notebook of ``cells`` against one question whose cases are ``cases``."""
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, work / "sub.ipynb")
    spec = {
        "imports": IMPORTS,
        "checks": "",
        "questions": [
            {
                "name": "q1",
                "cases": [{"code": c, "hidden": False, "points": 1.0} for c in cases],
            }
        ],
    }
    payload = {
        "nonce": "n0nce",
        "spec": spec,
        "notebook": str(work / "sub.ipynb"),
        "work": str(work),
        "timeout": float(options.get("timeout", 60)),
        "memory_gb": float(options.get("memory_gb", 4)),
        "isolate": options.get("isolate", True),
        "pythonpath": hwgrade.package_path(),
    }
    return hwgrade.run_scorer(payload, tmp_path, payload["timeout"])


def _outcome(result: dict) -> tuple[float, str]:
    (question,) = [t for t in result["tests"] if t["name"] == "q1"]
    return question["score"], question["output"]


def test_values_and_functions_cross_as_data(tmp_path):
    cells = [
        "import numpy as np\nimport pandas as pd\n"
        "def twice(x, *, rng=None):\n    return x * 2, rng.random(2)\n"
        "table = pd.DataFrame({'rate': [0.0, 0.5], 'mean': [0.9, 0.95]})\n"
        "pair = (1, np.float32(2.5), None, {'a': [1, 2]})\n"
    ]
    cases = [
        "out, r = twice(np.ones(3, np.float32), rng=np.random.default_rng(0))\n"
        "assert out.dtype == np.float32 and np.array_equal(out, [2, 2, 2])\n"
        "assert np.array_equal(r, np.random.default_rng(0).random(2))",
        "assert isinstance(table, pd.DataFrame) and table['mean'].tolist() == [0.9, 0.95]",
        "assert isinstance(pair, tuple) and pair[1].dtype == np.float32 and pair[3] == {'a': [1, 2]}",
        "assert missing_name == 1",
    ]
    result = _score(tmp_path, cells, cases)
    score, output = _outcome(result)
    assert result["error"] is None and score == 3, output
    assert "NameError" in output and "missing_name" in output


def test_patches_in_the_notebook_or_its_functions_never_reach_the_tests(tmp_path):
    cells = [
        "import builtins, os, runpy, sys, types\nimport numpy as np\n"
        "np.allclose = np.isclose = lambda *a, **k: True\n"
        "runpy.run_path = lambda *a, **k: {'run': lambda f: None}\n"
        "sys.modules['numpy'] = types.ModuleType('numpy')\n"
        "_imp = builtins.__import__\n"
        "builtins.__import__ = lambda n, *a, **k: _imp(n, *a, **k)\n",
        "def answer():\n"
        "    import numpy\n    numpy.array_equal = lambda *a, **k: True\n"
        '    print(\'n0nce{"tests": [], "error": null}\')\n'
        "    return 1\n"
        "def forge():\n"
        "    for fd in range(1, 30):\n"
        "        try:\n            os.write(fd, b'n0nce{}\\n')\n"
        "        except OSError:\n            pass\n"
        "    return 1\n",
    ]
    cases = [
        "assert answer() == 1\nassert not np.allclose(1, 2) and not np.isclose(1, 2)\n"
        "assert not np.array_equal([1], [2])",
        "assert answer() == 2, 'answer must be 2'",
        # a forged line in the notebook's pipe only garbles its own answer
        "assert forge() == 1",
    ]
    result = _score(tmp_path, cells, cases)
    score, output = _outcome(result)
    assert result["error"] is None and score == 1, output
    assert "answer must be 2" in output and "could not be read" in output


def test_a_function_that_kills_its_process_fails_only_what_needs_it(tmp_path):
    cells = ["import os\nvalue = 3\ndef boom():\n    os._exit(7)\n"]
    cases = ["assert value == 3", "assert boom() == 1", "assert value + 1 == 4"]
    score, output = _outcome(_score(tmp_path, cells, cases))
    assert score == 2 and "stopped" in output, output


@pytest.mark.parametrize("where", ["notebook", "test"])
def test_a_submission_that_never_ends_gets_zero_with_the_reason(tmp_path, where):
    cells = ["def spin():\n    while True:\n        pass\n"]
    if where == "notebook":
        cells.append("spin()")
    start = time.monotonic()
    result = _score(tmp_path, cells, ["assert spin() is None"], timeout=3)
    assert result["error"] == "timed out after 3 s", result
    assert time.monotonic() - start < 25


def test_the_memory_limit_applies_to_the_notebook(tmp_path):
    cells = [
        "try:\n    block = bytearray(3 * 2**30)\n    fits = True\n"
        "except MemoryError:\n    fits = False\n"
    ]
    score, output = _outcome(_score(tmp_path, cells, ["assert fits is False"], memory_gb=1))
    assert score == 1, output


def test_the_notebook_has_no_network_no_outside_files_and_no_other_processes(tmp_path):
    if not sandbox.isolation_available():
        pytest.skip("user namespaces (unshare) unavailable here: grade.py prints a notice")
    outside = tmp_path / "outside.txt"
    cells = [
        "import os, socket\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n    net = True\n"
        "except OSError:\n    net = False\n"
        f"try:\n    open({str(outside)!r}, 'w').write('x')\n    wrote = True\n"
        "except OSError:\n    wrote = False\n"
        "open('inside.txt', 'w').write('scratch folder is writable')\n"
        "processes = len([p for p in os.listdir('/proc') if p.isdigit()])\n"
    ]
    cases = ["assert net is False", "assert wrote is False", "assert processes < 5"]
    score, output = _outcome(_score(tmp_path, cells, cases))
    assert score == 3, output
    assert not outside.exists()


def test_the_codec_refuses_anything_but_data():
    import numpy as np

    assert sandbox.decode(sandbox.encode((1, [2.5], {"a": None}))) == (1, [2.5], {"a": None})
    arr = sandbox.decode(sandbox.encode(np.arange(6, dtype=np.int16).reshape(2, 3)))
    assert arr.dtype == np.int16 and arr.shape == (2, 3)
    for hostile in (
        {"$": "ndarray", "dtype": "O", "shape": [1], "data": ""},
        {"$": "dataclass", "module": "os", "name": "system", "fields": {}},
        {"$": "pickle", "data": "gASV"},
        {"$": "rng", "bit_generator": "os.system", "state": None},
    ):
        with pytest.raises(ValueError):
            sandbox.decode(hostile)
    with pytest.raises(TypeError):
        sandbox.encode(lambda: None)  # functions stay in the notebook (handles only there)
