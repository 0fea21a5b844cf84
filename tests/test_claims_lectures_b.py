"""The key claims of lectures 3, 5 and 6, checked with the same package calls and settings as
the notebooks (03-Dropout-in-Keras, 05-Dropout-in-CNNs, 06-Beyond).

Assertions use tolerances, never exact floats (results differ slightly between CPUs). The
training-based claims are marked ``slow``.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from dropoutcourse import cnn_demos, data, experiments, sequence_demos

SEEDS = range(5)


# --------------------------------------------------------------------------- lecture 3


def test_l3_training_flag_and_trainable_false():
    """fit → dropout on; predict/model(x) → off; training=True → on; trainable=False: still on."""
    import keras

    from dropoutcourse import models

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(32, 16)).astype("float32")
    ys = keras.utils.to_categorical(rng.integers(0, 3, 32), 3)
    m = models.slide_model(input_dim=16, n_classes=3)
    ref = m(xs).numpy()
    assert np.allclose(m.predict(xs, verbose=0), ref, atol=1e-6)
    a, b = m(xs, training=True).numpy(), m(xs, training=True).numpy()
    assert np.abs(a - ref).max() > 1e-3 and np.abs(a - b).max() > 1e-3
    m.trainable = False
    m.compile(optimizer="adam", loss="categorical_crossentropy")
    before = [w.copy() for w in m.get_weights()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        losses = m.fit(xs, ys, epochs=4, batch_size=32, verbose=0).history["loss"]
    ev = m.evaluate(xs, ys, verbose=0, return_dict=True)["loss"]
    assert all(np.array_equal(x, y) for x, y in zip(before, m.get_weights(), strict=True))
    assert np.ptp(losses) > 1e-4 and min(abs(np.array(losses) - ev)) > 1e-4
    assert keras.constraints.MaxNorm().max_value == 2  # Keras' default, not the paper's 3–4


# The training-based claims of lecture 3 (rate plateau, max-norm with big steps, digits data
# sizes, the Keras tutorial's k-fold) are claims of dropoutcourse.claims.lecture3, run with their
# decision rules by tests/test_claims.py.


# --------------------------------------------------------------------------- lecture 5


def test_l5_element_dropout_is_undone_by_neighbours():
    photo = data.load_photo("china.jpg", size=2)
    study = cnn_demos.pixel_drop_study(photo, 0.5, block_size=9, seeds=SEEDS)
    rec = experiments.summarize(study, "method", "recovered").set_index("method")["mean"]
    assert rec["element"] > 0.8
    assert rec["block"] < rec["element"] - 0.3
    assert abs(rec["channel"]) < 0.01


def test_l5_variance_shift():
    shift = cnn_demos.variance_shift(0.5, mean=1.0, std=1.0, n_steps=100, seed=0)
    shift = shift.set_index("order")
    theory = cnn_demos.theoretical_variance_shift(0.5, 1.0, 1.0)
    before, after = shift.loc["dropout→BN"], shift.loc["BN→dropout"]
    assert abs(before.bn_moving_var / theory["train_var"] - 1) < 0.15
    assert abs(before.bn_output_var_infer / theory["ratio"] - 1) < 0.15
    assert abs(after.bn_output_var_infer - 1) < 0.1


@pytest.mark.slow
def test_l5_cnn_dropout_regularises_but_test_differences_are_small():
    variants = {
        "none": {"dropout": "none"},
        "element 0.2": {"dropout": "element", "rate": 0.2},
        "spatial 0.2": {"dropout": "spatial", "rate": 0.2},
        "dropblock 0.2": {"dropout": "dropblock", "rate": 0.2},
        "head 0.5": {"dropout": "head", "head_rate": 0.5},
    }
    digits = data.load_digits_images(train_size=300, seed=0)
    runs = cnn_demos.train_cnn_replicas(
        digits, variants, seeds=SEEDS, epochs=20, learning_rate=3e-3
    )
    train = runs.groupby("label")["train_acc"].mean()
    assert all(train["none"] >= train[v] for v in variants)
    base = runs[runs.label == "none"].sort_values("seed")["test_acc"].to_numpy()
    for label in list(variants)[1:]:
        acc = runs[runs.label == label].sort_values("seed")["test_acc"].to_numpy()
        assert abs(experiments.paired_comparison(acc, base)["mean_diff"]) < 0.02


# --------------------------------------------------------------------------- lecture 6


@pytest.mark.slow
def test_l6_mc_band_widens_and_mc_predict_avoids_batchnorm_pitfall():
    from dropoutcourse import engine, layers, models

    wave = data.make_polynomial(n_train=20, noise=0.2, seed=0)
    configs = [engine.ReplicaConfig(hidden_rate=0.1, seed=s) for s in SEEDS]
    trained = engine.train_replicas(
        wave,
        configs,
        hidden=(128, 128),
        epochs=1000,
        batch_size=20,
        optimizer="adam",
        learning_rate=0.01,
        verbose=False,
    )
    x_grid = np.linspace(-0.5, 1.5, 201, dtype="float32")[:, None]
    inside = (x_grid[:, 0] >= 0) & (x_grid[:, 0] <= 1)
    outside = (x_grid[:, 0] < -0.25) | (x_grid[:, 0] > 1.25)
    net = models.mlp(1, 0, hidden=(128, 128), hidden_rate=0.1)
    ratios = []
    for r, seed in enumerate(SEEDS):
        net.set_weights(trained.replica_weights(r))
        _, std = layers.mc_predict(net, x_grid, n_samples=50, seed=seed)
        ratios.append(std[outside].mean() / std[inside].mean())
    assert min(ratios) > 1.2 and np.mean(ratios) > 1.5

    bn_net = models.mlp(
        1,
        0,
        hidden=(64, 64),
        hidden_rate=0.1,
        batch_norm=True,
        optimizer="adam",
        learning_rate=0.01,
        seed=0,
    )
    bn_net.fit(
        np.tile(wave.x_train, (25, 1)),
        np.tile(wave.y_train, 25),
        epochs=20,
        batch_size=50,
        verbose=0,
    )
    det = bn_net.predict(x_grid, verbose=0)[:, 0]
    mm = bn_net.get_layer("bn1").moving_mean.numpy().copy()
    good, _ = layers.mc_predict(bn_net, x_grid, n_samples=50, seed=0)
    naive = np.stack([bn_net(x_grid, training=True).numpy()[:, 0] for _ in range(50)]).mean(0)
    single = [float(bn_net(x_grid[i : i + 1], training=True)[0, 0]) for i in (0, 100, 200)]
    rms_good = np.sqrt(np.mean((good[:, 0] - det) ** 2))
    rms_naive = np.sqrt(np.mean((naive - det) ** 2))
    assert rms_good < 0.1 and rms_naive > 2 * rms_good
    assert np.ptp(single) < 0.5 * np.ptp(det)
    assert np.abs(bn_net.get_layer("bn1").moving_mean.numpy() - mm).max() > 1e-4


def test_l6_recurrent_masks_are_shared_over_time():
    t, units, rate = 12, 24, 0.3
    assert not sequence_demos.is_shared_over_time(
        sequence_demos.dropout_over_time(rate, t, units, shared=False)
    )
    assert sequence_demos.is_shared_over_time(
        sequence_demos.dropout_over_time(rate, t, units, shared=True)
    )
    assert sequence_demos.is_shared_over_time(
        sequence_demos.rnn_input_masks(rate, t, units, seed=1)
    )
    assert sequence_demos.is_shared_over_time(
        sequence_demos.rnn_recurrent_masks(rate, t, units, seed=2)
    )


def test_l6_dropconnect_mean_equals_inference_and_alpha_dropout_keeps_std():
    import keras

    from dropoutcourse import layers

    dc = layers.DropConnectDense(4, rate=0.5, seed=0)
    xs = np.random.default_rng(1).normal(size=(16, 10)).astype("float32")
    inference = dc(xs).numpy()
    samples = np.stack([dc(xs, training=True).numpy() for _ in range(300)])
    assert np.abs(samples.mean(0) - inference).max() / np.abs(inference).max() < 0.15
    z = np.random.default_rng(0).normal(size=(20000, 50)).astype("float32")
    stats = {}
    for layer in (keras.layers.Dropout(0.2, seed=0), keras.layers.AlphaDropout(0.2, seed=0)):
        out = layer(z, training=True).numpy()
        stats[type(layer).__name__] = (out.mean(), out.std())
    stats = pd.DataFrame(stats, index=["mean", "std"]).T
    assert abs(stats.loc["AlphaDropout", "std"] - 1) < 0.05
    assert abs(stats.loc["AlphaDropout", "mean"]) < 0.05
    assert abs(stats.loc["Dropout", "std"] - 1 / np.sqrt(0.8)) < 0.03
