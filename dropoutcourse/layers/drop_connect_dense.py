"""``DropConnectDense``: a Dense layer that drops weights, not activations (Wan et al., 2013)."""

from __future__ import annotations

import keras
from keras import ops

from dropoutcourse._validate import check_positive_int, check_rate
from dropoutcourse.layers.scratch_dropout import _keep_mask
from dropoutcourse.switches import effective_rate


@keras.saving.register_keras_serializable(package="dropoutcourse")
class DropConnectDense(keras.layers.Layer):
    """A Dense layer with DropConnect (Wan et al., 2013): drop *weights*, not activations.

    While training, every entry of the kernel is zeroed with probability ``rate`` and the
    kept entries are scaled by ``1 / (1 - rate)`` (inverted, like Keras dropout), so that
    ``E[output] = x @ W + b``. The bias is never dropped. Inference uses the full kernel.

    Simplification: one kernel mask is drawn per call, i.e. it is *shared by the whole
    batch* (the paper draws one per example, which costs a batch of kernels). Every training
    step still sees a fresh mask.
    """

    def __init__(
        self,
        units: int,
        rate: float,
        activation=None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.rate = check_rate(rate, "rate")
        self.activation = keras.activations.get(activation)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs, training=False):
        kernel = self.kernel
        # effective_rate: 0 inside switches.without_dropout (the claims' negative control)
        if training and effective_rate(self.rate) > 0.0:
            mask = _keep_mask(ops.shape(kernel), self.rate, self.seed_generator)
            kernel = kernel * ops.cast(mask, kernel.dtype) / (1.0 - self.rate)
        return self.activation(ops.matmul(inputs, kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "rate": self.rate,
            "activation": keras.activations.serialize(self.activation),
            "seed": self.seed,
        }
