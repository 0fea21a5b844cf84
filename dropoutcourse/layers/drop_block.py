"""``DropBlock2D``: drop contiguous squares of a feature map (Ghiasi, Lin & Le, 2018)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from dropoutcourse._validate import check_positive_int, check_rate
from dropoutcourse.switches import effective_rate


def dropblock_blocks(uniform, rate, block_size: int):
    """DropBlock's dropped squares (1 = dropped) from U[0, 1) noise of shape (..., H, W, C).

    ``gamma = rate / bs² · H·W / ((H − bs + 1)(W − bs + 1))`` is the probability that a pixel
    is a block centre (centres only where a whole block fits), so that about ``rate`` of the
    pixels end up dropped; a stride-1 max-pool grows every centre into a bs × bs square.
    The caller rescales the kept values.
    """
    *lead, height, width, channels = uniform.shape
    bs = min(block_size, height, width)
    gamma = rate / bs**2 * (height * width) / ((height - bs + 1) * (width - bs + 1))
    valid = np.zeros((height, width, 1), dtype="float32")
    lo = bs // 2
    valid[lo : lo + height - bs + 1, lo : lo + width - bs + 1, :] = 1.0
    centres = ops.cast(uniform < gamma, "float32") * valid
    flat = ops.reshape(centres, (-1, height, width, channels))
    blocks = ops.max_pool(flat, pool_size=bs, strides=1, padding="same")
    return ops.reshape(blocks, ops.shape(uniform))


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
        # 1-3. block centres (where a whole block fits), grown into squares (static H and W
        # are needed)
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
