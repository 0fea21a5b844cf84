"""``ScratchDropout``: inverted dropout written from scratch (a re-implementation of Keras' ``Dropout``)."""

from __future__ import annotations

import keras
from keras import ops

from dropoutcourse._validate import check_positive_int, check_rate, check_seed
from dropoutcourse.switches import effective_rate


def _keep_mask(shape, rate: float, seed_generator) -> keras.KerasTensor:
    """A float mask of 0s and 1s, where each entry is 1 (kept) with probability 1 - rate."""
    uniform = keras.random.uniform(shape, seed=seed_generator)
    return ops.cast(uniform >= rate, "float32")


def _check_noise_shape(noise_shape) -> tuple[int | None, ...] | None:
    """Return ``noise_shape`` as a tuple of positive ints / None, or None."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise TypeError(f"noise_shape must be None or a tuple of ints/None, got {noise_shape!r}")
    return tuple(
        None if n is None else check_positive_int(n, "noise_shape entries") for n in noise_shape
    )


@keras.saving.register_keras_serializable(package="dropoutcourse")
class ScratchDropout(keras.layers.Layer):
    """Inverted dropout, the readable way: a re-implementation of ``keras.layers.Dropout``.

    While training, each input unit is set to 0 with probability ``rate`` and every kept
    unit is multiplied by ``1 / (1 - rate)``, so the expected output equals the input. At
    inference (``training`` False or None) the layer is the identity.

    Same arguments as Keras' layer: ``noise_shape`` is the shape of the mask, broadcast
    over the input (``(None, 1, features)`` shares one mask over all time steps; ``None``
    entries take the input's size).
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.noise_shape = _check_noise_shape(noise_shape)
        self.seed = None if seed is None else check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True
        # no weights: built as soon as it exists, like Keras' own stateless layers
        self._build_at_init()

    def call(self, inputs, training=False):
        # effective_rate: 0 inside switches.without_dropout (the claims' negative control)
        if not training or effective_rate(self.rate) == 0.0:
            return inputs
        shape = ops.shape(inputs)
        if self.noise_shape is not None:
            shape = tuple(
                s if n is None else n for s, n in zip(shape, self.noise_shape, strict=True)
            )
        mask = ops.cast(_keep_mask(shape, self.rate, self.seed_generator), inputs.dtype)
        # scale the survivors now, so inference needs no change: E[mask / (1 - rate)] = 1
        return inputs * mask / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }
