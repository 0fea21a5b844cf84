"""The convolutional dropout layers inside ``fit_replicas``: the masks they really multiply with.

Under :func:`vectorizable_random` (the replicas' random numbers) a missing 1/(1 − rate), a
spatial mask that is not shared over the feature map, DropBlock dropping single pixels or a
per-replica rate that is ignored must fail here. Tolerances are 5 binomial standard errors of
the sample sizes used.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dropoutcourse.layers import DropBlock2D
from dropoutcourse.replica_fit.random_ops import per_replica_rates, vectorizable_random


def _mask(layer, shape, rates=None):
    x = np.ones(shape, "float32")
    with vectorizable_random():
        if rates is None:
            return np.asarray(layer(x, training=True))
        with per_replica_rates([layer], [tf.constant(r) for r in rates]):
            return np.asarray(layer(x, training=True))


def test_spatial_dropout_drops_whole_maps_at_rate_with_the_inverted_scale():
    m = _mask(keras.layers.SpatialDropout2D(0.3, seed=1), (400, 8, 8, 16))
    assert np.all(m == m[:, :1, :1, :])  # one draw per (example, channel), shared over the map
    maps = m[:, 0, 0, :]
    assert abs((maps == 0).mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / maps.size)
    np.testing.assert_allclose(maps[maps > 0], 1 / 0.7, rtol=1e-6)


def test_a_per_replica_rate_overrides_spatial_dropouts_own():
    maps = _mask(keras.layers.SpatialDropout2D(0.5, seed=2), (400, 4, 4, 16), [0.2])[:, 0, 0]
    assert abs((maps == 0).mean() - 0.2) < 5 * np.sqrt(0.2 * 0.8 / maps.size)
    np.testing.assert_allclose(maps[maps > 0], 1 / 0.8, rtol=1e-6)


def test_dropblock_drops_about_rate_in_squares_and_keeps_the_mean():
    rate = 0.2
    m = _mask(DropBlock2D(rate, block_size=3, seed=0), (200, 16, 16, 4))
    dropped = (m == 0).mean()
    # overlapping blocks make the dropped fraction a little smaller than rate, never larger
    assert rate * 0.75 < dropped <= rate * 1.02
    assert m.mean() == pytest.approx(1.0, abs=1e-4)  # rescaled
    # every dropped pixel lies in a fully dropped 3×3 square, never alone in its column
    zero = m == 0
    isolated = zero[:, 1:-1, 1:-1] & ~zero[:, :-2, 1:-1] & ~zero[:, 2:, 1:-1]
    assert isolated.mean() == 0


def test_each_replica_draws_its_own_spatial_mask():
    """A replica's masks follow its own seed-generator state: the same state draws the same
    maps, another state maps that agree with the first on about half at rate 0.5."""
    layer = keras.layers.SpatialDropout2D(0.5, seed=3)
    x = np.ones((200, 4, 4, 16), "float32")

    def one(seed):
        layer.seed_generator.state.assign(tf.constant([seed, 0], layer.seed_generator.state.dtype))
        with vectorizable_random():
            return np.asarray(layer(x, training=True))[:, 0, 0]

    a, b, a_again = one(0), one(1), one(0)
    np.testing.assert_array_equal(a, a_again)
    assert abs(((a > 0) == (b > 0)).mean() - 0.5) < 5 * np.sqrt(0.25 / a.size)
