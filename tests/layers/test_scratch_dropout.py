"""Tests of ScratchDropout: Keras' own layer checks, and statistics with tolerances.

The layer is random, so the tests check statistics (fraction dropped, mean preserved), never
exact random values.
"""

import keras
import numpy as np
import pytest
from keras.src import testing

from dropoutcourse.layers import ScratchDropout

RNG = np.random.default_rng(0)


def as_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


class ScratchDropoutKerasContractTest(testing.TestCase):
    def test_scratch_dropout_basics(self):
        # exactly the arguments of keras/src/layers/regularization/dropout_test.py
        self.run_layer_test(
            ScratchDropout,
            init_kwargs={"rate": 0.2},
            input_shape=(2, 3),
            call_kwargs={"training": True},
            expected_output_shape=(2, 3),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=True,
            assert_built_after_instantiation=True,
        )


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_scratch_dropout_matches_keras_dropout_statistics(rate):
    x = np.ones((200, 500), dtype="float32")
    ours = as_np(ScratchDropout(rate, seed=1)(x, training=True))
    theirs = as_np(keras.layers.Dropout(rate, seed=2)(x, training=True))
    for out in (ours, theirs):
        assert abs((out == 0).mean() - rate) < 0.01  # 100k Bernoulli draws: sd ≈ 0.0016
        np.testing.assert_allclose(np.unique(out[out != 0]), [1 / (1 - rate)], rtol=1e-6)
        assert abs(out.mean() - 1.0) < 0.03  # inverted dropout keeps the mean
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.015


def test_scratch_dropout_is_identity_at_inference():
    x = RNG.normal(size=(16, 10)).astype("float32")
    layer = ScratchDropout(0.5, seed=0)
    np.testing.assert_array_equal(as_np(layer(x)), x)  # training not given
    np.testing.assert_array_equal(as_np(layer(x, training=False)), x)
    np.testing.assert_array_equal(as_np(layer(x, training=None)), x)
    model = keras.Sequential([keras.Input((10,)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_scratch_dropout_draws_a_new_mask_each_call():
    x = np.ones((4, 100), dtype="float32")
    layer = ScratchDropout(0.5, seed=0)
    assert not np.array_equal(as_np(layer(x, training=True)), as_np(layer(x, training=True)))


def test_scratch_dropout_is_active_inside_fit():
    # y = sum of 50 ones with weights 1: exact at inference (loss 0), noisy under dropout.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((50,)),
            ScratchDropout(0.5),
            keras.layers.Dense(1, use_bias=False, kernel_initializer="ones"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    x, y = np.ones((64, 50), "float32"), np.full((64, 1), 50.0, "float32")
    train_loss = model.fit(x, y, epochs=1, batch_size=64, verbose=0).history["loss"][0]
    test_loss = model.evaluate(x, y, verbose=0)
    assert test_loss < 1e-6  # inference: identity, no rescaling needed
    assert train_loss > 10.0  # training: Var(sum) = 50 * 1 = 50 per example


def test_scratch_dropout_config_round_trip():
    layer = ScratchDropout(0.3, seed=7, name="drop")
    clone = ScratchDropout.from_config(layer.get_config())
    assert (clone.rate, clone.seed, clone.name) == (0.3, 7, "drop")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: ScratchDropout(-0.1), ValueError),
        (lambda: ScratchDropout(1.0), ValueError),
        (lambda: ScratchDropout(1.5), ValueError),
        (lambda: ScratchDropout("0.5"), TypeError),
    ],
)
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


def test_rate_error_message_names_argument_and_range():
    with pytest.raises(ValueError, match=r"rate.*\[0, 1\)"):
        ScratchDropout(1.2)


def test_scratch_dropout_noise_shape_shares_the_mask_like_keras():
    x = np.ones((20, 5, 10), "float32")
    for noise_shape in [(None, 1, None), (20, 1, 10)]:
        out = keras.ops.convert_to_numpy(
            ScratchDropout(0.5, noise_shape=noise_shape, seed=1)(x, training=True)
        )
        np.testing.assert_array_equal(out[:, 0, :], out[:, 1, :])
        assert 0.3 < np.mean(out == 0) < 0.7  # positive control: it does drop
    plain = keras.ops.convert_to_numpy(ScratchDropout(0.5, seed=1)(x, training=True))
    assert not np.array_equal(plain[:, 0, :], plain[:, 1, :])


def test_scratch_dropout_noise_shape_round_trips_and_is_checked():
    layer = ScratchDropout(0.3, noise_shape=[None, 1, 4], seed=2)
    assert layer.noise_shape == (None, 1, 4)
    clone = ScratchDropout.from_config(layer.get_config())
    assert (clone.rate, clone.noise_shape, clone.seed) == (0.3, (None, 1, 4), 2)
    with pytest.raises(ValueError, match="noise_shape"):
        ScratchDropout(0.5, noise_shape=(20, 0, 10))
    with pytest.raises(TypeError, match="noise_shape"):
        ScratchDropout(0.5, noise_shape="abc")
    with pytest.raises(ValueError, match="seed"):
        ScratchDropout(0.5, seed=-1)
