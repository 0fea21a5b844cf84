"""Decision rules of the claims: each returns a :class:`Check` that knows how close it came.

A claim's ``decide`` maps a sentence to a :class:`Check`. Every check carries its distance to
its threshold **in standard errors** (``margin_se``): how far the estimate would have to move
for the verdict to flip. On a fresh seed set the estimate moves by about one standard error,
so ``Φ(−margin_se)`` estimates the chance that the check flips there (the claims table
combines them into the chance that the suite fails on a new seed set). Rules never raise on
valid data: an impossible rule (e.g. a margin ≤ 0) is a failing check with a ``reason``.

Rules:

* :func:`exceeds` — the 95 % interval's lower end is above ``min_effect``;
* :func:`below` — its upper end is below ``max_effect``;
* :func:`within` — equivalence (TOST with a 90 % interval): inside ``(−margin, margin)``;
* :func:`resolves` — the protocol's interval half-width is below ``effect`` (what it can tell
  apart), a resolution statement instead of "no difference";
* :func:`all_above` / :func:`all_below` — a per-seed bound ("on every seed"); its margin is
  the normal quantile of the chance that a new seed set has a seed beyond the bound;
* :func:`is_dropout_active` — dropout raised a paired quantity (e.g. the training loss;
  95 % interval above float noise, :data:`EXACT_TOLERANCE`), and :func:`dropout_changes` — a structural fact, a quantity that is
  exactly 0 when nothing is dropped is positive on every seed (±∞ SE). Both fail under
  :func:`dropoutcourse.switches.without_dropout` (the negative control);
* :func:`by_construction` — an exact fact (no noise: ±∞ SE).

:func:`interval_numbers` makes the ``<name>``, ``<name>_lo``, ``<name>_hi`` numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from dropoutcourse.stats import PairedDifference

__all__ = [
    "Check",
    "all_above",
    "all_of",
    "all_below",
    "below",
    "by_construction",
    "changed",
    "dropout_changes",
    "exceeds",
    "failure_chance",
    "interval_numbers",
    "is_dropout_active",
    "active_on_every_seed",
    "resolves",
    "suite_failure_chance",
    "within",
]


@dataclass(frozen=True)
class Check:
    """One part of a claim's rule: verdict, estimate, threshold and distance in SE."""

    passed: bool
    margin_se: float
    estimate: float
    threshold: float
    reason: str
    description: str = ""

    def __bool__(self) -> bool:  # ``assert check`` and ``all(checks.values())`` keep working
        return bool(self.passed)

    def named(self, description: str) -> Check:
        return replace(self, description=description)

    def __str__(self) -> str:
        mark = "ok" if self.passed else "FAILED"
        return f"[{mark}] {self.description} ({self.reason}; margin {_se(self.margin_se)})"

    def as_dict(self) -> dict:
        return {
            "passed": bool(self.passed),
            "margin_se": _json_float(self.margin_se),
            "estimate": _json_float(self.estimate),
            "threshold": _json_float(self.threshold),
            "reason": self.reason,
        }


def _se(m: float) -> str:
    return f"{m:+.1f} SE" if math.isfinite(m) else ("+inf SE" if m > 0 else "-inf SE")


def _json_float(v: float):
    return float(v) if math.isfinite(v) else str(v)


def _distance(gap: float, scale: float) -> float:
    """``gap / scale`` with a zero scale meaning an exact result (±inf, or 0 on the edge)."""
    if scale > 0:
        return gap / scale
    return math.copysign(math.inf, gap) if gap != 0 else 0.0


def _fail(reason: str, estimate: float = math.nan, threshold: float = math.nan) -> Check:
    return Check(False, -math.inf, estimate, threshold, reason)


def exceeds(diff: PairedDifference, min_effect: float = 0.0) -> Check:
    """ "Better by more than ``min_effect``": the interval's lower end is above it."""
    if not math.isfinite(min_effect):
        return _fail(f"min_effect must be finite, got {min_effect!r}", diff.mean, min_effect)
    ok = diff.lo > min_effect
    reason = f"lower end {diff.lo:+.3g} {'>' if ok else '<='} {min_effect:g}"
    return Check(ok, _distance(diff.lo - min_effect, diff.se), diff.mean, min_effect, reason)


def below(diff: PairedDifference, max_effect: float = 0.0) -> Check:
    """ "Smaller than ``max_effect``": the interval's upper end is below it."""
    if not math.isfinite(max_effect):
        return _fail(f"max_effect must be finite, got {max_effect!r}", diff.mean, max_effect)
    ok = diff.hi < max_effect
    reason = f"upper end {diff.hi:+.3g} {'<' if ok else '>='} {max_effect:g}"
    return Check(ok, _distance(max_effect - diff.hi, diff.se), diff.mean, max_effect, reason)


def within(diff: PairedDifference, margin: float) -> Check:
    """Equivalence within ``±margin`` (TOST: pass a ``confidence=0.90`` interval).

    A margin that is not a positive number makes a failing check with that reason.
    """
    if not (isinstance(margin, int | float) and math.isfinite(margin) and margin > 0):
        return _fail(f"margin must be a number > 0, got {margin!r}", diff.mean, margin)
    ok = -margin < diff.lo and diff.hi < margin
    gap = min(diff.lo + margin, margin - diff.hi)
    reason = (
        f"interval [{diff.lo:+.3g}, {diff.hi:+.3g}] {'inside' if ok else 'not inside'} ±{margin:g}"
    )
    return Check(ok, _distance(gap, diff.se), diff.mean, margin, reason)


def resolves(diff: PairedDifference, effect: float) -> Check:
    """ "The protocol resolves ``effect``": its interval half-width is below ``effect``.

    The half-width varies between seed sets through the estimated sd, whose relative standard
    error is about ``1/√(2(n − 1))``; ``margin_se`` is measured in that unit.
    """
    if not (math.isfinite(effect) and effect > 0):
        return _fail(f"effect must be a number > 0, got {effect!r}", math.nan, effect)
    half = (diff.hi - diff.lo) / 2
    ok = half < effect
    scale = half / math.sqrt(2 * (diff.n - 1))
    reason = f"half-width {half:.3g} {'<' if ok else '>='} {effect:g}"
    return Check(ok, _distance(effect - half, scale), half, effect, reason)


def _per_seed_margin(mean: float, sd: float, threshold: float, n: int) -> float:
    """Margin (SE-equivalent) of "every one of ``n`` seeds is above ``threshold``".

    Model the per-seed values as normal with the observed mean and sd. A new seed lands below
    the threshold with chance ``q = Φ((threshold − mean)/sd)``, a new set of ``n`` seeds has
    one there with chance ``p = 1 − (1 − q)ⁿ``; the margin is ``Φ⁻¹(1 − p)``, so that
    ``failure_chance(margin) = p`` like for the interval rules. A zero sd is exact (±∞).
    """
    from scipy import stats

    if not sd > 0:
        return _distance(mean - threshold, 0.0)
    log_q = float(stats.norm.logcdf((threshold - mean) / sd))
    p_set = -math.expm1(n * math.log1p(-math.exp(log_q))) if log_q < -1e-12 else 1.0
    if p_set <= 0.0:  # beyond double precision: report the one-seed z, a lower bound
        return (mean - threshold) / sd
    return float(-stats.norm.ppf(p_set))


def all_above(values: Sequence[float], threshold: float) -> Check:
    """Every seed's value is above ``threshold`` ("on every seed" sentences).

    ``margin_se`` is :func:`_per_seed_margin`: the normal quantile of the chance that a new
    seed set of the same size has a seed at or below the threshold (normal model of the
    per-seed values), not a distance to the smallest value. It is negative when the rule
    failed, and can be negative for a rule that held by luck.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return _fail("values must be non-empty and finite", math.nan, threshold)
    ok = bool(v.min() > threshold)
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    margin = _per_seed_margin(mean, sd, threshold, v.size)
    if not ok:
        margin = min(margin, _distance(float(v.min()) - threshold, sd))
    reason = f"smallest {v.min():.3g} {'>' if ok else '<='} {threshold:g}"
    return Check(ok, margin, mean, threshold, reason)


def all_below(values: Sequence[float], threshold: float) -> Check:
    """Every seed's value is below ``threshold`` (see :func:`all_above`)."""
    flipped = all_above(-np.asarray(values, dtype=float), -threshold)
    v = np.asarray(values, dtype=float)
    worst = float(v.max()) if v.size else math.nan
    reason = f"largest {worst:.3g} {'<' if flipped.passed else '>='} {threshold:g}"
    return replace(flipped, estimate=-flipped.estimate, threshold=threshold, reason=reason)


#: Below this a "change" is floating-point noise (float32 outputs are exact to ~1e-7).
EXACT_TOLERANCE = 1e-6


def is_dropout_active(rise: PairedDifference) -> Check:
    """Dropout measurably changed what it must change: the paired difference ``rise`` (e.g.
    training loss with dropout − without, same seeds) has its 95 % interval above
    :data:`EXACT_TOLERANCE`.

    Without dropout (:func:`dropoutcourse.switches.without_dropout`) both arms are the same
    configuration and the check fails: the suite's negative control. Not exactly 0, though:
    replicas trained side by side in one batched computation can differ in the last bits
    (≈ 1e-8 in a loss), and with few seeds such noise can lie on one side of 0 by chance;
    hence the floor above float noise, not 0.
    """
    check = exceeds(rise, EXACT_TOLERANCE)
    return replace(check, reason="dropout active: " + check.reason)


def active_on_every_seed(change: Sequence[float], floor: float = 1e-6) -> Check:
    """Dropout did something on every seed: each value of ``change`` (e.g. a training-loss
    rise, the spread of MC passes) is above ``floor`` (:func:`all_above`). Fails under
    :func:`dropoutcourse.switches.without_dropout`: the suite's negative control."""
    check = all_above(change, floor)
    return replace(check, reason="dropout active: " + check.reason)


def changed(change: Sequence[float], tolerance: float = EXACT_TOLERANCE, what: str = "") -> Check:
    """A structural, noise-free fact: something changed on every seed.

    ``change`` is a quantity that is *exactly* 0 when the mechanism does not act and positive
    when it does (a state overwritten, a mask that dropped something). Not a statistical
    question, so the margin is ±∞ SE; ``tolerance`` only absorbs floating-point noise.
    """
    v = np.asarray(change, dtype=float)
    if v.size == 0 or not np.all(np.isfinite(v)):
        return _fail("values must be non-empty and finite", math.nan, tolerance)
    ok = bool(v.min() > tolerance)
    reason = (
        f"{what}exact: smallest change {v.min():.3g} {'>' if ok else '<='} {tolerance:g}, "
        "exactly 0 when nothing acts"
    )
    return Check(ok, math.inf if ok else -math.inf, float(v.min()), tolerance, reason)


def dropout_changes(change: Sequence[float], tolerance: float = EXACT_TOLERANCE) -> Check:
    """Dropout changed something on every seed, a structural fact (:func:`changed`).

    ``change`` is exactly 0 when no unit is dropped (the spread of MC passes, a network's
    output change between dropout on and off, the dropped fraction of a mask); with every rate
    forced to 0 (:func:`dropoutcourse.switches.without_dropout`) the check fails.
    """
    return changed(change, tolerance, "dropout active, ")


def by_construction(passed: bool, reason: str) -> Check:
    """An exact, noise-free fact (±∞ SE)."""
    return Check(bool(passed), math.inf if passed else -math.inf, math.nan, math.nan, reason)


def interval_numbers(
    name: str, diff: PairedDifference, transform: Callable[[float], float] | None = None
) -> dict[str, float]:
    """``{name: mean, name_lo: lo, name_hi: hi}`` for a claim's ``numbers``.

    ``transform`` maps all three, e.g. ``math.exp`` for an interval of log ratios.
    """
    f = (lambda v: v) if transform is None else transform
    return {name: f(diff.mean), f"{name}_lo": f(diff.lo), f"{name}_hi": f(diff.hi)}


def failure_chance(margin_se: float) -> float:
    """Normal approximation of the chance that a check flips on a new seed set: Φ(−margin)."""
    if math.isnan(margin_se):
        return 1.0
    return 0.5 * math.erfc(margin_se / math.sqrt(2))


def suite_failure_chance(margins_se: Sequence[float]) -> float:
    """Chance that at least one of independent checks flips: 1 − Π(1 − Φ(−margin))."""
    keep = 1.0
    for m in margins_se:
        keep *= 1.0 - failure_chance(m)
    return 1.0 - keep


def all_of(checks: Sequence[Check]) -> Check:
    """One check for "every one of these holds": the one closest to its threshold speaks."""
    if not checks:
        return _fail("no checks given")
    worst = min(checks, key=lambda c: c.margin_se)
    ok = all(c.passed for c in checks)
    reason = f"{sum(c.passed for c in checks)}/{len(checks)} hold; closest: {worst.reason}"
    return replace(worst, passed=ok, reason=reason)
