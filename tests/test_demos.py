"""Tests of dropoutcourse.demos: the small NumPy demonstrations of lectures 1, 2 and 4."""

import numpy as np
import pytest

from dropoutcourse import demos, theory
from dropoutcourse.gradcheck import numerical_gradient, rel_error
from dropoutcourse.reference import dropout_forward


def _linear_problem(seed=0, n=80):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * np.array([0.5, 1.0, 2.0, 3.0])
    y = X @ rng.normal(size=4) + 0.3 * rng.normal(size=n)
    return X, y


# ------------------------------------------------------------------- polynomials


def test_polynomial_interpolates_when_degree_reaches_n_minus_1():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 8))
    y = np.sin(3 * x) + 0.1 * rng.normal(size=8)
    errs = demos.polynomial_fit_errors(x, y, x, y, degrees=[1, 7])
    assert list(errs.columns) == ["degree", "train_mse", "test_mse", "gap"]
    assert errs.loc[errs.degree == 7, "train_mse"].item() < 1e-12
    assert errs.loc[errs.degree == 1, "train_mse"].item() > 1e-3


def test_polynomial_training_error_never_increases_with_degree():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 20)
    y = x**3 + 0.2 * rng.normal(size=20)
    errs = demos.polynomial_fit_errors(x, y, x, y, degrees=range(0, 10))
    assert np.all(np.diff(errs.train_mse) <= 1e-10)


@pytest.mark.parametrize(
    ("degree", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_polynomial_rejects_bad_degree(degree, error):
    # the package rule: a bad value is a ValueError, a bad type a TypeError
    with pytest.raises(error, match="degree"):
        demos.polynomial_predict(np.zeros(3), np.zeros(3), degree, np.zeros(2))


def test_polynomial_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same number"):
        demos.polynomial_fit_errors(np.zeros(3), np.zeros(4), np.zeros(2), np.zeros(2), [1])


# ------------------------------------------------------------------- tiny network


def _tiny_net(seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    W1, W2 = rng.normal(size=(4, 5)), rng.normal(size=(5, 2))
    return x, y, W1, W2


def test_two_layer_gradients_match_numerical_gradients_with_a_mask():
    x, y, W1, W2 = _tiny_net()
    _, mask = dropout_forward(np.ones((6, 5)), 0.4, rng=np.random.default_rng(3))
    g = demos.two_layer_gradients(x, y, W1, W2, mask)
    one = np.ones(1)
    num_W1 = numerical_gradient(
        lambda w: np.array([demos.two_layer_gradients(x, y, w, W2, mask)["loss"]]), W1.copy(), one
    )
    num_W2 = numerical_gradient(
        lambda w: np.array([demos.two_layer_gradients(x, y, W1, w, mask)["loss"]]), W2.copy(), one
    )
    assert rel_error(g["dW1"], num_W1) < 1e-6
    assert rel_error(g["dW2"], num_W2) < 1e-6


def test_a_unit_dropped_for_the_whole_batch_gets_zero_gradient():
    x, y, W1, W2 = _tiny_net(1)
    mask = np.full(5, 1 / 0.5)
    mask[2] = 0.0
    g = demos.two_layer_gradients(x, y, W1, W2, mask)
    assert np.all(g["dW1"][:, 2] == 0.0) and np.all(g["dW2"][2, :] == 0.0)
    assert np.all(g["hidden"][:, 2] == 0.0)
    assert np.any(g["dW1"][:, [0, 1, 3, 4]] != 0.0)


def test_two_layer_without_mask_equals_all_ones_mask():
    x, y, W1, W2 = _tiny_net(2)
    a = demos.two_layer_gradients(x, y, W1, W2)
    b = demos.two_layer_gradients(x, y, W1, W2, np.ones(5))
    np.testing.assert_allclose(a["dW1"], b["dW1"])
    assert a["loss"] == pytest.approx(b["loss"])


def test_two_layer_rejects_bad_shapes():
    x, y, W1, W2 = _tiny_net()
    with pytest.raises(ValueError, match="W1"):
        demos.two_layer_gradients(x, y, W1.T, W2)
    with pytest.raises(ValueError, match="hidden_mask"):
        demos.two_layer_gradients(x, y, W1, W2, np.ones(3))


# ------------------------------------------------------------------- linear dropout = ridge


def test_dropout_ridge_solution_minimises_the_expected_dropout_loss():
    X, y = _linear_problem()
    rate = 0.3
    w = demos.dropout_ridge_solution(X, y, rate)
    grad = theory.linear_dropout_gradient(X, y, w, rate)
    assert np.max(np.abs(grad)) < 1e-8 * max(1.0, np.abs(X.T @ y).max())


def test_dropout_ridge_with_rate_zero_is_least_squares():
    X, y = _linear_problem()
    np.testing.assert_allclose(
        demos.dropout_ridge_solution(X, y, 0.0), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-8
    )


def test_ridge_solution_uniform_penalty_shrinks_weights():
    X, y = _linear_problem()
    assert np.linalg.norm(demos.ridge_solution(X, y, 100.0)) < np.linalg.norm(
        demos.ridge_solution(X, y, 0.0)
    )
    with pytest.raises(ValueError, match="penalty"):
        demos.ridge_solution(X, y, -1.0)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_sgd_on_sampled_masks_finds_the_dropout_ridge_solution(rate):
    X, y = _linear_problem(seed=4)
    w_closed = demos.dropout_ridge_solution(X, y, rate)
    w_sgd = demos.sgd_linear_dropout(
        X, y, rate, steps=10_000, learning_rate=0.01, rng=np.random.default_rng(0)
    )
    assert np.linalg.norm(w_sgd - w_closed) / np.linalg.norm(w_closed) < 0.03
    # and it is clearly not plain least squares
    w_ls = demos.ridge_solution(X, y, 0.0)
    assert np.linalg.norm(w_sgd - w_ls) / np.linalg.norm(w_ls) > 0.1


def test_sgd_linear_dropout_validates_arguments():
    X, y = _linear_problem()
    with pytest.raises(ValueError, match="rate"):
        demos.sgd_linear_dropout(X, y, 1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        demos.sgd_linear_dropout(X, y, 0.5, learning_rate=0.0)
    with pytest.raises(ValueError, match="X"):
        demos.sgd_linear_dropout(X[:, 0], y, 0.5)
