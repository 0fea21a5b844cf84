"""Tests of DropConnectDense: Keras' own layer checks, unbiased training, plain Dense at inference."""

import keras
import numpy as np
import pytest
from keras.src import testing

from dropoutcourse.layers import DropConnectDense

RNG = np.random.default_rng(0)


def as_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


class DropConnectDenseKerasContractTest(testing.TestCase):
    def test_dropconnect_basics(self):
        self.run_layer_test(
            DropConnectDense,
            init_kwargs={"units": 4, "rate": 0.2},
            input_shape=(2, 3),
            call_kwargs={"training": True},
            expected_output_shape=(2, 4),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=False,
        )


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: DropConnectDense(4, -0.5), ValueError),
        (lambda: DropConnectDense(0, 0.5), ValueError),
    ],
)
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


def test_dropconnect_inference_is_a_plain_dense_layer():
    x = RNG.normal(size=(8, 20)).astype("float32")
    layer = DropConnectDense(5, 0.5, seed=0)
    out = as_np(layer(x))
    w, b = as_np(layer.kernel), as_np(layer.bias)
    np.testing.assert_allclose(out, x @ w + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(as_np(layer(x, training=False)), out)


def test_dropconnect_training_is_unbiased_and_random():
    x = RNG.normal(size=(8, 20)).astype("float32")
    layer = DropConnectDense(5, 0.5, seed=0)
    expected = as_np(layer(x))
    samples = np.stack([as_np(layer(x, training=True)) for _ in range(300)])
    assert not np.allclose(samples[0], samples[1])  # a fresh mask per call
    assert not np.allclose(samples[0], expected)
    # E[x @ (W * mask / (1 - rate))] = x @ W: the MC mean is within 5 standard errors
    stderr = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - expected) < 5 * stderr + 1e-5)


def test_dropconnect_mask_is_shared_by_the_batch_and_activation_applies():
    row = RNG.normal(size=(1, 20)).astype("float32")
    out = as_np(
        DropConnectDense(6, 0.5, activation="relu", seed=0)(np.repeat(row, 4, 0), training=True)
    )
    np.testing.assert_allclose(out, np.repeat(out[:1], 4, 0))  # one kernel mask per call
    assert (out >= 0).all()


def test_dropconnect_trains_and_round_trips_config():
    keras.utils.set_random_seed(0)
    layer = DropConnectDense(3, 0.3, activation="softmax")
    model = keras.Sequential([keras.Input((4,)), layer])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = as_np(layer.kernel).copy()
    model.fit(RNG.normal(size=(32, 4)), RNG.integers(0, 3, 32), epochs=1, verbose=0)
    assert not np.allclose(before, as_np(layer.kernel))
    clone = DropConnectDense.from_config(layer.get_config())
    assert (clone.units, clone.rate, clone.activation) == (3, 0.3, keras.activations.softmax)
