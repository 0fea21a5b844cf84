"""Small experiments for the CNN lecture (05-Dropout-in-CNNs): why element-wise dropout is weak
on feature maps, and why dropout placed before BatchNorm hurts.

* :func:`neighbour_reconstruction` / :func:`pixel_drop_study` — drop pixels of a real photo
  element-wise, by whole channels (spatial dropout) or by blocks (DropBlock), then try to
  *undo* the dropout by averaging the kept neighbours of every dropped pixel. If that works,
  the dropout hid almost nothing from the next convolution (which sees the neighbours too).
* :func:`variance_shift` — the "variance shift" of Li et al. (2019), measured with a real
  ``keras.layers.BatchNormalization``: what its moving variance learns in training mode versus
  the variance it receives at inference.

The many small CNNs of lecture 5 (variants × seeds, trained side by side) are
:func:`dropoutcourse.models.cnn` networks trained by :func:`dropoutcourse.variant_fit.fit_variants`.

NumPy functions take an explicit ``rng``/``seed``; Keras is imported lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from dropoutcourse import reference
from dropoutcourse._validate import check_float_array, check_positive_int, check_rate
from dropoutcourse.switches import effective_rate

__all__ = [
    "DROP_METHODS",
    "drop_pixels",
    "neighbour_reconstruction",
    "channel_reconstruction",
    "GUESSES",
    "reconstruction_error",
    "pixel_drop_study",
    "theoretical_variance_shift",
    "variance_shift",
]

#: How :func:`drop_pixels` can drop: single values, whole channels, or square blocks.
DROP_METHODS: tuple[str, ...] = ("element", "channel", "block")
#: How a dropped value can be guessed: from kept 3×3 neighbours in its own channel, or from the
#: kept *other* channels at the same pixel (what a 1×1 convolution can compute).
GUESSES: tuple[str, ...] = ("neighbours", "channels")


def _check_image(image: np.ndarray) -> np.ndarray:
    image = check_float_array(np.asarray(image), "image")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image must be H×W or H×W×C, got shape {image.shape}")
    return image


def drop_pixels(
    image: np.ndarray,
    method: str,
    rate: float,
    *,
    block_size: int = 7,
    n_copies: int = 1,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply one dropout flavour to ``n_copies`` copies of an H×W×C image (a batch, NHWC).

    ``method``: ``"element"`` (:func:`reference.dropout_forward`), ``"channel"``
    (:func:`reference.spatial_dropout_forward`, whole colour channels) or ``"block"``
    (:func:`reference.dropblock_forward` with ``block_size``). Returns ``(dropped, keep)``:
    the batch with dropped values set to 0 *without* the 1/(1-rate) rescaling (so it can be
    shown as a picture), shape (n_copies, H, W, C), and the boolean keep mask of that shape.
    """
    image = _check_image(image)
    rate = effective_rate(check_rate(rate))  # 0 inside switches.without_dropout
    n_copies = check_positive_int(n_copies, "n_copies")
    if method not in DROP_METHODS:
        raise ValueError(f"method must be one of {DROP_METHODS}, got {method!r}")
    rng = np.random.default_rng() if rng is None else rng
    batch = np.repeat(image[None], n_copies, axis=0)
    if method == "element":
        _, mask = reference.dropout_forward(batch, rate, rng=rng)
    elif method == "channel":
        _, mask = reference.spatial_dropout_forward(batch, rate, rng=rng)
    else:
        _, mask = reference.dropblock_forward(batch, rate, block_size, rng=rng)
    keep = (
        np.ones(batch.shape, dtype=bool) if mask is None else np.broadcast_to(mask > 0, batch.shape)
    )
    return np.where(keep, batch, 0.0).astype(batch.dtype), keep


def neighbour_reconstruction(
    dropped: np.ndarray, keep: np.ndarray, *, size: int = 3, fill: float | None = None
) -> np.ndarray:
    """Guess every dropped value as the mean of the *kept* values in its size×size window.

    This is what a convolution can do for free: its receptive field covers the neighbours.
    Works on any array whose last three axes are (H, W, C); each channel is treated on its
    own. Where no neighbour survived, the guess is ``fill`` (default: the mean of all kept
    values, or 0 if nothing was kept). Kept values are returned unchanged.
    """
    dropped = check_float_array(np.asarray(dropped), "dropped")
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != dropped.shape:
        raise ValueError(f"keep must have the shape of dropped {dropped.shape}, got {keep.shape}")
    size = check_positive_int(size, "size")
    if size % 2 == 0:
        raise ValueError(f"size must be an odd window width (3, 5, ...), got {size}")
    if dropped.ndim < 3:
        raise ValueError(f"dropped must have at least 3 axes (..., H, W, C), got {dropped.shape}")
    r = size // 2
    values = np.where(keep, dropped, 0.0)
    pad = [(0, 0)] * (values.ndim - 3) + [(r, r), (r, r), (0, 0)]
    v, k = np.pad(values, pad), np.pad(keep.astype(values.dtype), pad)
    h, w = values.shape[-3], values.shape[-2]
    total = np.zeros_like(values)
    count = np.zeros_like(values)
    for di in range(size):  # a box filter as a sum of shifted copies
        for dj in range(size):
            total += v[..., di : di + h, dj : dj + w, :]
            count += k[..., di : di + h, dj : dj + w, :]
    if fill is None:
        fill = float(dropped[keep].mean()) if keep.any() else 0.0
    guess = np.where(count > 0, total / np.maximum(count, 1.0), fill)
    return np.where(keep, dropped, guess).astype(dropped.dtype)


def channel_reconstruction(
    dropped: np.ndarray, keep: np.ndarray, *, fill: float | None = None
) -> np.ndarray:
    """Guess every dropped value as the mean of the *kept other channels* at the same pixel.

    The across-channel counterpart of :func:`neighbour_reconstruction`: it uses no spatial
    neighbour at all, only the correlation between channels (a 1×1 convolution can compute
    it). Works on any array whose last axis is the channel axis (at least 2 channels). Where
    no other channel was kept at that pixel, the guess is ``fill`` (default: the mean of all
    kept values, or 0 if nothing was kept). Kept values are returned unchanged.
    """
    dropped = check_float_array(np.asarray(dropped), "dropped")
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != dropped.shape:
        raise ValueError(f"keep must have the shape of dropped {dropped.shape}, got {keep.shape}")
    if dropped.ndim < 1 or dropped.shape[-1] < 2:
        raise ValueError(
            f"dropped must have at least 2 channels on its last axis, got shape {dropped.shape}"
        )
    values = np.where(keep, dropped, 0.0)
    k = keep.astype(values.dtype)
    total = values.sum(-1, keepdims=True) - values  # the other channels only
    count = k.sum(-1, keepdims=True) - k
    if fill is None:
        fill = float(dropped[keep].mean()) if keep.any() else 0.0
    guess = np.where(count > 0, total / np.maximum(count, 1.0), fill)
    return np.where(keep, dropped, guess).astype(dropped.dtype)


def reconstruction_error(
    image: np.ndarray,
    method: str,
    rate: float,
    *,
    block_size: int = 7,
    n_copies: int = 4,
    size: int = 3,
    guess: str = "neighbours",
    rng: np.random.Generator | None = None,
) -> dict[str, float | str]:
    """Drop with ``method``, guess the dropped values back, and score the guess on them.

    ``guess``: ``"neighbours"`` (:func:`neighbour_reconstruction`, the kept ``size``×``size``
    window of the same channel) or ``"channels"`` (:func:`channel_reconstruction`, the kept
    other channels at the same pixel). Returns a dict with ``method``, ``guess``,
    ``dropped_fraction``, ``rmse`` (root-mean-square error of the guess on the dropped
    values), ``baseline_rmse`` (error of guessing the mean of the kept values everywhere:
    "knowing nothing local") and ``recovered`` = 1 − rmse²/baseline_rmse², the share of the
    dropped values' variance that the guess gives back (1: dropout hid nothing; 0: no better
    than a blind guess). NaN errors if nothing was dropped.
    """
    image = _check_image(image)
    if guess not in GUESSES:
        raise ValueError(f"guess must be one of {GUESSES}, got {guess!r}")
    dropped, keep = drop_pixels(
        image, method, rate, block_size=block_size, n_copies=n_copies, rng=rng
    )
    truth = np.broadcast_to(image[None], dropped.shape)
    fill = float(dropped[keep].mean()) if keep.any() else 0.0
    if guess == "neighbours":
        guess_values = neighbour_reconstruction(dropped, keep, size=size, fill=fill)
    else:
        guess_values = channel_reconstruction(dropped, keep, fill=fill)
    lost = ~keep
    if not lost.any():
        rmse = baseline = recovered = float("nan")
    else:
        mse = float(np.mean((guess_values[lost] - truth[lost]) ** 2))
        base = float(np.mean((fill - truth[lost]) ** 2))
        rmse, baseline = float(np.sqrt(mse)), float(np.sqrt(base))
        recovered = 1.0 - mse / base if base > 0 else float("nan")
    return {
        "method": method,
        "guess": guess,
        "dropped_fraction": float(lost.mean()),
        "rmse": rmse,
        "baseline_rmse": baseline,
        "recovered": recovered,
    }


def pixel_drop_study(
    image: np.ndarray,
    rate: float = 0.5,
    *,
    methods: Sequence[str] = DROP_METHODS,
    block_size: int = 7,
    seeds: Iterable[int] = range(5),
    n_copies: int = 4,
    size: int = 3,
    guesses: Sequence[str] = ("neighbours",),
) -> pd.DataFrame:
    """:func:`reconstruction_error` for every guess, method and seed: one row per combination.

    Every guess of one (method, seed) scores the *same* dropout masks (paired). Columns:
    ``method, guess, seed, rate, block_size, dropped_fraction, rmse, baseline_rmse,
    recovered``. Summarise with ``df.groupby(["guess", "method"]).recovered.mean()``.
    """
    unknown = [g for g in guesses if g not in GUESSES]
    if not guesses or unknown:
        raise ValueError(f"guesses must be a non-empty subset of {GUESSES}, got {guesses!r}")
    rows = []
    for seed in seeds:
        for method in methods:
            for guess in guesses:
                res = reconstruction_error(
                    image,
                    method,
                    rate,
                    block_size=block_size,
                    n_copies=n_copies,
                    size=size,
                    guess=guess,
                    rng=np.random.default_rng(seed),
                )
                rows.append({"seed": seed, "rate": rate, "block_size": block_size, **res})
    cols = [
        "method",
        "guess",
        "seed",
        "rate",
        "block_size",
        "dropped_fraction",
        "rmse",
        "baseline_rmse",
        "recovered",
    ]
    return pd.DataFrame(rows)[cols]


# ---------------------------------------------------------------------------------------------
# dropout and BatchNorm: the variance shift


def theoretical_variance_shift(rate: float, mean: float, var: float) -> dict[str, float]:
    """Variance of x·m/(1−rate) in training vs inference mode, for a unit with E[x]=mean, Var[x]=var.

    Training (m ~ Bernoulli(1−rate)): Var = (var + mean²)/(1−rate) − mean². Inference: Var = var.
    Returns ``train_var``, ``inference_var`` and their ``ratio`` (inference/train) — the factor
    by which the output variance of a BatchNorm placed *after* the dropout shrinks at test time.
    """
    rate = check_rate(rate)
    train = (var + mean**2) / (1.0 - rate) - mean**2
    return {"train_var": train, "inference_var": float(var), "ratio": float(var) / train}


def variance_shift(
    rate: float = 0.5,
    *,
    mean: float = 1.0,
    std: float = 1.0,
    n_units: int = 64,
    batch_size: int = 128,
    n_steps: int = 200,
    momentum: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Li et al. (2019) measured: Dropout→BatchNorm versus BatchNorm→Dropout in Keras.

    Inputs are ``n_units`` independent units, each N(mean, std²) (think: post-ReLU features with
    a positive mean). For each ``order`` ("dropout→BN" and "BN→dropout") a fresh
    ``keras.layers.BatchNormalization(momentum=momentum)`` is run ``n_steps`` times in training
    mode (as ``fit`` would), so its moving statistics converge; then we look at one fresh batch.
    One row per order with the unit-averaged columns:

    * ``bn_input_var_train`` — variance BN normalises with during training (batch statistics);
    * ``bn_moving_var`` — what BN has stored for inference;
    * ``bn_input_var_infer`` — the variance BN really receives at inference;
    * ``bn_output_var_infer`` — variance of BN's output at inference (1 would be consistent);
    * ``out_var_train`` / ``out_var_infer`` — variance of the block's final output in each mode.
    """
    import keras

    rate = check_rate(rate)
    applied = effective_rate(rate)  # 0 inside switches.without_dropout; rows keep ``rate``
    rng = np.random.default_rng(seed)  # the inputs; the masks come from the layer's own seed

    def batch() -> np.ndarray:
        return rng.normal(mean, std, size=(batch_size, n_units)).astype("float32")

    rows = []
    for order in ("dropout→BN", "BN→dropout"):
        drop = keras.layers.Dropout(applied, seed=seed)
        bn = keras.layers.BatchNormalization(momentum=momentum)
        bn.build((None, n_units))
        _train_block(order, drop, bn, batch, n_steps)
        rows.append({"order": order, "rate": rate, **_block_variances(order, drop, bn, batch())})
    return pd.DataFrame(rows)


def _train_block(order: str, drop, bn, batch, n_steps: int) -> None:
    """Run the dropout/BN block ``n_steps`` times in training mode on fresh ``batch()`` inputs."""
    import tensorflow as tf

    def train_step(x):
        if order == "dropout→BN":
            return bn(drop(x, training=True), training=True)
        return drop(bn(x, training=True), training=True)

    step = tf.function(train_step, autograph=False)  # one trace: a fast training loop
    for _ in range(n_steps):
        step(tf.constant(batch()))


def _unit_var(a) -> float:
    """Variance over the batch of each unit of ``a``, averaged over the units."""
    import keras

    return float(np.mean(np.var(keras.ops.convert_to_numpy(a), axis=0)))


def _block_variances(order: str, drop, bn, x: np.ndarray) -> dict[str, float]:
    """:func:`variance_shift`'s variance columns for a trained block on the batch ``x``."""
    import keras

    if order == "dropout→BN":
        bn_in_train, bn_in_infer = drop(x, training=True), drop(x, training=False)
        out_train = bn(bn_in_train, training=True)
        bn_out_infer = out_infer = bn(bn_in_infer, training=False)
    else:
        bn_in_train = bn_in_infer = x
        out_train = drop(bn(x, training=True), training=True)
        bn_out_infer = bn(x, training=False)
        out_infer = drop(bn_out_infer, training=False)
    return {
        "bn_input_var_train": _unit_var(bn_in_train),
        "bn_moving_var": float(np.mean(keras.ops.convert_to_numpy(bn.moving_variance))),
        "bn_input_var_infer": _unit_var(bn_in_infer),
        "bn_output_var_infer": _unit_var(bn_out_infer),
        "out_var_train": _unit_var(out_train),
        "out_var_infer": _unit_var(out_infer),
    }
