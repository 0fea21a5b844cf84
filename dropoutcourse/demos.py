"""Small NumPy demonstrations used by lectures 1, 2 and 4 (no TensorFlow, no training loops
of Keras models).

Each function is short enough to read in one sitting and does one thing a notebook wants to
*show*:

* :func:`polynomial_fit_errors` / :func:`polynomial_predict` — under-, over- and right-fitting
  with polynomials of growing degree (lecture 1);
* :func:`two_layer_gradients` — forward and backward pass of a tiny two-layer ReLU network
  with a dropout mask on its hidden layer, so that you can see that a dropped unit's weights
  get exactly zero gradient in that step (lecture 2);
* :func:`dropout_ridge_solution`, :func:`ridge_solution` and :func:`sgd_linear_dropout` — the
  linear-regression identity "dropout on the inputs = data-scaled L2" checked by actually
  training on sampled masks (lecture 4).

Convention: ``rate`` is the probability of **dropping** a unit (Keras); the 2014 paper's keep
probability is ``p = 1 - rate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dropoutcourse._validate import (
    check_float_array,
    check_ndim,
    check_nonneg_int,
    check_positive_float,
    check_positive_int,
    check_rate,
    check_rng,
)
from dropoutcourse.reference import dropout_forward

__all__ = [
    "dropout_ridge_solution",
    "polynomial_fit_errors",
    "polynomial_predict",
    "ridge_solution",
    "sgd_linear_dropout",
    "two_layer_gradients",
]


# ---------------------------------------------------------------------------------------------
# lecture 1: capacity and overfitting


def _check_xy_1d(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.ravel(check_float_array(np.asarray(x), "x")).astype(np.float64)
    y = np.ravel(check_float_array(np.asarray(y), "y")).astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same number of points, got {x.shape} and {y.shape}"
        )
    return x, y


def _check_degree(degree: int) -> int:
    return check_nonneg_int(degree, "degree")


def polynomial_predict(
    x_train: np.ndarray, y_train: np.ndarray, degree: int, x: np.ndarray
) -> np.ndarray:
    """Least-squares polynomial of the given degree fitted to (x_train, y_train), evaluated at x.

    Uses ``numpy.polynomial.Polynomial.fit`` (which rescales x to [-1, 1] for a well-conditioned
    fit). With ``degree + 1 >= len(x_train)`` the curve passes through every training point.
    """
    xt, yt = _check_xy_1d(x_train, y_train)
    degree = _check_degree(degree)
    poly = np.polynomial.Polynomial.fit(xt, yt, deg=degree)
    return poly(np.ravel(np.asarray(x, dtype=np.float64)))


def polynomial_fit_errors(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    degrees: Sequence[int],
) -> pd.DataFrame:
    """Training and test mean squared error of least-squares polynomials of each degree.

    Returns one row per degree with columns ``degree, train_mse, test_mse, gap``
    (``gap = test_mse - train_mse``, the generalization gap).
    """
    xt, yt = _check_xy_1d(x_train, y_train)
    xs, ys = _check_xy_1d(x_test, y_test)
    if len(degrees) == 0:
        raise ValueError("degrees must contain at least one degree")
    rows = []
    for degree in degrees:
        degree = _check_degree(degree)
        train_mse = float(np.mean((polynomial_predict(xt, yt, degree, xt) - yt) ** 2))
        test_mse = float(np.mean((polynomial_predict(xt, yt, degree, xs) - ys) ** 2))
        rows.append(
            {
                "degree": degree,
                "train_mse": train_mse,
                "test_mse": test_mse,
                "gap": test_mse - train_mse,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# lecture 2: what a dropped unit's gradient looks like


def two_layer_gradients(
    x: np.ndarray,
    y: np.ndarray,
    W1: np.ndarray,
    W2: np.ndarray,
    hidden_mask: np.ndarray | None = None,
) -> dict[str, np.ndarray | float]:
    """Loss and gradients of a tiny network ``x -> ReLU(x W1) -> (dropout) -> h W2``.

    x (N, D), y (N, K), W1 (D, H), W2 (H, K); ``hidden_mask`` (N, H) or (H,) multiplies the
    hidden activations (0 = dropped, 1/(1-rate) = kept, as returned by
    :func:`dropoutcourse.reference.dropout_forward`; None = no dropout). The loss is the mean
    squared error ``0.5 * sum((out - y)^2) / N``. Returns a dict with ``loss``, ``hidden``
    (activations after the mask), ``out``, ``dW1`` and ``dW2``.

    The backward pass, written out: dout = (out - y) / N; dW2 = h_masked^T dout;
    dh_masked = dout W2^T; dh = dh_masked * mask (the *same* mask — dropout's backward);
    dpre = dh * [pre > 0] (ReLU); dW1 = x^T dpre. A unit dropped for *every* example in the
    batch therefore gets an all-zero column in dW1 and an all-zero row in dW2.
    """
    x = check_float_array(np.asarray(x), "x")
    y = check_float_array(np.asarray(y), "y")
    W1 = check_float_array(np.asarray(W1), "W1")
    W2 = check_float_array(np.asarray(W2), "W2")
    for arr, name in ((x, "x"), (y, "y"), (W1, "W1"), (W2, "W2")):
        check_ndim(arr, 2, name)
    n, d = x.shape
    if W1.shape[0] != d or W2.shape[0] != W1.shape[1] or y.shape != (n, W2.shape[1]):
        raise ValueError(
            f"expected x (N, D), W1 (D, H), W2 (H, K), y (N, K), got x {x.shape}, "
            f"W1 {W1.shape}, W2 {W2.shape}, y {y.shape}"
        )
    mask = np.ones(W1.shape[1]) if hidden_mask is None else np.asarray(hidden_mask, float)
    if mask.shape not in ((W1.shape[1],), (n, W1.shape[1])):
        raise ValueError(
            f"hidden_mask must have shape (H,) = ({W1.shape[1]},) or (N, H) = "
            f"({n}, {W1.shape[1]}), got {mask.shape}"
        )
    pre = x @ W1
    hidden = np.maximum(pre, 0.0) * mask
    out = hidden @ W2
    loss = 0.5 * float(np.sum((out - y) ** 2)) / n
    dout = (out - y) / n
    dW2 = hidden.T @ dout
    dpre = (dout @ W2.T) * mask * (pre > 0)
    dW1 = x.T @ dpre
    return {"loss": loss, "hidden": hidden, "out": out, "dW1": dW1, "dW2": dW2}


# ---------------------------------------------------------------------------------------------
# lecture 4: dropout on the inputs of a linear model is a data-scaled ridge regression


def _check_linear(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = check_float_array(np.asarray(X), "X").astype(np.float64)
    y = check_float_array(np.asarray(y), "y").astype(np.float64)
    check_ndim(X, 2, "X")
    check_ndim(y, 1, "y")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"expected X (N, D) and y (N,), got X {X.shape} and y {y.shape}")
    return X, y


def ridge_solution(X: np.ndarray, y: np.ndarray, penalty: np.ndarray | float) -> np.ndarray:
    """Minimiser of ``||y - X w||^2 + sum_j penalty_j w_j^2`` (closed form, shape (D,)).

    ``penalty`` is one number (ordinary ridge, the same for every weight) or one per feature.
    """
    X, y = _check_linear(X, y)
    pen = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (X.shape[1],))
    if np.any(pen < 0) or not np.all(np.isfinite(pen)):
        raise ValueError(f"penalty must be finite and >= 0, got {penalty!r}")
    return np.linalg.solve(X.T @ X + np.diag(pen), X.T @ y)


def dropout_ridge_solution(X: np.ndarray, y: np.ndarray, rate: float) -> np.ndarray:
    """Minimiser of the *expected* inverted-dropout loss E||y - (M * X) w||^2 (shape (D,)).

    By :func:`dropoutcourse.theory.linear_dropout_loss` that loss is
    ``||y - X w||^2 + rate/(1-rate) * sum_j w_j^2 sum_i x_ij^2``: ridge regression whose
    penalty on weight j is ``rate/(1-rate)`` times the energy of feature column j.
    """
    X, y = _check_linear(X, y)
    rate = check_rate(rate)
    return ridge_solution(X, y, rate / (1.0 - rate) * np.sum(X**2, axis=0))


def sgd_linear_dropout(
    X: np.ndarray,
    y: np.ndarray,
    rate: float,
    *,
    steps: int = 20_000,
    learning_rate: float = 0.05,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Train a linear model ``y ≈ dropout(X) w`` by SGD on freshly sampled masks; return w.

    Every step draws a new inverted-dropout mask for the (mini-)batch with
    :func:`dropoutcourse.reference.dropout_forward` and takes a gradient step on the mean
    squared error ``||y_b - (M * X_b) w||^2 / len(b)``. The step size decays as
    ``learning_rate / (1 + t / (steps / 10))`` and the returned weights are the average of the
    iterates over the second half of training (Polyak averaging), which removes most of the
    mask noise. ``batch_size=None`` uses the whole data set in every step (the noise then
    comes from the masks alone).
    """
    X, y = _check_linear(X, y)
    rate = check_rate(rate)
    steps = check_positive_int(steps, "steps")
    rng = check_rng(rng)
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    n, d = X.shape
    batch = n if batch_size is None else min(check_positive_int(batch_size, "batch_size"), n)
    w = np.zeros(d)
    w_sum, n_avg = np.zeros(d), 0
    for t in range(steps):
        rows = slice(None) if batch == n else rng.choice(n, size=batch, replace=False)
        Xb, yb = X[rows], y[rows]
        X_dropped, _ = dropout_forward(Xb, rate, training=True, rng=rng)
        residual = yb - X_dropped @ w
        grad = -2.0 * X_dropped.T @ residual / batch
        w -= learning_rate / (1.0 + t / (steps / 10)) * grad
        if t >= steps // 2:
            w_sum += w
            n_avg += 1
    return w_sum / n_avg
