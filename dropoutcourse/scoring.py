"""Per-example cross-entropy and correctness of softmax outputs, computed as Keras does.

One definition for every experiment that scores trained replicas itself (in inference mode,
on sets other than ``fit``'s validation data). Unlike
:func:`dropoutcourse.uncertainty.negative_log_likelihood` it lets NaN through: a replica that
diverged must reach a claim's decision rule as NaN (a failing check), not stop the experiment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KERAS_EPSILON", "per_example_scores", "mean_scores"]

#: Keras clips probabilities to [ε, 1 − ε] before taking the log (``backend.epsilon()``); here
#: only the lower clip matters (above 1 − ε the two losses differ by less than ε).
KERAS_EPSILON = 1e-7


def per_example_scores(proba: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy and correctness (0/1) of each example.

    Args:
        proba: softmax outputs, shape ``(..., N, C)`` (e.g. ``(R, N, C)`` for R replicas).
        y: integer labels, shape ``(N,)``.

    Returns:
        Two float64 arrays of shape ``(..., N)``: ``-log p(y)`` (p clipped below at
        :data:`KERAS_EPSILON`, as Keras' loss does) and whether the arg-max is ``y``.
    """
    proba = np.asarray(proba)
    y = np.asarray(y)
    if proba.ndim < 2 or proba.shape[-2] != len(y):
        raise ValueError(
            f"proba must have shape (..., N, C) with N = len(y) = {len(y)}, got {proba.shape}"
        )
    labels = np.broadcast_to(y[:, None], (*proba.shape[:-1], 1))
    picked = np.take_along_axis(proba, labels, axis=-1)[..., 0].astype("float64")
    loss = -np.log(np.clip(picked, KERAS_EPSILON, 1.0))
    return loss, (proba.argmax(axis=-1) == y).astype("float64")


def mean_scores(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of one model's softmax outputs ``proba`` (N, C)."""
    loss, correct = per_example_scores(proba, y)
    return float(loss.mean()), float(correct.mean())
