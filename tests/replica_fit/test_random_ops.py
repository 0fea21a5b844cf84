"""The hashed random numbers behind fit_replicas' masks: uniform, independent, reproducible.

Tolerances are 5 standard errors of the statistic for the sample size used, so a correct
generator fails with probability < 1e-6 and a biased one (e.g. a mask rate off by 0.01)
fails for sure.
"""

import keras
import numpy as np
import tensorflow as tf

from dropoutcourse.replica_fit.random_ops import (
    hashed_uniform,
    per_replica_rates,
    vectorizable_random,
)

N = 200_000


def _u(seed, counter=0, shape=(N,)):
    return hashed_uniform(shape, tf.constant([seed, counter], tf.int64)).numpy()


def test_uniform_has_the_moments_of_u01():
    u = _u(7)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / N)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / N)  # var of (U - 1/2)^2 is 1/180
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    assert abs(counts - N / 20).max() < 5 * np.sqrt(N / 20)


def test_draws_are_independent_across_seeds_counters_and_neighbours():
    limit = 5 / np.sqrt(N)  # 5 SE of a correlation coefficient near 0
    a = _u(1)
    for other in (_u(2), _u(1, counter=1), np.roll(a, 1)):
        assert abs(np.corrcoef(a, other)[0, 1]) < limit


def test_same_seed_same_numbers():
    np.testing.assert_array_equal(_u(3, 5), _u(3, 5))


def test_vectorised_over_seeds_equals_one_seed_at_a_time():
    seeds = tf.constant([[0, 0], [1, 0], [2, 3]], tf.int64)
    batched = tf.vectorized_map(lambda s: hashed_uniform((4, 5), s), seeds).numpy()
    for i in range(3):
        np.testing.assert_array_equal(batched[i], hashed_uniform((4, 5), seeds[i]).numpy())


def test_keras_dropout_draws_from_it_with_the_right_rate_and_scale():
    layer = keras.layers.Dropout(0.3, seed=1)
    x = np.ones((400, 500), "float32")
    with vectorizable_random():
        out = np.asarray(layer(x, training=True))
    dropped = (out == 0).mean()
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / out.size)
    np.testing.assert_allclose(out[out > 0], 1 / 0.7, rtol=1e-6)


def test_gaussian_dropout_noise_has_mean_one_and_the_matched_std():
    layer = keras.layers.GaussianDropout(0.2, seed=1)
    x = np.ones((400, 500), "float32")
    with vectorizable_random():
        noise = np.asarray(layer(x, training=True)).ravel()
    sigma = np.sqrt(0.2 / 0.8)
    assert abs(noise.mean() - 1) < 5 * sigma / np.sqrt(noise.size)
    assert abs(noise.std() - sigma) < 5 * sigma / np.sqrt(2 * noise.size)


def test_a_per_replica_rate_overrides_the_layers_own():
    layer = keras.layers.Dropout(0.5, seed=2)
    x = np.ones((200, 500), "float32")
    with vectorizable_random(), per_replica_rates([layer], [tf.constant(0.1)]):
        out = np.asarray(layer(x, training=True))
    assert abs((out == 0).mean() - 0.1) < 5 * np.sqrt(0.1 * 0.9 / out.size)
    np.testing.assert_allclose(out[out > 0], 1 / 0.9, rtol=1e-6)


def test_each_layer_seed_and_call_draws_its_own_mask():
    """The mask comes from the layer's seed generator: layers with other seeds, and the next
    call of the same layer (its generator moved on), drop other units; the same seed again
    drops the same ones."""
    x = np.ones((50, 200), "float32")

    def masks(layer, calls=1):
        with vectorizable_random():
            return [np.asarray(layer(x, training=True)) > 0 for _ in range(calls)]

    first, second = masks(keras.layers.Dropout(0.5, seed=1), calls=2)
    other = masks(keras.layers.Dropout(0.5, seed=2))[0]
    again = masks(keras.layers.Dropout(0.5, seed=1))[0]
    np.testing.assert_array_equal(first, again)
    for different in (second, other):
        assert abs((first == different).mean() - 0.5) < 5 * np.sqrt(0.25 / first.size)


def test_a_per_replica_rate_gives_gaussian_dropout_its_matched_std():
    layer = keras.layers.GaussianDropout(0.5, seed=3)
    x = np.ones((400, 500), "float32")
    with vectorizable_random(), per_replica_rates([layer], [tf.constant(0.2)]):
        noise = np.asarray(layer(x, training=True)).ravel()
    sigma = np.sqrt(0.2 / 0.8)  # the replica's rate, not the layer's 0.5 (sigma 1)
    assert abs(noise.mean() - 1) < 5 * sigma / np.sqrt(noise.size)
    assert abs(noise.std() - sigma) < 5 * sigma / np.sqrt(2 * noise.size)
