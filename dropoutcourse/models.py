"""Small, standard Keras models for the course: an MLP, a CNN and the slides' sample model.

Each builder returns a *compiled* ``keras.Model`` with readable layer names, so that a
notebook can call ``model.summary()`` and see exactly where the dropout layers sit.
Nothing here trains; see ``replica_fit`` (``fit_replicas``) and ``experiments.py`` for that.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np

from dropoutcourse._validate import (
    check_choice,
    check_nonneg_float,
    check_positive_float,
    check_positive_int,
    check_rate,
    check_seed,
    check_unit_interval,
)
from dropoutcourse.layers import DropBlock2D, ScratchDropout
from dropoutcourse.switches import effective_rate

__all__ = ["mlp", "cnn", "slide_model", "MLP_KINDS", "CNN_DROPOUT_KINDS"]

#: ``kind`` values accepted by :func:`mlp`, and the layer each one uses.
MLP_KINDS: dict[str, type[keras.layers.Layer]] = {
    "bernoulli": keras.layers.Dropout,
    "gaussian": keras.layers.GaussianDropout,
    "scratch": ScratchDropout,
    "alpha": keras.layers.AlphaDropout,
}
#: The ``dropout`` values :func:`cnn` accepts (where, and how, its conv blocks drop).
CNN_DROPOUT_KINDS = ("none", "element", "spatial", "dropblock", "head")

_OPTIMIZERS = ("sgd", "adam")


# ----------------------------------------------------------------------------- checks
def _layer_seeds(seed: int | None, n: int) -> list[int | None]:
    """``n`` distinct per-layer seeds derived from ``seed`` (no global random state touched);
    ``seed=None``: none (each layer draws from Keras' global random state when built)."""
    if seed is None:
        return [None] * n
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]


def _check_n_classes(n_classes: int) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 0:
        raise ValueError(
            f"n_classes must be an integer >= 0 (0: regression, 1: binary, >= 2: classes), "
            f"got {n_classes!r}"
        )
    return int(n_classes)


# ----------------------------------------------------------------------------- shared parts
def _output_and_loss(n_classes: int) -> tuple[int, str, str, list[str]]:
    """(units, activation, loss, metrics) of the output layer for ``n_classes``."""
    if n_classes >= 2:
        return n_classes, "softmax", "sparse_categorical_crossentropy", ["accuracy"]
    if n_classes == 1:
        return 1, "sigmoid", "binary_crossentropy", ["accuracy"]
    return 1, "linear", "mse", []


def _output_layer(
    h, n_classes: int, initializer: keras.initializers.Initializer, regularizer=None
) -> tuple[object, str, list[str]]:
    """The "output" Dense layer applied to ``h``, with the loss and metrics it is compiled with."""
    units, out_activation, loss, metrics = _output_and_loss(n_classes)
    outputs = keras.layers.Dense(
        units,
        activation=out_activation,
        kernel_initializer=initializer,
        kernel_regularizer=regularizer,
        name="output",
    )(h)
    return outputs, loss, metrics


def _optimizer(
    name: str, learning_rate: float, momentum: float = 0.0
) -> keras.optimizers.Optimizer:
    check_choice(name, "optimizer", _OPTIMIZERS)
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    if name == "sgd":
        momentum = check_unit_interval(momentum, "momentum")
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)
    return keras.optimizers.Adam(learning_rate=learning_rate)


# ----------------------------------------------------------------------------- MLP
class _MLPArgs(NamedTuple):
    """:func:`mlp`'s arguments once checked (rates after ``switches.effective_rate``)."""

    input_dim: int
    n_classes: int
    hidden: tuple[int, ...]
    hidden_rate: float
    input_rate: float
    noise_layer: type[keras.layers.Layer]
    max_norm: float | None
    l2: float
    seed: int | None


def _check_mlp_args(
    input_dim, n_classes, hidden, hidden_rate, input_rate, kind, max_norm, l2, seed
) -> _MLPArgs:
    """Check :func:`mlp`'s arguments (ValueError/TypeError naming the first bad one)."""
    input_dim = check_positive_int(input_dim, "input_dim")
    n_classes = _check_n_classes(n_classes)
    hidden = tuple(check_positive_int(units, "hidden units") for units in hidden)
    hidden_rate = check_rate(hidden_rate, "hidden_rate")
    input_rate = check_rate(input_rate, "input_rate")
    noise_layer = MLP_KINDS[check_choice(kind, "kind", MLP_KINDS)]
    if max_norm is not None:
        max_norm = check_positive_float(max_norm, "max_norm")
    l2 = check_nonneg_float(l2, "l2")  # also refuses inf and NaN
    seed = None if seed is None else check_seed(seed)
    if not hidden and (hidden_rate > 0 or max_norm is not None):
        # both act on hidden units only: with none they would silently do nothing
        raise ValueError("hidden=() has no hidden units: hidden_rate and max_norm need hidden")
    # the negative control (switches.without_dropout): no dropout layer is built at all
    hidden_rate, input_rate = effective_rate(hidden_rate), effective_rate(input_rate)
    return _MLPArgs(
        input_dim, n_classes, hidden, hidden_rate, input_rate, noise_layer, max_norm, l2, seed
    )


def _mlp_weight_settings(activation: str, a: _MLPArgs) -> tuple[type, object, object]:
    """(initialiser class, kernel constraint, kernel regulariser) of :func:`mlp`'s Dense layers."""
    # SELU only self-normalises with LeCun-normal weights; otherwise keep Keras' default
    init_cls = (
        keras.initializers.LecunNormal if activation == "selu" else keras.initializers.GlorotUniform
    )
    constraint = keras.constraints.MaxNorm(a.max_norm, axis=0) if a.max_norm is not None else None
    regularizer = keras.regularizers.L2(a.l2) if a.l2 > 0 else None
    return init_cls, constraint, regularizer


def _mlp_hidden(h, a: _MLPArgs, seeds, activation, batch_norm, init_cls, constraint, regularizer):
    """``h`` through ["input_dropout"] and the hidden blocks of :func:`mlp` (seeds in order)."""
    if a.input_rate > 0:
        h = a.noise_layer(a.input_rate, seed=next(seeds), name="input_dropout")(h)
    for i, units in enumerate(a.hidden, start=1):
        h = keras.layers.Dense(
            units,
            kernel_initializer=init_cls(seed=next(seeds)),
            kernel_constraint=constraint,
            kernel_regularizer=regularizer,
            name=f"hidden{i}",
        )(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"bn{i}")(h)
        h = keras.layers.Activation(activation, name=f"act{i}")(h)
        if a.hidden_rate > 0:
            h = a.noise_layer(a.hidden_rate, seed=next(seeds), name=f"dropout{i}")(h)
    return h


def mlp(
    input_dim: int,
    n_classes: int,
    *,
    hidden: Sequence[int] = (256, 256),
    hidden_rate: float = 0.0,
    input_rate: float = 0.0,
    kind: str = "bernoulli",
    max_norm: float | None = None,
    l2: float = 0.0,
    batch_norm: bool = False,
    activation: str | None = None,
    optimizer: str = "sgd",
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    seed: int | None = 0,
) -> keras.Model:
    """A fully connected network with optional input/hidden dropout, max-norm, L2 and BatchNorm.

    Layout (names in quotes)::

        "input" → ["input_dropout"] → ("hidden1" → ["bn1"] → "act1" → ["dropout1"]) × len(hidden)
                → "output"

    Args:
        input_dim, n_classes: ``n_classes >= 2`` → softmax (labels as integers),
            ``1`` → sigmoid (binary), ``0`` → linear output with MSE (regression).
        hidden: units of each hidden layer.
        hidden_rate, input_rate: drop probabilities; a layer is added only when > 0.
        kind: the noise: "bernoulli" (``keras.layers.Dropout``), "gaussian"
            (``GaussianDropout``), "scratch" (our ``ScratchDropout``) or "alpha"
            (``AlphaDropout``, meant for SELU networks with lecun_normal initialisation).
        max_norm: if given, every *hidden* unit's incoming weight vector is kept at L2 norm
            <= max_norm after each update (the paper's rule; ``MaxNorm(c, axis=0)``: a Dense
            kernel is (inputs, units), so axis 0 is one unit's incoming weights). The output
            layer is not constrained.
        l2: L2 penalty on the kernels.
        batch_norm: insert BatchNormalization between each Dense and its activation.
        activation: hidden activation; None means "selu" for kind="alpha", else "relu".
        optimizer: "sgd" (with ``momentum``) or "adam"; ``learning_rate`` for both.
        seed: seeds the weight initialisers and the dropout layers (distinct per layer), so
            the same seed gives the same model; the global random state is left alone.
            ``None``: unseeded layers, as a student writes them, so that
            ``keras.utils.set_random_seed`` or ``fit_replicas``' seeds decide the draws.
    """
    a = _check_mlp_args(
        input_dim, n_classes, hidden, hidden_rate, input_rate, kind, max_norm, l2, seed
    )
    if activation is None:
        activation = "selu" if kind == "alpha" else "relu"
    opt = _optimizer(optimizer, learning_rate, momentum)

    seeds = iter(_layer_seeds(a.seed, 2 * len(a.hidden) + 2))
    init_cls, constraint, regularizer = _mlp_weight_settings(activation, a)
    inputs = keras.Input(shape=(a.input_dim,), name="input")
    h = _mlp_hidden(inputs, a, seeds, activation, batch_norm, init_cls, constraint, regularizer)
    outputs, loss, metrics = _output_layer(h, a.n_classes, init_cls(seed=next(seeds)), regularizer)
    model = keras.Model(inputs, outputs, name=f"mlp_{kind}")
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    return model


# ----------------------------------------------------------------------------- CNN
class _CNNArgs(NamedTuple):
    """:func:`cnn`'s arguments once checked (rates after ``switches.effective_rate``)."""

    input_shape: tuple[int, ...]
    n_classes: int
    filters: tuple[int, ...]
    dropout: str
    rate: float
    head_rate: float
    block_size: int
    dense_units: int
    seed: int | None


def _check_cnn_args(
    input_shape, n_classes, filters, dropout, rate, head_rate, block_size, dense_units, seed
) -> _CNNArgs:
    """Check :func:`cnn`'s arguments (ValueError/TypeError naming the first bad one)."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels), channels last, got {input_shape!r}"
        )
    input_shape = tuple(check_positive_int(d, "input_shape entries") for d in input_shape)
    n_classes = _check_n_classes(n_classes)
    filters = tuple(check_positive_int(f, "filters") for f in filters)
    check_choice(dropout, "dropout", CNN_DROPOUT_KINDS)
    seed = None if seed is None else check_seed(seed)
    rate = check_rate(rate, "rate")
    head_rate = check_rate(head_rate, "head_rate")
    rate, head_rate = effective_rate(rate), effective_rate(head_rate)  # switches.without_dropout
    block_size = check_positive_int(block_size, "block_size")
    dense_units = check_positive_int(dense_units, "dense_units")
    return _CNNArgs(
        input_shape, n_classes, filters, dropout, rate, head_rate, block_size, dense_units, seed
    )


def _conv_dropout(a: _CNNArgs, i: int, layer_seed: int) -> keras.layers.Layer | None:
    """The dropout layer of conv block ``i`` for ``a.dropout`` (None for "none" and "head")."""
    name = f"dropout{i}"
    if a.dropout == "element":
        return keras.layers.Dropout(a.rate, seed=layer_seed, name=name)
    if a.dropout == "spatial":
        return keras.layers.SpatialDropout2D(a.rate, seed=layer_seed, name=name)
    if a.dropout == "dropblock":
        return DropBlock2D(a.rate, a.block_size, seed=layer_seed, name=name)
    return None  # "none" and "head" leave the conv blocks alone


def _conv_blocks(h, a: _CNNArgs, seeds, batch_norm: bool):
    """``h`` through :func:`cnn`'s conv blocks; each block takes two seeds (conv, dropout)."""
    for i, n_filters in enumerate(a.filters, start=1):
        # with BatchNorm right after, a conv bias would be cancelled by BN's own shift
        h = keras.layers.Conv2D(
            n_filters,
            3,
            padding="same",
            use_bias=not batch_norm,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            name=f"conv{i}",
        )(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"bn{i}")(h)
        h = keras.layers.Activation("relu", name=f"relu{i}")(h)
        layer = _conv_dropout(a, i, next(seeds))
        if layer is not None and a.rate > 0:
            h = layer(h)
        h = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{i}")(h)
    return h


def _cnn_head(h, a: _CNNArgs, seeds):
    """``h`` through "flatten" → "dense" (ReLU) → ["head_dropout"] of :func:`cnn`."""
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(
        a.dense_units,
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
        name="dense",
    )(h)
    if a.dropout == "head" and a.head_rate > 0:
        h = keras.layers.Dropout(a.head_rate, seed=next(seeds), name="head_dropout")(h)
    return h


def cnn(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    filters: Sequence[int] = (16, 32),
    dropout: str = "none",
    rate: float = 0.2,
    head_rate: float = 0.5,
    block_size: int = 3,
    batch_norm: bool = False,
    dense_units: int = 64,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    seed: int | None = 0,
) -> keras.Model:
    """A small conv net to compare where (and how) to drop in convolutional layers.

    Layout: for each entry of ``filters``: "conv{i}" (3×3, same) → ["bn{i}"] → "relu{i}" →
    ["dropout{i}"] → "pool{i}" (2×2); then "flatten" → "dense" (ReLU) → ["head_dropout"] →
    "output" (softmax).

    ``dropout`` chooses the regulariser:

    * "none": no dropout;
    * "element": ``Dropout(rate)`` in each conv block, after the ReLU and before the pooling
      (drops single pixels);
    * "spatial": ``SpatialDropout2D(rate)`` (drops whole feature maps);
    * "dropblock": ``DropBlock2D(rate, block_size)`` (drops square patches);
    * "head": ``Dropout(head_rate)`` only before the classifier, as in classic CNNs.

    Works for 8×8×1 digits as for small photo patches (pooling uses 'same' padding, so a
    map never shrinks below 1×1). ``seed`` seeds every initializer and dropout layer;
    ``seed=None`` leaves them unseeded (as a recipe for ``fit_replicas``, which seeds each
    replica itself).
    """
    a = _check_cnn_args(
        input_shape, n_classes, filters, dropout, rate, head_rate, block_size, dense_units, seed
    )
    opt = _optimizer(optimizer, learning_rate)

    seeds = iter(_layer_seeds(a.seed, 2 * len(a.filters) + 3))
    inputs = keras.Input(shape=a.input_shape, name="input")
    h = _cnn_head(_conv_blocks(inputs, a, seeds, batch_norm), a, seeds)
    initializer = keras.initializers.GlorotUniform(seed=next(seeds))
    outputs, loss, metrics = _output_layer(h, a.n_classes, initializer)

    model = keras.Model(inputs, outputs, name=f"cnn_{dropout}")
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    return model


# ----------------------------------------------------------------------------- slides
def slide_model(input_dim: int = 1024, n_classes: int = 10) -> keras.Model:
    """The functional model of the course's sample slides (one Dropout(0.5) after the first layer).

    Compiled with ``categorical_crossentropy`` (so labels must be one-hot), Adam and
    ``metrics=["acc"]``, exactly as on the slide.
    """
    input_dim = check_positive_int(input_dim, "input_dim")
    n_classes = check_positive_int(n_classes, "n_classes")
    inputs = keras.Input(shape=(input_dim,))
    x = keras.layers.Dense(10, activation="relu")(inputs)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.Dense(20, activation="relu")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    return model
