"""``config_fit.fit_configs``: ReplicaConfig lists trained as Keras models by fit_replica_models.

The scores must be those of each replica's own Keras model, on its own training rows; the
configs of one seed must share their start (the negative control of every claim rests on
it: without dropout, the dropout arm *is* the plain run).
"""

from __future__ import annotations

import numpy as np
import pytest

from dropoutcourse import data, switches
from dropoutcourse.config_fit import config_model, fit_configs
from dropoutcourse.replica_config import ReplicaConfig
from dropoutcourse.replica_fit import fit_replica_models

COLS = ["train_loss", "train_acc", "test_loss", "test_acc"]
FIT = dict(hidden=(16,), epochs=3, learning_rate=0.05)


@pytest.fixture(scope="module")
def digits() -> data.Dataset:
    return data.load_digits(train_size=120, seed=0)


@pytest.fixture(scope="module")
def small(digits):
    configs = [
        ReplicaConfig(seed=0, label="plain"),
        ReplicaConfig(hidden_rate=0.5, seed=0, label="dropout"),
        ReplicaConfig(hidden_rate=0.5, input_rate=0.2, gaussian=True, seed=1, label="gauss"),
        ReplicaConfig(max_norm=1.0, l2=1e-3, train_size=64, seed=2, label="max-norm"),
    ]
    return fit_configs(digits, configs, **FIT)


def test_history_schema(small):
    h = small.history
    assert list(h.columns[:3]) == ["replica", "label", "seed"] and list(h.columns[-4:]) == COLS
    assert len(h) == 4 * 3 and sorted(h["epoch"].unique()) == [1, 2, 3]
    assert h.loc[h.replica == 3, "train_size"].unique().tolist() == [64]
    assert h.loc[h.replica == 0, "train_size"].unique().tolist() == [120]
    assert h["label"].unique().tolist() == ["plain", "dropout", "gauss", "max-norm"]
    assert h[["train_acc", "test_acc"]].apply(lambda c: c.between(0, 1).all()).all()
    assert (small.final()["epoch"] == 3).all() and len(small.final()) == 4


def test_scores_are_those_of_each_replicas_keras_model(digits):
    """A replica's history = its Keras model trained by fit_replica_models, scored in
    inference mode on its own training rows and on the test set."""
    config = ReplicaConfig(hidden_rate=0.3, train_size=64, seed=5)
    mine = fit_configs(digits, [config], **FIT).final().iloc[0]
    model = config_model(config, 64, 10, hidden=(16,), learning_rate=0.05)
    plain = config_model(ReplicaConfig(), 64, 10, hidden=(16,))  # every config's start
    fitted = fit_replica_models(
        model, digits.x_train, digits.y_train, seeds=[5], epochs=3, verbose=False,
        train_rows=[np.arange(64)], shared_start=plain,
    )  # fmt: skip
    for part, x, y in [("train", digits.x_train[:64], digits.y_train[:64]),
                       ("test", digits.x_test, digits.y_test)]:  # fmt: skip
        proba = fitted.predict(x)[5]
        assert mine[f"{part}_acc"] == pytest.approx((proba.argmax(1) == y).mean())
        picked = np.clip(proba[np.arange(len(y)), y], 1e-7, 1)
        assert mine[f"{part}_loss"] == pytest.approx(-np.log(picked).mean(), rel=1e-5)


def test_configs_of_one_seed_share_their_start(digits):
    """Without dropout the dropout config is the plain run, number for number; with it, not."""
    configs = [ReplicaConfig(seed=s, hidden_rate=r) for r in (0.0, 0.5) for s in (0, 1)]
    with switches.without_dropout():
        off = fit_configs(digits, configs, **FIT).final()
    # the same numbers up to float reordering (the rules call 1e-6 exact)
    np.testing.assert_allclose(
        off.loc[2:, COLS].to_numpy(), off.loc[:1, COLS].to_numpy(), atol=1e-6
    )
    on = fit_configs(digits, configs, **FIT).final()
    assert (on.loc[2:, "train_loss"].to_numpy() != on.loc[:1, "train_loss"].to_numpy()).all()
    assert on.loc[0, "test_loss"] != on.loc[1, "test_loss"]  # the seeds differ


def test_own_rows_train_exactly_like_a_dataset_of_those_rows(digits):
    rows = [np.random.default_rng(s).choice(120, size=60, replace=False) for s in (0, 1)]
    configs = [ReplicaConfig(hidden_rate=0.3, seed=s) for s in (0, 1)]
    both = fit_configs(digits, configs, train_rows=rows, **FIT).history
    for r, (own, config) in enumerate(zip(rows, configs, strict=True)):
        alone = data.Dataset(
            "subset", digits.x_train[own], digits.y_train[own], digits.x_test, digits.y_test, 10
        )
        ref = fit_configs(alone, [config], **FIT).history
        mine = both[both.replica == r].reset_index(drop=True)
        np.testing.assert_allclose(mine[COLS], ref[COLS], rtol=1e-5, atol=1e-6)


def test_a_replica_does_not_depend_on_its_neighbours(digits):
    a = ReplicaConfig(hidden_rate=0.3, input_rate=0.1, train_size=100, seed=3)
    b = ReplicaConfig(hidden_rate=0.6, max_norm=1.0, seed=9)
    alone = fit_configs(digits, [a], **FIT).history
    together = fit_configs(digits, [b, a], **FIT).history
    np.testing.assert_allclose(
        together.loc[together.replica == 1, COLS].to_numpy(), alone[COLS].to_numpy(), atol=1e-5
    )


def test_eval_every_thins_the_history_and_keeps_training(digits):
    configs = [ReplicaConfig(hidden_rate=0.5, seed=3)]
    every = fit_configs(digits, configs, **{**FIT, "epochs": 5}).history
    sparse = fit_configs(digits, configs, eval_every=2, **{**FIT, "epochs": 5}).history
    assert sparse["epoch"].tolist() == [2, 4, 5]
    merged = every.merge(sparse, on="epoch", suffixes=("", "_sparse"))
    np.testing.assert_allclose(merged["test_loss"], merged["test_loss_sparse"], rtol=1e-5)


def test_divergence_is_reported(digits):
    with pytest.warns(RuntimeWarning, match="diverged"):
        fit_configs(digits, [ReplicaConfig()], hidden=(8,), epochs=2, learning_rate=1e4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
        ({"eval_every": 0}, ValueError, "eval_every"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"hidden": (0,)}, ValueError, "hidden"),
        ({"train_rows": [[0, 0]]}, ValueError, "train_rows"),
    ],
)
def test_bad_arguments_are_named(digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit_configs(digits, [ReplicaConfig()], **{**FIT, **kwargs})


def test_adam_and_images_and_regression():
    images = data.load_digits_images(train_size=300)  # (N, 8, 8, 1) is flattened
    adam = fit_configs(
        images, [ReplicaConfig(hidden_rate=0.2)], hidden=(32,), epochs=5, optimizer="adam",
        learning_rate=0.01,
    )  # fmt: skip
    assert adam.final()["test_acc"].iloc[0] > 0.7
    poly = data.make_polynomial(n_train=30)
    h = fit_configs(poly, [ReplicaConfig()], hidden=(32, 32), epochs=30).history
    assert h["train_loss"].iloc[-1] < h["train_loss"].iloc[0]
    assert h["train_acc"].isna().all()  # no accuracy for a regression


def _digits_with(**change):
    import dataclasses

    return dataclasses.replace(data.load_digits(train_size=64, seed=0), **change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("nan", "data.x_train contains 1 NaN"),
        ("short_y", "same number of examples"),
        ("label", r"labels in \[0, 10\)"),
    ],
)
def test_data_that_would_fail_silently_or_cryptically_is_refused(change, message):
    d = data.load_digits(train_size=64, seed=0)
    if change == "nan":
        x = d.x_train.copy()
        x[0, 0] = np.nan
        d = _digits_with(x_train=x)
    elif change == "short_y":
        d = _digits_with(y_train=d.y_train[:-1])
    else:
        y = d.y_train.copy()
        y[0] = 12
        d = _digits_with(y_train=y)
    with pytest.raises(ValueError, match=message):
        fit_configs(d, [ReplicaConfig()], hidden=(8,), epochs=1)


def test_settings_that_do_nothing_are_refused(digits):
    for config in (ReplicaConfig(hidden_rate=0.5), ReplicaConfig(max_norm=1.0)):
        with pytest.raises(ValueError, match="hidden=()"):
            fit_configs(digits, [config], hidden=(), epochs=1)
    for bad in (float("inf"), float("nan"), -1.0):
        with pytest.raises(ValueError, match="l2"):
            ReplicaConfig(l2=bad)
    with pytest.raises(ValueError, match="max_norm"):
        ReplicaConfig(max_norm=float("inf"))
    with pytest.raises(ValueError, match="hidden_rate"):
        ReplicaConfig(hidden_rate=1.0)
    with pytest.raises(TypeError, match="ReplicaConfig"):
        fit_configs(digits, [{"hidden_rate": 0.5}], hidden=(8,), epochs=1)
