"""Run every claim on the default seed set and the four confirmation sets; write the table.

    .venv/bin/python benchmarks/claims_seed_sets.py                 # writes benchmarks/claims-table.md
    .venv/bin/python benchmarks/claims_seed_sets.py --quick         # the default set only
    .venv/bin/python benchmarks/claims_seed_sets.py --claims flagship mc_band

With ``$DROPOUTCOURSE_CLAIMS_CACHE`` set, the claims of each set are first trained ``--jobs``
at a time (``claims.registry.prefill``), then judged from the cache.

The sets are ``claims.CHECK_OFFSETS`` (the default 0, a pilot, plus
``claims.CONFIRMATION_OFFSETS``); the other pilot sets sized the claims
and are not run here. Each cell shows the verdict, the claim's smallest check margin in standard errors
and its headline numbers; the last row, the estimated chance that the suite fails on a new
seed set. Goal: every check ≥ 3 SE from its threshold on every set. Not part of CI.
Exit status 1 if any claim fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import dropoutcourse  # noqa: F401  (quiet TensorFlow first)
from dropoutcourse.claims import CHECK_OFFSETS, CONFIRMATION_OFFSETS, DEFAULT_OFFSET
from dropoutcourse.claims.registry import prefill
from dropoutcourse.claims.rules import suite_failure_chance
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="the default seed set only")
    p.add_argument("--claims", nargs="+", default=None, metavar="NAME", help="only these claims")
    p.add_argument("--out", default=str(HERE / "claims-table.md"), help="Markdown file to write")
    p.add_argument(
        "--jobs", type=int, default=2, help="claims trained at a time (with a claims cache)"
    )
    p.add_argument(
        "--offsets", nargs="+", type=int, default=None, help="only these seed sets (default: all)"
    )
    return p


def _margin(value) -> float:
    return float(value)  # "inf" / "-inf" strings parse too


def summary(results: list[dict]) -> str:
    """Per claim: smallest check margin on the confirmation sets and the checks below 3 SE;
    and the suite's estimated chance to fail on a new seed set (mean over confirmations)."""
    confirm = [r for r in results if r["seeds"][0] in CONFIRMATION_OFFSETS]
    if not confirm:
        return ""
    rows = ["| claim | smallest margin on the confirmation sets | checks below 3 SE there |"]
    rows.append("|---|---|---|")
    for name in dict.fromkeys(r["name"] for r in confirm):
        mine = [r for r in confirm if r["name"] == name]
        low = sorted(
            {
                f"{k} ({_margin(c['margin_se']):+.1f} SE @ {r['seeds'][0]}+)"
                for r in mine
                for k, c in r["checks"].items()
                if _margin(c["margin_se"]) < 3
            }
        )
        worst = min(_margin(c["margin_se"]) for r in mine for c in r["checks"].values())
        rows.append(f"| `{name}` | {worst:+.1f} SE | {'; '.join(low) or '—'} |")
    chances = []
    for offset in sorted({r["seeds"][0] for r in confirm}):
        margins = [
            _margin(c["margin_se"])
            for r in confirm
            if r["seeds"][0] == offset
            for c in r["checks"].values()
        ]
        chances.append(suite_failure_chance(margins))
    mean = sum(chances) / len(chances)
    return (
        "## Confirmation sets: summary\n\n"
        + "\n".join(rows)
        + f"\n\nEstimated chance that the suite fails on a new seed set: {100 * mean:.2g} % "
        "(Φ(−margin) per check, combined over the checks of a set, averaged over the "
        f"{len(chances)} confirmation sets).\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    offsets = (DEFAULT_OFFSET,) if args.quick else tuple(args.offsets or CHECK_OFFSETS)
    for offset in offsets:  # with a claims cache: trained args.jobs at a time, then read
        prefill(args.claims, jobs=args.jobs, seed_offset=offset)
    with tempfile.TemporaryDirectory() as tmp:
        ok = check_all(offsets, only=args.claims, out=tmp)
        table = (Path(tmp) / "claims.md").read_text(encoding="utf-8")
        # every check's margin, for the record (the table shows each claim's smallest)
        details = (Path(tmp) / "claims.json").read_text(encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(details, encoding="utf-8")
    versions = ", ".join(f"{p} {_version(p)}" for p in ("tensorflow", "keras", "numpy"))
    flags = (
        (" --quick" if args.quick else "")
        + (f" --offsets {' '.join(map(str, args.offsets))}" if args.offsets else "")
        + (f" --claims {' '.join(args.claims)}" if args.claims else "")
    )
    text = (
        "# Claims on the default and the confirmation seed sets\n\n"
        f"Made by `python benchmarks/claims_seed_sets.py{flags}` (= `python -m dropoutcourse "
        f"claims --seed-offset {' '.join(map(str, offsets))}`) on {platform.machine()} "
        f"Python {platform.python_version()}, {versions}.\n\n"
        "Each cell: verdict, the smallest distance of the claim's checks to their thresholds "
        "in standard errors (goal ≥ 3 SE), headline numbers. Seed set 0 is a pilot (used to "
        f"size the claims); {', '.join(f'{o}+' for o in CONFIRMATION_OFFSETS)} are the "
        "confirmations, run after the rules were frozen (earlier confirmation sets became "
        "pilots when a rule was changed after seeing them: `dropoutcourse/claims/seedsets.py`)."
        "\n\n"
        f"{table}\n\n"
        f"{'All claims hold on every seed set.' if ok else 'Some claims FAIL: see the table.'}\n"
        f"\n{summary(json.loads(details))}"
    )
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
