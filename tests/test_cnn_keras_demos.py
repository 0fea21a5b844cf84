"""cnn_keras_demos: the DropBlock schedule really changes the compiled step; BN variance ratio."""

import dropoutcourse  # noqa: F401  (first: keeps TensorFlow quiet)

# isort: split

import keras
import numpy as np
import pytest

from dropoutcourse.cnn_keras_demos import DropBlockSchedule, bn_variance_ratio, scheduled_rate
from dropoutcourse.layers import DropBlock2D


def test_scheduled_rate_is_a_linear_ramp():
    rates = [scheduled_rate(e, 0.2, 4) for e in range(7)]
    np.testing.assert_allclose(rates, [0.0, 0.05, 0.1, 0.15, 0.2, 0.2, 0.2])


@pytest.mark.parametrize(
    "args, name",
    [((-1, 0.2, 4), "epoch"), ((0, 1.5, 4), "final_rate"), ((0, 0.2, 0), "ramp_epochs")],
)
def test_scheduled_rate_names_the_bad_argument(args, name):
    with pytest.raises((ValueError, TypeError), match=name):
        scheduled_rate(*args)


def _frozen_dropblock_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            DropBlock2D(0.0, block_size=3, seed=1, name="drop"),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    # learning rate 0: the weights never move, so only the dropping changes the training loss
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    return model


def test_schedule_changes_the_rate_used_by_fit():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(1.0, 1.0, size=(64, 6, 6, 2)).astype("float32")
    y = np.zeros((64, 1), "float32")
    model = _frozen_dropblock_model()
    clean = model.evaluate(x, y, verbose=0, batch_size=64)
    history = model.fit(
        x, y, epochs=3, batch_size=64, verbose=0, callbacks=[DropBlockSchedule(0.5, ramp_epochs=2)]
    )
    assert history.history["dropblock_rate"] == [0.0, 0.25, 0.5]
    assert model.get_layer("drop").rate == 0.5
    losses = history.history["loss"]
    assert losses[0] == pytest.approx(clean, rel=1e-5)  # rate 0: training = inference
    assert abs(losses[2] - clean) > 1e-3 * abs(clean)  # rate 0.5 reached the compiled step


def test_schedule_needs_a_dropblock_layer():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 3), "float32")
    with pytest.raises(ValueError, match="DropBlock2D"):
        model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[DropBlockSchedule(0.2, 2)])


def _bn_model(rate: float) -> keras.Model:
    layers = [keras.Input((32,))]
    if rate:
        layers.append(keras.layers.Dropout(rate, seed=0))
    layers += [keras.layers.BatchNormalization(momentum=0.5, name="bn"), keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    return model


@pytest.mark.parametrize("rate, low, high", [(0.0, 0.9, 1.1), (0.5, 0.25, 0.45)])
def test_bn_variance_ratio_shows_the_shift(rate, low, high):
    # inputs N(1, 1): dropout 0.5 in front makes the training variance 3, so the ratio is 1/3
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(1).normal(1.0, 1.0, size=(2048, 32)).astype("float32")
    model = _bn_model(rate)
    model.fit(x, np.zeros((2048, 1), "float32"), epochs=2, batch_size=256, verbose=0)
    assert low < bn_variance_ratio(model, x, "bn") < high


def test_bn_variance_ratio_names_the_bad_layer():
    model = _bn_model(0.0)
    with pytest.raises(ValueError, match="bn_name"):
        bn_variance_ratio(model, np.zeros((2, 32), "float32"), "nope")
    dense = model.layers[-1].name
    with pytest.raises(ValueError, match="bn_name"):
        bn_variance_ratio(model, np.zeros((2, 32), "float32"), dense)
