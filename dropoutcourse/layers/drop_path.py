"""``DropPath``: stochastic depth (Huang et al., 2016), and its linear depth schedule."""

from __future__ import annotations

import keras
from keras import ops

from dropoutcourse._validate import check_positive_int, check_rate, check_seed
from dropoutcourse.layers.scratch_dropout import _keep_mask
from dropoutcourse.switches import effective_rate


@keras.saving.register_keras_serializable(package="dropoutcourse")
class DropPath(keras.layers.Layer):
    """DropPath, a.k.a. stochastic depth (Huang et al., 2016): drop a whole residual branch.

    Put it on the output of a residual branch, *before* the addition::

        h = x + DropPath(rate)(branch(x))

    While training, each sample's branch is dropped with probability ``rate`` — one
    Bernoulli draw per sample, broadcast over all its other axes — so for that sample the
    block is the identity ``h = x`` and the network is, in effect, shallower. Surviving
    branches are multiplied by ``1 / (1 - rate)`` (inverted, like Keras dropout), so
    ``E[output] = input`` and inference needs no rescaling. At inference (``training``
    False or None) and when ``rate == 0`` the layer is the identity.

    The first axis is the sample axis; any input rank >= 1 works (for a 1-D input every
    element is a sample).

    Naming trap: ``drop_connect_rate`` of Keras' EfficientNet applications is this
    stochastic depth, *not* DropConnect (Wan et al., 2013), which drops individual
    weights and is what :class:`DropConnectDense` implements.

    Args:
        rate: probability of dropping a sample's branch, in [0, 1).
        seed: seed of the layer's random generator (None: a fresh one).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.seed = None if seed is None else check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(min_ndim=1)
        # no weights: built as soon as it exists, like Keras' own stateless layers
        self._build_at_init()

    def call(self, inputs, training=False):
        # effective_rate: 0 inside switches.without_dropout (the claims' negative control)
        if not training or effective_rate(self.rate) == 0.0:
            return inputs
        # one draw per sample: shape (N, 1, ..., 1) broadcasts over every other axis,
        # so a sample keeps or loses its whole branch
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        keep = ops.cast(_keep_mask(shape, self.rate, self.seed_generator), inputs.dtype)
        # scale the survivors now, so inference needs no change: E[keep / (1 - rate)] = 1
        return inputs * keep / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def drop_path_rates(rate: float, n_blocks: int) -> list[float]:
    """The linear depth schedule: block ``l`` of ``L`` gets drop rate ``rate · l / L``.

    Huang et al. (2016) write it with *survival* probabilities: ``p_l = 1 − l/L · (1 − p_L)``
    for ``l = 1..L`` (``p_0 = 1`` is the input). With ``rate = 1 − p_L`` (the drop
    probability of the last block; the paper uses ``p_L = 0.5``) the drop probability of
    block ``l`` is ``1 − p_l = rate · l / L``: early blocks, which compute the low-level
    features every later block needs, are rarely dropped; the last block is dropped with
    probability ``rate``.

    This is the convention used here (l = 1..L). Two libraries shift it by one block, so
    their first block is never dropped: timm's ``linspace(0, drop_path_rate, L)`` gives
    ``rate · (l − 1)/(L − 1)`` and Keras' EfficientNet ``drop_connect_rate · (l − 1)/L``.
    All agree that deeper blocks are dropped more often.

    Example: ``drop_path_rates(0.5, 4) == [0.125, 0.25, 0.375, 0.5]``.
    """
    rate = check_rate(rate, "rate")
    n_blocks = check_positive_int(n_blocks, "n_blocks")
    return [rate * block / n_blocks for block in range(1, n_blocks + 1)]
