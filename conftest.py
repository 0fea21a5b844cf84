"""Root pytest set-up, shared by tests/ and notebooks/.

Imports the package first (which sets TF_CPP_MIN_LOG_LEVEL and installs the hook that keeps
TensorFlow's import silent), sets PYTHONHASHSEED and the claims' cache folder (.claims-cache)
unless they are set already, and prints each notebook's total duration at the end of the run.
nbval starts each notebook's kernel with this process's environment, so the notebooks get the
same variables (quiet TensorFlow, shared claims cache).
"""

import os

import dropoutcourse  # noqa: F401  (importing it sets TF_CPP_MIN_LOG_LEVEL/TF_ENABLE_ONEDNN_OPTS)
import dropoutcourse.claims

os.environ.setdefault("PYTHONHASHSEED", "0")
# one run per claim and seed set for the whole test session: the slide build (make), the claim
# tests and the notebooks' kernels (which inherit this environment) share the cached results
os.environ.setdefault(
    dropoutcourse.claims.CACHE_ENV,
    os.path.join(os.path.dirname(os.path.abspath(__file__)), ".claims-cache"),
)


# --------------------------------------------------------------------------- file order
# `make test` hands whole files to two workers (pytest-xdist, --dist loadfile) in collection
# order. The slowest files go first, so that the run does not end with one worker busy on a
# long file while the other has nothing left (longest first; measured worker time in
# benchmarks/README.md, "CI time"). Within a file the order is unchanged: a notebook's cells
# run in order.
SLOW_FIRST = (
    "tests/test_homework_variants.py",
    "tests/test_claim_rules.py",
    "tests/test_homework_tamper.py",
    "tests/test_homework.py",
    "notebooks/01-Overfitting.ipynb",
    "notebooks/04-Gaussian-Dropout-and-Regularization.ipynb",
    "notebooks/06-Beyond.ipynb",
    "tests/replica_fit/test_fit_replicas_vs_fit.py",
    "tests/test_lab_browser.py",
    "notebooks/05-Dropout-in-CNNs.ipynb",
    "tests/test_site.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: every file keeps its own order


# --------------------------------------------------------------------------- notebook timing
# nbval reports one test per cell; the course budget is per notebook (≤ 60 s each, ≤ 5 min in
# all), so add the cells up and print one line per notebook at the end of the run.
_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook durations (budget: 60 s each, 300 s in all)")
    for path, seconds in sorted(_notebook_seconds.items()):
        flag = "" if seconds <= 60 else "   over budget"
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    total = sum(_notebook_seconds.values())
    terminalreporter.write_line(f"{total:7.1f} s  all notebooks")
