"""Small experiments for the CNN lecture (05-Dropout-in-CNNs): why element-wise dropout is weak
on feature maps, and why dropout placed before BatchNorm hurts.

* :func:`neighbour_reconstruction` / :func:`pixel_drop_study` — drop pixels of a real photo
  element-wise, by whole channels (spatial dropout) or by blocks (DropBlock), then try to
  *undo* the dropout by averaging the kept neighbours of every dropped pixel. If that works,
  the dropout hid almost nothing from the next convolution (which sees the neighbours too).
* :func:`variance_shift` — the "variance shift" of Li et al. (2019), measured with a real
  ``keras.layers.BatchNormalization``: what its moving variance learns in training mode versus
  the variance it receives at inference.
* :func:`train_cnn_replicas` — many small CNNs (variants × seeds) trained side by side in
  *one* Keras model, so that a multi-seed comparison fits in a notebook's time budget.

NumPy functions take an explicit ``rng``/``seed``; Keras is imported lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from dropoutcourse import _replicas, reference
from dropoutcourse._validate import check_float_array, check_positive_int, check_rate

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
    "train_cnn_replicas",
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
    rate = check_rate(rate)
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
    import tensorflow as tf

    rate = check_rate(rate)
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)

    def batch() -> np.ndarray:
        return rng.normal(mean, std, size=(batch_size, n_units)).astype("float32")

    rows = []
    for order in ("dropout→BN", "BN→dropout"):
        drop = keras.layers.Dropout(rate, seed=seed)
        bn = keras.layers.BatchNormalization(momentum=momentum)
        bn.build((None, n_units))

        def train_step(x, drop=drop, bn=bn, order=order):
            if order == "dropout→BN":
                return bn(drop(x, training=True), training=True)
            return drop(bn(x, training=True), training=True)

        step = tf.function(train_step, autograph=False)  # one trace: a fast training loop
        for _ in range(n_steps):
            step(tf.constant(batch()))
        x = batch()

        def var(a) -> float:
            return float(np.mean(np.var(keras.ops.convert_to_numpy(a), axis=0)))

        if order == "dropout→BN":
            bn_in_train, bn_in_infer = drop(x, training=True), drop(x, training=False)
            out_train = bn(bn_in_train, training=True)
            bn_out_infer = out_infer = bn(bn_in_infer, training=False)
        else:
            bn_in_train = bn_in_infer = x
            out_train = drop(bn(x, training=True), training=True)
            bn_out_infer = bn(x, training=False)
            out_infer = drop(bn_out_infer, training=False)
        rows.append(
            {
                "order": order,
                "rate": rate,
                "bn_input_var_train": var(bn_in_train),
                "bn_moving_var": float(np.mean(keras.ops.convert_to_numpy(bn.moving_variance))),
                "bn_input_var_infer": var(bn_in_infer),
                "bn_output_var_infer": var(bn_out_infer),
                "out_var_train": var(out_train),
                "out_var_infer": var(out_infer),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# many small CNNs at once


_KINDS = ("none", "element", "spatial", "dropblock", "head")


class _ReplicaCNN:
    """R copies of ``models.cnn``'s architecture (without BatchNorm), weights stacked on axis 0.

    Convolutions are written as "extract 3×3 patches, then one batched matmul per layer", which
    runs all R networks in one TensorFlow op each.
    """

    def __init__(
        self,
        input_shape,
        n_classes,
        kinds,
        rates,
        head_rates,
        seeds,
        *,
        filters,
        dense_units,
        block_size,
    ) -> None:
        import tensorflow as tf

        self.tf = tf
        self.R = len(kinds)
        self.kinds = list(kinds)
        self.block_size = block_size
        shape = (self.R, 1, 1, 1, 1)
        self.rate = tf.constant(np.reshape(rates, shape), tf.float32)
        self.head_rate = tf.constant(np.reshape(head_rates, (self.R, 1, 1)), tf.float32)
        self.sel = {
            k: tf.constant(np.reshape([x == k for x in kinds], shape), tf.bool) for k in _KINDS
        }
        h, w, c = input_shape
        self.params = []
        seeds = [int(s) for s in seeds]
        layer = 0
        for f in filters:
            kernel = _replicas.glorot_uniform(seeds, layer, (3, 3, c, f), 9 * c, 9 * f)
            self.params += [tf.Variable(kernel), tf.Variable(tf.zeros((self.R, 1, 1, 1, f)))]
            c, h, w = f, -(-h // 2), -(-w // 2)
            layer += 1
        flat = h * w * c
        for n_in, n_out in ((flat, dense_units), (dense_units, n_classes)):
            kernel = _replicas.glorot_uniform(seeds, layer, (n_in, n_out), n_in, n_out)
            self.params += [tf.Variable(kernel), tf.Variable(tf.zeros((self.R, 1, n_out)))]
            layer += 1
        self.n_conv = len(filters)
        # every replica draws its masks from its own seed (never from its neighbours')
        self.keys = [_replicas.key(s, _replicas.MASKS) for s in seeds]
        self.n_sites = 2 * self.n_conv + 1  # conv element/block, conv spatial, head

    def _uniform(self, counter, site: int, shape):
        """U[0, 1) noise (R, *shape), each replica's slice from its own key."""
        return _replicas.replica_uniform(self.keys, counter, site, self.n_sites, shape)

    def _conv_mask(self, h, counter, layer: int):
        """Multiplicative noise (R, N, H, W, C) for the replicas' conv-dropout kinds."""
        tf = self.tf
        shape = tf.shape(h)
        mask = tf.ones_like(h)
        if "element" in self.kinds or "dropblock" in self.kinds:
            uniform = tf.reshape(self._uniform(counter, 2 * layer, shape[1:]), shape)
            uniform = tf.ensure_shape(uniform, h.shape)
        if "element" in self.kinds:
            keep = _replicas.inverted_keep(uniform, self.rate)
            mask = tf.where(self.sel["element"], keep, mask)
        if "spatial" in self.kinds:
            per_map = tf.concat([shape[1:2], [1, 1], shape[4:]], 0)  # one draw per (n, channel)
            keep = _replicas.inverted_keep(
                self._uniform(counter, 2 * layer + 1, per_map), self.rate
            )
            mask = tf.where(self.sel["spatial"], keep * tf.ones_like(h), mask)
        if "dropblock" in self.kinds:
            keep = 1.0 - _replicas.dropblock_blocks(uniform, self.rate, self.block_size)
            # rescale per replica, as layers.DropBlock2D does per call: the mean is kept
            kept = tf.reduce_sum(keep, axis=[1, 2, 3, 4], keepdims=True)
            size = tf.cast(tf.reduce_prod(tf.shape(h)[1:]), tf.float32)
            mask = tf.where(self.sel["dropblock"], keep * size / tf.maximum(kept, 1.0), mask)
        return mask

    def forward(self, x, counter=None):
        """Logits (R, N, classes); ``x`` is (R, N, H, W, C). Dropout on iff ``counter`` is given."""
        tf = self.tf
        h = x
        for i in range(self.n_conv):
            k, b = self.params[2 * i], self.params[2 * i + 1]
            r, _, height, width, c = h.shape
            n = tf.shape(h)[1]
            flat = tf.reshape(h, (-1, height, width, c))
            patches = tf.image.extract_patches(
                flat, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME"
            )
            patches = tf.reshape(patches, (r, -1, 9 * c))
            out = tf.matmul(patches, tf.reshape(k, (r, 9 * c, -1)))
            h = tf.nn.relu(tf.reshape(out, (r, n, height, width, -1)) + b)
            if counter is not None:
                h = h * self._conv_mask(h, counter, i)
            pooled = tf.nn.max_pool2d(tf.reshape(h, (-1, height, width, h.shape[-1])), 2, 2, "SAME")
            h = tf.reshape(pooled, (r, n, *pooled.shape[1:]))
        h = tf.reshape(h, (self.R, tf.shape(h)[1], -1))
        w1, b1, w2, b2 = self.params[2 * self.n_conv :]
        h = tf.nn.relu(tf.matmul(h, w1) + b1)
        if counter is not None and "head" in self.kinds:
            uniform = self._uniform(counter, self.n_sites - 1, tf.shape(h)[1:])
            drop = _replicas.inverted_keep(uniform, self.head_rate)
            h = h * tf.where(self.sel["head"][:, :, :, 0, 0], drop, tf.ones_like(h))
        return tf.matmul(h, w2) + b2

    def keras_weights(self, replica: int) -> list[np.ndarray]:
        """Replica ``replica``'s weights in the order of ``models.cnn(...).get_weights()``."""
        out = []
        for i, p in enumerate(self.params):
            a = p.numpy()[replica]
            out.append(a.reshape(-1) if i % 2 == 1 else a)
        return out


def train_cnn_replicas(
    data,
    variants: dict[str, dict],
    *,
    seeds: Iterable[int] = range(5),
    epochs: int = 15,
    batch_size: int = 32,
    filters: Sequence[int] = (16, 32),
    dense_units: int = 64,
    block_size: int = 3,
    learning_rate: float = 1e-3,
    return_net: bool = False,
):
    """Train one small CNN per (variant, seed), all R of them at once; one row per replica.

    The architecture is exactly :func:`dropoutcourse.models.cnn` without BatchNorm
    (conv 3×3 → ReLU → [dropout] → max-pool 2×2, per entry of ``filters``; then dense ReLU →
    [head dropout] → softmax), with Keras' Glorot-uniform initialisation, Adam
    (Keras defaults) and mini-batches of ``batch_size`` reshuffled every epoch for every
    replica, the last one smaller (as in Keras), all from :mod:`dropoutcourse._replicas`. A Keras ``fit`` costs ~0.1 s per epoch whatever the model, so 25 CNNs one after
    another would take minutes; here every layer of all R networks is one batched TensorFlow
    op (the same idea as :mod:`dropoutcourse.engine` for MLPs).

    Args:
        data: a :class:`dropoutcourse.data.Dataset` of images (N, H, W, C), integer labels.
        variants: label → ``{"dropout": kind, "rate": r, "head_rate": r}`` with kind in
            ``none, element, spatial, dropblock, head`` (the ``dropout`` argument of
            ``models.cnn``; defaults rate 0.2, head_rate 0.5).
        seeds: one replica of every variant per seed: its initial weights, shuffles and
            dropout masks come from its own seed (never from the other replicas).
        return_net: also return the trained replica network (for tests).

    Returns:
        DataFrame with ``label, dropout, rate, head_rate, seed, train_loss, train_acc,
        test_loss, test_acc`` (inference mode, full train/test sets, after the last epoch).
    """
    import tensorflow as tf

    seeds = [int(s) for s in seeds]
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if not variants or not seeds:
        raise ValueError("variants and seeds must both be non-empty")
    meta = []
    for label, kw in variants.items():
        unknown = set(kw) - {"dropout", "rate", "head_rate"}
        if unknown:
            raise ValueError(f"variants[{label!r}] has unknown keys {sorted(unknown)}")
        kind = kw.get("dropout", "none")
        if kind not in _KINDS:
            raise ValueError(
                f"variants[{label!r}]['dropout'] must be one of {_KINDS}, got {kind!r}"
            )
        rate = check_rate(kw.get("rate", 0.2), "rate")
        head_rate = check_rate(kw.get("head_rate", 0.5), "head_rate")
        meta += [
            {"label": label, "dropout": kind, "rate": rate, "head_rate": head_rate, "seed": s}
            for s in seeds
        ]
    df = pd.DataFrame(meta)
    net = _ReplicaCNN(
        data.x_train.shape[1:],
        data.n_classes,
        df["dropout"].tolist(),
        df["rate"].to_numpy(),
        df["head_rate"].to_numpy(),
        df["seed"].tolist(),
        filters=tuple(filters),
        dense_units=dense_units,
        block_size=block_size,
    )
    x_train = tf.constant(np.asarray(data.x_train, np.float32))
    y_train = tf.constant(np.asarray(data.y_train, np.int32))
    n, R = len(data.x_train), net.R
    ms = [tf.Variable(tf.zeros_like(p)) for p in net.params]
    vs = [tf.Variable(tf.zeros_like(p)) for p in net.params]
    step = tf.Variable(0.0)

    @tf.function(autograph=False)
    def train_step(idx, wts, counter):
        xb, yb = tf.gather(x_train, idx), tf.gather(y_train, idx)  # (R, B, ...)
        with tf.GradientTape() as tape:
            logits = net.forward(xb, counter)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits)
            # weights 1/len(batch): Keras' per-batch mean, also for the short last batch;
            # replicas are independent, so the sum's gradient is each replica's own
            total = tf.reduce_sum(wts * loss)
        grads = tape.gradient(total, net.params)
        step.assign_add(1.0)
        _replicas.adam_update(net.params, grads, ms, vs, step, learning_rate)

    shuffles = [_replicas.stream(s, _replicas.SHUFFLE) for s in df["seed"]]
    steps = -(-n // batch_size)
    for epoch in range(epochs):
        idx, wts = _replicas.epoch_batches(shuffles, [n] * R, batch_size, steps)
        for s in range(steps):
            counter = tf.constant(epoch * _replicas.STEP_STRIDE + s, tf.int64)
            train_step(tf.constant(idx[:, s]), tf.constant(wts[:, s]), counter)

    @tf.function(autograph=False)
    def logits_of(x):
        return net.forward(tf.repeat(x[None], R, axis=0))

    for part, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        chunk = 512  # one traced shape: pad the last chunk, then cut the padding off
        padded = np.zeros((-(-len(x) // chunk) * chunk, *x.shape[1:]), np.float32)
        padded[: len(x)] = x
        logits = np.concatenate(
            [
                logits_of(tf.constant(padded[i : i + chunk])).numpy()
                for i in range(0, len(padded), chunk)
            ],
            axis=1,
        )[:, : len(x)]
        logp = (
            logits
            - np.log(np.exp(logits - logits.max(2, keepdims=True)).sum(2, keepdims=True))
            - logits.max(2, keepdims=True)
        )
        df[f"{part}_loss"] = -np.take_along_axis(logp, y[None, :, None], 2)[..., 0].mean(1)
        df[f"{part}_acc"] = (logits.argmax(2) == y[None]).mean(1)
    return (df, net) if return_net else df
