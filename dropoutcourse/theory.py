"""Closed forms that explain dropout, each checkable by Monte Carlo.

Convention: ``rate`` is the probability of **dropping** a unit (Keras), in [0, 1);
the paper's keep probability is ``p = 1 - rate``.

The central result (Srivastava et al. 2014, section 9.1): for a linear model whose *inputs*
get inverted dropout, the expected squared error is the plain squared error plus a ridge-like
penalty in which each weight is weighted by the energy of its feature column,

    E ||y - (M * X) w||^2 = ||y - X w||^2 + rate/(1-rate) * sum_j w_j^2 sum_i x_ij^2.

Only the mean (1) and variance (rate/(1-rate)) of the mask enter, so Gaussian dropout with the
same variance has the same expected loss. With the paper's un-scaled 0/1 mask ("classic"):

    E ||y - (M * X) w||^2 = ||y - p X w||^2 + p (1-p) * sum_j w_j^2 sum_i x_ij^2.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from dropoutcourse._validate import (
    check_choice,
    check_float_array,
    check_ndim,
    check_positive_int,
    check_rate,
    check_rng,
)
from dropoutcourse.reference import (
    classic_dropout_forward,
    dropout_forward,
    gaussian_dropout_forward,
)

__all__ = [
    "dropout_variance",
    "gaussian_sigma",
    "linear_dropout_gradient",
    "linear_dropout_loss",
    "linear_dropout_loss_mc",
]

Kind = Literal["inverted", "classic", "gaussian"]
_FORWARD = {
    "inverted": dropout_forward,
    "classic": classic_dropout_forward,
    "gaussian": gaussian_dropout_forward,
}


def gaussian_sigma(rate: float) -> float:
    """Std of Gaussian-dropout noise matching inverted dropout: sqrt(rate / (1 - rate))."""
    rate = check_rate(rate)
    return float(np.sqrt(rate / (1.0 - rate)))


def dropout_variance(x: np.ndarray | float, rate: float) -> np.ndarray | float:
    """Variance of one inverted-dropout unit with input x: x^2 * rate / (1 - rate).

    The output is x/(1-rate) with probability 1-rate and 0 otherwise, so its mean is x and its
    second moment x^2/(1-rate). The variance blows up as rate -> 1.
    """
    rate = check_rate(rate)
    return np.square(x) * (rate / (1.0 - rate))


def _check_linear(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Check X (N, D), y (N,), w (D,) and return them as float arrays."""
    X = check_float_array(X, "X")
    y = check_float_array(y, "y")
    w = check_float_array(w, "w")
    check_ndim(X, 2, "X")
    check_ndim(y, 1, "y")
    check_ndim(w, 1, "w")
    if y.shape[0] != X.shape[0] or w.shape[0] != X.shape[1]:
        raise ValueError(
            f"expected X (N, D), y (N,), w (D,), got X {X.shape}, y {y.shape}, w {w.shape}"
        )
    return X, y, w


def _check_kind(kind: str) -> None:
    check_choice(kind, "kind", sorted(_FORWARD))


def _scale_and_penalty(rate: float, kind: str) -> tuple[float, float]:
    """(mean of the mask, variance of the mask) for each kind of multiplicative noise."""
    keep = 1.0 - rate
    if kind == "classic":
        return keep, keep * rate  # Bernoulli(p): mean p, variance p(1-p)
    return 1.0, rate / keep  # inverted Bernoulli and matched Gaussian: mean 1, var rate/(1-rate)


def linear_dropout_loss(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, rate: float, *, kind: Kind = "inverted"
) -> float:
    """Expected squared error E||y - (M * X) w||^2 over dropout masks M on the inputs.

    X (N, D), y (N,), w (D,). kind "inverted" (default) and "gaussian":
    ||y - X w||^2 + rate/(1-rate) * sum_j w_j^2 sum_i x_ij^2. kind "classic" (0/1 mask, keep
    prob p = 1 - rate): ||y - p X w||^2 + p(1-p) * sum_j w_j^2 sum_i x_ij^2.
    """
    X, y, w = _check_linear(X, y, w)
    rate = check_rate(rate)
    _check_kind(kind)
    mean, var = _scale_and_penalty(rate, kind)
    residual = y - mean * (X @ w)
    # E[(sum_j m_j x_j w_j)^2] = (mean * x.w)^2 + var * sum_j x_j^2 w_j^2, summed over rows
    penalty = var * np.sum(w**2 * np.sum(X**2, axis=0))
    return float(residual @ residual + penalty)


def linear_dropout_gradient(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, rate: float, *, kind: Kind = "inverted"
) -> np.ndarray:
    """Gradient with respect to w of :func:`linear_dropout_loss`, shape (D,).

    Inverted: -2 X^T (y - X w) + 2 rate/(1-rate) * w * diag(X^T X), i.e. the gradient of the
    plain loss plus a weight-decay term whose strength per weight is its column's energy.
    Classic: -2 p X^T (y - p X w) + 2 p(1-p) * w * diag(X^T X).
    """
    X, y, w = _check_linear(X, y, w)
    rate = check_rate(rate)
    _check_kind(kind)
    mean, var = _scale_and_penalty(rate, kind)
    residual = y - mean * (X @ w)
    return -2.0 * mean * (X.T @ residual) + 2.0 * var * w * np.sum(X**2, axis=0)


def linear_dropout_loss_mc(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    rate: float,
    n_samples: int,
    rng: np.random.Generator | None = None,
    *,
    kind: Kind = "inverted",
) -> tuple[float, float]:
    """Monte-Carlo estimate of :func:`linear_dropout_loss`: ``(mean, standard error)``.

    Draws ``n_samples`` dropout masks for X with the reference layers, computes
    ||y - dropout(X) w||^2 for each, and returns their mean and std / sqrt(n_samples).
    """
    X, y, w = _check_linear(X, y, w)
    rate = check_rate(rate)
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = check_rng(rng)
    _check_kind(kind)
    forward = _FORWARD[kind]
    losses = np.empty(n_samples)
    # masks for a whole chunk of samples at once: (chunk, N, D) stays a few MB
    chunk = max(1, 2**20 // max(1, X.size))
    for start in range(0, n_samples, chunk):
        k = min(chunk, n_samples - start)
        Xs = np.broadcast_to(X, (k, *X.shape))
        X_dropped, _ = forward(Xs, rate, training=True, rng=rng)
        residual = y - X_dropped @ w  # (k, N)
        losses[start : start + k] = np.sum(residual**2, axis=1)
    stderr = losses.std(ddof=1) / np.sqrt(n_samples) if n_samples > 1 else float("nan")
    return float(losses.mean()), float(stderr)
