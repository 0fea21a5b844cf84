"""Run claims on several seed sets and tabulate claim × seed set → holds / fails."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from dropoutcourse.claims.core import CLAIMS, ClaimResult, get

#: How many numbers the table shows for a claim without a ``headline`` (the rest: JSON).
_HEADLINE = 3


def run_all(
    seed_offsets: Iterable[int], only: Sequence[str] | None = None, *, log=print
) -> list[ClaimResult]:
    """Run every claim (or ``only`` these) on every seed set; log one line per run."""
    names = list(CLAIMS) if only is None else [get(n).name for n in only]
    results = []
    for offset in seed_offsets:
        for name in names:
            t0 = time.perf_counter()
            result = get(name).run(offset)
            verdict = "holds" if result.holds else "FAILS"
            log(f"  {name} @ seeds {offset}+: {verdict} ({time.perf_counter() - t0:.0f} s)")
            results.append(result)
    return results


def _headline(result: ClaimResult) -> str:
    chosen = CLAIMS[result.name].headline
    if chosen:
        items = [(k, result.numbers[k]) for k in chosen if k in result.numbers]
    else:
        items = list(result.numbers.items())[:_HEADLINE]
    return "; ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in items)


def markdown_table(results: Sequence[ClaimResult]) -> str:
    """Claims as rows, seed sets as columns; each cell 'holds'/'FAILS' and headline numbers."""
    offsets = sorted({r.seed_offset for r in results})
    names = list(dict.fromkeys(r.name for r in results))
    cell = {(r.name, r.seed_offset): r for r in results}
    head = "| claim (lecture) | " + " | ".join(f"seeds {o}+" for o in offsets) + " |"
    rows = [head, "|---|" + "---|" * len(offsets)]
    for name in names:
        cells = []
        for o in offsets:
            r = cell.get((name, o))
            if r is None:
                cells.append("—")
                continue
            failed = [k for k, ok in r.checks.items() if not ok]
            verdict = "holds" if r.holds else "**FAILS** (" + "; ".join(failed) + ")"
            cells.append(f"{verdict}: {_headline(r)}")
        rows.append(f"| `{name}` ({CLAIMS[name].lecture}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def check_all(
    seed_offsets: Iterable[int], only: Sequence[str] | None = None, out: str | Path | None = None
) -> bool:
    """Run, print the table (and write ``claims.md``/``claims.json`` into ``out``); all hold?"""
    offsets = list(seed_offsets)
    print(f"running {len(only or CLAIMS)} claim(s) on seed set(s) {offsets}", flush=True)
    results = run_all(offsets, only, log=lambda m: print(m, flush=True))
    table = markdown_table(results)
    print(table)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "claims.md").write_text(table + "\n", encoding="utf-8")
        payload = [r.to_json() for r in results]
        (out / "claims.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    failed = [f"{r.name} @ {r.seed_offset}" for r in results if not r.holds]
    print("all claims hold" if not failed else f"FAILED: {', '.join(failed)}")
    return not failed
