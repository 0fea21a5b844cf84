"""Run every lecture notebook and report wall time and peak memory against the course budgets.

Budgets (2-core laptop CPU): ≤ 60 s per notebook, ≤ 5 min for the whole course, ≤ 2 GB RSS.
This is a measurement, not a test: CI machines are too noisy to assert on time. It also checks
that no notebook writes files into the repository.

    .venv/bin/python benchmarks/notebook_budget.py [notebooks/03-*.ipynb ...]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from dropoutcourse import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
BUDGET_EACH_S, BUDGET_TOTAL_S, BUDGET_RSS_GB = 60.0, 300.0, 2.0


def _tracked_state() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout


def run_notebook(path: Path) -> tuple[float, float]:
    """Execute one notebook in a fresh kernel; return (wall seconds, peak RSS in GB)."""
    env = subprocess_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--stdout",
            "--ExecutePreprocessor.timeout=600",
            str(path),
        ],
        cwd=path.parent,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wall = time.perf_counter() - start
    # ru_maxrss of children is the largest child so far (the kernel), in KiB on Linux
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024**2
    return wall, peak


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    state = _tracked_state()
    total, ok = 0.0, True
    print(f"{'notebook':48s} {'wall s':>7s} {'peak GB':>8s}")
    for path in paths:
        wall, peak = run_notebook(path)
        total += wall
        flag = "" if wall <= BUDGET_EACH_S and peak <= BUDGET_RSS_GB else "  <-- over budget"
        ok &= not flag
        print(f"{path.name:48s} {wall:7.1f} {peak:8.2f}{flag}")
    print(f"{'total':48s} {total:7.1f}  (budget {BUDGET_TOTAL_S:.0f} s)")
    if _tracked_state() != state:
        print("a notebook wrote files into the repository:\n" + _tracked_state())
        ok = False
    ok &= total <= BUDGET_TOTAL_S
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
