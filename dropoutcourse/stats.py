"""Paired statistics over seeds: the intervals every claim of the course is judged on.

Two settings trained with the *same* seeds share their initial weights, their data order and
(where they have dropout at the same place) their random streams: common random numbers. The
seed-by-seed difference then cancels most of the seed-to-seed noise, so claims are judged on
paired differences, never on two separate means.

The decision rules (in :mod:`dropoutcourse.claims.rules`), stated before any run:

* ``exceeds`` — "A is better than B by at least ``min_effect``": the lower end of the
  two-sided confidence interval of the mean paired difference is above ``min_effect``.
* ``within`` — "A and B agree within ``margin``" (equivalence, TOST): the whole
  ``1 − 2α`` interval lies inside ``(−margin, +margin)``. Such a claim is only made together
  with a positive control in the same run (something that must differ, and does).

Margins and minimal effects are constants of each claim (what matters to a practitioner), never
computed from the run being judged. The rules return checks that carry their distance to the
threshold in standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDifference", "paired_difference", "paired_comparison"]


@dataclass(frozen=True)
class PairedDifference:
    """Mean paired difference ``a − b`` over ``n`` seeds with its confidence interval."""

    mean: float
    lo: float
    hi: float
    sd: float
    n: int
    min: float
    max: float
    confidence: float
    #: standard error of the mean (with the Nadeau–Bengio factor when one was given)
    se: float = math.nan

    def __str__(self) -> str:
        pct = round(self.confidence * 100)
        return (
            f"{self.mean:+.4g} [{pct}% CI {self.lo:+.4g}, {self.hi:+.4g}], "
            f"n = {self.n}, per seed {self.min:+.4g} … {self.max:+.4g}"
        )


def _paired_arrays(a: Sequence[float], b: Sequence[float] | None) -> np.ndarray:
    x = np.asarray(a, dtype=float).ravel()
    if b is not None:
        y = np.asarray(b, dtype=float).ravel()
        if x.shape != y.shape:
            raise ValueError(
                f"a and b must have the same length (paired scores), got {x.size} and {y.size}"
            )
        x = x - y
    if x.size < 2:
        raise ValueError(f"need at least 2 paired scores, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("a and b must be finite (no NaN/inf): did a run diverge?")
    return x


def paired_difference(
    a: Sequence[float],
    b: Sequence[float] | None = None,
    *,
    confidence: float = 0.95,
    test_train_ratio: float | None = None,
) -> PairedDifference:
    """Mean of ``a − b`` (or of ``a`` alone when ``b`` is None) with a Student-t interval.

    ``test_train_ratio`` applies the Nadeau–Bengio (2003) correction for k-fold scores, whose
    training sets overlap (variance ``sd² · (1/n + test_train_ratio)``).
    """
    from scipy import stats

    from dropoutcourse._validate import check_nonneg_float, check_unit_interval

    d = _paired_arrays(a, b)
    confidence = check_unit_interval(confidence, "confidence")
    if confidence == 0:
        raise ValueError("confidence must be in (0, 1), got 0")
    ratio = 0.0 if test_train_ratio is None else check_nonneg_float(test_train_ratio, "ratio")
    n, mean, sd = d.size, float(d.mean()), float(d.std(ddof=1))
    se = sd * math.sqrt(1.0 / n + ratio)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * se
    return PairedDifference(
        mean=mean,
        lo=mean - half,
        hi=mean + half,
        sd=sd,
        n=n,
        min=float(d.min()),
        max=float(d.max()),
        confidence=confidence,
        se=se,
    )


def paired_comparison(
    a: Sequence[float], b: Sequence[float], *, test_train_ratio: float | None = None
) -> dict[str, float]:
    """Paired t test of two sets of scores measured on the same seeds or folds.

    Returns ``mean_diff`` (mean of ``a - b``), ``std_diff`` (ddof=1), ``n``, the paired
    ``t`` statistic ``mean_diff / (std_diff / sqrt(n))`` and its two-sided ``p_value``
    (Student t, n − 1 degrees of freedom). ``test_train_ratio`` (e.g. 1/9 for 10-fold CV)
    applies the Nadeau–Bengio (2003) correction: the variance term becomes
    ``std² · (1/n + test_train_ratio)``.
    """
    from scipy import stats

    if test_train_ratio is not None and not (test_train_ratio >= 0):
        raise ValueError(f"test_train_ratio must be >= 0, got {test_train_ratio!r}")
    d = _paired_arrays(a, b)
    n = d.size
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    factor = 1.0 / n + (test_train_ratio or 0.0)
    if sd == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0.0 else 0.0
    else:
        t = mean / math.sqrt(sd**2 * factor)
        p = float(2 * stats.t.sf(abs(t), df=n - 1))
    return {"mean_diff": mean, "std_diff": sd, "n": n, "t": float(t), "p_value": p}
