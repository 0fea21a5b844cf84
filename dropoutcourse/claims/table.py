"""Run claims on several seed sets and tabulate claim × seed set → holds / fails, with margins.

Every cell shows the verdict and the smallest distance of the claim's checks to their
thresholds in standard errors; the table ends with the estimated chance that the whole suite
fails on a new seed set (normal approximation, :func:`rules.suite_failure_chance`).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from dropoutcourse.claims.core import ClaimResult
from dropoutcourse.claims.registry import CLAIMS, get
from dropoutcourse.claims.rules import suite_failure_chance
from dropoutcourse.claims.seedsets import check_disjoint

#: How many numbers the table shows for a claim without a ``headline`` (the rest: JSON).
_HEADLINE = 3


def run_all(
    seed_offsets: Iterable[int],
    only: Sequence[str] | None = None,
    *,
    log=print,
    n_seeds: int | None = None,
) -> list[ClaimResult]:
    """Run every claim (or ``only`` these) on every seed set; log one line per run.

    ValueError if two seed sets overlap for one of the claims (see ``check_disjoint``).
    """
    names = list(CLAIMS) if only is None else [get(n).name for n in only]
    sizes = {n: n_seeds or get(n).n_seeds for n in names}
    offsets = check_disjoint(seed_offsets, sizes)
    results = []
    for offset in offsets:
        for name in names:
            t0 = time.perf_counter()
            result = get(name).run(offset, n_seeds=n_seeds)
            verdict = "holds" if result.holds else "FAILS"
            log(
                f"  {name} @ seeds {offset}+: {verdict}, closest check "
                f"{_se(result.min_margin_se)} ({time.perf_counter() - t0:.0f} s)"
            )
            results.append(result)
    return results


def _se(m: float) -> str:
    return f"{m:+.1f} SE" if math.isfinite(m) else ("+inf SE" if m > 0 else "-inf SE")


def _headline(result: ClaimResult) -> str:
    chosen = CLAIMS[result.name].headline
    if chosen:
        items = [(k, result.numbers[k]) for k in chosen if k in result.numbers]
    else:
        items = list(result.numbers.items())[:_HEADLINE]
    return "; ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in items)


def _cell(r: ClaimResult | None) -> str:
    if r is None:
        return "—"
    failed = [k for k, c in r.checks.items() if not c.passed]
    verdict = "holds" if r.holds else "**FAILS** (" + "; ".join(failed) + ")"
    return f"{verdict}, min {_se(r.min_margin_se)}: {_headline(r)}"


def failure_chances(results: Sequence[ClaimResult]) -> dict[int, float]:
    """Per seed set: estimated chance that at least one check flips on a new seed set."""
    by_set: dict[int, list[float]] = {}
    for r in results:
        by_set.setdefault(r.seed_offset, []).extend(c.margin_se for c in r.checks.values())
    return {o: suite_failure_chance(m) for o, m in sorted(by_set.items())}


def markdown_table(results: Sequence[ClaimResult]) -> str:
    """Claims as rows, seed sets as columns; verdict, smallest SE margin, headline numbers."""
    offsets = sorted({r.seed_offset for r in results})
    names = list(dict.fromkeys(r.name for r in results))
    cell = {(r.name, r.seed_offset): r for r in results}
    head = "| claim (lecture) | " + " | ".join(f"seeds {o}+" for o in offsets) + " |"
    rows = [head, "|---|" + "---|" * len(offsets)]
    for name in names:
        cells = [_cell(cell.get((name, o))) for o in offsets]
        rows.append(f"| `{name}` ({CLAIMS[name].lecture}) | " + " | ".join(cells) + " |")
    chances = failure_chances(results)
    rows.append(
        "| chance the suite fails on a new seed set (Φ(−margin) per check, combined) | "
        + " | ".join(f"{100 * chances[o]:.2g} %" for o in offsets)
        + " |"
    )
    return "\n".join(rows)


def check_all(
    seed_offsets: Iterable[int],
    only: Sequence[str] | None = None,
    out: str | Path | None = None,
    *,
    without_dropout: bool = False,
    n_seeds: int | None = None,
) -> bool:
    """Run, print the table (and write ``claims.md``/``claims.json`` into ``out``); success?

    Success means every claim holds, or, with ``without_dropout`` (the negative control:
    every dropout rate forced to 0), that **no** claim holds.
    """
    from dropoutcourse.switches import without_dropout as switch_off

    offsets = list(seed_offsets)
    mode = " WITHOUT DROPOUT (negative control: all must fail)" if without_dropout else ""
    print(f"running {len(only or CLAIMS)} claim(s) on seed set(s) {offsets}{mode}", flush=True)
    with switch_off() if without_dropout else contextlib.nullcontext():
        results = run_all(offsets, only, log=lambda m: print(m, flush=True), n_seeds=n_seeds)
    table = markdown_table(results)
    print(table)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "claims.md").write_text(table + "\n", encoding="utf-8")
        payload = [r.to_json() for r in results]
        (out / "claims.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    if without_dropout:
        held = [f"{r.name} @ {r.seed_offset}" for r in results if r.holds]
        print("every claim fails without dropout" if not held else f"HOLD WITHOUT DROPOUT: {held}")
        return not held
    failed = [f"{r.name} @ {r.seed_offset}" for r in results if not r.holds]
    print("all claims hold" if not failed else f"FAILED: {', '.join(failed)}")
    return not failed
