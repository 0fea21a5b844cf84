"""The loss and metrics of a compiled Keras model, as per-replica functions.

``History.history`` holds ``loss`` and one key per compiled metric, each averaged over the
examples of the epoch. Here every metric is a function returning one value *per example*, so
that a sum over a batch and a division by the number of examples gives exactly that average.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras.src.losses.losses import LossFunctionWrapper

__all__ = ["Objective", "objective_of"]

_SPARSE, _DENSE, _BINARY = (
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
)


# Per-example metrics written with plain TensorFlow ops: Keras' own versions use an argmax
# that TensorFlow cannot vectorise over replicas (it would loop over them every step).
def _sparse_categorical_accuracy(y_true, y_pred):
    y_true = tf.reshape(tf.cast(y_true, "int64"), tf.shape(y_pred)[:-1])
    return tf.cast(tf.equal(tf.argmax(y_pred, axis=-1), y_true), "float32")


def _categorical_accuracy(y_true, y_pred):
    return tf.cast(tf.equal(tf.argmax(y_pred, -1), tf.argmax(y_true, -1)), "float32")


def _same_rank(y_true, y_pred):
    """Targets of shape (N,) against outputs of shape (N, 1): give them the output's rank,
    as Keras' own metrics do (else the difference would broadcast to (N, N))."""
    y_true = tf.cast(y_true, y_pred.dtype)
    if y_true.shape.rank == y_pred.shape.rank - 1:
        y_true = tf.expand_dims(y_true, -1)
    return y_true


def _binary_accuracy(y_true, y_pred):
    hit = tf.equal(_same_rank(y_true, y_pred), tf.cast(y_pred > 0.5, y_pred.dtype))
    return tf.reduce_mean(tf.cast(hit, "float32"), axis=-1)


def _mean_absolute_error(y_true, y_pred):
    return tf.reduce_mean(tf.abs(_same_rank(y_true, y_pred) - y_pred), axis=-1)


def _mean_squared_error(y_true, y_pred):
    return tf.reduce_mean(tf.square(_same_rank(y_true, y_pred) - y_pred), axis=-1)


#: metric name -> per-example function of (y_true, y_pred)
_METRICS: dict[str, Callable] = {
    _SPARSE: _sparse_categorical_accuracy,
    _DENSE: _categorical_accuracy,
    _BINARY: _binary_accuracy,
    "mae": _mean_absolute_error,
    "mean_absolute_error": _mean_absolute_error,
    "mse": _mean_squared_error,
    "mean_squared_error": _mean_squared_error,
}
#: metric objects a student may pass (their ``name`` becomes the history key)
_METRIC_CLASSES = {
    "SparseCategoricalAccuracy": _SPARSE,
    "CategoricalAccuracy": _DENSE,
    "BinaryAccuracy": _BINARY,
    "MeanAbsoluteError": "mae",
    "MeanSquaredError": "mse",
}


@dataclass(frozen=True)
class Objective:
    """``loss(y, y_pred) -> scalar`` (the model's own loss) and named per-example metrics."""

    loss: Callable
    metrics: dict[str, Callable]


def _loss_name(loss) -> str:
    name = loss if isinstance(loss, str) else getattr(loss, "name", None)
    name = name or getattr(loss, "__name__", "")
    return str(name).lower()


def _accuracy_for(loss_name: str) -> str:
    """Which accuracy Keras means by ``metrics=["accuracy"]``, judged from the loss."""
    if "sparse" in loss_name:
        return _SPARSE
    if "binary" in loss_name:
        return _BINARY
    if "categorical" in loss_name:
        return _DENSE
    raise ValueError(
        f"metrics=['accuracy'] with loss {loss_name!r}: say which accuracy "
        "('sparse_categorical_accuracy', 'categorical_accuracy' or 'binary_accuracy')"
    )


def _metric(spec, loss_name: str) -> tuple[str, Callable]:
    if isinstance(spec, str):
        key = _accuracy_for(loss_name) if spec in ("accuracy", "acc") else spec
        if key in _METRICS:
            return spec, _METRICS[key]
    elif type(spec).__name__ in _METRIC_CLASSES:
        return spec.name, _METRICS[_METRIC_CLASSES[type(spec).__name__]]
    raise ValueError(
        f"fit_replicas does not support the metric {spec!r}; it supports 'accuracy', "
        f"{', '.join(repr(k) for k in _METRICS)} (or compile without it)"
    )


def objective_of(model: keras.Model) -> Objective:
    """Loss and metrics of a compiled single-output ``model`` (clear errors otherwise)."""
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ValueError(
            "model must be compiled before fit_replicas: "
            "model.compile(optimizer=..., loss=..., metrics=[...])"
        )
    if len(model.outputs or [None]) != 1 or isinstance(model.loss, list | dict):
        raise ValueError("fit_replicas supports models with one output and one loss")
    loss_name = _loss_name(model.loss)
    specs = model._compile_config.config.get("metrics") or []
    if isinstance(specs, dict):
        raise ValueError("fit_replicas supports a list of metrics, not a dict per output")
    metrics = dict(_metric(spec, loss_name) for spec in specs)
    loss = keras.losses.get(model.loss)
    if not isinstance(loss, keras.losses.Loss):
        # a plain function returns one loss per example; compile averages it over the batch
        loss = LossFunctionWrapper(loss)
    return Objective(loss=loss, metrics=metrics)
