"""Concrete dropout (Gal, Hron & Kendall, 2017): a dense layer whose input dropout rate is learned.

A Bernoulli mask has no gradient with respect to its rate. Concrete dropout replaces it by a
*relaxed* Bernoulli ("concrete") mask: with ``u ~ U(0, 1)`` and temperature ``t = 0.1``,

    drop = sigmoid((log p − log(1 − p) + log u − log(1 − u)) / t),   z = 1 − drop,

which is almost always close to 0 or 1 but is a smooth function of ``p``. The layer computes
``Dense(x · z / (1 − p))`` (inverted dropout, as Keras' ``Dropout``) with ``p = sigmoid(logit)``
a trainable scalar: the rate is learned by gradient descent together with the weights.

The rate alone would always fall to 0 (less noise fits the training data better). The
paper's approximate KL term stops it. In the reference implementation's form
(``yaringal/ConcreteDropout``, whose inverted scaling turns the paper's ``l²(1 − p)‖M‖²``
into ``l²‖W‖² / (1 − p)``), each layer adds to the loss

    weight_regularizer · Σ W² / (1 − p)                       (the prior on the weights)
  + dropout_regularizer · input_dim · (p log p + (1 − p) log(1 − p))   (minus the entropy)

with ``weight_regularizer = l² / N`` and ``dropout_regularizer = 2 / N`` for N training
examples (``l``: the prior length-scale). Both terms shrink as N grows, so the data term wins
and the learned rate falls: with little data the layer keeps more noise.

``rate`` follows the course's convention (probability of *dropping*). Inside
:func:`dropoutcourse.switches.without_dropout` the mask is switched off (the claims' negative
control); the regulariser stays, so the model is otherwise unchanged.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from dropoutcourse._validate import check_positive_float, check_positive_int
from dropoutcourse.switches import dropout_enabled

__all__ = ["ConcreteDense", "concrete_regularizers"]

#: The relaxation's temperature and the numerical guard, as in the reference implementation.
TEMPERATURE, EPS = 0.1, 1e-7


def concrete_regularizers(n_train: int, length_scale: float = 1e-2) -> dict[str, float]:
    """``{"weight_regularizer": l²/N, "dropout_regularizer": 2/N}`` for N training examples."""
    n_train = check_positive_int(n_train, "n_train")
    length_scale = check_positive_float(length_scale, "length_scale")
    return {"weight_regularizer": length_scale**2 / n_train, "dropout_regularizer": 2.0 / n_train}


@keras.saving.register_keras_serializable(package="dropoutcourse")
class ConcreteDense(keras.layers.Layer):
    """``Dense(units)`` applied to a concrete-dropout-masked input; the drop rate is learned.

    Args:
        units, activation: as for ``keras.layers.Dense``.
        weight_regularizer: ``l² / N`` (see :func:`concrete_regularizers`).
        dropout_regularizer: ``2 / N``.
        init_rate: the starting drop rate, in (0, 1).
        seed: seed of the layer's mask generator.
    """

    def __init__(
        self,
        units: int,
        activation=None,
        weight_regularizer: float = 1e-6,
        dropout_regularizer: float = 1e-5,
        init_rate: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.activation = keras.activations.get(activation)
        self.weight_regularizer = check_positive_float(weight_regularizer, "weight_regularizer")
        self.dropout_regularizer = check_positive_float(dropout_regularizer, "dropout_regularizer")
        if not 0.0 < float(init_rate) < 1.0:
            raise ValueError(f"init_rate must be in (0, 1), got {init_rate!r}")
        self.init_rate = float(init_rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.dense = keras.layers.Dense(
            self.units, activation=self.activation, name="dense", dtype=self.dtype_policy
        )

    def build(self, input_shape) -> None:
        self.input_dim = int(input_shape[-1])
        self.dense.build(input_shape)
        logit = math.log(self.init_rate) - math.log(1.0 - self.init_rate)
        self.rate_logit = self.add_weight(
            name="rate_logit", shape=(), initializer=keras.initializers.Constant(logit)
        )

    @property
    def rate(self) -> float:
        """The current learned drop rate ``sigmoid(rate_logit)``, a float in (0, 1)."""
        return float(ops.convert_to_numpy(ops.sigmoid(self.rate_logit)))

    def _mask(self, x, p):
        u = keras.random.uniform(ops.shape(x), dtype=x.dtype, seed=self.seed_generator)
        drop = ops.log(p + EPS) - ops.log(1.0 - p + EPS) + ops.log(u + EPS) - ops.log(1.0 - u + EPS)
        return (1.0 - ops.sigmoid(drop / TEMPERATURE)) / (1.0 - p)

    def regularization(self, p):
        """The layer's KL term (weights' prior and the rate's entropy), a scalar tensor."""
        weights = self.weight_regularizer * ops.sum(ops.square(self.dense.kernel)) / (1.0 - p)
        neg_entropy = p * ops.log(p + EPS) + (1.0 - p) * ops.log(1.0 - p + EPS)
        return weights + self.dropout_regularizer * self.input_dim * neg_entropy

    def call(self, inputs, training=None):
        p = ops.sigmoid(self.rate_logit)  # in the variables' dtype, as the kernel
        self.add_loss(self.regularization(p))
        if training and dropout_enabled():
            inputs = inputs * self._mask(inputs, ops.cast(p, inputs.dtype))
        return self.dense(inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "weight_regularizer": self.weight_regularizer,
            "dropout_regularizer": self.dropout_regularizer,
            "init_rate": self.init_rate,
            "seed": self.seed,
        }
