"""Small helpers for lecture 5's hands-on Keras CNNs: a DropBlock schedule and BN statistics.

* :class:`DropBlockSchedule` — Ghiasi et al. (2018) start DropBlock with nothing dropped and
  raise the drop rate linearly during training; this Keras callback does that per epoch for
  every ``DropBlock2D`` layer of the model being fitted.
* :func:`bn_variance_ratio` — for a trained model, the variance a ``BatchNormalization``
  layer's input really has at inference divided by the moving variance it stored in
  training: about 1 when nothing noisy comes before it, below 1 after dropout (the
  variance shift of Li et al., 2019).
"""

from __future__ import annotations

import keras
import numpy as np

from dropoutcourse._validate import check_nonneg_int, check_positive_int, check_rate
from dropoutcourse.layers import DropBlock2D

__all__ = ["DropBlockSchedule", "bn_variance_ratio", "scheduled_rate"]


def scheduled_rate(epoch: int, final_rate: float, ramp_epochs: int) -> float:
    """Drop rate in (0-based) ``epoch``: 0 at the start, ``final_rate`` from ``ramp_epochs`` on.

    A linear ramp, as in Ghiasi et al. (2018), who lower the keep probability linearly from
    1 to its final value during training; here in steps of one epoch.
    """
    final_rate = check_rate(final_rate, "final_rate")
    ramp_epochs = check_positive_int(ramp_epochs, "ramp_epochs")
    epoch = check_nonneg_int(epoch, "epoch")
    return final_rate * min(1.0, epoch / ramp_epochs)


class DropBlockSchedule(keras.callbacks.Callback):
    """Raise the rate of every ``DropBlock2D`` of the model linearly, epoch by epoch.

    ``model.fit(..., callbacks=[DropBlockSchedule(0.2, ramp_epochs=10)])`` trains epoch 0
    without dropping, then ``0.2 · epoch / 10``, and ``0.2`` from epoch 10 on. The rate in
    use is added to the logs (``History.history["dropblock_rate"]``). A layer's rate is a
    Python number that Keras compiles into the training step, so the step is rebuilt
    whenever the rate changes (a fraction of a second for a small CNN).
    """

    def __init__(self, final_rate: float, ramp_epochs: int) -> None:
        super().__init__()
        self.final_rate = check_rate(final_rate, "final_rate")
        self.ramp_epochs = check_positive_int(ramp_epochs, "ramp_epochs")
        self.rate = 0.0

    def _layers(self) -> list[DropBlock2D]:
        found = [layer for layer in self.model._flatten_layers() if isinstance(layer, DropBlock2D)]
        if not found:
            raise ValueError("DropBlockSchedule needs a model with at least one DropBlock2D layer")
        return found

    def on_epoch_begin(self, epoch, logs=None):
        self.rate = scheduled_rate(epoch, self.final_rate, self.ramp_epochs)
        layers = self._layers()
        if any(layer.rate != self.rate for layer in layers):
            for layer in layers:
                layer.rate = self.rate
            self.model.make_train_function(force=True)  # the rate is compiled into the step

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["dropblock_rate"] = self.rate


def bn_variance_ratio(model: keras.Model, x: np.ndarray, bn_name: str) -> float:
    """Mean over channels of (inference variance of BN ``bn_name``'s input) / (its moving variance).

    The input is measured on ``x`` with the model in inference mode (dropout off), as the
    layer sees it at test time. About 1: the layer normalises test inputs as it learned to;
    below 1: it divides by a variance inflated by noise it saw only during training.
    """
    try:
        bn = model.get_layer(bn_name)
    except ValueError as err:
        raise ValueError(f"bn_name: the model has no layer {bn_name!r}") from err
    if not isinstance(bn, keras.layers.BatchNormalization):
        raise ValueError(f"bn_name: layer {bn_name!r} is a {type(bn).__name__}, not BatchNorm")
    probe = keras.Model(model.inputs, bn.input)
    inputs = np.asarray(probe.predict(np.asarray(x), verbose=0), dtype=np.float64)
    per_channel = inputs.reshape(-1, inputs.shape[-1]).var(axis=0)
    return float(np.mean(per_channel / np.asarray(bn.moving_variance)))
