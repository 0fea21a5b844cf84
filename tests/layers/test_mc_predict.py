"""Tests of mc_predict: which layers it switches on, BatchNorm left alone, the model left as found."""

import keras
import numpy as np
import pytest

from dropoutcourse.layers import (
    DROPOUT_LAYER_TYPES,
    DropBlock2D,
    DropConnectDense,
    DropPath,
    ScratchDropout,
    mc_predict,
)

RNG = np.random.default_rng(0)


def as_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


def test_dropout_layer_types_cover_the_family():
    for cls in (
        keras.layers.Dropout,
        keras.layers.GaussianDropout,
        keras.layers.SpatialDropout2D,
        keras.layers.AlphaDropout,
        keras.layers.GaussianNoise,
        ScratchDropout,
        DropBlock2D,
        DropConnectDense,
        DropPath,
    ):
        assert cls in DROPOUT_LAYER_TYPES
    assert keras.layers.BatchNormalization not in DROPOUT_LAYER_TYPES


def bn_dropout_model(rate: float) -> keras.Model:
    """Dense → BatchNorm (with known moving statistics) → Dropout → linear Dense."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    h = keras.layers.Dense(16, name="dense")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Dropout(rate, name="drop")(h)
    outputs = keras.layers.Dense(3, name="out")(h)
    model = keras.Model(inputs, outputs)
    bn = model.get_layer("bn")
    # moving statistics far from those of the batch below, so the two BN modes disagree
    bn.moving_mean.assign(np.full(16, 0.5, "float32"))
    bn.moving_variance.assign(np.full(16, 4.0, "float32"))
    return model


# a batch whose statistics differ from BN's moving ones
X_SHIFTED = (RNG.normal(size=(32, 6)) * 3 + 2).astype("float32")


def bn_state(model):
    bn = model.get_layer("bn")
    return as_np(bn.moving_mean).copy(), as_np(bn.moving_variance).copy()


def test_mc_predict_keeps_batchnorm_in_inference_mode():
    model = bn_dropout_model(0.0)
    predicted = model.predict(X_SHIFTED, verbose=0)
    mean_before, var_before = bn_state(model)
    mean, std = mc_predict(model, X_SHIFTED, 5, seed=0)
    # no dropout to sample: MC dropout must reproduce predict() exactly...
    assert mean.shape == std.shape == predicted.shape
    np.testing.assert_allclose(mean, predicted, rtol=1e-5, atol=1e-5)
    assert std.max() < 1e-5
    # ...and must not touch BatchNorm's moving statistics
    mean_after, var_after = bn_state(model)
    np.testing.assert_array_equal(mean_after, mean_before)
    np.testing.assert_array_equal(var_after, var_before)


def test_the_pitfall_model_called_with_training_true_uses_batch_statistics():
    model = bn_dropout_model(0.0)
    predicted = model.predict(X_SHIFTED, verbose=0)
    mean_before, _ = bn_state(model)
    naive = as_np(model(X_SHIFTED, training=True))  # what many MC-dropout tutorials do
    assert np.abs(naive - predicted).max() > 0.1  # BN normalised with this batch's statistics
    assert not np.allclose(bn_state(model)[0], mean_before)  # and moved its moving mean


def test_mc_predict_with_dropout_is_random_but_unbiased():
    model = bn_dropout_model(0.5)
    predicted = model.predict(X_SHIFTED, verbose=0)
    mean_before, var_before = bn_state(model)
    n = 100
    mean, std = mc_predict(model, X_SHIFTED, n, seed=1)
    assert (std > 0.01).all()
    # the last layer is linear, so E[MC output] is the weight-scaling prediction; a mean far
    # from it would mean BatchNorm ran on batch statistics
    assert np.all(np.abs(mean - predicted) < 5 * std / np.sqrt(n) + 1e-4)
    np.testing.assert_array_equal(bn_state(model)[0], mean_before)
    np.testing.assert_array_equal(bn_state(model)[1], var_before)


def test_mc_predict_is_reproducible_and_leaves_the_model_as_found():
    model = bn_dropout_model(0.5)
    drop = model.get_layer("drop")
    state_before = as_np(drop.seed_generator.state).copy()
    first = mc_predict(model, X_SHIFTED, 4, seed=3)
    second = mc_predict(model, X_SHIFTED, 4, seed=3)
    other = mc_predict(model, X_SHIFTED, 4, seed=4)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.allclose(first[1], other[1])
    np.testing.assert_array_equal(as_np(drop.seed_generator.state), state_before)
    assert "call" not in vars(drop)  # the temporary wrapper is gone
    np.testing.assert_array_equal(model(X_SHIFTED), model(X_SHIFTED))  # deterministic again


@pytest.mark.parametrize(
    "noise",
    [
        lambda: keras.layers.Dropout(0.3),
        lambda: keras.layers.GaussianDropout(0.3),
        lambda: keras.layers.GaussianNoise(0.3),
        lambda: ScratchDropout(0.3),
        lambda: DropConnectDense(8, 0.3),
    ],
)
def test_mc_predict_switches_on_every_family_member_in_sequential_models(noise):
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8), noise(), keras.layers.Dense(2)]
    )
    x = RNG.normal(size=(10, 5)).astype("float32")
    mean, std = mc_predict(model, x, 8, batch_size=4)
    assert mean.shape == std.shape == (10, 2)
    assert (std > 0).all()


def test_mc_predict_switches_on_drop_path_in_a_residual_model():
    # DropPath draws once per sample: with 50 passes every sample's output varies
    # (all 50 passes alike has probability 0.7**50 + 0.3**50 < 1e-7)
    inputs = keras.Input((5,))
    branch = DropPath(0.3)(keras.layers.Dense(5)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Add()([inputs, branch])))
    x = RNG.normal(size=(10, 5)).astype("float32")
    mean, std = mc_predict(model, x, 50, seed=0)
    assert mean.shape == std.shape == (10, 2)
    assert (std > 0).all()
    np.testing.assert_array_equal(as_np(model(x)), as_np(model(x)))  # inference again


def test_mc_predict_reaches_into_nested_models():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), ScratchDropout(0.5)])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    _, std = mc_predict(model, RNG.normal(size=(6, 4)).astype("float32"), 6)
    assert (std > 0).all()


def test_mc_predict_handles_a_layer_shared_by_outer_and_nested_models():
    shared = keras.layers.Dropout(0.5)
    inner = keras.Sequential([keras.Input((4,)), shared])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(shared(inner(inputs))))
    _, std = mc_predict(model, RNG.normal(size=(6, 4)).astype("float32"), 4, seed=0)
    assert (std > 0).all()
    assert "call" not in vars(shared)


@pytest.mark.parametrize(
    ("n_samples", "error"), [(0, ValueError), (-3, ValueError), (2.5, TypeError)]
)
def test_mc_predict_rejects_bad_n_samples(n_samples, error):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5)])
    with pytest.raises(error, match="n_samples"):
        mc_predict(model, np.ones((3, 2), "float32"), n_samples)
    with pytest.raises(ValueError, match="seed"):
        mc_predict(model, np.ones((3, 2), "float32"), 2, seed=-1)


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
