"""Numerical gradient checking, as in CS231n's ``gradient_check.py``.

A backward pass is correct when it matches central finite differences. Dropout layers are
random, so the function under test must draw the *same* mask every time it is called: build it
with a fresh ``np.random.default_rng(seed)`` inside ``f``. Check in float64 (float32 rounding
alone gives relative errors around 1e-3). (Convention elsewhere in the package: ``rate`` is
the probability of dropping a unit.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dropoutcourse._validate import check_float_array, check_positive_float

__all__ = ["numerical_gradient", "rel_error"]


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    h: float = 1e-5,
) -> np.ndarray:
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    ``dout`` has the shape of ``f(x)`` (the upstream gradient), so the result is what a
    backward pass should return: an array of x's shape. ``x`` is perturbed in place, one entry
    at a time, and restored afterwards (pass a float64 array you own).
    """
    x = check_float_array(x, "x")
    dout = check_float_array(dout, "dout")
    h = check_positive_float(h, "h")
    out_shape = np.shape(f(x))
    # a broadcast dout would silently weight some outputs twice (or drop them): refuse it
    if dout.shape != out_shape:
        raise ValueError(f"dout must have the shape of f(x), {out_shape}, got {dout.shape}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)  # copy: f may return a view of x
        x[i] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[i] = old  # restore, so the caller's array is unchanged
        grad[i] = np.sum((pos - neg) * dout) / (2 * h)
        it.iternext()
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Maximum relative error ``max(|a - b| / max(1e-8, |a| + |b|))`` (CS231n's definition)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    # the 1e-8 floor stops 0/0 when both entries are zero (e.g. dropped units)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
