"""Argument checks shared by the whole package.

Convention: ``rate`` is the probability of *dropping* a unit (Keras), in [0, 1).
Every check raises ``TypeError`` for a wrong type and ``ValueError`` for a wrong value,
and the message names the argument and the allowed range, so that a learner who passes
``keep_prob=0.8`` where ``rate`` was meant gets told what went wrong.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_rate(rate: float, name: str = "rate") -> float:
    """Return ``rate`` as a float after checking it is a real number in [0, 1)."""
    # bool is an int subclass: `rate=True` is almost certainly a mistake, so refuse it
    if isinstance(rate, bool | np.bool_) or not isinstance(rate, numbers.Real):
        raise TypeError(
            f"{name} must be a real number in [0, 1) (the probability of dropping a unit), "
            f"got {rate!r} of type {type(rate).__name__}"
        )
    value = float(rate)
    # NaN fails every comparison, so test it explicitly rather than relying on the range check
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"{name} must be in [0, 1) (the probability of dropping a unit), got {rate!r}"
        )
    return value


def check_keep_prob(keep_prob: float, name: str = "keep_prob") -> float:
    """Return ``keep_prob`` as a float after checking it is a real number in (0, 1]."""
    if isinstance(keep_prob, bool | np.bool_) or not isinstance(keep_prob, numbers.Real):
        raise TypeError(
            f"{name} must be a real number in (0, 1] (the probability of keeping a unit), "
            f"got {keep_prob!r} of type {type(keep_prob).__name__}"
        )
    value = float(keep_prob)
    if math.isnan(value) or not 0.0 < value <= 1.0:
        raise ValueError(
            f"{name} must be in (0, 1] (the probability of keeping a unit), got {keep_prob!r}"
        )
    return value


def check_float_array(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Return ``np.asarray(x)`` after checking it has a floating dtype (float16/32/64)."""
    arr = np.asarray(x)
    # integer inputs would silently truncate 1/(1-rate) scaling, so refuse them
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array (float16, float32 or float64), "
            f"got dtype {arr.dtype}; convert it with {name}.astype(np.float32)"
        )
    return arr


def check_rng(rng: np.random.Generator | None, name: str = "rng") -> np.random.Generator:
    """Return ``rng``, or a fresh ``np.random.default_rng()`` when it is None."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(0)) or None, "
            f"got {type(rng).__name__}"
        )
    return rng


def check_positive_int(value: int, name: str) -> int:
    """Return ``value`` after checking it is an integer >= 1 (not a bool)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_ndim(x: np.ndarray, ndim: int, name: str = "x", *, at_least: bool = False) -> None:
    """Check that ``x`` has exactly (or, with ``at_least``, at least) ``ndim`` dimensions."""
    ok = x.ndim >= ndim if at_least else x.ndim == ndim
    if not ok:
        expected = f"at least {ndim}" if at_least else f"exactly {ndim}"
        raise ValueError(
            f"{name} must have {expected} dimensions, got shape {x.shape} ({x.ndim} dims)"
        )


def check_broadcastable(small: np.ndarray, big: np.ndarray, name_small: str, name_big: str) -> None:
    """Check that ``small`` broadcasts to ``big``'s shape *without* changing that shape."""
    try:
        shape = np.broadcast_shapes(small.shape, big.shape)
    except ValueError:
        shape = None
    if shape != big.shape:
        raise ValueError(
            f"{name_small} with shape {small.shape} must have the same shape as {name_big} "
            f"{big.shape} or broadcast to it"
        )


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def check_seed(seed: int, name: str = "seed") -> int:
    """Return ``seed`` as an int after checking it is an integer in [0, 2**32)."""
    if not _is_integer(seed):
        raise TypeError(f"{name} must be an integer in [0, 2**32), got {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def check_seeds(seeds, name: str = "seeds", *, at_least: int = 1) -> list[int]:
    """Return ``seeds`` as a list of distinct seeds (see :func:`check_seed`), at least ``at_least``."""
    if isinstance(seeds, str | bytes) or not hasattr(seeds, "__iter__"):
        raise TypeError(
            f"{name} must be an iterable of integer seeds such as range(5), got {seeds!r}"
        )
    out = [check_seed(s, f"{name} (each seed)") for s in seeds]
    if len(out) < at_least:
        raise ValueError(f"{name} must contain at least {at_least} seed(s), got {len(out)}")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a seed (repeats are not new evidence), got {out}")
    return out


def check_int_in_range(value: int, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int after checking it is an integer in [low, high]."""
    if not _is_integer(value):
        raise TypeError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def check_nonneg_int(value: int, name: str) -> int:
    """Return ``value`` after checking it is an integer >= 0 (not a bool)."""
    if not _is_integer(value):
        raise TypeError(f"{name} must be an integer >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _check_real(value, name: str, what: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {value!r} of type {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be {what} (finite), got {value!r}")
    return out


def check_nonneg_float(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite real number >= 0."""
    out = _check_real(value, name, "a real number >= 0")
    if out < 0:
        raise ValueError(f"{name} must be a real number >= 0, got {value!r}")
    return out


def check_positive_float(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite real number > 0."""
    out = _check_real(value, name, "a real number > 0")
    if out <= 0:
        raise ValueError(f"{name} must be a real number > 0, got {value!r}")
    return out


def check_unit_interval(value: float, name: str, *, closed_right: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (or [0, 1] with ``closed_right``), e.g. momentum."""
    what = "a real number in [0, 1]" if closed_right else "a real number in [0, 1)"
    out = _check_real(value, name, what)
    if not (0.0 <= out <= 1.0 if closed_right else 0.0 <= out < 1.0):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return out


def check_choice(value: str, name: str, choices) -> str:
    """Return ``value`` after checking it is one of ``choices``; the message lists them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_finite_array(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Return ``np.asarray(x)`` after checking it is floating-point with no NaN or inf."""
    arr = check_float_array(x, name)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); clean the data first")
    return arr


def check_row_sets(rows, n_rows: int, count: int, name: str = "train_rows") -> list[np.ndarray]:
    """``rows`` as ``count`` non-empty 1-D integer arrays of distinct rows in [0, ``n_rows``).

    One array per replica: each replica's own training set, as rows of a shared ``x``.
    """
    rows = list(rows)
    if len(rows) != count:
        raise ValueError(
            f"{name} must give one array of rows per replica ({count}), got {len(rows)}"
        )
    checked = []
    for i, own in enumerate(rows):
        own = np.asarray(own)
        if own.ndim != 1 or own.size == 0 or not np.issubdtype(own.dtype, np.integer):
            raise ValueError(f"{name}[{i}] must be a non-empty 1-D array of integer rows")
        if own.min() < 0 or own.max() >= n_rows or len(np.unique(own)) != len(own):
            raise ValueError(f"{name}[{i}] must hold distinct rows in [0, {n_rows})")
        checked.append(own)
    return checked


def check_same_length(a, b, name_a: str, name_b: str) -> None:
    """Check that two arrays have the same number of rows (examples); the message names both."""
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of examples, "
            f"got {len(a)} and {len(b)}"
        )


def check_labels(y: np.ndarray, n_classes: int, name: str = "y") -> np.ndarray:
    """Return ``y`` as int64 after checking it holds integer class labels in [0, n_classes)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {n_classes}) (n_classes={n_classes}), "
            f"got values from {arr.min()} to {arr.max()}"
        )
    return arr.astype(np.int64)
