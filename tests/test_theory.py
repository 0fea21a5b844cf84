"""Closed forms of dropout theory against Monte Carlo and numerical gradients."""

import numpy as np
import pytest

from dropoutcourse import theory as T
from dropoutcourse.gradcheck import numerical_gradient, rel_error
from dropoutcourse.reference import dropout_forward


def problem(seed=0, n=40, d=5):
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, d)) * np.array([0.5, 1.0, 2.0, 1.0, 3.0])[:d]
    w = g.standard_normal(d)
    y = X @ w + 0.5 * g.standard_normal(n)
    return X, y, w


def penalty(X, w):
    return float(np.sum(w**2 * np.sum(X**2, axis=0)))


def test_closed_form_by_hand():
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([1.0, 0.0])
    w = np.array([0.5, -1.0])
    # residuals: 1 - (0.5 - 2) = 2.5 and 0 - (1.5 + 1) = -2.5 -> 12.5
    # penalty: rate/(1-rate) = 1 at rate 0.5; w^2 . colsum(X^2) = 0.25 * 10 + 1 * 5 = 7.5
    assert T.linear_dropout_loss(X, y, w, 0.5) == pytest.approx(12.5 + 7.5)
    assert T.linear_dropout_loss(X, y, w, 0.0) == pytest.approx(12.5)
    # classic, p = 0.5: residuals 1 - 0.5 * (-1.5) = 1.75, 0 - 0.5 * 2.5 = -1.25; p(1-p) = 0.25
    assert T.linear_dropout_loss(X, y, w, 0.5, kind="classic") == pytest.approx(
        1.75**2 + 1.25**2 + 0.25 * 7.5
    )


@pytest.mark.parametrize("kind", ["inverted", "classic", "gaussian"])
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_closed_form_matches_monte_carlo(kind, rate):
    X, y, w = problem()
    exact = T.linear_dropout_loss(X, y, w, rate, kind=kind)
    mean, se = T.linear_dropout_loss_mc(X, y, w, rate, 20_000, np.random.default_rng(1), kind=kind)
    assert abs(mean - exact) < 4 * se
    # the penalty is far larger than the MC error, so a formula without it would fail above
    p = 1 - rate
    var = p * (1 - p) if kind == "classic" else rate / p
    assert var * penalty(X, w) > 20 * se


def test_monte_carlo_is_the_plain_loss_at_rate_zero():
    X, y, w = problem()
    mean, se = T.linear_dropout_loss_mc(X, y, w, 0.0, 10, np.random.default_rng(0))
    assert mean == pytest.approx(np.sum((y - X @ w) ** 2))
    assert se == 0.0


def test_monte_carlo_uses_the_given_rng():
    X, y, w = problem()
    a = T.linear_dropout_loss_mc(X, y, w, 0.5, 200, np.random.default_rng(3))
    b = T.linear_dropout_loss_mc(X, y, w, 0.5, 200, np.random.default_rng(3))
    c = T.linear_dropout_loss_mc(X, y, w, 0.5, 200, np.random.default_rng(4))
    assert a == b
    assert a != c


@pytest.mark.parametrize("kind", ["inverted", "classic", "gaussian"])
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.6])
def test_closed_form_gradient_matches_numerical_gradient(kind, rate):
    X, y, w = problem(seed=2)
    f = lambda v: np.array(T.linear_dropout_loss(X, y, v, rate, kind=kind))  # noqa: E731
    num = numerical_gradient(f, w.copy(), np.array(1.0))
    assert rel_error(T.linear_dropout_gradient(X, y, w, rate, kind=kind), num) < 1e-7


def test_dropout_gradient_is_plain_gradient_plus_weight_decay():
    # seed 004's claim, made precise for inverted dropout: the expected gradient is the
    # full network's gradient plus 2 rate/(1-rate) * w * sum_i x_ij^2
    X, y, w = problem(seed=3)
    rate = 0.4
    extra = T.linear_dropout_gradient(X, y, w, rate) - T.linear_dropout_gradient(X, y, w, 0.0)
    np.testing.assert_allclose(extra, 2 * rate / (1 - rate) * w * np.sum(X**2, axis=0))


def test_expected_gradient_over_masks_is_the_closed_form_gradient():
    # average the gradient of ||y - (M * X) w||^2 over many masks: it converges to the
    # gradient of the expected loss (what SGD with dropout follows on average)
    X, y, w = problem(seed=4, n=30, d=4)
    rate, k = 0.5, 20_000
    Xs, _ = dropout_forward(np.broadcast_to(X, (k, *X.shape)), rate, rng=np.random.default_rng(5))
    residual = y - Xs @ w  # (k, N)
    grads = -2 * np.einsum("knd,kn->kd", Xs, residual)  # (k, D)
    se = grads.std(axis=0, ddof=1) / np.sqrt(k)
    exact = T.linear_dropout_gradient(X, y, w, rate)
    np.testing.assert_array_less(np.abs(grads.mean(axis=0) - exact), 4 * se)
    plain = T.linear_dropout_gradient(X, y, w, 0.0)
    assert np.max(np.abs(exact - plain) / se) > 10  # the regularization term is detectable


def test_gaussian_sigma():
    assert T.gaussian_sigma(0.5) == pytest.approx(1.0)  # the paper's N(1, 1)
    assert T.gaussian_sigma(0.2) == pytest.approx(0.5)
    assert T.gaussian_sigma(0.0) == 0.0
    assert isinstance(T.gaussian_sigma(0.3), float)
    with pytest.raises(ValueError, match="rate"):
        T.gaussian_sigma(1.0)


def test_dropout_variance_matches_simulation():
    x = np.array([0.5, -2.0, 3.0])
    rate = 0.3
    out, _ = dropout_forward(np.tile(x, (100_000, 1)), rate, rng=np.random.default_rng(6))
    np.testing.assert_allclose(out.var(axis=0), T.dropout_variance(x, rate), rtol=0.03)
    assert T.dropout_variance(2.0, 0.5) == pytest.approx(4.0)
    assert T.dropout_variance(2.0, 0.0) == 0.0


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan")])
def test_theory_rejects_bad_rates(rate):
    X, y, w = problem()
    with pytest.raises(ValueError, match="rate"):
        T.linear_dropout_loss(X, y, w, rate)
    with pytest.raises(ValueError, match="rate"):
        T.linear_dropout_gradient(X, y, w, rate)
    with pytest.raises(ValueError, match="rate"):
        T.linear_dropout_loss_mc(X, y, w, rate, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rate"):
        T.dropout_variance(1.0, rate)


@pytest.mark.parametrize("rate", ["0.5", True])
def test_theory_rejects_rates_of_wrong_type(rate):
    X, y, w = problem()
    with pytest.raises(TypeError, match="rate"):
        T.linear_dropout_loss(X, y, w, rate)
    with pytest.raises(TypeError, match="rate"):
        T.gaussian_sigma(rate)


def test_theory_shape_and_dtype_checks():
    X, y, w = problem()
    with pytest.raises(ValueError, match=r"X \(N, D\), y \(N,\), w \(D,\)"):
        T.linear_dropout_loss(X, y[:-1], w, 0.5)
    with pytest.raises(ValueError, match=r"w \(D,\)"):
        T.linear_dropout_gradient(X, y, w[:-1], 0.5)
    with pytest.raises(ValueError, match="X must have exactly 2"):
        T.linear_dropout_loss(X[0], y, w, 0.5)
    with pytest.raises(TypeError, match="X must be a floating-point"):
        T.linear_dropout_loss(X.astype(int), y, w, 0.5)
    with pytest.raises(ValueError, match="kind"):
        T.linear_dropout_loss(X, y, w, 0.5, kind="alpha")
    with pytest.raises(ValueError, match="n_samples"):
        T.linear_dropout_loss_mc(X, y, w, 0.5, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        T.linear_dropout_loss_mc(X, y, w, 0.5, 10, 0)


def test_unknown_kind_lists_the_choices():
    X, y, w = np.ones((3, 2)), np.ones(3), np.ones(2)
    with pytest.raises(ValueError, match="kind must be one of 'classic', 'gaussian', 'inverted'"):
        T.linear_dropout_loss(X, y, w, 0.5, kind="bernoulli")
