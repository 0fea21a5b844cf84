"""The key claims of lectures 1, 2 and 4, checked outside the notebooks.

Each test calls the same package functions with the same settings as the notebook cell that
makes the claim, and asserts with a tolerance (never exact floats: results differ slightly
between CPUs). The training-based claims are marked ``slow``.
"""

import numpy as np
import pandas as pd
import pytest

from dropoutcourse import data, demos, reference, theory

SEEDS = range(5)


# --------------------------------------------------------------------------- lecture 1


def test_lecture1_polynomial_test_error_is_u_shaped_in_the_degree():
    """01 §2: training error never rises with degree; test error is lowest at degree 3-5."""
    runs = []
    for seed in SEEDS:
        d = data.make_polynomial(n_train=15, seed=seed)
        errs = demos.polynomial_fit_errors(d.x_train, d.y_train, d.x_test, d.y_test, range(13))
        assert np.all(np.diff(errs.train_mse) <= 1e-9)
        runs.append(errs.assign(seed=seed))
    med = pd.concat(runs).groupby("degree")[["train_mse", "test_mse"]].median()
    best = med.test_mse.idxmin()
    assert 3 <= best <= 5
    assert med.test_mse[1] > 1.5 * med.test_mse[best]
    assert med.test_mse[12] > 10 * med.test_mse[best]


def test_lecture1_diabetes_high_degree_overfits():
    """01 §2 (real data): a degree-8 polynomial on 30 patients has far higher test error than a line."""
    test = {1: [], 8: []}
    for seed in SEEDS:
        d = data.load_diabetes(train_size=30, seed=seed, feature="bmi", scale_y=True)
        errs = demos.polynomial_fit_errors(d.x_train, d.y_train, d.x_test, d.y_test, [1, 8])
        for deg in test:
            test[deg].append(errs.loc[errs.degree == deg, "test_mse"].item())
    assert np.median(test[8]) > 5 * np.median(test[1])


# --------------------------------------------------------------------------- lecture 2


def test_lecture2_concentrated_weights_have_larger_dropout_variance():
    """02 §2: same mean output, but w = (4,0,0,0) has twice the std of w = (1,1,1,1) under dropout."""
    rng = np.random.default_rng(0)
    h = np.ones((100_000, 4))
    stds = {}
    for name, w in [("concentrated", np.array([4.0, 0, 0, 0])), ("spread", np.ones(4))]:
        z = reference.dropout_forward(h, 0.5, rng=rng)[0] @ w
        assert z.mean() == pytest.approx(4.0, abs=0.05)
        stds[name] = z.std()
    assert stds["concentrated"] == pytest.approx(2 * stds["spread"], rel=0.03)


def test_lecture2_dropped_units_get_zero_gradient():
    """02 §4: with a batch-wide hidden mask, dropped units' weight gradients are exactly 0."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)), rng.normal(size=(16, 2))
    W1, W2 = 0.5 * rng.normal(size=(5, 6)), 0.5 * rng.normal(size=(6, 2))
    _, mask = reference.dropout_forward(np.ones(6), 0.5, rng=np.random.default_rng(1))
    g = demos.two_layer_gradients(x, y, W1, W2, mask)
    dropped = np.flatnonzero(mask == 0)
    assert len(dropped) > 0
    assert np.all(g["dW1"][:, dropped] == 0) and np.all(g["dW2"][dropped] == 0)


def test_lecture2_classic_and_inverted_agree_in_expectation():
    """02 §5: test-time output = expected training output for both forms; not without rescaling."""
    rng = np.random.default_rng(0)
    x = np.full((200_000, 1), 10.0)
    for forward in (reference.dropout_forward, reference.classic_dropout_forward):
        train, _ = forward(x, 0.5, rng=rng)
        test, _ = forward(x, 0.5, training=False)
        assert train.mean() == pytest.approx(test.mean(), rel=0.01)
    train, _ = reference.classic_dropout_forward(x, 0.5, rng=rng)
    assert train.mean() == pytest.approx(5.0, rel=0.01)  # vs 10 at test time without rescaling


def test_lecture2_weight_scaling_is_the_geometric_mean_of_all_thinned_softmax_nets():
    """02 §7: for one softmax layer, weight scaling = normalised geometric mean of 2^H nets."""
    rng = np.random.default_rng(0)
    H = 10
    h, W = rng.random(H), rng.normal(size=(H, 3))
    all_masks = ((np.arange(2**H)[:, None] >> np.arange(H)) & 1) / 0.5
    logits = (all_masks * h) @ W
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    geometric = np.exp(log_p.mean(axis=0))
    geometric /= geometric.sum()
    weight_scaled = np.exp(h @ W) / np.exp(h @ W).sum()
    np.testing.assert_allclose(geometric, weight_scaled, atol=1e-12)
    assert not np.allclose(np.exp(log_p).mean(axis=0), weight_scaled, atol=1e-3)


# --------------------------------------------------------------------------- lecture 4


def _diabetes():
    d = data.load_diabetes(train_size=100, seed=0, scale_y=True)
    return d.x_train.astype(np.float64), d.y_train.astype(np.float64)


def test_lecture4_gaussian_and_bernoulli_noise_share_mean_and_variance():
    """04 §1-2: both multipliers have mean 1 and variance rate/(1-rate)."""
    rng = np.random.default_rng(0)
    ones = np.ones((1000, 1000))
    for rate in (0.2, 0.5):
        for forward in (reference.dropout_forward, reference.gaussian_dropout_forward):
            m, _ = forward(ones, rate, rng=rng)
            assert m.mean() == pytest.approx(1.0, abs=0.01)
            assert m.var() == pytest.approx(rate / (1 - rate), rel=0.03)


def test_lecture4_mean_noisy_gradient_is_clean_gradient_plus_penalty():
    """04 §3: averaging Gaussian-noise gradients gives the penalised, not the clean, gradient."""
    rng = np.random.default_rng(0)
    X, y = _diabetes()
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    Xs, _ = reference.gaussian_dropout_forward(np.broadcast_to(X, (4000, *X.shape)), 0.5, rng=rng)
    grads = -2 * np.einsum("snd,sn->sd", Xs, y - Xs @ w)
    mean, stderr = grads.mean(axis=0), grads.std(axis=0) / np.sqrt(len(grads))
    expected = theory.linear_dropout_gradient(X, y, w, 0.5, kind="gaussian")
    clean = theory.linear_dropout_gradient(X, y, w, 0.0)
    assert np.all(np.abs(mean - expected) < 5 * stderr + 1e-9)
    assert np.linalg.norm(mean - clean) > 10 * np.linalg.norm(mean - expected)


def test_lecture4_mc_dropout_loss_converges_to_closed_form():
    """04 §5: 10 000 sampled masks match linear_dropout_loss within 4 standard errors."""
    rng = np.random.default_rng(0)
    X, y = _diabetes()
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    exact = theory.linear_dropout_loss(X, y, w, 0.3)
    for kind in ("inverted", "gaussian"):
        mean, stderr = theory.linear_dropout_loss_mc(X, y, w, 0.3, 10_000, rng, kind=kind)
        assert abs(mean - exact) < 4 * stderr
        assert stderr < 0.01 * exact


def test_lecture4_sgd_on_sampled_masks_converges_to_the_dropout_ridge_solution():
    """04 §6: SGD with fresh masks finds the closed-form data-scaled ridge solution."""
    rng = np.random.default_rng(0)
    X, y = _diabetes()
    w_ridge = demos.dropout_ridge_solution(X, y, 0.3)
    w_sgd = demos.sgd_linear_dropout(X, y, 0.3, steps=20_000, learning_rate=0.005, rng=rng)
    assert np.linalg.norm(w_sgd - w_ridge) / np.linalg.norm(w_ridge) < 0.03
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.linalg.norm(w_ridge) < 0.9 * np.linalg.norm(w_ls)


def test_lecture4_dropout_solution_is_invariant_to_feature_scale_but_ridge_is_not():
    """04 §6: rescaling one feature leaves dropout's predictions unchanged, not ridge's."""
    X, y = _diabetes()
    X10 = X.copy()
    X10[:, 2] *= 10
    assert np.allclose(
        X @ demos.dropout_ridge_solution(X, y, 0.3), X10 @ demos.dropout_ridge_solution(X10, y, 0.3)
    )
    assert not np.allclose(
        X @ demos.ridge_solution(X, y, 30.0), X10 @ demos.ridge_solution(X10, y, 30.0)
    )


def test_lecture4_dropout_shrinkage_grows_monotonically_with_rate():
    """04 §8: the penalty rate/(1-rate) is monotone, not maximal at 0.5 like p(1-p)."""
    X, y = _diabetes()
    rates = np.linspace(0.1, 0.9, 9)
    norms = [np.linalg.norm(demos.dropout_ridge_solution(X, y, r)) for r in rates]
    assert np.all(np.diff(norms) < 0)


# --------------------------------------------------------------------------- training claims
# The same experiments, data and settings as the notebooks (slow: tens of seconds each).


# Lecture 4's regulariser table (Bernoulli vs Gaussian, L2, max-norm, the rate) is the claim
# `regularisers` of dropoutcourse.claims.lecture4, run by tests/test_claims.py.


def test_lecture4_arms_are_the_notebooks_keras_network_with_each_regulariser():
    """``claims.lecture4.arm_model``: the flagship MLP of the notebook's ``build`` with the
    arm's noise layer, L2 penalty or max-norm constraint, and nothing else."""
    import keras

    from dropoutcourse.claims import lecture4

    def described(label):
        model = lecture4.arm_model(label)
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        noise = [
            (type(layer).__name__, layer.rate)
            for layer in model.layers
            if isinstance(layer, keras.layers.Dropout | keras.layers.GaussianDropout)
        ]
        penalties = {
            None if r is None else round(float(r.l2), 6)
            for r in (d.kernel_regularizer for d in dense)
        }
        norms = [getattr(d.kernel_constraint, "max_value", None) for d in dense]
        units = [d.units for d in dense]
        return units, noise, penalties, norms, model.optimizer.learning_rate.numpy()

    assert described("none") == ([256, 256, 10], [], {None}, [None] * 3, np.float32(0.01))
    assert described("gaussian 0.5")[1] == [("GaussianDropout", 0.5)] * 2
    assert described("rate 0.8")[1] == [("Dropout", 0.8)] * 2
    assert described("L2 3e-3")[2] == {3e-3}
    assert described("dropout 0.5 + max-norm 1")[1:4] == (
        [("Dropout", 0.5)] * 2,
        {None},
        [1.0, 1.0, None],  # hidden units only, as the paper constrains them
    )


def test_lecture4_arms_with_the_same_layers_start_from_the_same_weights():
    """What NB04 says of the claim's pairing: per seed, arms with the same layers (the noise
    arms; the arms without a noise layer) start from identical weights, while "none" and
    "dropout 0.5" share only the first layer's (the noise layers take seeds in between)."""
    from dropoutcourse.claims import lecture4
    from dropoutcourse.replica_fit.initial import seeded_initial_values

    def weights(label, seed=3):
        return seeded_initial_values(lecture4.arm_model(label), seed)[0]

    def same(a, b):
        return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))

    noisy = weights("dropout 0.5")
    assert same(noisy, weights("gaussian 0.5")) and same(noisy, weights("rate 0.2"))
    plain = weights("none")
    assert same(plain, weights("L2 3e-3")) and same(plain, weights("max-norm 1"))
    assert np.array_equal(plain[0], noisy[0])  # the first hidden kernel
    assert not np.array_equal(plain[2], noisy[2])  # the second one: other draws
    assert not same(weights("none", seed=4), plain)  # the seed decides
