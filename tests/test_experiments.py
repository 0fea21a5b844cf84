"""experiments.py: documented columns and row counts on tiny settings, and honest statistics."""

import math

import numpy as np
import pandas as pd
import pytest

from dropoutcourse import experiments as ex

# --------------------------------------------------------------------------- statistics (no TF)


def test_summarize_matches_independent_computation():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "label": ["b"] * 4 + ["a"] * 3,
            "seed": [0, 1, 2, 3, 0, 1, 2],
            "test_acc": rng.random(7),
        }
    )
    s = ex.summarize(df, "label")
    assert list(s.columns) == ["label", "mean", "std", "min", "max", "n"]
    assert list(s["label"]) == ["b", "a"]  # order of first appearance
    for label, vals in (("b", df.test_acc[:4]), ("a", df.test_acc[4:])):
        row = s[s.label == label].iloc[0]
        v = np.asarray(vals)
        assert row["mean"] == pytest.approx(v.sum() / len(v))
        assert row["std"] == pytest.approx(math.sqrt(((v - v.mean()) ** 2).sum() / (len(v) - 1)))
        assert row["min"] == v.min() and row["max"] == v.max() and row["n"] == len(v)


def test_summarize_several_keys_and_errors():
    df = pd.DataFrame({"a": [0, 0, 1], "b": [1, 1, 1], "test_loss": [1.0, 3.0, 5.0]})
    s = ex.summarize(df, ["a", "b"], metric="test_loss")
    assert s["mean"].tolist() == [2.0, 5.0] and s["n"].tolist() == [2, 1]
    with pytest.raises(ValueError, match="test_acc"):
        ex.summarize(df, "a")
    with pytest.raises(ValueError, match="label"):
        ex.summarize(df, "label", metric="test_loss")
    with pytest.raises(TypeError):
        ex.summarize(df.to_dict(), "a")


def test_paired_comparison_against_hand_computed_t():
    a = [0.90, 0.92, 0.95, 0.91, 0.93]
    b = [0.88, 0.91, 0.92, 0.91, 0.90]
    d = [0.02, 0.01, 0.03, 0.00, 0.03]
    mean = sum(d) / 5  # 0.018
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 4)
    t = mean / (sd / math.sqrt(5))
    res = ex.paired_comparison(a, b)
    assert res["n"] == 5
    assert res["mean_diff"] == pytest.approx(mean)
    assert res["std_diff"] == pytest.approx(sd)
    assert res["t"] == pytest.approx(t)
    # by hand: squared deviations sum to 680e-6, sd = sqrt(170e-6) = 0.013038,
    # t = 0.018 / (0.013038 / sqrt(5)) = 3.087; two-sided p with 4 degrees of freedom ≈ 0.0367
    assert t == pytest.approx(3.087, abs=0.001)
    assert res["p_value"] == pytest.approx(0.0367, abs=0.0005)
    scipy_stats = pytest.importorskip("scipy.stats")
    ref = scipy_stats.ttest_rel(a, b)
    assert res["t"] == pytest.approx(ref.statistic)
    assert res["p_value"] == pytest.approx(ref.pvalue)


def test_paired_comparison_corrected_for_cv_is_more_conservative():
    a, b = [0.9, 0.92, 0.95, 0.91, 0.93], [0.88, 0.91, 0.92, 0.91, 0.90]
    plain = ex.paired_comparison(a, b)
    corrected = ex.paired_comparison(a, b, test_train_ratio=1 / 4)
    assert abs(corrected["t"]) < abs(plain["t"])
    assert corrected["t"] == pytest.approx(plain["t"] * math.sqrt((1 / 5) / (1 / 5 + 1 / 4)))
    assert corrected["p_value"] > plain["p_value"]


def test_paired_comparison_edge_cases():
    same = ex.paired_comparison([1.0, 2.0], [1.0, 2.0])
    assert same["t"] == 0.0 and same["p_value"] == 1.0
    shifted = ex.paired_comparison([2.0, 3.0], [1.0, 2.0])
    assert shifted["t"] == math.inf and shifted["p_value"] == 0.0
    with pytest.raises(ValueError, match="same length"):
        ex.paired_comparison([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        ex.paired_comparison([1], [2])
    with pytest.raises(ValueError, match="NaN"):
        ex.paired_comparison([1, float("nan")], [1, 2])


def test_generalization_gap_and_dropout_gain():
    hist = pd.DataFrame(
        dict(
            train_acc=[1.0, 0.9], test_acc=[0.8, 0.85], train_loss=[0.1, 0.3], test_loss=[0.7, 0.5]
        )
    )
    gap = ex.generalization_gap(hist)
    np.testing.assert_allclose(gap["acc_gap"], [0.2, 0.05])
    np.testing.assert_allclose(gap["loss_gap"], [0.6, 0.2])
    assert "acc_gap" not in hist.columns  # a copy
    with pytest.raises(ValueError, match="train_acc"):
        ex.generalization_gap(hist.drop(columns="train_acc"))

    final = pd.DataFrame(
        dict(
            train_size=[50, 50, 50, 50, 100, 100],
            hidden_rate=[0.0, 0.0, 0.5, 0.5, 0.0, 0.5],
            seed=[0, 1, 0, 1, 0, 0],
            test_acc=[0.80, 0.82, 0.83, 0.81, 0.90, 0.95],
        )
    )
    gain = ex.dropout_gain(final)
    assert list(gain.columns) == ["train_size", "hidden_rate", "seed", "gain"]
    np.testing.assert_allclose(
        gain.sort_values(["train_size", "seed"])["gain"], [0.03, -0.01, 0.05]
    )
    with pytest.raises(ValueError, match="hidden_rate == 0"):
        ex.dropout_gain(final[final.hidden_rate > 0])


def test_seed_and_argument_validation():
    with pytest.raises(TypeError, match="range"):
        ex.compare(seeds=5)
    with pytest.raises(ValueError, match="repeat"):
        ex.compare(seeds=[1, 1])
    with pytest.raises(ValueError, match="mode"):
        ex.rate_sweep(mode="p_fixed")
    with pytest.raises(ValueError, match="rate"):
        ex.mc_vs_weight_scaling(rate=0.0)


# --------------------------------------------------------------------------- cross-validation


def _separable(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.1] + [0.0, 10.0, -3.0]
    y = (X[:, 0] > 0).astype(int)
    return X, y


def _logistic():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy")
    return model


@pytest.mark.slow
def test_cross_validate_gives_one_accuracy_per_fold():
    X, y = _separable()
    scores = ex.cross_validate(_logistic, X, y, folds=3, epochs=5, batch_size=8)
    assert scores.shape == (3,)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.mean() > 0.7  # separable along one standardised feature
    again = ex.cross_validate(_logistic, X, y, folds=3, epochs=5, batch_size=8)
    np.testing.assert_allclose(scores, again)  # seeded: same folds, same initialisation


def test_cross_validate_string_labels_and_softmax_and_regression():
    import keras

    X, y = _separable()
    labels = np.where(y == 1, "M", "R")

    def softmax():
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        m.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
        return m

    scores = ex.cross_validate(softmax, X, labels, folds=3, epochs=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))

    def linear():
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        return m

    mse = ex.cross_validate(linear, X, X[:, 0] * 0.5 + 0.1, folds=3, epochs=3)
    assert mse.shape == (3,) and np.all(mse >= 0)


def test_cross_validate_rejects_bad_input():
    X, y = _separable()
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ex.cross_validate(_logistic, bad, y, folds=3, epochs=1)
    with pytest.raises(ValueError, match="one entry per row"):
        ex.cross_validate(_logistic, X, y[:-1], folds=3, epochs=1)
    with pytest.raises(ValueError, match="2-D"):
        ex.cross_validate(_logistic, X[None], y, folds=3, epochs=1)
    with pytest.raises(ValueError, match="folds"):
        ex.cross_validate(_logistic, X, y, folds=1, epochs=1)
    with pytest.raises(ValueError, match="numeric"):
        ex.cross_validate(_logistic, X.astype(str), y, folds=3, epochs=1)
    with pytest.raises(ValueError, match="NaN"):
        ex.cross_validate(_logistic, X, np.where(y == 1, np.nan, 0.5), folds=3, epochs=1)
    with pytest.raises(TypeError, match="build_model"):
        ex.cross_validate("model", X, y, folds=3, epochs=1)
    with pytest.raises(TypeError, match="compiled Keras model"):
        ex.cross_validate(lambda: None, X, y, folds=3, epochs=1)


# --------------------------------------------------------------------------- experiments (tiny)

HISTORY_COLUMNS = [
    "replica", "label", "seed", "hidden_rate", "input_rate", "l2", "max_norm", "gaussian",
    "train_size", "epoch", "train_loss", "train_acc", "test_loss", "test_acc",
]  # fmt: skip
TINY = dict(seeds=range(2), hidden=(8,))


@pytest.fixture(scope="module")
def digits():
    from dropoutcourse import data

    return data.load_digits(train_size=100)


def test_compare_history_has_one_row_per_replica_and_epoch(digits):
    hist = ex.compare(data=digits, epochs=2, **TINY)
    assert list(hist.columns[: len(HISTORY_COLUMNS)]) == HISTORY_COLUMNS
    assert len(hist) == 2 * 2 * 2  # variants × seeds × epochs
    assert list(dict.fromkeys(hist.label)) == ["no dropout", "dropout 0.5"]
    assert set(hist.epoch) == {1, 2} and set(hist.seed) == {0, 1}
    assert hist[hist.label == "dropout 0.5"].hidden_rate.eq(0.5).all()
    assert hist[["train_acc", "test_acc"]].apply(lambda c: c.between(0, 1)).all().all()
    gap = ex.generalization_gap(hist)
    np.testing.assert_allclose(gap.acc_gap, hist.train_acc - hist.test_acc)
    custom = ex.compare(
        data=digits, epochs=1, variants={"g": {"hidden_rate": 0.3, "gaussian": True}}, **TINY
    )
    assert len(custom) == 2 and custom.gaussian.all()
    with pytest.raises(ValueError, match="seed"):
        ex.compare(data=digits, epochs=1, variants={"x": {"seed": 3}}, **TINY)


def test_rate_sweep_n_fixed_one_row_per_replica(digits):
    res = ex.rate_sweep(
        rates=(0.0, 0.5),
        mode="n_fixed",
        base_units=8,
        depth=1,
        data=digits,
        epochs=1,
        seeds=range(2),
    )
    for col in ["mode", "units", "hidden_rate", "seed", *ex.FINAL_COLUMNS]:
        assert col in res.columns
    assert len(res) == 4
    assert set(res.units) == {8} and set(res["mode"]) == {"n_fixed"}


def test_rate_sweep_pn_fixed_keeps_expected_kept_units(digits):
    rates = (0.0, 0.5, 0.75)
    res = ex.rate_sweep(
        rates=rates, mode="pn_fixed", base_units=4, depth=1, data=digits, epochs=1, seeds=range(2)
    )
    assert len(res) == 3 * 2
    widths = res.groupby("hidden_rate")["units"].unique().to_dict()
    assert {r: list(w) for r, w in widths.items()} == {0.0: [4], 0.5: [8], 0.75: [16]}
    for r, n in zip(res.hidden_rate, res.units, strict=True):
        assert n == round(4 / (1 - r))
        assert n * (1 - r) == pytest.approx(4)


def test_data_size_sweep_rows_sizes_and_equal_updates(digits):
    res = ex.data_size_sweep(sizes=(20, 40), rates=(0.0, 0.5), data=digits, updates=4, **TINY)
    assert len(res) == 2 * 2 * 2  # sizes × rates × seeds
    assert sorted(set(res.train_size)) == [20, 40]
    # batch 32: 20 examples = 1 batch per epoch → 4 epochs; 40 examples = 2 batches → 2 epochs
    assert res.groupby("train_size")["epochs"].first().to_dict() == {20: 4, 40: 2}
    assert set(res.epoch) == {2, 4}
    gain = ex.dropout_gain(res)
    assert len(gain) == 2 * 2 and set(gain.hidden_rate) == {0.5}
    with pytest.raises(ValueError, match="sizes"):
        ex.data_size_sweep(sizes=(20, 10_000), data=digits, updates=1, **TINY)


def test_data_size_sweep_own_samples_draw_per_seed_and_stay_paired(digits):
    first = ex.own_sample(3, 40, digits.n_train)
    assert len(set(first)) == 40 and first.max() < digits.n_train
    assert list(ex.own_sample(3, 20, digits.n_train)) == list(first[:20])  # nested
    assert list(ex.own_sample(4, 20, digits.n_train)) != list(first[:20])
    kw = dict(sizes=(20,), rates=(0.0, 0.5), data=digits, updates=4, **TINY)
    own = ex.data_size_sweep(own_samples=True, **kw)
    shared = ex.data_size_sweep(**kw)
    assert len(own) == len(shared) and set(own.train_size) == {20}
    # paired: both rates of a seed train on that seed's rows, so with dropout switched off
    # the two arms are the same run (a sample drawn per config would break this)
    from dropoutcourse import switches

    with switches.without_dropout():
        off = ex.data_size_sweep(own_samples=True, **kw).sort_values(["hidden_rate", "seed"])
    arms = [g[["train_loss", "test_acc"]].to_numpy() for _, g in off.groupby("hidden_rate")]
    np.testing.assert_allclose(arms[0], arms[1], atol=1e-6)
    # a different sample per seed: a different test accuracy than on the first 20 digits
    assert not np.allclose(
        own.sort_values("replica").test_acc, shared.sort_values("replica").test_acc
    )


def test_mc_vs_weight_scaling_columns_and_rows(digits):
    df = ex.mc_vs_weight_scaling(ks=(1, 3), repeats=2, data=digits, epochs=2, **TINY)
    assert list(df.columns) == ["seed", "replica", "k", "repeat", "mc_error", "ws_error"]
    assert len(df) == 2 * 2 * 2  # seeds × ks × repeats
    assert df.mc_error.between(0, 1).all() and df.ws_error.between(0, 1).all()
    assert df.groupby("seed")["ws_error"].nunique().eq(1).all()  # deterministic pass


def test_mc_rows_average_the_first_k_of_one_set_of_passes(digits):
    """Each repetition samples max(ks) thinned passes once; the average for k is over the
    first k of them (so the k = max(ks) row is the mean of all of them)."""
    from dropoutcourse.uncertainty_demos import mc_sample_probs

    fitted = ex._fit_dropout_net(digits, 0.5, [3], (16,), 2, False, {})
    ((seed, net),) = fitted.each_replica()
    rows = pd.DataFrame(ex._mc_rows(net, seed, 0, digits, (1, 4, 7), repeats=2))
    x = np.asarray(digits.x_test, np.float32).reshape(len(digits.x_test), -1)
    for rep in range(2):
        passes = mc_sample_probs(net, x, 7, seed=1000 * seed + 101 * rep)
        for k in (1, 4, 7):
            error = float((passes[:k].mean(0).argmax(-1) != digits.y_test).mean())
            row = rows[(rows.repeat == rep) & (rows.k == k)]
            assert row.mc_error.item() == pytest.approx(error), (rep, k)


def test_regularizer_table_has_every_setting(digits):
    res = ex.regularizer_table(data=digits, epochs=1, **TINY)
    assert len(res) == len(ex.REGULARIZERS) * 2
    assert list(dict.fromkeys(res.label)) == list(ex.REGULARIZERS)
    row = res[res.label == "dropout + max-norm"].iloc[0]
    assert row.hidden_rate == 0.5 and row.max_norm == 3.0
    table = ex.summarize(res, "label")
    assert len(table) == len(ex.REGULARIZERS) and table.n.eq(2).all()


def test_keras_tutorial_cv_scores_every_model_on_the_same_folds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    df = ex.keras_tutorial_cv(X, y, folds=3, epochs=2, batch_size=16)
    assert list(df.columns) == ["model", "fold", "accuracy"]
    assert sorted(df["model"].unique()) == ["baseline", "hidden", "visible"]
    assert df.groupby("model")["fold"].apply(list).tolist() == [[1, 2, 3]] * 3
    assert df["accuracy"].between(0, 1).all()
    # the rows are the scores of cross_validate_replicas with the same folds: one model alone
    from dropoutcourse import models

    kwargs = ex.KERAS_TUTORIAL_MODELS["baseline"]
    again = ex.cross_validate_replicas(
        [lambda: models.mlp(4, 1, hidden=(60, 30), seed=None, **kwargs)],
        X,
        y,
        folds=3,
        epochs=2,
        batch_size=16,
    )
    np.testing.assert_allclose(df[df.model == "baseline"]["accuracy"], again[0])


def _frozen_logistic():
    """A logistic regression that never moves (learning rate 0): its scores are those of its
    initial weights, so the loop of fit and the replicas must agree exactly."""
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    return model


@pytest.mark.parametrize("batch_size", [16, 8], ids=["one_computation", "two_computations"])
def test_cross_validate_replicas_scores_what_the_loop_of_fit_scores(batch_size):
    # 61 rows in 3 folds: training sets of 40 and 41 rows, in batches of 16 the same number of
    # steps (a shorter last batch for some), in batches of 8 not (5 and 6 steps)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(61, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=61) > 0).astype(int)
    kw = dict(folds=3, epochs=2, batch_size=batch_size, seed=5)
    loop = ex.cross_validate(_frozen_logistic, X, y, **kw)
    together = ex.cross_validate_replicas([_frozen_logistic, _logistic], X, y, **kw)
    assert together.shape == (2, 3)
    np.testing.assert_allclose(together[0], loop)  # same folds, scaling and initial weights
    assert not np.allclose(together[1], together[0])  # the trained model learned something
    for bad in (_logistic, [], [_logistic()]):
        with pytest.raises(TypeError, match="build_models must be a non-empty list"):
            ex.cross_validate_replicas(bad, X, y, **kw)


def _full_batch_regression():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def test_cross_validate_replicas_trains_what_the_loop_of_fit_trains(monkeypatch):
    # one full batch per epoch: the shuffles do not matter, so the loop of fit and the
    # replicas train the same networks (40 and 41 rows: the 40-row folds are padded to 41);
    # regression, so the scores (MSE) show any difference in training
    from dropoutcourse import replica_fit

    rng = np.random.default_rng(2)
    X = rng.normal(size=(61, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=61)
    kw = dict(folds=3, epochs=5, batch_size=64, seed=5, task="regression")
    loop = ex.cross_validate(_full_batch_regression, X, y, **kw)
    calls, real = [], replica_fit.fit_replica_models

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(replica_fit, "fit_replica_models", counted)
    together = ex.cross_validate_replicas([_full_batch_regression], X, y, **kw)
    np.testing.assert_allclose(together[0], loop, rtol=1e-4)
    assert len(calls) == 1  # one step per epoch for every fold: one computation


def test_untrained_rates_are_those_below_twice_chance():
    final = pd.DataFrame(
        {
            "hidden_rate": [0.0, 0.0, 0.5, 0.5, 0.9, 0.9],
            "test_acc": [0.9, 0.92, 0.19, 0.25, 0.1, 0.12],
        }
    )
    # means: 0.91, 0.22, 0.11 → only 0.9 is below 2/10; 0.5 is above it
    assert ex.untrained_rates(final) == [0.9]
    assert ex.untrained_rates(final, n_classes=4) == [0.5, 0.9]  # chance 0.25 → cut at 0.5
    with pytest.raises(ValueError, match="hidden_rate"):
        ex.untrained_rates(final.drop(columns="hidden_rate"))
