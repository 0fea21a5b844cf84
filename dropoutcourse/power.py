"""How many seeds a claim needs: power of the paired t rules of :mod:`dropoutcourse.claims.rules`.

Each claim's seed count is sized from a *pilot* (the seed sets ``claims.PILOT_OFFSETS``,
never reused to confirm): the pilot's sd of the paired differences, the effect expected
(the pilot's mean, shrunk when in doubt) and the rule's threshold. Three questions:

* :func:`n_for_exceeds` — "the 95 % interval's lower end clears ``min_effect``" with ≥ 90 %
  power (one-sided α = 0.025, as the rule uses a two-sided 95 % interval);
* :func:`n_for_within` — TOST at ``margin`` with a 90 % interval (α = 0.05 per side);
* :func:`n_for_margin` — the *expected* distance to the threshold is ≥ ``target_se``
  standard errors (the claims table's "≥ 3 SE" goal, so that a new seed set rarely flips it).

Power uses the noncentral t distribution (exact for normal paired differences).
"""

from __future__ import annotations

import math

__all__ = ["power_exceeds", "power_within", "n_for_exceeds", "n_for_within", "n_for_margin"]

_MAX_N = 1000


def _check(sd: float, n_max: int) -> None:
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a finite number > 0, got {sd!r}")
    if n_max < 2:
        raise ValueError(f"n_max must be >= 2, got {n_max!r}")


def power_exceeds(
    n: int, sd: float, effect: float, min_effect: float = 0.0, alpha: float = 0.025
) -> float:
    """P(lower end of the (1 − 2α) interval > ``min_effect``) when the true mean is ``effect``."""
    from scipy import stats

    crit = stats.t.ppf(1 - alpha, n - 1)
    nc = (effect - min_effect) / (sd / math.sqrt(n))
    return float(stats.nct.sf(crit, n - 1, nc))


def power_within(n: int, sd: float, diff: float, margin: float, alpha: float = 0.05) -> float:
    """P(TOST passes): the (1 − 2α) interval inside ±``margin`` when the true mean is ``diff``.

    Lower bound ``1 − P(upper test fails) − P(lower test fails)`` (Bonferroni), tight when the
    power is high, which is the only case that matters here.
    """
    low = power_exceeds(n, sd, diff, -margin, alpha)  # lower end above −margin
    high = power_exceeds(n, sd, -diff, -margin, alpha)  # upper end below +margin
    return max(0.0, low + high - 1.0)


def n_for_exceeds(
    sd: float, effect: float, min_effect: float = 0.0, *, power: float = 0.9, n_max: int = _MAX_N
) -> int:
    """Smallest n (≥ 2) with ``power_exceeds`` ≥ ``power``; ValueError if none up to ``n_max``."""
    _check(sd, n_max)
    for n in range(2, n_max + 1):
        if power_exceeds(n, sd, effect, min_effect) >= power:
            return n
    raise ValueError(f"effect {effect} vs min_effect {min_effect} needs more than {n_max} seeds")


def n_for_within(
    sd: float, diff: float, margin: float, *, power: float = 0.9, n_max: int = _MAX_N
) -> int:
    """Smallest n with TOST power ≥ ``power`` at true difference ``diff`` and ``margin``."""
    _check(sd, n_max)
    for n in range(2, n_max + 1):
        if power_within(n, sd, diff, margin) >= power:
            return n
    raise ValueError(f"margin {margin} at difference {diff} needs more than {n_max} seeds")


def n_for_margin(
    sd: float,
    distance: float,
    *,
    target_se: float = 3.0,
    confidence: float = 0.95,
    n_max: int = _MAX_N,
) -> int:
    """Smallest n whose expected distance to the threshold is ≥ ``target_se`` SE.

    ``distance`` = |expected estimate − threshold|; the rule's own margin in SE is
    ``distance / (sd/√n) − t``, with ``t`` the interval's critical value.
    """
    from scipy import stats

    _check(sd, n_max)
    for n in range(2, n_max + 1):
        t = stats.t.ppf(0.5 + confidence / 2, n - 1)
        if distance / (sd / math.sqrt(n)) - t >= target_se:
            return n
    raise ValueError(f"distance {distance} with sd {sd} needs more than {n_max} seeds")
