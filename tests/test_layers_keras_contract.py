"""Keras' own layer checks on our layers, with the arguments of Keras' dropout_test.py."""

import keras
import numpy as np
import pytest
from keras.src import testing

from dropoutcourse.layers import DropBlock2D, DropConnectDense, ScratchDropout, mc_predict


class KerasContractTest(testing.TestCase):
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

    def test_dropblock_basics(self):
        self.run_layer_test(
            DropBlock2D,
            init_kwargs={"rate": 0.2, "block_size": 2},
            input_shape=(2, 6, 6, 3),
            call_kwargs={"training": True},
            expected_output_shape=(2, 6, 6, 3),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=False,
        )

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


def test_mc_predict_warns_when_no_layer_is_switched_on():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.warns(UserWarning, match="no dropout-family layer"):
        _, std = mc_predict(model, np.ones((4, 3), "float32"), 3)
    np.testing.assert_allclose(std, 0, atol=1e-5)  # deterministic up to float rounding


@pytest.mark.parametrize("kwargs", [{"dropout": 0.3}, {"recurrent_dropout": 0.3}])
def test_mc_predict_rejects_rnn_dropout_it_cannot_switch_on(kwargs):
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(4, **kwargs)])
    with pytest.raises(ValueError, match="dropout/recurrent_dropout"):
        mc_predict(model, np.ones((3, 5, 2), "float32"), 2)


def test_mc_predict_restores_generator_state_without_a_seed():
    model = keras.Sequential([keras.Input((4,)), ScratchDropout(0.5)])
    generator = model.layers[0].seed_generator
    before = np.array(generator.state.value)
    _, std = mc_predict(model, np.ones((5, 4), "float32"), 4)
    assert (std > 0).any()  # positive control: the layer was on and did draw masks
    np.testing.assert_array_equal(np.array(generator.state.value), before)
