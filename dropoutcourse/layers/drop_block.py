"""``DropBlock2D``: drop contiguous squares of a feature map (Ghiasi, Lin & Le, 2018)."""

from __future__ import annotations

import keras
from keras import ops

from dropoutcourse._replicas import dropblock_blocks
from dropoutcourse._validate import check_positive_int, check_rate
from dropoutcourse.switches import effective_rate


@keras.saving.register_keras_serializable(package="dropoutcourse")
class DropBlock2D(keras.layers.Layer):
    """DropBlock (Ghiasi, Lin & Le, 2018): drop contiguous ``block_size`` × ``block_size`` squares.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    hides almost nothing (the next layer can read the neighbour). DropBlock drops whole
    squares instead, independently in every channel. Input: channels_last ``(N, H, W, C)``.

    Recipe, while training:

    1. ``gamma = rate / bs² · (H·W) / ((H − bs + 1)(W − bs + 1))`` is the probability that a
       pixel is a block *centre*, chosen so that about ``rate`` of the pixels end up dropped
       (overlapping blocks make the real fraction slightly smaller).
    2. Sample Bernoulli(gamma) centres, only where a whole block fits inside the map.
    3. Grow every centre into a square with a max-pool of size bs (stride 1, 'same').
    4. ``mask = 1 − blocks``; rescale by ``count / sum(mask)`` so that the mean is preserved.

    When the feature map is smaller than ``block_size``, the block is shrunk to fit.
    At inference the layer is the identity.
    """

    def __init__(self, rate: float, block_size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.block_size = check_positive_int(block_size, "block_size")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs, training=False):
        # effective_rate: 0 inside switches.without_dropout (the claims' negative control)
        if not training or effective_rate(self.rate) == 0.0:
            return inputs
        # 1-3. block centres (where a whole block fits), grown into squares: the course's one
        # DropBlock mask, shared with the CNN replica trainer (static H and W are needed)
        uniform = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
        uniform = ops.reshape(uniform, (-1, *inputs.shape[1:]))
        mask = 1.0 - dropblock_blocks(uniform, self.rate, self.block_size)

        # 4. rescale so the mean activation is unchanged (guard against dropping everything)
        count = ops.cast(ops.size(mask), "float32")
        scale = count / ops.maximum(ops.sum(mask), 1.0)
        return inputs * ops.cast(mask * scale, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "block_size": self.block_size,
            "seed": self.seed,
        }
