"""Many small CNNs (variants × seeds) trained at once: the CNN side of the replica engine.

R copies of ``models.cnn``'s architecture (without BatchNorm) with their weights stacked on a
leading replica axis; every layer of all R networks is one batched TensorFlow op. What the
replicas share with the MLP engine (random streams from each replica's own seed, Glorot,
Keras-style batches with the short last one, inverted masks, the DropBlock rule, Adam) comes
from :mod:`dropoutcourse._replicas`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from dropoutcourse import _replicas
from dropoutcourse._replica_train import Adam, EpochProgram, train_epochs
from dropoutcourse._validate import check_positive_int, check_rate
from dropoutcourse.switches import effective_rate

__all__ = ["CNN_DROPOUT_KINDS", "fit_cnn_replicas", "train_cnn_replicas"]

#: The ``dropout`` values a variant may use (the ``dropout`` argument of ``models.cnn``).
CNN_DROPOUT_KINDS = ("none", "element", "spatial", "dropblock", "head")
_KINDS = CNN_DROPOUT_KINDS


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
        # the rates applied (0 inside switches.without_dropout); the results keep the nominal ones
        rates = [effective_rate(r) for r in rates]
        head_rates = [effective_rate(r) for r in head_rates]
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


def _variant_table(variants: dict[str, dict], seeds: list[int]) -> pd.DataFrame:
    """One row per replica: ``label, dropout, rate, head_rate, seed`` (checked)."""
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
    return pd.DataFrame(meta)


def _batch_loss(net: _ReplicaCNN, x_train, y_train):
    """The summed cross-entropy of every replica's batch (dropout on)."""
    import tensorflow as tf

    def loss(idx, wts, counter):
        logits = net.forward(tf.gather(x_train, idx), counter)  # (R, B, classes)
        per_sample = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.gather(y_train, idx), logits=logits
        )
        # weights 1/len(batch): Keras' per-batch mean, also for the short last batch
        return tf.reduce_sum(wts * per_sample)

    return loss


def _evaluate(net: _ReplicaCNN, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per replica: mean cross-entropy and accuracy on (x, y), dropout off."""
    import tensorflow as tf

    @tf.function(autograph=False)
    def logits_of(chunk):
        return net.forward(tf.repeat(chunk[None], net.R, axis=0))

    size = 512  # one traced shape: pad the last chunk, then cut the padding off
    padded = np.zeros((-(-len(x) // size) * size, *x.shape[1:]), np.float32)
    padded[: len(x)] = x
    chunks = [logits_of(tf.constant(padded[i : i + size])) for i in range(0, len(padded), size)]
    logits = tf.concat(chunks, axis=1)[:, : len(x)]
    labels = tf.repeat(tf.constant(y, tf.int32)[None], net.R, axis=0)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    correct = tf.cast(tf.argmax(logits, axis=2, output_type=tf.int32) == labels, tf.float32)
    return tf.reduce_mean(loss, 1).numpy(), tf.reduce_mean(correct, 1).numpy()


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
) -> pd.DataFrame:
    """Train one small CNN per (variant, seed), all R of them at once; one row per replica.

    The architecture is exactly :func:`dropoutcourse.models.cnn` without BatchNorm
    (conv 3×3 → ReLU → [dropout] → max-pool 2×2, per entry of ``filters``; then dense ReLU →
    [head dropout] → softmax), with Keras' Glorot-uniform initialisation, Adam (Keras
    defaults) and mini-batches of ``batch_size`` reshuffled every epoch for every replica, the
    last one smaller (as in Keras). A Keras ``fit`` costs ~0.1 s per epoch whatever the model,
    so 25 CNNs one after another would take minutes; here every layer of all R networks is one
    batched TensorFlow op, trained by the loop of :mod:`dropoutcourse._replica_train` that
    also trains the MLP engine's replicas.

    Args:
        data: a :class:`dropoutcourse.data.Dataset` of images (N, H, W, C), integer labels.
        variants: label → ``{"dropout": kind, "rate": r, "head_rate": r}`` with kind in
            ``none, element, spatial, dropblock, head`` (the ``dropout`` argument of
            ``models.cnn``; defaults rate 0.2, head_rate 0.5).
        seeds: one replica of every variant per seed: its initial weights, shuffles and
            dropout masks come from its own seed (never from the other replicas).

    Returns:
        DataFrame with ``label, dropout, rate, head_rate, seed, train_loss, train_acc,
        test_loss, test_acc`` (inference mode, full train/test sets, after the last epoch).
    """
    return fit_cnn_replicas(
        data,
        variants,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        filters=filters,
        dense_units=dense_units,
        block_size=block_size,
        learning_rate=learning_rate,
    )[0]


def fit_cnn_replicas(
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
) -> tuple[pd.DataFrame, _ReplicaCNN]:
    """:func:`train_cnn_replicas`, also returning the trained replica network (for tests)."""
    import tensorflow as tf

    seeds = [int(s) for s in seeds]
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    df = _variant_table(variants, seeds)
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
    adam = Adam(net.params, learning_rate)
    program = EpochProgram(net.params, _batch_loss(net, x_train, y_train), adam.apply_batch)
    train_epochs(program, df["seed"].tolist(), [len(data.x_train)] * net.R, batch_size, epochs)
    for part, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        df[f"{part}_loss"], df[f"{part}_acc"] = _evaluate(net, np.asarray(x), np.asarray(y))
    return df, net
