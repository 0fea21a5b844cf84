"""Tests of the from-scratch Keras layers and of mc_predict.

The layers are random, so the tests check statistics with tolerances (fraction dropped,
mean preserved, block structure), never exact random values.
"""

import keras
import numpy as np
import pytest

from dropoutcourse.layers import (
    DROPOUT_LAYER_TYPES,
    DropBlock2D,
    DropConnectDense,
    ScratchDropout,
    mc_predict,
)

RNG = np.random.default_rng(0)


def as_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


# ----------------------------------------------------------------------------- ScratchDropout
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
        (lambda: DropBlock2D(1.0, 3), ValueError),
        (lambda: DropBlock2D(0.1, 0), ValueError),
        (lambda: DropConnectDense(4, -0.5), ValueError),
        (lambda: DropConnectDense(0, 0.5), ValueError),
    ],
)
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


def test_rate_error_message_names_argument_and_range():
    with pytest.raises(ValueError, match=r"rate.*\[0, 1\)"):
        ScratchDropout(1.2)


# ----------------------------------------------------------------------------- DropBlock2D
def dropped_fraction_and_blocks(rate, block_size=3, shape=(16, 32, 32, 8), seed=0):
    x = np.ones(shape, dtype="float32")
    out = as_np(DropBlock2D(rate, block_size, seed=seed)(x, training=True))
    return out, out == 0


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_dropblock_drops_about_rate_and_preserves_mean(rate):
    out, dropped = dropped_fraction_and_blocks(rate)
    # overlapping blocks make the real fraction a little smaller than `rate`
    assert abs(dropped.mean() - rate) < 0.03
    assert abs(out.mean() - 1.0) < 1e-4  # rescaled by count / sum(mask)
    kept = np.unique(out[~dropped])
    np.testing.assert_allclose(kept, [1 / (1 - dropped.mean())], rtol=1e-4)


def test_dropblock_zeros_form_whole_blocks():
    bs = 3
    _, dropped = dropped_fraction_and_blocks(0.15, bs)
    # every dropped pixel must lie inside a bs x bs window that is dropped entirely
    windows = np.lib.stride_tricks.sliding_window_view(dropped, (bs, bs), axis=(1, 2))
    full = windows.all(axis=(-2, -1))  # (N, H-bs+1, W-bs+1, C)
    covered = np.zeros_like(dropped)
    for di in range(bs):
        for dj in range(bs):
            covered[:, di : di + full.shape[1], dj : dj + full.shape[2], :] |= full
    np.testing.assert_array_equal(covered, dropped)


def test_dropblock_is_contiguous_unlike_elementwise_dropout():
    def right_neighbour_also_dropped(dropped):
        pairs = dropped[:, :, :-1, :]
        return (pairs & dropped[:, :, 1:, :]).sum() / pairs.sum()

    _, blocks = dropped_fraction_and_blocks(0.2, 3)
    x = np.ones((16, 32, 32, 8), dtype="float32")
    elementwise = as_np(ScratchDropout(0.2, seed=0)(x, training=True)) == 0
    assert right_neighbour_also_dropped(elementwise) < 0.25  # ≈ rate: independent pixels
    assert right_neighbour_also_dropped(blocks) > 0.6  # ≥ 2/3 for 3-wide blocks


def test_dropblock_identity_at_inference_and_small_maps():
    x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    layer = DropBlock2D(0.3, 3, seed=0)
    np.testing.assert_array_equal(as_np(layer(x)), x)
    np.testing.assert_array_equal(as_np(layer(x, training=False)), x)
    # a map smaller than the block: the block shrinks to fit instead of failing
    tiny = np.ones((4, 2, 2, 5), dtype="float32")
    out = as_np(DropBlock2D(0.5, 5, seed=0)(tiny, training=True))
    assert out.shape == tiny.shape and np.isfinite(out).all()


def test_dropblock_needs_4d_input():
    with pytest.raises(ValueError):
        DropBlock2D(0.1, 3)(np.ones((2, 8, 8), "float32"))


# ----------------------------------------------------------------------------- DropConnectDense
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


# ----------------------------------------------------------------------------- mc_predict
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
