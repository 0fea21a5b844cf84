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


def _kfold_scores(spread: float, change: float = 0.1) -> pd.DataFrame:
    """Synthetic fold scores of the five k-fold models; ``spread`` = fold-to-fold noise of
    dropout − control (accuracy), ``change`` = the dropout models' output change."""
    from dropoutcourse.experiments import KERAS_TUTORIAL_CONTROLS

    control, positive = KERAS_TUTORIAL_CONTROLS
    noise = np.array([1.0, -1.0, 0.5, -0.5, 0.0])
    base = np.array([0.95, 0.97, 0.93, 0.96, 0.94])
    acc = {
        "baseline": base,
        control: base + 0.005,
        "visible": base + 0.005 + spread * noise,
        "hidden": base + 0.005 + spread * noise[::-1],
        positive: base - 0.10,
    }
    rows = [  # two repeats of the 5 folds, as the claim's two seeds give
        {"model": m, "repeat": r, "fold": k + 1, "accuracy": a, "dropout_change": np.nan}
        for r in (1, 2)
        for m, scores in acc.items()
        for k, a in enumerate(scores[::-1] if r == 2 else scores)
    ]
    df = pd.DataFrame(rows)
    df.loc[df["model"].isin(["visible", "hidden"]), "dropout_change"] = change
    return df


def test_l3_kfold_rule_is_about_resolution_and_needs_active_dropout():
    decide = claims.lecture3.kfold_decide
    checks, numbers = decide(_kfold_scores(0.01))
    assert all(checks.values()) and numbers["detectable"] < numbers["margin"]
    wide = decide(_kfold_scores(0.15))[0]  # folds disagree by ±15 points: not resolved
    assert [k for k, ok in wide.items() if not ok] == [k for k in wide if "resolves" in k]
    off = decide(_kfold_scores(0.01, change=0.0))[0]  # nothing dropped
    assert [k for k, ok in off.items() if not ok] == [k for k in off if "active" in k]
    assert off[next(k for k in off if "active" in k)].margin_se == -np.inf  # exact


# --------------------------------------------------------------------------- lecture 5
# The training experiments of lectures 5 and 6 are claims (dropoutcourse.claims.lecture5 and
# lecture6, asserted by tests/test_claims.py); here: their fast deterministic parts, and tests
# that their decision rules fail when the effect is absent.
from dropoutcourse import claims  # noqa: E402


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


def _cnn_runs(effects: dict[str, tuple[float, float]], n_seeds: int = 10) -> pd.DataFrame:
    """A synthetic cnn_variants run: label -> (training-loss rise, test-accuracy change)."""
    rng = np.random.default_rng(0)
    base = 0.94 + 0.005 * rng.standard_normal(n_seeds)
    loss_noise = 0.002 * rng.standard_normal(n_seeds)
    rows = []
    for label in claims.lecture5.CNN_VARIANTS:
        rise, gain = effects.get(label, (0.03, 0.0))
        for s in range(n_seeds):
            # a variant without dropout is none's run, to the last bit (same weights, batches)
            noise = loss_noise[s] if rise == 0 else 0.002 * rng.standard_normal()
            rows.append(
                {
                    "label": label,
                    "seed": s,
                    "train_loss": 0.01 + rise + noise,
                    "train_acc": 1.0,
                    "test_acc": base[s] + gain + 0.003 * rng.standard_normal(),
                }
            )
    return pd.DataFrame(rows)


def test_l5_cnn_rule_holds_for_an_active_null_and_fails_otherwise():
    """The cnn_variants rule: activity, no gain, no large cost, positive control; each can fail."""
    none = {"none": (0.0, 0.0), "spatial 0.5": (0.03, -0.03)}  # the positive control costs
    checks, numbers = claims.lecture5.cnn_decide(_cnn_runs(none))
    assert all(checks.values()) and numbers["margin"] > 0
    inactive = claims.lecture5.cnn_decide(_cnn_runs(none | {"head 0.5": (0.0, 0.0)}))[0]
    assert not inactive[next(k for k in inactive if k.startswith("dropout is active"))]
    better = claims.lecture5.cnn_decide(_cnn_runs(none | {"element 0.2": (0.03, 0.03)}))[0]
    assert [k for k, ok in better.items() if not ok] == [k for k in better if "no variant" in k]
    blind = claims.lecture5.cnn_decide(_cnn_runs(none | {"spatial 0.5": (0.03, 0.0)}))[0]
    assert [k for k, ok in blind.items() if not ok] == [k for k in blind if "positive" in k]
    worse = claims.lecture5.cnn_decide(_cnn_runs(none | {"spatial 0.2": (0.03, -0.02)}))[0]
    assert all(worse.values())  # a 2-point cost is inside the 3-point cost margin
    costly = claims.lecture5.cnn_decide(_cnn_runs(none | {"dropblock 0.2": (0.03, -0.05)}))[0]
    assert [k for k, ok in costly.items() if not ok] == [k for k in costly if "small" in k]


def test_l5_variance_shift_rule_fails_without_a_shift():
    ok = pd.DataFrame(
        [
            {
                "rate": r,
                "seed": s,
                "order": o,
                "theory_ratio": t,
                "bn_moving_var": 1.0,
                "bn_output_var_infer": v + 0.003 * s,
            }
            for r, t in ((0.2, 2 / 3), (0.5, 1 / 3))
            for s in range(5)
            for o, v in (("dropout→BN", t), ("BN→dropout", 1.0))
        ]
    )
    assert all(claims.lecture5.variance_shift_decide(ok)[0].values())
    flat = ok.assign(bn_output_var_infer=1.0 + 0.003 * ok["seed"])  # no shift anywhere
    failed = [k for k, v in claims.lecture5.variance_shift_decide(flat)[0].items() if not v]
    assert failed and all("dropout→BN" in k or "positive control" in k for k in failed)


# --------------------------------------------------------------------------- lecture 6


def _band(widen: float, n_seeds: int = 5) -> pd.DataFrame:
    """A synthetic mc_band run: std 0.1 inside [0, 1], ``widen`` × that outside."""
    x = np.linspace(-0.5, 1.5, 201)
    rows = []
    for s in range(n_seeds):
        std = np.where((x >= 0) & (x <= 1), 0.1, 0.1 * (widen + 0.05 * s))
        rows.append(
            pd.DataFrame(
                {
                    "seed": s,
                    "part": "grid",
                    "x": x,
                    "y": np.nan,
                    "truth": 0.0,
                    "mc_mean": 0.0,
                    "mc_std": std,
                    "det": 0.0,
                    "t_single": 0.001,
                    "t_mc": 0.05,
                }
            )
        )
        xt = np.linspace(0, 1, 20)
        rows.append(
            pd.DataFrame(
                {
                    "seed": s,
                    "part": "train",
                    "x": xt,
                    "y": 0.3 * np.sin(7 * xt + s),
                    "truth": 0.0,
                    "mc_mean": 0.0,
                    "mc_std": 0.1,
                    "det": 0.0,
                    "t_single": 0.001,
                    "t_mc": 0.05,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_l6_mc_band_rule_fails_when_the_band_does_not_widen():
    checks, numbers = claims.lecture6.mc_band_decide(_band(2.0))
    assert all(checks.values()), checks
    assert numbers["ratio"] == pytest.approx(2.1) and "cost" not in numbers  # measured, not cached
    assert numbers["cover_truth_in"] == pytest.approx(100)
    flat = claims.lecture6.mc_band_decide(_band(0.8))[0]
    assert [k for k, ok in flat.items() if not ok] == [k for k in flat if "wide away" in k]


def _entropies(shift: float, n_seeds: int = 5) -> pd.DataFrame:
    """A synthetic mc_entropy run: wrong predictions' entropies shifted up by ``shift``."""
    rng = np.random.default_rng(0)
    frames = []
    for s in range(n_seeds):
        wrong = np.arange(400) < 40
        entropy = rng.exponential(0.2, 400) + shift * wrong
        frames.append(
            pd.DataFrame({"seed": s, "entropy": entropy, "wrong": wrong, "mc_vs_ws": 0.05})
        )
    return pd.concat(frames, ignore_index=True)


def test_l6_mc_entropy_rule_needs_a_signal_and_an_overlap():
    checks, numbers = claims.lecture6.mc_entropy_decide(_entropies(0.2))
    assert all(checks.values()) and 0.5 < numbers["auc"] < 1
    assert numbers["n_wrong"] == 200 and numbers["error"] == pytest.approx(10)
    no_signal = claims.lecture6.mc_entropy_decide(_entropies(0.0))[0]
    assert not all(no_signal.values())
    separated = claims.lecture6.mc_entropy_decide(_entropies(50.0))[0]
    assert [k for k, ok in separated.items() if not ok] == [k for k in separated if "overlap" in k]


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
