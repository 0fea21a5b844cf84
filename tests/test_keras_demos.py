"""keras_demos: test-time scaling of Dropout layers (lecture 3, section 6)."""

import keras
import numpy as np
import pytest

from dropoutcourse import keras_demos


def _net(rate: float = 0.2, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def _x(n: int = 20) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 6)).astype("float32")


def test_factor_one_is_the_trained_model_in_inference():
    net = _net()
    copy = keras_demos.scale_dropout_at_test(net, lambda rate: 1.0)
    np.testing.assert_allclose(copy(_x()).numpy(), net(_x()).numpy(), atol=1e-6)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in copy.layers)


def test_factor_scales_the_hidden_layer_by_a_function_of_the_rate():
    net = _net(rate=0.2)
    copy = keras_demos.scale_dropout_at_test(net, lambda rate: 1.0 - rate)
    hidden = net.layers[0](_x()).numpy()
    kernel, bias = net.layers[-1].get_weights()
    expected = keras.activations.softmax(0.8 * hidden @ kernel + bias).numpy()
    np.testing.assert_allclose(copy(_x()).numpy(), expected, atol=1e-5)
    # the copy drops nothing, even in training mode
    np.testing.assert_allclose(copy(_x(), training=True).numpy(), expected, atol=1e-5)


def test_rules_are_told_apart_unless_rate_is_one_half():
    rules = keras_demos.TEST_SCALINGS.values()
    assert len({rule(0.2) for rule in rules}) == 3
    assert len({rule(0.5) for rule in rules}) == 2


def test_evaluate_test_scalings_rows_and_keras_agreement():
    net = _net(rate=0.5)
    y = np.random.default_rng(2).integers(0, 3, 20)
    rows = keras_demos.evaluate_test_scalings({7: net}, _x(), y)
    assert [r["test-time scaling"] for r in rows] == list(keras_demos.TEST_SCALINGS)
    assert {r["seed"] for r in rows} == {7}
    net.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras_says = net.evaluate(_x(), y, verbose=0, return_dict=True)
    assert rows[0]["loss"] == pytest.approx(keras_says["loss"], abs=1e-5)
    assert rows[0]["accuracy"] == pytest.approx(keras_says["accuracy"], abs=1e-6)
    # shrinking the hidden layer changes the prediction: the rule "× rate" is not "none"
    assert rows[2]["loss"] != pytest.approx(rows[0]["loss"], abs=1e-4)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="model"):
        keras_demos.scale_dropout_at_test("not a model", lambda rate: 1.0)
    with pytest.raises(TypeError, match="factor"):
        keras_demos.scale_dropout_at_test(_net(), 0.5)
    with pytest.raises(ValueError, match="models"):
        keras_demos.evaluate_test_scalings({}, _x(), np.zeros(20, int))


def test_digits_mlp_is_the_notebook_network():
    net = keras_demos.digits_mlp(64, 10, rate=0.3)
    drops = [layer for layer in net.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in drops] == [0.3, 0.3]
    assert [layer.units for layer in net.layers if isinstance(layer, keras.layers.Dense)] == [
        128,
        128,
        10,
    ]
    assert isinstance(net.optimizer, keras.optimizers.SGD)
    assert net.optimizer.momentum == pytest.approx(0.9)
    with pytest.raises(ValueError, match="rate"):
        keras_demos.digits_mlp(64, 10, rate=1.5)
