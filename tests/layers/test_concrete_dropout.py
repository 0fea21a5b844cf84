"""Tests of ConcreteDense (concrete dropout, Gal, Hron & Kendall 2017): the Keras layer
contract, the learned rate stays in (0, 1), gradients reach it, the regulariser is the
reference implementation's formula, and fit_replicas trains it like a loop of fit."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src import testing

from dropoutcourse import switches
from dropoutcourse.layers.concrete_dropout import ConcreteDense, concrete_regularizers


class ConcreteDenseKerasContractTest(testing.TestCase):
    def test_concrete_dense_basics(self):
        self.run_layer_test(
            ConcreteDense,
            init_kwargs={"units": 3, "activation": "relu"},
            input_shape=(2, 5),
            call_kwargs={"training": True},
            expected_output_shape=(2, 3),
            expected_num_trainable_weights=3,  # kernel, bias, rate logit
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=1,
            supports_masking=False,
        )


def test_regularizers_scale_with_n():
    r = concrete_regularizers(1000, length_scale=0.1)
    assert r == pytest.approx({"weight_regularizer": 0.01 / 1000, "dropout_regularizer": 0.002})
    with pytest.raises(ValueError, match="n_train"):
        concrete_regularizers(0)


def test_bad_init_rate_is_named():
    with pytest.raises(ValueError, match="init_rate"):
        ConcreteDense(3, init_rate=1.0)


def test_regularisation_is_the_reference_formula():
    layer = ConcreteDense(4, weight_regularizer=1e-3, dropout_regularizer=1e-2, init_rate=0.3)
    layer.build((None, 6))
    p = 0.3
    kernel = np.asarray(layer.dense.kernel)
    expected = 1e-3 * (kernel**2).sum() / (1 - p) + 1e-2 * 6 * (
        p * math.log(p) + (1 - p) * math.log(1 - p)
    )
    got = float(layer.regularization(keras.ops.sigmoid(layer.rate_logit)))
    assert got == pytest.approx(expected, rel=1e-4)


def test_mask_is_almost_binary_with_the_right_drop_share():
    layer = ConcreteDense(1, init_rate=0.3, seed=0)
    layer.build((None, 20000))
    mask = np.asarray(layer._mask(tf.ones((1, 20000)), tf.constant(0.3))) * 0.7
    assert (
        np.mean((mask < 0.05) | (mask > 0.95)) > 0.8
    )  # relaxed, mostly near 0 or 1 (uniform: 0.1)
    share = np.mean(mask < 0.5)
    assert abs(share - 0.3) < 5 * math.sqrt(0.3 * 0.7 / 20000)


def test_gradient_reaches_the_rate_and_rate_stays_in_0_1():
    keras.utils.set_random_seed(0)
    layer = ConcreteDense(8, init_rate=0.5, seed=1)
    x = tf.random.normal((64, 10))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2) + tf.add_n(layer.losses)
    grad = tape.gradient(loss, layer.rate_logit)
    assert grad is not None and abs(float(grad)) > 0
    layer.rate_logit.assign(50.0)
    assert 0.0 < layer.rate <= 1.0 and 0.0 < ConcreteDense(2, init_rate=1e-3).init_rate < 1


def test_inference_and_switch_apply_no_mask():
    layer = ConcreteDense(5, init_rate=0.5, seed=0)
    x = np.ones((4, 7), "float32")
    plain = np.asarray(layer(x))
    assert np.abs(np.asarray(layer(x, training=True)) - plain).max() > 1e-3
    with switches.without_dropout():
        np.testing.assert_allclose(np.asarray(layer(x, training=True)), plain, rtol=1e-6)


def _model(n):
    from dropoutcourse import uncertainty_demos

    return uncertainty_demos.concrete_mlp(6, 3, n, hidden=(16,))


def _toy(n=200):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1)


@pytest.mark.slow
def test_fit_replicas_learns_the_rate_like_a_loop_of_fit():
    import dropoutcourse

    x, y = _toy()
    fitted = dropoutcourse.fit_replica_models(
        _model(len(x)), x, y, seeds=[0, 1], epochs=20, batch_size=32, verbose=False
    )
    replica = {s: [layer.rate for layer in m.layers] for s, m in fitted.models().items()}
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        model = _model(len(x))
        model.fit(x, y, epochs=20, batch_size=32, verbose=0)
        loop = [layer.rate for layer in model.layers]
        assert loop != pytest.approx([0.1, 0.1], abs=1e-3), "the rate was learned"
        assert replica[seed] == pytest.approx(loop, abs=0.02)
