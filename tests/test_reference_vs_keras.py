"""Keras as an oracle for the NumPy reference (micrograd's test pattern, with statistics).

The two use different random streams, so compare distributions, not arrays: the fraction of
units zeroed, the value given to kept units, the mean and the noise std, each with a
tolerance of 5 binomial/normal standard errors.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

from dropoutcourse import reference as R  # noqa: E402


def keras_apply(layer, x):
    return np.asarray(keras.ops.convert_to_numpy(layer(x, training=True)))


def binomial_se(rate, n):
    return np.sqrt(rate * (1 - rate) / n)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_matches_keras_dropout(rate):
    x = np.random.default_rng(0).standard_normal((200, 500)).astype(np.float32) + 10
    ours, _ = R.dropout_forward(x, rate, rng=np.random.default_rng(1))
    theirs = keras_apply(keras.layers.Dropout(rate, seed=1), x)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32

    se = binomial_se(rate, x.size)
    frac_ours, frac_theirs = np.mean(ours == 0), np.mean(theirs == 0)
    assert abs(frac_ours - rate) < 5 * se
    assert abs(frac_theirs - rate) < 5 * se
    assert abs(frac_ours - frac_theirs) < 5 * np.sqrt(2) * se

    # both are *inverted* dropout: kept units are x / (1 - rate)
    for out in (ours, theirs):
        kept = out != 0
        np.testing.assert_allclose(out[kept] / x[kept], 1 / (1 - rate), rtol=1e-5)

    mean_se = np.sqrt(np.sum(x.astype(np.float64) ** 2) * rate / (1 - rate)) / x.size
    assert abs(ours.mean() - x.mean()) < 5 * mean_se
    assert abs(theirs.mean() - x.mean()) < 5 * mean_se


def test_dropout_inference_matches_keras():
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    ours, _ = R.dropout_forward(x, 0.5, training=False)
    theirs = keras.ops.convert_to_numpy(keras.layers.Dropout(0.5)(x, training=False))
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_gaussian_dropout_matches_keras(rate):
    x = np.ones((200, 500), dtype=np.float32)
    _, noise = R.gaussian_dropout_forward(x, rate, rng=np.random.default_rng(2))
    theirs = keras_apply(keras.layers.GaussianDropout(rate, seed=2), x)  # = 1 * noise
    sigma = np.sqrt(rate / (1 - rate))
    n = x.size
    for sample in (noise, theirs):
        assert abs(sample.mean() - 1.0) < 5 * sigma / np.sqrt(n)
        assert abs(sample.std() - sigma) < 5 * sigma / np.sqrt(2 * n)
    assert abs(noise.std() - theirs.std()) < 5 * sigma / np.sqrt(n)


@pytest.mark.parametrize("rate", [0.3, 0.5])
def test_spatial_dropout_matches_keras_spatial_dropout2d(rate):
    x = np.ones((100, 4, 4, 20), dtype=np.float32)  # NHWC
    ours, mask = R.spatial_dropout_forward(x, rate, rng=np.random.default_rng(3))
    theirs = keras_apply(keras.layers.SpatialDropout2D(rate, seed=3), x)
    assert mask.shape == (100, 1, 1, 20)
    se = binomial_se(rate, 100 * 20)
    for out in (ours, theirs):
        # whole feature maps: every pixel of a (sample, channel) map has the same value
        maps = out.transpose(0, 3, 1, 2).reshape(100 * 20, 16)
        assert np.all(maps == maps[:, :1])
        np.testing.assert_allclose(np.unique(maps), [0.0, 1 / (1 - rate)], rtol=1e-6)
        assert abs(np.mean(maps[:, 0] == 0) - rate) < 5 * se
