"""Tests of DropPath (stochastic depth) and of the linear depth schedule drop_path_rates.

DropPath is random, so the statistical tests allow 5 binomial standard errors (a false
alarm about once in 1.7 million runs) and fix the seeds.
"""

import math

import keras
import numpy as np
import pytest
from keras.src import testing

from dropoutcourse.layers import DropPath, drop_path_rates

RNG = np.random.default_rng(0)


def as_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


class DropPathKerasContractTest(testing.TestCase):
    def _check(self, input_shape):
        # the arguments of Keras' dropout_test.py, for every input rank
        self.run_layer_test(
            DropPath,
            init_kwargs={"rate": 0.2},
            input_shape=input_shape,
            call_kwargs={"training": True},
            expected_output_shape=input_shape,
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=True,
            assert_built_after_instantiation=True,
        )

    def test_drop_path_basics_rank_1(self):
        self._check((4,))  # every element is a sample

    def test_drop_path_basics_rank_2(self):
        self._check((2, 3))

    def test_drop_path_basics_rank_3(self):
        self._check((2, 3, 4))

    def test_drop_path_basics_rank_4(self):
        self._check((2, 5, 5, 3))


def test_drop_path_rank_1_input_treats_every_element_as_a_sample():
    out = as_np(DropPath(0.5, seed=0)(np.ones(4000, "float32"), training=True))
    assert out.shape == (4000,)
    np.testing.assert_array_equal(np.unique(out), [0.0, 2.0])
    assert DropPath(0.5).compute_output_shape((7,)) == (7,)


@pytest.mark.parametrize("shape", [(500, 7), (500, 3, 4), (500, 4, 4, 3)])
def test_drop_path_drops_whole_samples_all_or_nothing(shape):
    rate = 0.3
    x = RNG.uniform(0.5, 1.5, size=shape).astype("float32")
    out = as_np(DropPath(rate, seed=1)(x, training=True))
    ratio = (out / x).reshape(len(x), -1)
    # one draw per sample: every entry of a sample is 0, or every entry is x / (1 - rate)
    dropped = (ratio == 0).all(axis=1)
    kept = np.isclose(ratio, 1 / (1 - rate), rtol=1e-6).all(axis=1)
    assert (dropped | kept).all()
    assert dropped.any() and kept.any()  # positive control: both outcomes occur


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_drop_path_drops_rate_of_the_samples_and_keeps_the_mean(rate):
    n = 20_000
    row = np.array([1.0, -2.0, 3.0], "float32")
    out = as_np(DropPath(rate, seed=2)(np.tile(row, (n, 1)), training=True))
    dropped = (out == 0).all(axis=1).mean()
    # binomial standard error of a fraction of n independent samples
    se_fraction = math.sqrt(rate * (1 - rate) / n)
    assert abs(dropped - rate) < 5 * se_fraction
    # E[keep / (1 - rate)] = 1, Var = rate / (1 - rate): the mean is the input, per feature
    se_mean = np.abs(row) * math.sqrt(rate / (1 - rate) / n)
    assert np.all(np.abs(out.mean(axis=0) - row) < 5 * se_mean)


def test_drop_path_is_identity_at_inference_and_when_rate_is_0():
    x = RNG.normal(size=(16, 5, 3)).astype("float32")
    layer = DropPath(0.5, seed=0)
    np.testing.assert_array_equal(as_np(layer(x)), x)  # training not given
    np.testing.assert_array_equal(as_np(layer(x, training=False)), x)
    np.testing.assert_array_equal(as_np(layer(x, training=None)), x)
    model = keras.Sequential([keras.Input((5, 3)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(as_np(DropPath(0.0, seed=0)(x, training=True)), x)


def test_drop_path_seed_reproduces_the_masks_and_each_call_draws_anew():
    x = np.ones((64, 4), "float32")
    first, again = DropPath(0.5, seed=3), DropPath(0.5, seed=3)
    np.testing.assert_array_equal(as_np(first(x, training=True)), as_np(again(x, training=True)))
    other = as_np(DropPath(0.5, seed=4)(x, training=True))
    assert not np.array_equal(as_np(DropPath(0.5, seed=3)(x, training=True)), other)
    assert not np.array_equal(as_np(first(x, training=True)), as_np(first(x, training=True)))


@pytest.mark.parametrize(
    ("rate", "error"),
    [
        (-0.1, ValueError),
        (1.0, ValueError),
        (1.5, ValueError),
        (float("nan"), ValueError),
        ("0.5", TypeError),
        (True, TypeError),
    ],
)
def test_drop_path_bad_rate_raises_naming_rate(rate, error):
    with pytest.raises(error, match=r"rate"):
        DropPath(rate)


def test_drop_path_rate_error_names_the_range_and_seed_is_checked():
    with pytest.raises(ValueError, match=r"rate.*\[0, 1\)"):
        DropPath(1.2)
    with pytest.raises(ValueError, match="seed"):
        DropPath(0.5, seed=-1)
    with pytest.raises(ValueError):
        DropPath(0.5)(np.float32(1.0))  # a scalar has no sample axis


def test_drop_path_config_round_trip_and_registered_name():
    layer = DropPath(0.3, seed=7, name="stochastic_depth")
    clone = DropPath.from_config(layer.get_config())
    assert (clone.rate, clone.seed, clone.name) == (0.3, 7, "stochastic_depth")
    assert keras.saving.get_registered_name(DropPath) == "dropoutcourse>DropPath"
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(revived, DropPath) and (revived.rate, revived.seed) == (0.3, 7)


def residual_model(rate: float) -> keras.Model:
    """x → x + DropPath(Dense_identity(x)) → sum: 2·Σx at inference."""
    inputs = keras.Input((8,))
    branch = keras.layers.Dense(8, use_bias=False, kernel_initializer="identity")(inputs)
    branch = DropPath(rate, seed=0)(branch)
    h = keras.layers.Add()([inputs, branch])
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(h)
    return keras.Model(inputs, outputs)


def test_drop_path_is_active_inside_fit_of_a_residual_model():
    # x = ones(8): inference gives 8 + 8 = 16 (loss 0). In training a dropped branch gives
    # 8 and a kept one 8 + 8/(1 - 0.5) = 24: an error of exactly ±8 for *every* sample, so
    # the loss is 64 — it would vary if the layer dropped single units instead of the branch.
    model = residual_model(0.5)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    x, y = np.ones((64, 8), "float32"), np.full((64, 1), 16.0, "float32")
    train_loss = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"]
    np.testing.assert_allclose(train_loss, 64.0, rtol=1e-5)
    assert model.evaluate(x, y, verbose=0) < 1e-6  # inference: identity


def test_drop_path_residual_model_learns_with_fit():
    keras.utils.set_random_seed(0)
    model = residual_model(0.2)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    x = RNG.normal(size=(128, 8)).astype("float32")
    y = 3.0 * x.sum(axis=1, keepdims=True)  # reachable: branch kernel 2·I
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before


# ----------------------------------------------------------------------------- drop_path_rates
def test_drop_path_rates_is_huangs_linear_rule():
    assert drop_path_rates(0.5, 4) == pytest.approx([0.125, 0.25, 0.375, 0.5])
    # Huang et al.: survival p_l = 1 - l/L (1 - p_L), p_L = 0.5, L = 54 (110-layer ResNet)
    big_l, p_last = 54, 0.5
    survival = [1 - block / big_l * (1 - p_last) for block in range(1, big_l + 1)]
    rates = drop_path_rates(1 - p_last, big_l)
    np.testing.assert_allclose(rates, 1 - np.array(survival), rtol=1e-12)
    assert np.all(np.diff(rates) > 0) and rates[-1] == pytest.approx(0.5)
    assert drop_path_rates(0.0, 3) == [0.0, 0.0, 0.0]
    assert drop_path_rates(0.3, 1) == [0.3]


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        ((1.0, 4), ValueError, "rate"),
        ((0.2, 0), ValueError, "n_blocks"),
        ((0.2, 2.5), TypeError, "n_blocks"),
        (("0.1", 3), TypeError, "rate"),
    ],
)
def test_drop_path_rates_rejects_bad_arguments(args, error, name):
    with pytest.raises(error, match=name):
        drop_path_rates(*args)
