"""Which Keras layers ``fit_replicas`` can train, and the error for the others.

``fit_replicas`` runs the student's own layers through Keras' ``stateless_call`` once per
replica, vectorised over a leading replica axis. That is exact for layers whose whole state is
in their Keras variables (weights, moving statistics, seed-generator states). The list below
holds the layers checked by ``tests/test_replica_fit*.py``; any other layer gets an error that
names it and the way out, instead of a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import keras

__all__ = ["SUPPORTED_LAYERS", "UnsupportedLayerError", "check_supported", "walk_layers"]

#: Keras layer classes (by name) that train correctly as replicas.
SUPPORTED_LAYERS: frozenset[str] = frozenset(
    """
    InputLayer Dense EinsumDense Activation ReLU LeakyReLU Softmax ELU
    Dropout GaussianDropout GaussianNoise AlphaDropout SpatialDropout1D SpatialDropout2D
    SpatialDropout3D
    Conv1D Conv2D DepthwiseConv2D SeparableConv2D MaxPooling1D MaxPooling2D AveragePooling1D
    AveragePooling2D GlobalAveragePooling1D GlobalAveragePooling2D GlobalMaxPooling1D
    GlobalMaxPooling2D ZeroPadding1D ZeroPadding2D UpSampling1D UpSampling2D Cropping1D
    Cropping2D Flatten Reshape Permute RepeatVector Rescaling Identity
    BatchNormalization LayerNormalization
    Add Subtract Multiply Average Concatenate Maximum Minimum
    Embedding SimpleRNN LSTM GRU Bidirectional TimeDistributed MultiHeadAttention Attention
    Sequential Functional
    """.split()
)

#: the package's own layers (dropoutcourse.layers) are written for this: all supported
_OWN_PACKAGE = "dropoutcourse.layers"


class UnsupportedLayerError(ValueError):
    """A layer ``fit_replicas`` cannot train as replicas (the message says what to do)."""


def walk_layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """Every layer inside ``model``: nested models, wrappers and sublayers (e.g. the
    ``Dropout`` inside ``MultiHeadAttention``) included, each once, in a fixed order."""
    yield from model._flatten_layers(include_self=False, recursive=True)


def _is_supported(layer: keras.layers.Layer) -> bool:
    cls = type(layer)
    if cls.__module__.startswith(_OWN_PACKAGE):
        return True
    # a cell of a recurrent layer (LSTMCell, ...) comes with its supported layer
    if cls.__name__.endswith("Cell"):
        return cls.__name__[: -len("Cell")] in SUPPORTED_LAYERS
    # Keras' own classes only: a subclass may add Python state the replicas cannot see
    return cls.__module__.startswith("keras.") and cls.__name__ in SUPPORTED_LAYERS


def check_supported(model: keras.Model) -> None:
    """Raise :class:`UnsupportedLayerError` naming the first layer ``fit_replicas`` cannot train."""
    for layer in [model, *walk_layers(model)]:
        if layer is model and isinstance(model, keras.Model):
            continue
        if not _is_supported(layer):
            raise UnsupportedLayerError(
                f"fit_replicas cannot train layer {layer.name!r} of type "
                f"{type(layer).__name__}: it supports {', '.join(sorted(SUPPORTED_LAYERS))} "
                "and the layers of dropoutcourse.layers. Train this model with a loop instead: "
                "for seed in seeds: keras.utils.set_random_seed(seed); build and compile the "
                "model; history = model.fit(...)"
            )
