"""Tests of lecture 8's helpers: validation split, shifts, MC and ensemble stacks, scores,
temperature, τ of Gal & Ghahramani, and the plots."""

import keras
import numpy as np
import pytest

from dropoutcourse import uncertainty
from dropoutcourse import uncertainty_demos as ud


def test_split_validation_is_disjoint_and_seeded():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    a = ud.split_validation(x, y, 3, seed=0)
    b = ud.split_validation(x, y, 3, seed=0)
    assert len(a[0]) == 7 and len(a[2]) == 3
    assert set(a[1]) | set(a[3]) == set(range(10)) and not set(a[1]) & set(a[3])
    np.testing.assert_array_equal(a[2], b[2])
    with pytest.raises(ValueError, match="val_size"):
        ud.split_validation(x, y, 10, seed=0)


def test_shift_adds_noise_of_the_given_sd():
    x = np.zeros((4000, 5), "float32")
    np.testing.assert_array_equal(ud.shifted(x, 0.0, seed=1), x)
    assert abs(ud.shifted(x, 2.0, seed=1).std() - 2.0) < 0.05
    with pytest.raises(ValueError, match="noise"):
        ud.shifted(x, -1.0, seed=1)
    assert ud.noise_inputs(3, 4, seed=0).shape == (3, 4)


def _net(rate):
    keras.utils.set_random_seed(0)
    return ud.mlp(6, 3, rate, hidden=(16,))


def test_mc_stack_has_t_different_passes_and_ensemble_stack_is_deterministic():
    x = np.random.default_rng(0).normal(size=(7, 6)).astype("float32")
    stack = ud.mc_sample_probs(_net(0.5), x, 4, seed=0)
    assert stack.shape == (4, 7, 3)
    np.testing.assert_allclose(stack.sum(-1), 1.0, atol=1e-5)
    assert np.abs(stack[0] - stack[1]).max() > 1e-4, "dropout is on in the passes"
    assert uncertainty.mutual_information(stack).mean() > 0
    plain = _net(0.0)
    assert len(plain.layers) == 2, "rate 0: no Dropout layer at all"
    ens = ud.member_probs([plain, plain], x)
    np.testing.assert_allclose(ens[0], ens[1])
    np.testing.assert_allclose(ud.mc_sample_probs(plain, x, 3, seed=0)[2], ens[0], atol=1e-6)


def test_scores_and_temperature():
    labels = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    s = ud.scores(probs, labels)
    assert s["accuracy"] == pytest.approx(75.0)
    assert s["nll"] == pytest.approx(uncertainty.negative_log_likelihood(probs, labels))
    assert s["ece"] == pytest.approx(100 * uncertainty.expected_calibration_error(probs, labels))
    # overconfident logits: the fitted temperature is above 1 and lowers the NLL
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    logits = 4 * rng.normal(size=(400, 3))
    logits[np.arange(400), y] += 2
    p = uncertainty.softmax(logits)
    scaled, t = ud.temperature_scaled(p, y, p)
    assert t > 1
    assert uncertainty.negative_log_likelihood(scaled, y) < uncertainty.negative_log_likelihood(
        p, y
    )


def test_model_precision_is_the_papers_formula():
    # τ = p l² / (2 N λ): p = 0.5, l = 2, N = 100, λ = 0.01 -> 0.5·4 / 2 = 1
    assert ud.model_precision(2.0, 0.5, 100, 0.01) == pytest.approx(1.0)
    assert ud.model_precision(1.0, 0.9, 1000, 1e-4) == pytest.approx(0.9 / 0.2)
    with pytest.raises(ValueError, match="keep_prob"):
        ud.model_precision(1.0, 1.5, 10, 0.1)


def test_plots_draw_one_panel_per_method_and_metric():
    import pandas as pd

    labels = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    fig = ud.reliability_plot({"a": probs, "b": probs}, labels)
    assert len(fig.axes) == 2 and "ECE" in fig.axes[0].get_title()
    df = pd.DataFrame(
        {"seed": [0, 0, 1, 1], "method": "plain", "noise": [0, 1, 0, 1], "nll": [1, 2, 1, 2.0]}
    )
    assert len(ud.shift_plot(df, ("nll",)).axes) == 1
    with pytest.raises(ValueError, match="predictions"):
        ud.reliability_plot({}, labels)
