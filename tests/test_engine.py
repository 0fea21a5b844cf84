"""Tests of dropoutcourse.engine: agreement with Keras, replica independence, semantics, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dropoutcourse import data
from dropoutcourse.engine import ReplicaConfig, TrainResult, train_replicas

SEEDS = range(5)


@pytest.fixture(scope="module")
def digits() -> data.Dataset:
    return data.load_digits(train_size=300, seed=0)


@pytest.fixture(scope="module")
def small(digits) -> TrainResult:
    """Four replicas, a few epochs: shared by the cheap tests below."""
    configs = [
        ReplicaConfig(seed=0, label="plain"),
        ReplicaConfig(hidden_rate=0.5, seed=0, label="dropout"),
        ReplicaConfig(hidden_rate=0.5, input_rate=0.2, gaussian=True, seed=1, label="gauss"),
        ReplicaConfig(max_norm=1.0, l2=1e-3, train_size=100, seed=2, label="max-norm"),
    ]
    return train_replicas(
        digits, configs, hidden=(32, 32), epochs=4, learning_rate=0.05, verbose=False
    )


# --------------------------------------------------------------------------- Keras agreement


def _keras_final_test_acc(d: data.Dataset, seed: int, rate: float, epochs: int) -> float:
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((d.n_features,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(d.n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(d.x_train, d.y_train, epochs=epochs, batch_size=32, shuffle=True, verbose=0)
    return float(model.evaluate(d.x_test, d.y_test, verbose=0)[1])


@pytest.mark.slow
def test_agrees_with_keras_fit_statistically(digits):
    """Same architecture, optimizer, epochs and batch size: the final test accuracies of
    5 engine replicas and 5 Keras runs must agree within their sampling noise."""
    rate, epochs = 0.5, 20
    keras_acc = np.array([_keras_final_test_acc(digits, s, rate, epochs) for s in SEEDS])
    configs = [ReplicaConfig(hidden_rate=rate, seed=s) for s in SEEDS]
    result = train_replicas(digits, configs, hidden=(64,), epochs=epochs, verbose=False)
    engine_acc = result.final()["test_acc"].to_numpy()
    pooled_se = np.sqrt(keras_acc.var(ddof=1) / 5 + engine_acc.var(ddof=1) / 5)
    diff = abs(engine_acc.mean() - keras_acc.mean())
    # 2.5 standard errors + 0.5 percentage point for the discreteness of accuracy
    assert diff < 2.5 * pooled_se + 0.005, (engine_acc, keras_acc)
    assert 0.85 < engine_acc.mean() < 1.0


def test_forward_pass_matches_keras_with_the_same_weights(small, digits):
    import keras

    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    proba = small.predict_proba(digits.x_test)
    for r in range(len(small.configs)):
        model.set_weights(small.replica_weights(r))
        expected = model.predict(digits.x_test, verbose=0)
        np.testing.assert_allclose(proba[r], expected, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_full_batch_updates_match_keras_exactly(digits, optimizer):
    """Two full-batch steps (so shuffling cannot matter) from the same initial weights,
    with L2 and max-norm: the engine's update rules are Keras' update rules."""
    import keras

    from dropoutcourse.engine import _ReplicaMLP

    config = ReplicaConfig(l2=1e-3, max_norm=1.2, seed=5)
    lr = 0.05 if optimizer == "sgd" else 0.01
    kwargs = dict(hidden=(16,), epochs=2, batch_size=300, optimizer=optimizer, learning_rate=lr)
    result = train_replicas(digits, [config], verbose=False, **kwargs)
    initial = _ReplicaMLP([config], [64, 16, 10])  # the engine's initial weights for seed 5
    reg = keras.regularizers.L2(1e-3)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(
                16,
                activation="relu",
                kernel_regularizer=reg,
                kernel_constraint=keras.constraints.MaxNorm(1.2),
            ),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=reg),
        ]
    )
    # Keras order [W1, b1, W2, b2]; the engine stores (R, in, out) kernels, (R, 1, out) biases
    model.set_weights(
        [
            w
            for k, b in zip(initial.kernels, initial.biases, strict=True)
            for w in (k.numpy()[0], b.numpy()[0, 0])
        ]
    )
    opt = (
        keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
        if optimizer == "sgd"
        else keras.optimizers.Adam(learning_rate=lr)
    )
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    model.fit(digits.x_train, digits.y_train, epochs=2, batch_size=300, shuffle=False, verbose=0)
    for ours, theirs in zip(result.replica_weights(0), model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-5)


# --------------------------------------------------------------------------- semantics


def test_history_schema(small):
    h = small.history
    assert list(h.columns) == [
        "replica",
        "label",
        "seed",
        "hidden_rate",
        "input_rate",
        "l2",
        "max_norm",
        "gaussian",
        "train_size",
        "epoch",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
    ]
    assert len(h) == 4 * 4
    assert sorted(h["epoch"].unique()) == [1, 2, 3, 4]
    assert h.loc[h.replica == 3, "train_size"].unique().tolist() == [100]
    assert h.loc[h.replica == 0, "train_size"].unique().tolist() == [300]
    assert h["label"].unique().tolist() == ["plain", "dropout", "gauss", "max-norm"]
    assert h[["train_acc", "test_acc"]].apply(lambda c: c.between(0, 1).all()).all()
    assert repr(small).startswith("TrainResult(4 replicas, 4 epochs")  # no arrays dumped
    final = small.final()
    assert len(final) == 4 and (final["epoch"] == 4).all()
    assert final["test_acc"].min() > 0.5  # 4 epochs are enough to learn something


def test_replicas_are_independent(digits):
    """A replica's history must not depend on which other replicas train alongside it —
    here the companion even has more training samples, so A skips some steps."""
    a = ReplicaConfig(hidden_rate=0.3, input_rate=0.1, train_size=100, seed=3)
    b = ReplicaConfig(hidden_rate=0.6, max_norm=1.0, seed=9)
    kwargs = dict(hidden=(32,), epochs=3, verbose=False)
    alone = train_replicas(digits, [a], **kwargs).history
    together = train_replicas(digits, [b, a], **kwargs).history
    together = together[together.replica == 1]
    cols = ["train_loss", "train_acc", "test_loss", "test_acc"]
    np.testing.assert_allclose(together[cols].to_numpy(), alone[cols].to_numpy(), atol=1e-4)


def test_reproducible_for_the_same_configs(digits):
    configs = [ReplicaConfig(hidden_rate=0.5, seed=s) for s in (0, 1)]
    first = train_replicas(digits, configs, hidden=(16,), epochs=2, verbose=False)
    second = train_replicas(digits, configs, hidden=(16,), epochs=2, verbose=False)
    pd.testing.assert_frame_equal(first.history, second.history, rtol=1e-6)
    # different seeds give different runs
    h = first.history
    assert not np.allclose(h[h.replica == 0].test_loss, h[h.replica == 1].test_loss)


def test_rate_zero_has_no_train_inference_gap(small, digits):
    """With rate 0 the training-mode pass (masks drawn) equals the inference pass."""
    x = digits.x_test[:50]
    deterministic = small.predict_proba(x)
    stochastic = small.predict_proba(x, mc_samples=1, seed=4)
    np.testing.assert_array_equal(stochastic[0], deterministic[0])  # rate 0: identical
    np.testing.assert_array_equal(stochastic[3], deterministic[3])
    assert not np.allclose(stochastic[1], deterministic[1])  # rate 0.5: a different network
    assert not np.allclose(stochastic[2], deterministic[2])  # Gaussian noise too


def test_predict_proba_shapes_and_mc_average(small, digits):
    x = digits.x_test[:40]
    p = small.predict_proba(x)
    assert p.shape == (4, 40, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-5)
    mc = small.predict_proba(x, mc_samples=30, seed=1)
    np.testing.assert_array_equal(mc, small.predict_proba(x, mc_samples=30, seed=1))
    np.testing.assert_allclose(mc.sum(axis=-1), 1.0, atol=1e-5)
    # the MC average mostly agrees with the weight-scaled net on the predicted class
    agree = (mc[1].argmax(-1) == p[1].argmax(-1)).mean()
    assert agree > 0.8


def test_dropout_slows_down_fitting_the_training_set(digits):
    configs = [ReplicaConfig(hidden_rate=r, seed=s) for r in (0.0, 0.5) for s in (0, 1)]
    final = train_replicas(digits, configs, hidden=(64,), epochs=8, verbose=False).final()
    loss = final.groupby("hidden_rate")["train_loss"].mean()
    assert loss[0.5] > loss[0.0]


def test_max_norm_is_respected(small):
    kernel = small.weights[0][0]  # (R, 64, 32): incoming weights of the first hidden layer
    norms = np.linalg.norm(kernel, axis=1)  # (R, 32): one norm per hidden unit
    assert norms[3].max() <= 1.0 + 1e-5  # replica 3 has max_norm=1.0
    assert norms[0].max() > 1.0  # the unconstrained replica is not capped
    hidden2 = np.linalg.norm(small.weights[1][0], axis=1)
    assert hidden2[3].max() <= 1.0 + 1e-5


def test_l2_shrinks_weights(digits):
    configs = [ReplicaConfig(seed=0), ReplicaConfig(l2=1e-2, seed=0)]
    result = train_replicas(digits, configs, hidden=(32,), epochs=10, verbose=False)
    sq = [sum(float((w[r] ** 2).sum()) for w, _ in result.weights) for r in range(2)]
    assert sq[1] < 0.8 * sq[0]


def test_adam_and_images_and_regression(digits):
    images = data.load_digits_images(train_size=300)  # (N, 8, 8, 1) is flattened
    adam = train_replicas(
        images,
        [ReplicaConfig(hidden_rate=0.2)],
        hidden=(32,),
        epochs=5,
        optimizer="adam",
        learning_rate=0.01,
        verbose=False,
    )
    assert adam.final()["test_acc"].iloc[0] > 0.7
    poly = data.make_polynomial(n_train=30)
    reg = train_replicas(
        poly, [ReplicaConfig(seed=0)], hidden=(32, 32), epochs=30, learning_rate=0.01, verbose=False
    )
    h = reg.history
    assert h["train_loss"].iloc[-1] < h["train_loss"].iloc[0]
    assert h["train_acc"].isna().all()
    assert reg.predict_proba(poly.x_test).shape == (1, 200, 1)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hidden_rate": 1.0}, ValueError, "hidden_rate"),
        ({"hidden_rate": -0.1}, ValueError, "hidden_rate"),
        ({"input_rate": True}, TypeError, "input_rate"),
        ({"l2": -1.0}, ValueError, "l2"),
        ({"max_norm": 0.0}, ValueError, "max_norm"),
        ({"train_size": 0}, ValueError, "train_size"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 2**32}, ValueError, r"seed must be an integer in \[0, 2\*\*32\)"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"l2": "0.1"}, TypeError, "l2"),
        ({"l2": float("inf")}, ValueError, "l2.*finite"),
        ({"max_norm": True}, TypeError, "max_norm"),
        ({"gaussian": "yes"}, TypeError, "gaussian"),
    ],
)
def test_bad_config(kwargs, error, match):
    with pytest.raises(error, match=match):
        ReplicaConfig(**kwargs)


@pytest.mark.parametrize(
    ("configs", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, "configs"),
        (["not a config"], {}, TypeError, "configs"),
        ([ReplicaConfig()], {"epochs": -1}, ValueError, "epochs"),
        ([ReplicaConfig()], {"epochs": 0}, ValueError, "epochs"),
        ([ReplicaConfig()], {"batch_size": 0}, ValueError, "batch_size"),
        ([ReplicaConfig()], {"optimizer": "rmsprop"}, ValueError, "optimizer"),
        ([ReplicaConfig()], {"learning_rate": 0.0}, ValueError, "learning_rate"),
        ([ReplicaConfig()], {"momentum": 1.0}, ValueError, "momentum"),
        ([ReplicaConfig()], {"learning_rate": "0.1"}, TypeError, "learning_rate"),
        ([ReplicaConfig(train_size=301)], {}, ValueError, r"train_size must be in \[1, 300\]"),
        ([ReplicaConfig()], {"train_rows": [[0, 1], [2]]}, ValueError, "one array of rows"),
        ([ReplicaConfig()], {"train_rows": [[0, 0]]}, ValueError, r"train_rows\[0\].*distinct"),
        ([ReplicaConfig()], {"train_rows": [[300]]}, ValueError, r"train_rows\[0\].*\[0, 300\)"),
        ([ReplicaConfig()], {"train_rows": [[]]}, ValueError, r"train_rows\[0\].*non-empty"),
        ([ReplicaConfig()], {"train_rows": [[0.5]]}, ValueError, r"train_rows\[0\].*integer"),
        (
            [ReplicaConfig(train_size=3)],
            {"train_rows": [[0, 1]]},
            ValueError,
            r"train_size=3 disagrees",
        ),
    ],
)
def test_bad_arguments(digits, configs, kwargs, error, match):
    with pytest.raises(error, match=match):
        train_replicas(digits, configs, verbose=False, **kwargs)


def test_own_rows_train_exactly_like_a_dataset_of_those_rows(digits):
    """Replica r on ``train_rows[r]`` sees what it would see on a dataset of just those rows."""
    rows = [np.random.default_rng(s).choice(300, size=60, replace=False) for s in (0, 1)]
    configs = [ReplicaConfig(hidden_rate=0.3, seed=s) for s in (0, 1)]
    fit = dict(hidden=(16,), epochs=3, learning_rate=0.05, verbose=False)
    both = train_replicas(digits, configs, train_rows=rows, **fit).history
    for r, (own, config) in enumerate(zip(rows, configs, strict=True)):
        alone = data.Dataset(
            "subset", digits.x_train[own], digits.y_train[own], digits.x_test, digits.y_test, 10
        )
        ref = train_replicas(alone, [config], **fit).history
        mine = both[both.replica == r].reset_index(drop=True)
        cols = ["train_loss", "train_acc", "test_loss", "test_acc"]
        np.testing.assert_allclose(mine[cols], ref[cols], rtol=1e-5, atol=1e-6)
        assert mine["train_size"].unique().tolist() == [60]


def test_bad_predict_arguments(small, digits):
    with pytest.raises(ValueError, match="mc_samples"):
        small.predict_proba(digits.x_test, mc_samples=-1)
    with pytest.raises(TypeError, match="mc_samples"):
        small.predict_proba(digits.x_test, mc_samples=2.5)
    with pytest.raises(ValueError, match="features"):
        small.predict_proba(digits.x_test[:, :10])


def test_divergence_is_reported(digits):
    with pytest.warns(RuntimeWarning, match="diverged"):
        train_replicas(
            digits, [ReplicaConfig()], hidden=(8,), epochs=2, learning_rate=1e4, verbose=False
        )


def test_eval_every_keeps_training_identical_and_thins_the_history(digits):
    """Evaluating less often must not change training: same final numbers, fewer rows."""
    configs = [ReplicaConfig(hidden_rate=0.5, seed=3)]
    kwargs = dict(hidden=(16,), epochs=7, verbose=False)
    every = train_replicas(digits, configs, **kwargs).history
    sparse = train_replicas(digits, configs, eval_every=3, **kwargs).history
    assert sparse["epoch"].tolist() == [3, 6, 7]  # every third epoch, and always the last
    merged = every.merge(sparse, on="epoch", suffixes=("", "_sparse"))
    np.testing.assert_allclose(merged["test_loss"], merged["test_loss_sparse"], rtol=1e-5)
    with pytest.raises(ValueError, match="eval_every"):
        train_replicas(digits, configs, eval_every=0, **kwargs)
