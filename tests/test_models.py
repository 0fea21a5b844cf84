"""Tests of the model builders: structure (layer names, types, counts), training, errors."""

import keras
import numpy as np
import pytest

import dropoutcourse
from dropoutcourse import models
from dropoutcourse.layers import DROPOUT_LAYER_TYPES, DropBlock2D, ScratchDropout

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 10)).astype("float32")
Y = RNG.integers(0, 3, size=64)


def noise_layers(model):
    return [layer for layer in model.layers if isinstance(layer, DROPOUT_LAYER_TYPES)]


# ----------------------------------------------------------------------------- mlp
@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("bernoulli", keras.layers.Dropout),
        ("gaussian", keras.layers.GaussianDropout),
        ("scratch", ScratchDropout),
        ("alpha", keras.layers.AlphaDropout),
    ],
)
def test_mlp_every_kind_builds_and_trains(kind, cls):
    model = models.mlp(10, 3, hidden=(16, 16), hidden_rate=0.3, input_rate=0.2, kind=kind)
    drops = noise_layers(model)
    assert len(drops) == 3 and all(type(layer) is cls for layer in drops)
    assert [layer.rate for layer in drops] == pytest.approx([0.2, 0.3, 0.3])
    history = model.fit(X, Y, epochs=1, batch_size=16, verbose=0).history
    assert np.isfinite(history["loss"][0]) and "accuracy" in history
    assert model.predict(X, verbose=0).shape == (64, 3)


def test_mlp_alpha_defaults_to_a_self_normalising_network():
    model = models.mlp(10, 3, hidden=(8,), hidden_rate=0.1, kind="alpha")
    assert model.get_layer("act1").activation is keras.activations.selu
    assert isinstance(model.get_layer("hidden1").kernel_initializer, keras.initializers.LecunNormal)
    assert models.mlp(10, 3, hidden=(8,)).get_layer("act1").activation is keras.activations.relu


@pytest.mark.parametrize(
    ("input_rate", "hidden_rate", "batch_norm", "names"),
    [
        (0.0, 0.0, False, ["input", "hidden1", "act1", "hidden2", "act2", "output"]),
        (
            0.2,
            0.5,
            False,
            ["input", "input_dropout", "hidden1", "act1", "dropout1"]
            + ["hidden2", "act2", "dropout2", "output"],
        ),
        (
            0.0,
            0.5,
            True,
            ["input", "hidden1", "bn1", "act1", "dropout1"]
            + ["hidden2", "bn2", "act2", "dropout2", "output"],
        ),
    ],
)
def test_mlp_layer_names_follow_the_options(input_rate, hidden_rate, batch_norm, names):
    model = models.mlp(
        10, 3, hidden=(8, 8), input_rate=input_rate, hidden_rate=hidden_rate, batch_norm=batch_norm
    )
    assert [layer.name for layer in model.layers] == names
    n_bn = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert n_bn == (2 if batch_norm else 0)


@pytest.mark.parametrize(
    ("n_classes", "activation", "loss", "units"),
    [
        (5, "softmax", "sparse_categorical_crossentropy", 5),
        (1, "sigmoid", "binary_crossentropy", 1),
        (0, "linear", "mse", 1),
    ],
)
def test_mlp_output_head_depends_on_n_classes(n_classes, activation, loss, units):
    model = models.mlp(4, n_classes, hidden=(8,))
    out = model.get_layer("output")
    assert out.units == units
    assert out.activation is keras.activations.get(activation)
    assert model.loss == loss
    y = RNG.normal(size=(16, 1)).astype("float32") if n_classes == 0 else RNG.integers(0, 2, 16)
    assert np.isfinite(model.fit(X[:16, :4], y, epochs=1, verbose=0).history["loss"][0])


def kernel_column_norms(model):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return [np.linalg.norm(keras.ops.convert_to_numpy(d.kernel), axis=0) for d in dense]


def test_mlp_max_norm_is_respected_after_large_updates():
    c = 0.5
    kwargs = dict(hidden=(32, 32), hidden_rate=0.5, learning_rate=2.0, momentum=0.9)
    constrained = models.mlp(10, 3, max_norm=c, **kwargs)
    free = models.mlp(10, 3, **kwargs)
    for model in (constrained, free):
        model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    norms = kernel_column_norms(constrained)[:-1]  # hidden units only (the paper's rule)
    assert all((n <= c + 1e-5).all() for n in norms)
    assert any(np.isclose(n, c, atol=1e-3).any() for n in norms)  # the constraint did act
    assert max(n.max() for n in kernel_column_norms(free)) > c  # and was needed


def test_mlp_l2_adds_a_penalty_and_seed_makes_it_reproducible():
    model = models.mlp(10, 3, hidden=(8,), l2=1e-3)
    assert isinstance(model.get_layer("hidden1").kernel_regularizer, keras.regularizers.L2)
    model(X[:2])
    assert len(model.losses) == 2  # one penalty per Dense kernel
    a, b = models.mlp(10, 3, hidden=(8,), seed=3), models.mlp(10, 3, hidden=(8,), seed=3)
    c = models.mlp(10, 3, hidden=(8,), seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_mlp_optimizers():
    sgd = models.mlp(10, 3, hidden=(8,), learning_rate=0.1, momentum=0.95).optimizer
    assert isinstance(sgd, keras.optimizers.SGD)
    assert float(sgd.learning_rate) == pytest.approx(0.1) and sgd.momentum == pytest.approx(0.95)
    adam = models.mlp(10, 3, hidden=(8,), optimizer="adam", learning_rate=1e-3).optimizer
    assert isinstance(adam, keras.optimizers.Adam)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(kind="bernouli"), ValueError, "kind must be one of.*bernoulli.*gaussian"),
        (dict(hidden_rate=1.0), ValueError, r"hidden_rate.*\[0, 1\)"),
        (dict(input_rate=-0.2), ValueError, "input_rate"),
        (dict(hidden_rate="0.5"), TypeError, "hidden_rate"),
        (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
        (dict(max_norm=0.0), ValueError, "max_norm"),
        (dict(l2=-1.0), ValueError, "l2"),
        (dict(l2=float("inf")), ValueError, "l2"),
        (dict(momentum=1.0), ValueError, r"momentum must be a real number in \[0, 1\)"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(hidden=(), hidden_rate=0.5), ValueError, "hidden"),
        (dict(hidden=(), max_norm=3.0), ValueError, "hidden"),
        (dict(learning_rate=0.0), ValueError, "learning_rate"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        models.mlp(10, 3, **{"hidden": (8,), **kwargs})


def test_mlp_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_classes"):
        models.mlp(10, -1)
    with pytest.raises(ValueError, match="input_dim"):
        models.mlp(0, 3)


# ----------------------------------------------------------------------------- cnn
@pytest.mark.parametrize(
    ("dropout", "cls", "count"),
    [
        ("none", None, 0),
        ("element", keras.layers.Dropout, 2),
        ("spatial", keras.layers.SpatialDropout2D, 2),
        ("dropblock", DropBlock2D, 2),
        ("head", keras.layers.Dropout, 1),
    ],
)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_cnn_every_dropout_option_runs_on_digits(dropout, cls, count, batch_norm):
    model = models.cnn((8, 8, 1), 10, dropout=dropout, batch_norm=batch_norm)
    drops = noise_layers(model)
    assert len(drops) == count and all(type(layer) is cls for layer in drops)
    if dropout == "head":
        assert drops[0].name == "head_dropout" and drops[0].rate == pytest.approx(0.5)
    n_bn = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert n_bn == (2 if batch_norm else 0)
    x = RNG.normal(size=(4, 8, 8, 1)).astype("float32")
    for training in (False, True):
        out = keras.ops.convert_to_numpy(model(x, training=training))
        assert out.shape == (4, 10)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # softmax


def test_cnn_dropblock_trains_on_photo_patches():
    model = models.cnn((16, 16, 3), 4, filters=(8, 8, 8), dropout="dropblock", rate=0.2)
    x = RNG.uniform(size=(16, 16, 16, 3)).astype("float32")
    history = model.fit(x, RNG.integers(0, 4, 16), epochs=1, batch_size=8, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_cnn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dropout must be one of.*spatial.*dropblock"):
        models.cnn((8, 8, 1), 10, dropout="cutout")
    with pytest.raises(ValueError, match="rate"):
        models.cnn((8, 8, 1), 10, dropout="element", rate=1.5)
    with pytest.raises(ValueError, match="head_rate"):
        models.cnn((8, 8, 1), 10, dropout="head", head_rate=-0.1)
    with pytest.raises(ValueError, match="input_shape"):
        models.cnn((8, 8), 10)


# ----------------------------------------------------------------------------- slide_model
def test_slide_model_matches_the_slide():
    model = models.slide_model()
    types = [type(layer) for layer in model.layers]
    assert types == [
        keras.layers.InputLayer,
        keras.layers.Dense,
        keras.layers.Dropout,
        keras.layers.Dense,
        keras.layers.Dense,
    ]
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [
        10,
        20,
        10,
    ]
    assert model.layers[2].rate == 0.5
    assert model.input_shape == (None, 1024) and model.output_shape == (None, 10)
    assert model.loss == "categorical_crossentropy"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    summary = "\n".join(lines)
    assert "Dropout" in summary and "10,680" in summary


def test_mlp_max_norm_constrains_hidden_kernels_by_unit_and_leaves_the_output_alone():
    model = models.mlp(10, 3, hidden=(8, 4), max_norm=2.0)
    for name in ("hidden1", "hidden2"):
        constraint = model.get_layer(name).kernel_constraint
        # a Dense kernel is (inputs, units): axis 0 is one unit's incoming weight vector
        assert isinstance(constraint, keras.constraints.MaxNorm) and constraint.axis == 0
        kernel = 10.0 * np.ones(model.get_layer(name).kernel.shape, "float32")
        per_unit = np.linalg.norm(keras.ops.convert_to_numpy(constraint(kernel)), axis=0)
        np.testing.assert_allclose(per_unit, 2.0, rtol=1e-5)
    assert model.get_layer("output").kernel_constraint is None


def test_builders_leave_the_global_random_state_alone_and_are_seeded():
    keras.utils.set_random_seed(123)
    expected = keras.ops.convert_to_numpy(keras.random.uniform((4,)))
    keras.utils.set_random_seed(123)
    a = models.mlp(10, 3, hidden=(8,), hidden_rate=0.5, seed=5)
    b = models.cnn((8, 8, 1), 10, dropout="element", seed=5)
    # building did not reseed (or advance) the global stream
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.random.uniform((4,))), expected)
    a2 = models.mlp(10, 3, hidden=(8,), hidden_rate=0.5, seed=5)
    b2 = models.cnn((8, 8, 1), 10, dropout="element", seed=5)
    for m, m2 in ((a, a2), (b, b2)):
        for w, w2 in zip(m.get_weights(), m2.get_weights(), strict=True):
            np.testing.assert_array_equal(w, w2)
    c = models.cnn((8, 8, 1), 10, dropout="element", seed=6)
    assert not np.array_equal(b.get_weights()[0], c.get_weights()[0])
    # the dropout layers carry seeds of their own: the same seed gives the same masks
    ones = np.ones((2, 8), "float32")
    mask = keras.ops.convert_to_numpy(a.get_layer("dropout1")(ones, training=True))
    mask2 = keras.ops.convert_to_numpy(a2.get_layer("dropout1")(ones, training=True))
    np.testing.assert_array_equal(mask, mask2)
    assert a.get_layer("dropout1").seed is not None


def test_mlp_seed_none_leaves_the_draws_to_keras_global_seed_as_a_students_model_does():
    def build(global_seed):
        keras.utils.set_random_seed(global_seed)
        return models.mlp(10, 3, hidden=(8,), hidden_rate=0.5, seed=None)

    a, a2, b = build(1), build(1), build(2)
    for w, w2 in zip(a.get_weights(), a2.get_weights(), strict=True):
        np.testing.assert_array_equal(w, w2)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])
    # fit_replicas: one replica per seed, each from its own initial weights
    fitted = dropoutcourse.fit_replica_models(
        models.mlp(10, 3, hidden=(8,), seed=None),
        np.ones((6, 10), "float32"),
        np.zeros(6, "int64"),
        seeds=[0, 1],
        epochs=1,
        verbose=False,
    )
    first = [net.get_weights()[0].copy() for _, net in fitted.each_replica()]
    assert not np.array_equal(*first)
