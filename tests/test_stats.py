"""The paired decision rules: against hand computations, and able to fail."""

import numpy as np
import pytest
from scipy import stats as sps

from dropoutcourse import stats
from dropoutcourse.claims import rules


def test_paired_difference_matches_hand_computed_t_interval():
    a, b = np.array([0.70, 0.72, 0.69, 0.75, 0.71]), np.array([0.65, 0.66, 0.66, 0.68, 0.64])
    d = a - b
    half = sps.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    res = stats.paired_difference(a, b)
    assert res.mean == pytest.approx(d.mean())
    assert (res.lo, res.hi) == pytest.approx((d.mean() - half, d.mean() + half))
    assert (res.min, res.max, res.n) == (pytest.approx(d.min()), pytest.approx(d.max()), 5)


def test_nadeau_bengio_correction_widens_the_interval():
    d = np.array([0.01, 0.03, -0.01, 0.02, 0.04])
    plain, corrected = stats.paired_difference(d), stats.paired_difference(d, test_train_ratio=0.25)
    assert corrected.hi - corrected.lo > plain.hi - plain.lo


def test_exceeds_needs_the_whole_interval_above_the_effect():
    clear = stats.paired_difference([5.1, 4.9, 5.3, 5.0, 4.8])
    noisy = stats.paired_difference([5.0, -4.0, 9.0, -3.0, 8.0])
    assert rules.exceeds(clear, 3.0) and not rules.exceeds(clear, 6.0)
    assert noisy.mean > 2 and not rules.exceeds(noisy, 0.0)


def test_within_is_equivalence_and_fails_for_a_real_difference():
    tiny = stats.paired_difference([0.1, -0.1, 0.05, 0.0, -0.05], confidence=0.9)
    shifted = stats.paired_difference([2.1, 1.9, 2.05, 2.0, 1.95], confidence=0.9)
    assert rules.within(tiny, 0.5) and not rules.within(shifted, 0.5)
    bad = rules.within(tiny, 0)  # not an error on valid data: a failing check with a reason
    assert not bad and "margin" in bad.reason


@pytest.mark.parametrize(
    "a, b, match",
    [([1.0, 2.0], [1.0], "same length"), ([1.0], None, "at least 2"), ([1.0, np.nan], None, "NaN")],
)
def test_paired_difference_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        stats.paired_difference(a, b)
