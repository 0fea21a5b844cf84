"""Run every claim of the course on the default seed set and on two disjoint others.

    .venv/bin/python benchmarks/claims_seed_sets.py          # writes benchmarks/claims-table.md

Same as ``python -m dropoutcourse claims --seed-offset 0 1000 2000 --out <folder>``; the
Markdown table (claim × seed set → holds / fails, with headline numbers) is written next to
this script together with the command and the library versions. Not part of CI (CI runs the
default seed set through tests/test_claims.py). Exit status 1 if any claim fails.
"""

from __future__ import annotations

import platform
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import dropoutcourse  # noqa: F401  (quiet TensorFlow first)
from dropoutcourse.claims import SEED_OFFSETS
from dropoutcourse.claims.table import check_all

HERE = Path(__file__).resolve().parent


def _version(package: str) -> str:
    # TensorFlow is installed as tensorflow-cpu on Linux x86-64 and Windows
    for name in (package, f"{package}-cpu"):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "?"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ok = check_all(SEED_OFFSETS, out=tmp)
        table = (Path(tmp) / "claims.md").read_text(encoding="utf-8")
    versions = ", ".join(f"{p} {_version(p)}" for p in ("tensorflow", "keras", "numpy"))
    text = (
        "# Claims on three seed sets\n\n"
        f"Made by `python benchmarks/claims_seed_sets.py` (= `python -m dropoutcourse claims "
        f"--seed-offset {' '.join(map(str, SEED_OFFSETS))}`) on {platform.machine()} "
        f"Python {platform.python_version()}, {versions}.\n\n{table}\n\n"
        f"{'All claims hold on every seed set.' if ok else 'Some claims FAIL: see the table.'}\n"
    )
    (HERE / "claims-table.md").write_text(text, encoding="utf-8")
    print(f"wrote {HERE / 'claims-table.md'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
