"""modern_demos: the residual / transformer builders, early dropout and bigger MNIST-1D (lecture 7)."""

import keras
import numpy as np
import pandas as pd
import pytest

from dropoutcourse import layers
from dropoutcourse import modern_demos as md


def test_block_rates_linear_and_uniform():
    assert md.block_rates(0.4, 4) == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert md.block_rates(0.4, 3, schedule="uniform") == [0.4] * 3
    with pytest.raises(ValueError, match="schedule"):
        md.block_rates(0.4, 3, schedule="cosine")
    with pytest.raises(ValueError, match="rate"):
        md.block_rates(1.5, 3)


def test_residual_mlp_puts_drop_path_before_every_add():
    model = md.residual_mlp(width=8, n_blocks=3, drop_path=0.3, dropout=0.2)
    assert md.drop_path_sites(model) == pytest.approx([0.1, 0.2, 0.3])
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 3
    for add in adds:  # the branch input of every Add comes straight from a per-sample Dropout
        sources = [t._keras_history.operation for t in add.input]
        assert any(getattr(s, "noise_shape", None) == (None, 1) for s in sources)
    hidden = [la.rate for la in model.layers if isinstance(la, keras.layers.Dropout)]
    assert sorted(hidden) == pytest.approx(sorted([0.2] * 3 + [0.1, 0.2, 0.3]))
    assert model.optimizer is not None and model.output_shape == (None, 10)


def test_per_sample_dropout_is_drop_path():
    """Dropout(noise_shape=(None, 1)) drops whole rows, scaled like layers.DropPath."""
    x = np.ones((400, 6), dtype="float32")
    for layer in (
        keras.layers.Dropout(0.5, noise_shape=(None, 1), seed=0),
        layers.DropPath(0.5, seed=0),
    ):
        out = np.asarray(layer(x, training=True))
        assert np.all(out == out[:, :1])  # one draw per sample
        assert set(np.unique(out)) == {0.0, 2.0}
        assert 0.4 < (out[:, 0] == 0).mean() < 0.6


def test_residual_models_differing_in_rates_share_one_computation():
    from dropoutcourse.replica_fit.stack import group_replicas

    models = [md.residual_mlp(8, 2, drop_path=r, dropout=q) for r, q in ((1e-6, 0.3), (0.5, 1e-6))]
    assert len(group_replicas(models, [0])) == 1


def test_tiny_transformer_is_random_only_in_training():
    model = md.tiny_transformer(width=8, n_heads=2)
    x = np.random.default_rng(0).normal(size=(4, 40)).astype("float32")
    assert np.allclose(model(x), model(x))
    assert np.abs(np.asarray(model(x, training=True)) - np.asarray(model(x))).max() > 1e-4
    with pytest.raises(ValueError, match="patch"):
        md.tiny_transformer(patch=3)


def test_copy_into():
    a, b = md.mlp((8,), dropout=0.5), md.mlp((8,))
    md.copy_into(b, a)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_load_mnist1d_large_draws_subsets_and_validates():
    d = md.load_mnist1d_large(train_size=100, seed=0, pool_size=500)
    assert d.x_train.shape == (100, 40) and d.x_test.shape == (md.N_TEST, 40)
    assert np.allclose(d.x_train.mean(0), 0, atol=1e-4)
    other = md.load_mnist1d_large(train_size=100, seed=1, pool_size=500)
    assert not np.array_equal(d.x_train, other.x_train)  # a seed set redraws the data
    assert np.array_equal(d.y_test, other.y_test)  # the test split is fixed
    with pytest.raises(ValueError, match="train_size"):
        md.load_mnist1d_large(train_size=600, pool_size=500)
    with pytest.raises(ValueError, match="pool_size"):
        md.load_mnist1d_large(pool_size=md.MAX_TRAIN + 1)


def test_plots_label_their_axes():
    final = pd.DataFrame(
        {
            "seed": [0, 0, 1, 1],
            "label": ["none", "x", "none", "x"],
            "val_accuracy": [0.5, 0.6, 0.4, 0.45],
        }
    )
    ax = md.plot_paired_gains(final)
    assert "none" in ax.get_ylabel() and ax.get_title()
    gains = pd.DataFrame({500: [2.0, 3.0], 20000: [-1.0, -2.0]})
    ax = md.plot_gain_by_size(gains, title="t")
    assert ax.get_xlabel() == "training signals" and ax.get_xscale() == "log"


@pytest.mark.slow
def test_early_dropout_runs_both_arms_on_every_seed():
    from dropoutcourse import data

    d = data.load_mnist1d(train_size=200, seed=0)
    runs = md.early_dropout_runs(d, hidden=(8,), seeds=[0, 1], epochs_on=1, epochs_off=1)
    assert sorted(runs["arm"].unique()) == ["early dropout", "no dropout"]
    assert len(runs) == 4 and runs["train_loss"].gt(0).all()
    assert runs["test_acc"].between(0, 1).all()
    by_arm = runs.set_index(["arm", "seed"])
    assert not np.allclose(  # phase 1 differed: the arms end apart
        by_arm.loc["early dropout", "train_loss"], by_arm.loc["no dropout", "train_loss"]
    )
