"""fit_replicas: what each replica starts from, what it logs, and what it refuses.

The precise checks use a learning rate of 0: the weights then never move, so a replica's
logged training loss (dropout on, averaged over the epoch) and its validation loss on the
same data (dropout off) must agree exactly without dropout and differ with it.
"""

import random

import keras
import numpy as np
import pytest

import dropoutcourse
from dropoutcourse import switches
from dropoutcourse.replica_fit import UnsupportedLayerError, fit_replica_models, fit_replicas
from dropoutcourse.replica_fit.stack import group_replicas

RNG = np.random.default_rng(0)
X = RNG.normal(size=(90, 6)).astype("float32")
Y = RNG.integers(0, 3, 90)


def mlp(rate=0.5, *, kind=keras.layers.Dropout, lr=0.01, width=16, **dense_kwargs):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(width, activation="relu", **dense_kwargs),
            kind(rate),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def frozen_fit(model, seeds=(0, 1), **kwargs):
    """One epoch at learning rate 0: logged training loss vs inference loss, same data."""
    return fit_replicas(
        model, X, Y, seeds=seeds, epochs=1, validation_data=(X, Y), verbose=False, **kwargs
    )


def test_top_level_export():
    assert dropoutcourse.fit_replicas is fit_replicas


def test_initial_weights_are_those_of_a_seeded_build():
    group = group_replicas([mlp()], [3, 7])[0]
    for r, seed in enumerate([3, 7]):
        keras.utils.set_random_seed(seed)
        fresh = mlp()
        for stacked, own in zip(group.trainable, fresh.trainable_variables, strict=True):
            np.testing.assert_array_equal(np.asarray(stacked.value[r]), np.asarray(own))


def test_history_has_the_keys_of_keras_history():
    runs = fit_replicas(
        mlp(), X, Y, seeds=[5, 6, 7], epochs=3, validation_data=(X, Y), verbose=False
    )
    assert list(runs.columns) == ["seed", "epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(runs) == 9
    assert sorted(runs.epoch.unique()) == [1, 2, 3]
    assert runs.groupby("seed").size().tolist() == [3, 3, 3]
    history = mlp().fit(X, Y, epochs=1, validation_data=(X, Y), verbose=0).history
    assert set(history) == set(runs.columns) - {"seed", "epoch"}


@pytest.mark.parametrize(("freq", "validated"), [(2, [2, 4]), ([1, 4], [1, 4]), (5, [])])
def test_validation_freq_validates_only_those_epochs_and_changes_nothing_else(freq, validated):
    every = fit_replicas(mlp(), X, Y, seeds=[0, 1], epochs=4, validation_data=(X, Y), verbose=False)
    some = fit_replicas(
        mlp(), X, Y, seeds=[0, 1], epochs=4, validation_data=(X, Y), validation_freq=freq,
        verbose=False,
    )  # fmt: skip
    # validating draws no random numbers: the training is the same draw for draw
    np.testing.assert_allclose(some.loss, every.loss, rtol=1e-6)
    if not validated:  # as in Keras' History: no validation, no val_ keys
        assert "val_loss" not in some.columns
        return
    on = some.epoch.isin(validated)
    assert some.loc[~on, "val_loss"].isna().all()
    np.testing.assert_allclose(some.val_loss[on], every.val_loss[on], rtol=1e-6)
    history = mlp().fit(X, Y, epochs=4, validation_data=(X, Y), validation_freq=freq, verbose=0)
    assert len(history.history["val_loss"]) == len(validated)  # Keras validates the same epochs


def test_dropout_is_on_in_training_and_off_in_evaluation():
    without = frozen_fit(mlp(0.0, lr=0.0))
    np.testing.assert_allclose(without.loss, without.val_loss, rtol=1e-5)
    with_dropout = frozen_fit(mlp(0.5, lr=0.0))
    assert np.all(np.abs(with_dropout.loss - with_dropout.val_loss) > 1e-3)
    # same initial weights for every rate > 0 (as in a loop of fit): inference ignores the rate
    other_rate = frozen_fit(mlp(0.2, lr=0.0))
    np.testing.assert_allclose(with_dropout.val_loss, other_rate.val_loss, rtol=1e-5)


def test_without_dropout_switch_turns_every_rate_off():
    with switches.without_dropout():
        runs = frozen_fit(mlp(0.5, lr=0.0))
    np.testing.assert_allclose(runs.loss, runs.val_loss, rtol=1e-5)


def test_validation_numbers_equal_keras_evaluate_of_each_trained_replica():
    model = mlp(0.3, kernel_regularizer=keras.regularizers.L2(1e-3))
    fitted = fit_replica_models(
        model, X, Y, seeds=[0, 4], epochs=3, validation_data=(X, Y), verbose=False
    )
    last = fitted.history[fitted.history.epoch == 3].set_index("seed")
    for seed, trained in fitted.models().items():
        scores = trained.evaluate(X, Y, verbose=0, return_dict=True)
        assert scores["loss"] == pytest.approx(last.loc[seed, "val_loss"], rel=1e-4)
        assert scores["accuracy"] == pytest.approx(last.loc[seed, "val_accuracy"], abs=1e-6)
    bare = fitted.models(compiled=False)
    for seed, trained in fitted.models().items():
        assert trained.compiled and not bare[seed].compiled
        assert bare[seed].layers[1].rate == trained.layers[1].rate == pytest.approx(0.3)
        np.testing.assert_array_equal(
            bare[seed].predict(X, verbose=0), trained.predict(X, verbose=0)
        )


def test_each_replica_reloads_one_network_with_the_weights_and_rate_of_models():
    # two rates of one architecture: one group, each replica at its own rate
    fitted = fit_replica_models(
        [mlp(0.3), mlp(0.6)], X, Y, seeds=[5, 2, 7], epochs=2, verbose=False
    )
    for index, rate in enumerate((0.3, 0.6)):
        built = fitted.models(model=index)
        seen, nets = [], set()
        for seed, net in fitted.each_replica(model=index):
            seen.append(seed)
            nets.add(id(net))
            assert not net.compiled and net.layers[1].rate == pytest.approx(rate)
            np.testing.assert_array_equal(net(X).numpy(), built[seed](X).numpy())
        assert seen == [5, 2, 7] and len(nets) == 1  # seed order, one network reloaded
    assert list(fitted.each_replica(model=2)) == []  # no such model: nothing
    with switches.without_dropout():  # every rate 0: the reloaded network still finds its sites
        off = fit_replica_models(mlp(0.3), X, Y, seeds=[5, 2, 7], epochs=1, verbose=False)
    assert [net.layers[1].rate for _, net in off.each_replica()] == [0.0, 0.0, 0.0]


def test_predict_gives_every_replica_what_its_own_network_gives():
    def with_batchnorm(rate):  # moving statistics: non-trainable state per replica
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.BatchNormalization(),
                keras.layers.Dropout(rate),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    fitted = fit_replica_models(
        [with_batchnorm(0.2), with_batchnorm(0.5)], X, Y, seeds=[5, 2, 7], epochs=2, verbose=False
    )
    x = np.concatenate([X] * 15)  # more rows than one vectorised chunk holds
    for index in (0, 1):
        outputs = fitted.predict(x, model=index)
        assert list(outputs) == [5, 2, 7]  # seed order
        for seed, net in fitted.each_replica(model=index):
            np.testing.assert_allclose(outputs[seed], net(x).numpy(), rtol=1e-5, atol=1e-6)
    assert fitted.predict(X, model=2) == {}  # no such model: nothing
    with pytest.raises(ValueError, match="predict x"):
        fitted.predict(np.full((2, 6), np.nan))


def regression():
    """A regressor whose metric (mae) is above 0 on every row: unmasked padding would show."""
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


@pytest.mark.parametrize(
    ("sizes", "recipe"),
    [((40, 40), mlp), ((40, 37), mlp), ((40, 37), regression)],
    ids=["equal", "shorter_last_batch", "shorter_last_batch_regression"],
)
def test_train_rows_give_each_seed_what_fitting_its_rows_alone_gives(sizes, recipe):
    # disjoint, any order; 40 and 37 rows in batches of 16: last batches of 8 and 5 rows
    rows = {4: np.arange(0, sizes[0]), 9: np.arange(90)[::-2][: sizes[1]]}
    y = Y if recipe is mlp else X[:, 0]
    kw = dict(epochs=3, batch_size=16, validation_data=(X, y), verbose=False)
    together = fit_replicas(recipe(), X, y, seeds=list(rows), train_rows=list(rows.values()), **kw)
    for seed, own in rows.items():
        alone = fit_replicas(recipe(), X[own], y[own], seeds=[seed], **kw)
        mine = together[together.seed == seed].reset_index(drop=True)
        cols = [c for c in alone.columns if c not in ("seed", "epoch")]
        np.testing.assert_allclose(mine[cols], alone[cols], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("train_rows", "message"),
    [
        ([np.arange(10)], "one array of rows per replica"),
        ([np.arange(10), np.arange(10.0)], r"train_rows\[1\] must be a non-empty 1-D"),
        ([np.arange(10), np.array([0, 0, 1])], r"train_rows\[1\] must hold distinct rows"),
        ([np.arange(10), np.array([5, 90])], r"in \[0, 90\)"),
        ([np.arange(32), np.arange(33)], r"\(32 to 33 rows\) take different numbers of batches"),
    ],
)
def test_bad_train_rows_are_named(train_rows, message):
    with pytest.raises(ValueError, match=message):
        fit_replicas(mlp(), X, Y, seeds=[0, 1], epochs=1, train_rows=train_rows, verbose=False)


def test_training_sets_of_different_sizes_refuse_what_padding_would_change():
    rows = [np.arange(10), np.arange(11)]
    norm = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    norm.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="cannot train 'bn' \\(BatchNormalization\\)"):
        fit_replicas(norm, X, Y, seeds=[0, 1], epochs=1, train_rows=rows, verbose=False)
    summed = mlp()
    summed.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(reduction="sum")
    )
    with pytest.raises(ValueError, match="reduction 'sum'"):
        fit_replicas(summed, X, Y, seeds=[0, 1], epochs=1, train_rows=rows, verbose=False)
    penalised = mlp(activity_regularizer=keras.regularizers.L2(0.1))
    with pytest.raises(ValueError, match="activity penalty"):
        fit_replicas(penalised, X, Y, seeds=[0, 1], epochs=1, train_rows=rows, verbose=False)
    fit_replicas(
        norm, X, Y, seeds=[0, 1], epochs=1, train_rows=[rows[0], rows[0] + 1], verbose=False
    )


def test_a_replica_does_not_depend_on_its_neighbours():
    a = fit_replicas(mlp(), X, Y, seeds=[0, 1], epochs=2, verbose=False)
    b = fit_replicas(mlp(), X, Y, seeds=[9, 0], epochs=2, verbose=False)
    np.testing.assert_allclose(
        a[a.seed == 0][["loss", "accuracy"]].to_numpy(),
        b[b.seed == 0][["loss", "accuracy"]].to_numpy(),
        rtol=1e-5,
    )


@pytest.mark.parametrize("kind", [keras.layers.Dropout, keras.layers.GaussianDropout])
def test_a_rate_sweep_is_one_group_with_each_replica_at_its_own_rate(kind):
    rates = [0.0, 0.2, 0.6]
    models = [mlp(r, kind=kind) for r in rates]
    assert len(group_replicas(models, [0])) == 2  # rate 0 builds no noise: its own group
    together = fit_replicas(models, X, Y, seeds=[0, 1], epochs=2, verbose=False)
    assert sorted(together.model.unique()) == [0, 1, 2]
    for i, rate in enumerate(rates):
        alone = fit_replicas(mlp(rate, kind=kind), X, Y, seeds=[0, 1], epochs=2, verbose=False)
        mine = together[together.model == i]
        np.testing.assert_allclose(mine.loss.to_numpy(), alone.loss.to_numpy(), rtol=1e-5)


def test_models_of_different_architectures_train_side_by_side():
    runs = fit_replicas([mlp(width=8), mlp(width=32)], X, Y, seeds=[0], epochs=1, verbose=False)
    assert runs.model.tolist() == [0, 1]


def test_max_norm_holds_for_every_replica():
    model = mlp(0.2, lr=0.5, kernel_constraint=keras.constraints.MaxNorm(0.5))
    fitted = fit_replica_models(model, X, Y, seeds=[0, 1, 2], epochs=2, verbose=False)
    for trained in fitted.models().values():
        kernel = np.asarray(trained.layers[0].kernel)
        assert np.linalg.norm(kernel, axis=0).max() <= 0.5 + 1e-5


def test_the_callers_model_and_random_state_are_left_alone():
    model = mlp()
    before = [np.array(w) for w in model.get_weights()]
    state, py_state = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    fit_replicas(model, X, Y, seeds=[0, 1], epochs=1, verbose=False)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state, np.random.get_state()[1])  # noqa: NPY002
    assert random.getstate() == py_state  # building layers draws seeds from Python's random


class Doubling(keras.layers.Layer):
    def call(self, x):
        return 2 * x


def test_an_unknown_layer_is_refused_with_the_way_out():
    model = keras.Sequential([keras.Input((6,)), Doubling(name="twice"), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(UnsupportedLayerError, match=r"'twice'.*Doubling.*set_random_seed"):
        fit_replicas(model, X, Y, seeds=[0], epochs=1, verbose=False)


def _uncompiled():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])


def _clipped():
    model = mlp()
    model.compile(
        optimizer=keras.optimizers.SGD(clipnorm=1.0), loss="sparse_categorical_crossentropy"
    )
    return model


def _odd_metric():
    model = mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["auc"])
    return model


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"),
    [
        (_uncompiled, {}, ValueError, "compiled"),
        (_clipped, {}, ValueError, "clipnorm"),
        (_odd_metric, {}, ValueError, "metric 'auc'"),
        (mlp, {"seeds": [1, 1]}, ValueError, "seeds"),
        (mlp, {"epochs": 0}, ValueError, "epochs"),
        (mlp, {"batch_size": 0}, ValueError, "batch_size"),
        (mlp, {"y": Y[:-1]}, ValueError, "same number of examples"),
        (mlp, {"x": np.where(X > 2, np.nan, X)}, ValueError, "NaN"),
        (mlp, {"validation_data": X}, ValueError, "validation_data"),
        (mlp, {"validation_data": (X, Y), "validation_freq": 0}, ValueError, "validation_freq"),
        (mlp, {"validation_data": (X, Y), "validation_freq": [1.5]}, TypeError, "validation_freq"),
        (lambda: "not a model", {}, TypeError, "keras.Model"),
    ],
)
def test_bad_input_names_the_argument(make, kwargs, error, match):
    args = {"x": X, "y": Y, "seeds": [0], "epochs": 1, "verbose": False, **kwargs}
    with pytest.raises(error, match=match):
        fit_replicas(make(), args.pop("x"), args.pop("y"), **args)


@pytest.mark.parametrize("metric", ["mae", "mse"])
def test_regression_metrics_match_keras_for_one_dimensional_targets(metric):
    target = X[:, 0] * 0.5  # shape (N,), the output is (N, 1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(1)])  # fmt: skip
    model.compile(optimizer="adam", loss="mse", metrics=[metric])
    fitted = fit_replica_models(
        model, X, target, seeds=[0], epochs=2, validation_data=(X, target), verbose=False
    )
    scores = fitted.models()[0].evaluate(X, target, verbose=0, return_dict=True)
    assert scores[metric] == pytest.approx(fitted.history[f"val_{metric}"].iloc[-1], rel=1e-4)


def test_start_from_continues_each_replica_from_its_trained_weights():
    first = fit_replica_models(
        [mlp(0.5, lr=0.1), mlp(0.2, lr=0.1)], X, Y, seeds=[4, 9], epochs=2, verbose=False
    )
    # a second run at learning rate 0 keeps the weights it starts from: those of the first
    frozen = fit_replica_models(
        [mlp(0.3, lr=0.0), mlp(0.3, lr=0.0)], X, Y, seeds=[4, 9], epochs=1, start_from=first,
        validation_data=(X, Y), verbose=False,
    )  # fmt: skip
    for index in (0, 1):
        before, after = first.predict(X, model=index), frozen.predict(X, model=index)
        for seed in (4, 9):
            np.testing.assert_array_equal(after[seed], before[seed])
            assert not np.array_equal(after[seed], after[13 - seed])  # each its own weights
    assert (first.run, frozen.run) == (1, 2)
    history = fit_replicas(mlp(0.5), X, Y, seeds=[4], epochs=1, start_from=frozen, verbose=False)
    assert list(history.epoch) == [1]  # a second fit's History starts again at its epoch 1


def test_a_continued_run_shuffles_afresh():
    from dropoutcourse.replica_fit.api import _shuffles

    (group,) = group_replicas([mlp()], [4])
    own = {4: np.arange(90)}
    assert not np.array_equal(
        _shuffles([group], 1, own, run=1)[0], _shuffles([group], 1, own, run=2)[0]
    )
    np.testing.assert_array_equal(
        _shuffles([group], 1, own)[0], _shuffles([group], 1, own, run=1)[0]
    )


def test_start_from_refuses_what_it_cannot_continue():
    first = fit_replica_models(mlp(), X, Y, seeds=[4], epochs=1, verbose=False)
    with pytest.raises(ValueError, match="no replica of model 0 with seed 5"):
        fit_replicas(mlp(), X, Y, seeds=[5], epochs=1, start_from=first, verbose=False)
    with pytest.raises(ValueError, match="other shapes"):
        fit_replicas(mlp(width=8), X, Y, seeds=[4], epochs=1, start_from=first, verbose=False)
    with pytest.raises(ValueError, match="other shapes"):  # rate 0: no mask stream to carry on
        fit_replicas(mlp(0.0), X, Y, seeds=[4], epochs=1, start_from=first, verbose=False)
    with pytest.raises(TypeError, match="start_from must be"):
        fit_replicas(mlp(), X, Y, seeds=[4], epochs=1, start_from=first.history, verbose=False)


def _weights(fitted, model: int) -> dict[int, list[np.ndarray]]:
    return {s: m.get_weights() for s, m in fitted.models(model, compiled=False).items()}


def test_shared_start_gives_each_seed_one_set_of_initial_weights():
    """At learning rate 0 the weights stay where they started: with ``shared_start`` a model
    without dropout and one with dropout start from the same weights for each seed (without
    it, the dropout layer's seed generator shifts the draws of the layer after it)."""
    models = [mlp(0.0, lr=0.0), mlp(0.5, lr=0.0)]
    kwargs = dict(seeds=[4, 9], epochs=1, verbose=False)
    shared = fit_replica_models(models, X, Y, shared_start=True, **kwargs)
    plain, dropped = _weights(shared, 0), _weights(shared, 1)
    for seed in (4, 9):
        for a, b in zip(plain[seed], dropped[seed], strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(plain[4][0], plain[9][0])  # seeds still differ
    own = fit_replica_models(models, X, Y, **kwargs)
    assert not all(
        np.array_equal(a, b) for a, b in zip(_weights(own, 0)[4], _weights(own, 1)[4], strict=True)
    )
    # model 0 itself starts where it would alone; a model passed instead gives its own draws
    for a, b in zip(_weights(own, 0)[4], plain[4], strict=True):
        np.testing.assert_array_equal(a, b)
    given = fit_replica_models(models, X, Y, shared_start=mlp(0.5), **kwargs)
    for index in (0, 1):
        for a, b in zip(_weights(given, index)[9], _weights(own, 1)[9], strict=True):
            np.testing.assert_array_equal(a, b)


def test_shared_start_refuses_other_shapes_and_continued_runs():
    with pytest.raises(ValueError, match="model 1's differ from those of the start"):
        fit_replicas([mlp(), mlp(width=8)], X, Y, seeds=[4], epochs=1, shared_start=True,
                     verbose=False)  # fmt: skip
    with pytest.raises(TypeError, match="shared_start"):
        fit_replicas(mlp(), X, Y, seeds=[4], epochs=1, shared_start="yes", verbose=False)
    first = fit_replica_models(mlp(), X, Y, seeds=[4], epochs=1, verbose=False)
    with pytest.raises(ValueError, match="shared_start"):
        fit_replicas(mlp(), X, Y, seeds=[4], epochs=1, start_from=first, shared_start=True,
                     verbose=False)  # fmt: skip
