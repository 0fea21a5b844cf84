"""Every layer family the lectures use trains under fit_replicas, and what it learned is real.

For each small model: two replicas train for two epochs; then each trained replica, rebuilt as
a plain Keras model, is evaluated by Keras itself. Its loss and accuracy must equal the
validation numbers fit_replicas logged (same weights, same inference-mode computation), and the
weights must have moved (training happened).
"""

import keras
import numpy as np
import pytest

from dropoutcourse.layers import DropBlock2D, DropConnectDense, DropPath, ScratchDropout
from dropoutcourse.replica_fit import fit_replica_models, initial
from dropoutcourse.replica_fit.stack import _uncompiled

L = keras.layers
RNG = np.random.default_rng(1)


def _compiled(inputs, outputs):
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def dense_family():
    x = keras.Input((12,))
    h = L.GaussianNoise(0.1)(x)
    h = L.Dense(16, activation="relu")(h)
    h = L.GaussianDropout(0.3)(h)
    h = L.BatchNormalization()(h)
    h = L.Dense(16, activation="selu")(h)
    h = L.AlphaDropout(0.2)(h)
    h = ScratchDropout(0.3)(h)
    h = DropConnectDense(16, 0.3, activation="relu")(h)
    return _compiled(x, L.Dense(3, activation="softmax")(h))


def conv1d_family():
    x = keras.Input((12, 1))
    h = L.Conv1D(6, 3, activation="relu", padding="same")(x)
    h = L.SpatialDropout1D(0.3)(h)
    h = L.MaxPooling1D()(h)
    h = L.Flatten()(h)
    return _compiled(x, L.Dense(3, activation="softmax")(L.Dropout(0.3)(h)))


def conv2d_family():
    x = keras.Input((6, 6, 1))
    h = L.Conv2D(6, 3, activation="relu", padding="same")(x)
    h = L.BatchNormalization()(h)
    h = L.SpatialDropout2D(0.3)(h)
    h = DropBlock2D(0.2, block_size=2)(h)
    h = L.AveragePooling2D(2)(h)
    h = L.GlobalMaxPooling2D()(h)
    return _compiled(x, L.Dense(3, activation="softmax")(h))


def recurrent_family():
    x = keras.Input((12, 1))
    h = L.LSTM(8, dropout=0.2, recurrent_dropout=0.2, return_sequences=True)(x)
    h = L.GRU(8, dropout=0.2, recurrent_dropout=0.2)(h)
    return _compiled(x, L.Dense(3, activation="softmax")(h))


def residual_attention_family():
    x = keras.Input((12, 1))
    h = L.Dense(8)(x)
    a = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.2)(h, h)
    h = L.LayerNormalization()(L.Add()([h, DropPath(0.3)(L.Dropout(0.1)(a))]))
    h = L.GlobalAveragePooling1D()(h)
    return _compiled(x, L.Dense(3, activation="softmax")(h))


def embedding_family():
    x = keras.Input((12,), dtype="int32")
    h = L.Embedding(5, 4)(x)
    h = L.SimpleRNN(6, dropout=0.2)(h)
    return _compiled(x, L.Dense(3, activation="softmax")(h))


def _data(build):
    y = RNG.integers(0, 3, 64)
    if build is embedding_family:
        return RNG.integers(0, 5, (64, 12)).astype("int32"), y
    shape = {conv2d_family: (64, 6, 6, 1), dense_family: (64, 12)}.get(build, (64, 12, 1))
    return RNG.normal(size=shape).astype("float32"), y


FAMILIES = [
    dense_family,
    conv1d_family,
    conv2d_family,
    recurrent_family,
    residual_attention_family,
    embedding_family,
]


@pytest.mark.slow
@pytest.mark.parametrize("build", FAMILIES)
def test_trains_and_logs_what_keras_measures(build):
    x, y = _data(build)
    template = build()
    fitted = fit_replica_models(template, x, y, seeds=[0, 1], epochs=2, batch_size=16,
                                validation_data=(x, y), verbose=False)  # fmt: skip
    last = fitted.history[fitted.history.epoch == 2].set_index("seed")
    for seed, trained in fitted.models().items():
        scores = trained.evaluate(x, y, verbose=0, return_dict=True)
        assert scores["loss"] == pytest.approx(last.loc[seed, "val_loss"], rel=1e-3, abs=1e-4)
        assert scores["accuracy"] == pytest.approx(last.loc[seed, "val_accuracy"], abs=1e-6)
        keras.utils.set_random_seed(seed)
        start = build().get_weights()
        moved = [not np.allclose(a, b) for a, b in zip(start, trained.get_weights(), strict=True)]
        assert any(moved)


#: families whose code constructs every layer before the next one is applied: a seeded build
#: then draws its seeds in the graph's order, the order in which a clone draws them (in
#: ``Dense(3)(Dropout(0.3)(h))`` Python constructs the Dense first)
BUILT_IN_GRAPH_ORDER = [dense_family, conv2d_family, recurrent_family, embedding_family]


def _assert_same_start(group, r, model):
    for stacked, own in zip(group.trainable, model.trainable_variables, strict=True):
        np.testing.assert_array_equal(np.asarray(stacked.value[r]), np.asarray(own))
    for stacked, own in zip(group.non_trainable, model.non_trainable_variables, strict=True):
        np.testing.assert_array_equal(np.asarray(stacked.value[r]), np.asarray(own))


@pytest.mark.parametrize("build", FAMILIES)
def test_every_replica_starts_from_the_weights_of_a_seeded_clone(build):
    """The stacked initial values (read from the initializers, no variable built) are exactly
    those of ``set_random_seed(seed)`` and ``clone_model``: weights, moving statistics and the
    dropout layers' seed-generator states; and, where the code builds the layers in the
    order it applies them, those of a seeded build (as in a loop of ``fit``)."""
    from dropoutcourse.replica_fit.stack import group_replicas

    model = build()
    (group,) = group_replicas([model], [3, 11])
    for r, seed in enumerate([3, 11]):
        keras.utils.set_random_seed(seed)
        _assert_same_start(group, r, keras.models.clone_model(model))
        if build in BUILT_IN_GRAPH_ORDER:
            keras.utils.set_random_seed(seed)
            _assert_same_start(group, r, build())


# --------------------------------------------------------------------------- initial values
# One numbered clone gives every seed's values (``replica_fit/initial.py``): the way taken for
# every family above, and an initializer with its own randomness falls back to seeded clones.
INITIAL_SEEDS = [3, 11, 2**31 + 5]


def _seeded_clones(model, seeds):
    return [initial.seeded_initial_values(_uncompiled(model), s) for s in seeds]


@pytest.mark.parametrize("build", FAMILIES)
def test_one_numbered_clone_serves_every_seed(build, monkeypatch):
    bare = _uncompiled(build())
    expected = _seeded_clones(bare, INITIAL_SEEDS)
    calls = []
    real = initial.seeded_initial_values
    monkeypatch.setattr(
        initial, "seeded_initial_values", lambda b, s: calls.append(s) or real(b, s)
    )
    got = initial.initial_values(bare, INITIAL_SEEDS)
    assert calls == [INITIAL_SEEDS[0]]  # one seeded clone, to check the first seed: no fallback
    assert all(initial._same(a, b) for a, b in zip(got, expected, strict=True))


@keras.saving.register_keras_serializable(package="dropoutcourse_tests")
class GlobalNumpyInit(keras.initializers.Initializer):
    """An initializer that ignores Keras' seeds and reads NumPy's global state instead."""

    def __call__(self, shape, dtype=None):
        return np.random.standard_normal(shape).astype("float32")  # noqa: NPY002


def test_an_initializer_with_its_own_randomness_falls_back_to_seeded_clones():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, kernel_initializer=GlobalNumpyInit())]
    )
    bare = _uncompiled(model)
    got = initial.initial_values(bare, INITIAL_SEEDS)
    expected = _seeded_clones(bare, INITIAL_SEEDS)
    assert all(initial._same(a, b) for a, b in zip(got, expected, strict=True))
    assert not initial._same(got[0], got[1])  # and the seeds still differ
