"""Tests of dropoutcourse.uncertainty: hand-computed cases, independent re-implementations, sklearn."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from dropoutcourse import uncertainty as unc

# Six samples, three classes, n_bins = 4: edges 0, .25, .5, .75, 1 (exact in binary).
#   i  probs              label  conf  argmax  correct  bin
#   0  [.9, .05, .05]     0      .9    0       yes      (.75, 1]
#   1  [.8, .1, .1]       1      .8    0       no       (.75, 1]
#   2  [1., 0., 0.]       0      1.0   0       yes      (.75, 1]  (1.0 goes into the last bin)
#   3  [.6, .3, .1]       0      .6    0       yes      (.5, .75]
#   4  [.2, .5, .3]       2      .5    1       no       (.25, .5] (.5 is an upper edge: inclusive)
#   5  [.4, .35, .25]     0      .4    0       yes      (.25, .5]
# bin (.25, .5]: n 2, conf (.5 + .4)/2 = .45, acc 1/2  -> |.5 - .45|  = .05
# bin (.5, .75]: n 1, conf .6,                acc 1    -> |1 - .6|    = .4
# bin (.75, 1]:  n 3, conf (.9 + .8 + 1)/3 = .9, acc 2/3 -> |2/3 - .9| = 7/30
# ECE = 2/6 · .05 + 1/6 · .4 + 3/6 · 7/30 = 1/60 + 4/60 + 7/60 = 12/60 = 0.2
HAND_PROBS = np.array(
    [
        [0.9, 0.05, 0.05],
        [0.8, 0.1, 0.1],
        [1.0, 0.0, 0.0],
        [0.6, 0.3, 0.1],
        [0.2, 0.5, 0.3],
        [0.4, 0.35, 0.25],
    ]
)
HAND_LABELS = np.array([0, 1, 0, 0, 2, 0])


def random_probs(rng, n, c):
    return rng.dirichlet(np.full(c, 0.7), size=n)


def draw_labels(rng, probs):
    """One label per row, drawn from that row's distribution (inverse CDF)."""
    below = (probs.cumsum(axis=1) < rng.uniform(size=(len(probs), 1))).sum(axis=1)
    return np.minimum(below, probs.shape[1] - 1)  # a cumsum rounded below 1 stays in range


# ----------------------------------------------------------------------------- ECE
def test_ece_hand_computed_example():
    assert unc.expected_calibration_error(HAND_PROBS, HAND_LABELS, n_bins=4) == pytest.approx(0.2)


def test_reliability_diagram_hand_computed_example():
    table = unc.reliability_diagram(HAND_PROBS, HAND_LABELS, n_bins=4)
    assert list(table.columns) == ["bin_lo", "bin_hi", "count", "confidence", "accuracy"]
    np.testing.assert_allclose(table["bin_lo"], [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(table["bin_hi"], [0.25, 0.5, 0.75, 1.0])
    assert table["count"].tolist() == [0, 2, 1, 3]
    assert math.isnan(table["confidence"][0]) and math.isnan(table["accuracy"][0])
    np.testing.assert_allclose(table["confidence"][1:], [0.45, 0.6, 0.9])
    np.testing.assert_allclose(table["accuracy"][1:], [0.5, 1.0, 2 / 3])
    # the ECE is the count-weighted mean gap of this table
    gaps = (table["accuracy"] - table["confidence"]).abs()
    ece = (gaps * table["count"]).sum() / table["count"].sum()
    assert ece == pytest.approx(unc.expected_calibration_error(HAND_PROBS, HAND_LABELS, 4))


def test_ece_is_0_for_perfect_calibration():
    # confidence .75 with 3 of 4 right, confidence 1 with 2 of 2 right
    probs = np.array([[0.75, 0.25]] * 4 + [[0.0, 1.0]] * 2)
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert unc.expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-12)
    assert unc.expected_calibration_error(probs, labels, n_bins=1) == pytest.approx(0.0, abs=1e-12)


def test_ece_is_1_when_always_confident_and_wrong():
    probs = np.tile([1.0, 0.0, 0.0], (10, 1))
    assert unc.expected_calibration_error(probs, np.full(10, 2)) == pytest.approx(1.0)


def test_ece_is_small_when_labels_are_drawn_from_the_probabilities():
    rng = np.random.default_rng(0)
    probs = random_probs(rng, 20_000, 3)
    assert unc.expected_calibration_error(probs, draw_labels(rng, probs)) < 0.02


def brute_force_ece(probs, labels, n_bins):
    """Guo et al.'s definition, sample by sample, with explicit (lo, hi] comparisons."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for m in range(n_bins):
        lo, hi = edges[m], edges[m + 1]
        members = [
            i
            for i in range(len(probs))
            if (lo < max(probs[i]) <= hi) or (m == 0 and max(probs[i]) == 0.0)
        ]
        if members:
            acc = np.mean([int(np.argmax(probs[i]) == labels[i]) for i in members])
            conf = np.mean([max(probs[i]) for i in members])
            total += len(members) / len(probs) * abs(acc - conf)
    return total


@pytest.mark.parametrize(("n_bins", "seed"), [(1, 0), (5, 1), (15, 2), (40, 3)])
def test_ece_matches_a_brute_force_implementation(n_bins, seed):
    rng = np.random.default_rng(seed)
    probs = random_probs(rng, 300, 4)
    labels = rng.integers(0, 4, 300)
    assert unc.expected_calibration_error(probs, labels, n_bins) == pytest.approx(
        brute_force_ece(probs, labels, n_bins), abs=1e-12
    )


# ----------------------------------------------------------------------------- NLL and Brier
def test_nll_and_brier_hand_computed_example():
    # NLL: -(log .9 + log .1 + log 1 + log .6 + log .3 + log .4) / 6
    expected_nll = -np.log([0.9, 0.1, 1.0, 0.6, 0.3, 0.4]).sum() / 6
    assert unc.negative_log_likelihood(HAND_PROBS, HAND_LABELS) == pytest.approx(expected_nll)
    # Brier, row by row: .01+.0025+.0025 | .64+.81+.01 | 0 | .16+.09+.01 | .04+.25+.49 | .36+.1225+.0625
    rows = [0.015, 1.46, 0.0, 0.26, 0.78, 0.545]
    assert unc.brier_score(HAND_PROBS, HAND_LABELS) == pytest.approx(np.mean(rows))


def test_nll_matches_sklearn_log_loss_and_clips_zero_probabilities():
    rng = np.random.default_rng(4)
    probs = random_probs(rng, 200, 5)
    labels = rng.integers(0, 5, 200)
    assert unc.negative_log_likelihood(probs, labels) == pytest.approx(
        log_loss(labels, probs, labels=range(5)), rel=1e-9
    )
    confident_wrong = np.array([[1.0, 0.0]])
    assert unc.negative_log_likelihood(confident_wrong, [1], eps=1e-6) == pytest.approx(
        -math.log(1e-6)
    )


def test_brier_matches_sklearn():
    rng = np.random.default_rng(5)
    p1 = rng.uniform(size=300)
    y = rng.integers(0, 2, 300)
    binary = np.column_stack([1 - p1, p1])
    # both columns make the same error: the multi-class score is twice the binary one
    assert unc.brier_score(binary, y) == pytest.approx(2 * brier_score_loss(y, p1), rel=1e-9)
    probs = random_probs(rng, 300, 4)
    labels = rng.integers(0, 4, 300)
    onehot = np.eye(4)[labels]
    assert unc.brier_score(probs, labels) == pytest.approx(((probs - onehot) ** 2).sum(1).mean())
    assert unc.brier_score(probs, labels) == pytest.approx(
        brier_score_loss(labels, probs, labels=range(4), scale_by_half=False), rel=1e-9
    )


# ----------------------------------------------------------------------------- entropy and MI
def test_predictive_entropy_extremes():
    probs = np.array([[1.0, 0.0, 0.0, 0.0], [0.25] * 4, [0.5, 0.5, 0.0, 0.0]])
    np.testing.assert_allclose(unc.predictive_entropy(probs), [0.0, math.log(4), math.log(2)])


def test_mutual_information_is_0_when_all_passes_agree_and_log2_when_they_disagree():
    rng = np.random.default_rng(6)
    one_pass = random_probs(rng, 7, 3)
    np.testing.assert_allclose(unc.mutual_information(np.stack([one_pass] * 10)), 0, atol=1e-12)
    # two passes, each certain, of different classes: H(mean) = log 2, mean H = 0
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(unc.mutual_information(disagree), [math.log(2)])


def test_mutual_information_is_nonnegative_and_at_most_the_total_entropy():
    rng = np.random.default_rng(7)
    samples = np.stack([random_probs(rng, 50, 4) for _ in range(20)])
    mi = unc.mutual_information(samples)
    total = unc.predictive_entropy(samples.mean(axis=0))
    assert mi.shape == (50,)
    assert (mi >= 0).all() and (mi <= total + 1e-12).all()


# ----------------------------------------------------------------------------- AUROC
def test_auroc_chance_perfect_and_ties():
    rng = np.random.default_rng(8)
    same = rng.normal(size=100)
    assert unc.auroc(same, same) == pytest.approx(0.5)
    assert unc.auroc([0.1, 0.2, 0.3], [0.4, 0.9]) == 1.0
    assert unc.auroc([0.4, 0.9], [0.1, 0.2, 0.3]) == 0.0
    # pairs (in, out): (1, 1) tie = 1/2, (1, 2) = 1, (3, 1) = 0, (3, 2) = 0 -> 1.5 / 4
    assert unc.auroc([1, 3], [1, 2]) == pytest.approx(0.375)


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn(ties):
    rng = np.random.default_rng(9)
    s_in, s_out = rng.normal(size=150), rng.normal(0.7, 1.0, size=90)
    if ties:
        s_in, s_out = np.round(s_in), np.round(s_out)
    y = np.r_[np.zeros(150), np.ones(90)]
    assert unc.auroc(s_in, s_out) == pytest.approx(roc_auc_score(y, np.r_[s_in, s_out]))


# ----------------------------------------------------------------------------- temperature
def test_softmax_is_stable_sums_to_1_and_keeps_the_argmax():
    logits = np.array([[1000.0, 999.0, 0.0], [1.0, 2.0, 3.0]])
    for t in (0.5, 1.0, 4.0):
        p = unc.softmax(logits, t)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_array_equal(p.argmax(axis=1), logits.argmax(axis=1))
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(unc.softmax(logits)[1], e / e.sum())
    np.testing.assert_allclose(unc.softmax(logits, 2.0)[1], unc.softmax(logits[1:] / 2.0)[0])


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_of_a_calibrated_model(true_temperature):
    # labels drawn from softmax(z): z are calibrated logits. The "network" reports
    # z · T_true (overconfident when T_true > 1); dividing by T_true calibrates it again.
    rng = np.random.default_rng(10)
    z = rng.normal(0.0, 2.0, size=(20_000, 5))
    p = unc.softmax(z)
    labels = draw_labels(rng, p)
    fitted = unc.fit_temperature(z * true_temperature, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    before = unc.expected_calibration_error(unc.softmax(z * true_temperature), labels)
    after = unc.expected_calibration_error(unc.softmax(z * true_temperature, fitted), labels)
    assert after < 0.02 and (true_temperature == 1.0 or after < before)


# ----------------------------------------------------------------------------- bad input
GOOD_P, GOOD_Y = HAND_PROBS, HAND_LABELS


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: unc.expected_calibration_error(GOOD_P[:, :2], GOOD_Y), ValueError, "probs"),
        (lambda: unc.expected_calibration_error(GOOD_P[0], GOOD_Y[:1]), ValueError, "probs"),
        (lambda: unc.expected_calibration_error(GOOD_P * 2, GOOD_Y), ValueError, "probs"),
        (lambda: unc.expected_calibration_error(-GOOD_P, GOOD_Y), ValueError, "probs"),
        (
            lambda: unc.expected_calibration_error(np.full((2, 2), np.nan), [0, 1]),
            ValueError,
            "probs",
        ),
        (lambda: unc.expected_calibration_error([["a", "b"]], [0]), TypeError, "probs"),
        (lambda: unc.expected_calibration_error(GOOD_P, GOOD_Y + 1), ValueError, "labels"),
        (lambda: unc.expected_calibration_error(GOOD_P, GOOD_Y[:4]), ValueError, "labels"),
        (lambda: unc.expected_calibration_error(GOOD_P, GOOD_Y + 0.5), TypeError, "labels"),
        (lambda: unc.expected_calibration_error(GOOD_P, GOOD_Y, n_bins=0), ValueError, "n_bins"),
        (lambda: unc.expected_calibration_error(GOOD_P, GOOD_Y, n_bins=2.5), TypeError, "n_bins"),
        (lambda: unc.reliability_diagram(GOOD_P, GOOD_Y, n_bins=-1), ValueError, "n_bins"),
        (lambda: unc.negative_log_likelihood(GOOD_P, GOOD_Y, eps=0.0), ValueError, "eps"),
        (lambda: unc.negative_log_likelihood(GOOD_P, GOOD_Y, eps=2.0), ValueError, "eps"),
        (lambda: unc.brier_score(GOOD_P, np.array([[0, 1]] * 6)), ValueError, "labels"),
        (lambda: unc.predictive_entropy([[0.5, 0.6]]), ValueError, "probs"),
        (lambda: unc.mutual_information(GOOD_P), ValueError, "sample_probs"),
        (lambda: unc.mutual_information(GOOD_P[None] * 0.5), ValueError, "sample_probs"),
        (lambda: unc.auroc([], [1.0]), ValueError, "scores_in"),
        (lambda: unc.auroc([1.0], [[1.0]]), ValueError, "scores_out"),
        (lambda: unc.auroc([np.nan], [1.0]), ValueError, "scores_in"),
        (lambda: unc.softmax([1.0, 2.0], temperature=0.0), ValueError, "temperature"),
        (lambda: unc.softmax([1.0, np.inf]), ValueError, "logits"),
        (lambda: unc.fit_temperature(np.zeros((3, 2)), [0, 1, 2]), ValueError, "labels"),
        (lambda: unc.fit_temperature(np.zeros(3), [0, 1, 0]), ValueError, "logits"),
        (lambda: unc.fit_temperature(np.zeros((3, 2)), [0, 1]), ValueError, "labels"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_probabilities_off_by_float32_rounding_are_accepted():
    probs = np.array([[0.7, 0.3]], dtype=np.float32) * np.float32(1 + 5e-5)
    assert isinstance(unc.expected_calibration_error(probs, [0]), float)
    assert isinstance(unc.reliability_diagram(probs, [0]), pd.DataFrame)
