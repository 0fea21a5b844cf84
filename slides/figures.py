"""The figures of the lecture decks, each drawn by the ``dropoutcourse`` package.

``DECK_FIGURES`` lists, per deck number, the figures the deck shows as
``![alt](figures/NAME.png)``; ``slides/build.py`` checks that every figure a deck uses is listed
here, and calls :func:`make` for the ones missing from ``slides/build/figures/``.

Every figure comes from the same functions the notebooks call (``data``, ``demos``,
``reference``, ``theory``, ``cnn_demos``, ``experiments``, ``plots``); nothing is drawn by hand
or downloaded. Experiment-backed figures call the experiments with their default settings and
5 seeds (the numbers in their docstrings, and the ones the slides quote), so that all
figures together take about four minutes on two cores (measured build times are noted next
to each experiment figure).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib  # noqa: E402

import dropoutcourse  # noqa: E402,F401  (before TensorFlow: keeps its import notices off stderr)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DECK_FIGURES: dict[str, list[str]] = {
    "01": ["fit_demo", "poly_errors", "memorise"],
    "02": ["thinned_networks", "mc_vs_ws"],
    "03": ["keras_history", "keras_replicas", "rate_sweep", "data_size"],
    "04": ["gaussian_vs_bernoulli", "linear_identity", "regularizers"],
    "05": ["pixel_drop", "pixel_recovery", "cnn_variants", "variance_shift"],
    "06": ["mc_band", "mc_uncertainty"],
    "07": ["gain_by_size"],
    "08": ["shift_curves"],
}

FIGURES: dict[str, Callable[[Path], None]] = {}


def figure(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    FIGURES[fn.__name__] = fn
    return fn


def make(name: str, path: Path) -> None:
    """Draw figure ``name`` and save it as PNG at ``path``."""
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; known: {sorted(FIGURES)}")
    FIGURES[name](Path(path))
    plt.close("all")


def _save(obj, path: Path) -> None:
    from dropoutcourse import plots

    plots.save_figure(obj, path, dpi=130)


# --------------------------------------------------------------------------- lecture 1
@figure
def fit_demo(path: Path) -> None:
    from dropoutcourse import data, demos, plots

    ds = data.make_polynomial(n_train=15, seed=1)
    x, y = ds.x_train[:, 0], ds.y_train
    grid = np.linspace(0.0, 1.0, 400)
    preds = {
        f"degree {d} ({name})": demos.polynomial_predict(x, y, d, grid)
        for d, name in [(1, "underfit"), (3, "right fit"), (14, "overfit")]
    }
    _, ax = plt.subplots(figsize=(8, 4.2))
    plots.fit_demo(x, y, grid, preds, ax=ax, truth=np.sin(2 * np.pi * grid))
    _save(ax, path)


@figure
def poly_errors(path: Path) -> None:
    from dropoutcourse import data, demos, plots

    ds = data.make_polynomial(n_train=15, seed=1)
    df = demos.polynomial_fit_errors(
        ds.x_train[:, 0], ds.y_train, ds.x_test[:, 0], ds.y_test, degrees=range(0, 14)
    )
    _, ax = plt.subplots(figsize=(7, 3.6))
    with plots.use_course_style():
        ax.plot(df["degree"], df["train_mse"], "o--", color=plots.PALETTE[0], label="train")
        ax.plot(df["degree"], df["test_mse"], "o-", color=plots.PALETTE[1], label="test")
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 1e3)
        ax.set_xlabel("polynomial degree (capacity)")
        ax.set_ylabel("mean squared error (log)")
        ax.set_title("15 training points: train error falls, test error turns around")
        ax.legend()
    _save(ax, path)


# --------------------------------------------------------------------------- lecture 2
@figure
def thinned_networks(path: Path) -> None:
    from dropoutcourse import plots, reference

    sizes = [4, 6, 6, 2]
    rng = np.random.default_rng(3)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    plots.network_diagram(sizes, ax=axes[0], title="full network")
    for i, ax in enumerate(axes[1:], start=1):
        masks = [None]
        for n, rate in zip(sizes[1:-1], (0.5, 0.5), strict=True):
            _, m = reference.dropout_forward(np.ones(n), rate, rng=rng)
            masks.append(m)
        masks.append(None)
        plots.network_diagram(sizes, masks=masks, ax=ax, title=f"thinned network, step {i}")
    _save(fig, path)


# --------------------------------------------------------------------------- lecture 4
@figure
def gaussian_vs_bernoulli(path: Path) -> None:
    from dropoutcourse import plots, reference, theory

    rate = 0.5
    rng = np.random.default_rng(0)
    ones = np.ones(200_000)
    bern, _ = reference.dropout_forward(ones, rate, rng=rng)
    gauss, _ = reference.gaussian_dropout_forward(ones, rate, rng=rng)
    _, ax = plt.subplots(figsize=(8, 3.8))
    with plots.use_course_style():
        bins = np.linspace(-3, 5, 81)
        ax.hist(
            gauss,
            bins=bins,
            density=True,
            color=plots.PALETTE[1],
            alpha=0.6,
            label=f"Gaussian: N(1, {theory.gaussian_sigma(rate) ** 2:.0f})",
        )
        w = bins[1] - bins[0]
        for v in (0.0, 1.0 / (1.0 - rate)):
            frac = np.mean(np.isclose(bern, v))
            ax.bar(
                v,
                frac / w,
                width=w * 1.6,
                color=plots.PALETTE[0],
                label="Bernoulli (inverted)" if v == 0 else None,
            )
        ax.set_yscale("log")
        ax.set_xlabel("multiplier of a unit's activation (rate = 0.5)")
        ax.set_ylabel("density (log)")
        ax.set_title(
            f"mean {bern.mean():.2f} vs {gauss.mean():.2f}, variance "
            f"{bern.var():.2f} vs {gauss.var():.2f}"
        )
        ax.legend()
    _save(ax, path)


@figure
def linear_identity(path: Path) -> None:
    from dropoutcourse import plots, theory

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    w = rng.normal(size=5)
    y = X @ w + rng.normal(scale=0.5, size=50)
    rates = np.linspace(0.0, 0.8, 9)
    exact = [theory.linear_dropout_loss(X, y, w, r) for r in rates]
    mc = [theory.linear_dropout_loss_mc(X, y, w, r, 2000, rng=rng) for r in rates]
    _, ax = plt.subplots(figsize=(7.5, 3.8))
    with plots.use_course_style():
        ax.plot(rates, exact, "-", color=plots.PALETTE[0], label="closed form")
        ax.errorbar(
            rates,
            [m for m, _ in mc],
            yerr=[2 * s for _, s in mc],
            fmt="o",
            color=plots.PALETTE[1],
            capsize=3,
            label="Monte Carlo, 2000 masks (± 2 SE)",
        )
        ax.set_xlabel("dropout rate on the inputs")
        ax.set_ylabel("expected squared error")
        ax.set_title("E‖y − dropout(X) w‖² = ‖y − Xw‖² + rate/(1−rate) Σ w²‖x‖²")
        ax.legend()
    _save(ax, path)


# --------------------------------------------------------------------------- lecture 5
@figure
def pixel_drop(path: Path) -> None:
    from dropoutcourse import cnn_demos, data, plots

    img = data.load_photo("china.jpg", size=4)
    images, titles = [img], ["original"]
    for method, label in [
        ("element", "element-wise"),
        ("channel", "whole channel"),
        ("block", "DropBlock 7×7"),
    ]:
        dropped, _ = cnn_demos.drop_pixels(img, method, 0.3, rng=np.random.default_rng(1))
        images.append(dropped[0])
        titles.append(f"{label}, rate 0.3")
    fig = plots.image_grid(images, titles=titles, ncols=4, panel_size=3.0)
    _save(fig, path)


@figure
def pixel_recovery(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the claim's run (lecture 5 §1): china.jpg at half size, rate 0.5, 9×9 blocks, both guesses
    rec = claims.lecture5.recovered_table(claims.run("pixel_drop").data)  # %, seeds × columns
    guesses = {"neighbours": "3×3, same channel", "channels": "other channels, same pixel"}
    methods = ("element", "block", "channel")
    rng = np.random.default_rng(0)  # jitter of the dots only
    _, ax = plt.subplots(figsize=(8, 3.8))
    with plots.use_course_style():
        for j, (guess, label) in enumerate(guesses.items()):
            pos = np.arange(len(methods)) + (j - 0.5) * 0.38
            means = [rec[guess][m].mean() for m in methods]
            ax.bar(pos, means, width=0.36, color=plots.PALETTE[j], alpha=0.8, label=label)
            for x, m in zip(pos, methods, strict=True):
                vals = rec[guess][m].to_numpy()
                ax.scatter(x + rng.uniform(-0.08, 0.08, len(vals)), vals, s=9, color="black")
        ax.set_xticks(range(len(methods)), ["element-wise", "9×9 blocks", "whole channel"])
        ax.set_ylim(0, 100)
        ax.set_ylabel("dropped signal recovered (%)")
        ax.set_title("Guessing dropped values back (rate 0.5; bars = mean, dots = seeds)")
        ax.legend(loc="upper center", fontsize=8)
    _save(ax, path)


@figure
def cnn_variants(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the claim's run (lecture 5 §3): 300 8×8 digits, six variants × 12 seeds, paired by seed
    result = claims.run("cnn_variants")
    paired = claims.lecture5.cnn_paired(result.data)
    n = result.numbers
    fig = plots.paired_effects(result.data, paired, n["margin"], n["cost_margin"])
    _save(fig, path)


@figure
def variance_shift(path: Path) -> None:
    from dropoutcourse import claims, cnn_demos, plots

    # the formula, and the claim's measurement (lecture 5 §4: real BatchNorm, 5 seeds)
    measured = claims.run("variance_shift").data
    rates = np.linspace(0.0, 0.7, 29)
    ratio = [cnn_demos.theoretical_variance_shift(r, mean=1.0, var=1.0)["ratio"] for r in rates]
    _, ax = plt.subplots(figsize=(7, 3.6))
    with plots.use_course_style():
        ax.plot(rates, ratio, color=plots.PALETTE[0], label="formula, dropout→BN")
        for i, (order, g) in enumerate(measured.groupby("order", sort=False)):
            ax.scatter(
                g["rate"],
                g["bn_output_var_infer"],
                color=plots.PALETTE[i + 1],
                s=20,
                zorder=3,
                label=f"measured, {order} (dots = seeds)",
            )
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(0, 1.15)
        ax.set_xlabel("dropout rate")
        ax.set_ylabel("BN output variance at inference")
        ax.set_title("Variance shift for a unit with mean 1, variance 1")
        ax.legend(loc="lower left", fontsize=8)
    _save(ax, path)


# --------------------------------------------------------------------------- experiments
# A figure that shows a claim's experiment draws that claim's run (``claims.run(name).data``):
# the deck's rendered numbers, the notebook and the claim tests all come from that one run.


def _error_pct(df):
    return df.assign(test_error=100 * (1 - df["test_acc"]))


@figure
def memorise(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the flagship claim's run (lecture 1): the same data the deck's numbers come from
    history = claims.run("flagship").data
    with plots.use_course_style():
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    plots.learning_curves(
        history,
        metrics=("train_loss", "test_loss"),
        ax=axes[0],
        title="Loss: train (dashed) vs test (solid)",
    )
    plots.learning_curves(
        history,
        metrics=("train_acc", "test_acc"),
        ax=axes[1],
        title="Accuracy: train (dashed) vs test (solid)",
    )
    n_seeds = history["seed"].nunique()
    fig.suptitle(
        f"MNIST-1D, 1000 training examples, 40-256-256-10 MLP (mean ± std, {n_seeds} seeds)"
    )
    _save(fig, path)


@figure
def mc_vs_ws(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the claim's run (lecture 2 §7): 500 MNIST-1D signals, dropout 0.5, k = 1 … 100
    df = claims.run("mc_vs_weight_scaling").data
    _, ax = plt.subplots(figsize=(8, 4))
    plots.mc_convergence(
        df,
        ax=ax,
        title="MNIST-1D (500 examples), dropout 0.5: MC average of k nets vs weight scaling",
    )
    _save(ax, path)


def _digits_fit_args() -> tuple:
    from dropoutcourse import data

    d = data.load_digits(train_size=300, seed=0)
    return d, dict(epochs=30, batch_size=32, validation_data=(d.x_test, d.y_test))


@figure
def keras_history(path: Path) -> None:
    import keras

    from dropoutcourse import keras_demos, plots

    # notebook 03 §1: one model.fit of the digits network with Dropout(0.5) (≈ 5 s)
    d, fit_args = _digits_fit_args()
    keras.utils.set_random_seed(0)
    model = keras_demos.digits_mlp(d.n_features, d.n_classes, rate=0.5)
    history = model.fit(d.x_train, d.y_train, verbose=0, **fit_args)
    with plots.use_course_style():
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    for ax, metric in zip(axes, ["loss", "accuracy"], strict=True):
        plots.history_curves(history, metric, ax=ax, title=f"{metric} per epoch (one fit)")
    fig.suptitle("model.fit(..., validation_data=...): digits, Dropout(0.5), History")
    _save(fig, path)


@figure
def keras_replicas(path: Path) -> None:
    from dropoutcourse import keras_demos, plots

    # notebook 03 §2: the same model on ten seeds with fit_replicas (≈ 5 s)
    d, fit_args = _digits_fit_args()
    model = keras_demos.digits_mlp(d.n_features, d.n_classes, rate=0.5)
    runs = dropoutcourse.fit_replicas(
        model, d.x_train, d.y_train, seeds=range(10), verbose=False, **fit_args
    )
    _, ax = plt.subplots(figsize=(8, 4.2))
    plots.replica_curves(runs, "accuracy", ax=ax, title="Accuracy: 10 seeds (thin), mean (bold)")
    _save(ax, path)


@figure
def rate_sweep(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the claim's run (lecture 3 §4): 300 digits, 2 × 128 units, rates 0 … 0.75, 30 epochs
    df = _error_pct(claims.run("rate_plateau").data)
    _, ax = plt.subplots(figsize=(8, 4))
    plots.sweep(
        df,
        x="hidden_rate",
        y="test_error",
        ax=ax,
        title=f"Digits, 300 examples, 2 × 128 units: test error vs rate ({df.seed.nunique()} seeds)",
    )
    ax.set_ylabel("test error (%)")
    _save(ax, path)


@figure
def data_size(path: Path) -> None:
    from dropoutcourse import claims, experiments, plots

    # the claim's run (lecture 3 §6): digits, 50/200/800 examples, rate 0 vs 0.5, 300 updates
    df = _error_pct(claims.run("digits_gain_is_small").data)
    gain = experiments.dropout_gain(df, by="train_size").assign(gain=lambda d: 100 * d["gain"])
    sizes = sorted(df["train_size"].unique())
    with plots.use_course_style():
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    plots.sweep(
        df,
        x="train_size",
        y="test_error",
        by="hidden_rate",
        ax=axes[0],
        logx=True,
        title=f"Test error (mean ± std, {df.seed.nunique()} seeds)",
    )
    axes[0].set_ylabel("test error (%)")
    plots.sweep(
        gain,
        x="train_size",
        y="gain",
        ax=axes[1],
        logx=True,
        title="Gain from dropout 0.5, paired by seed (mean ± std)",
    )
    axes[1].axhline(0.0, color="black", linewidth=0.8)
    axes[1].set_ylabel("test accuracy gain (points)")
    for ax in axes:
        ax.set_xticks(sizes, labels=[str(n) for n in sizes])
        ax.minorticks_off()
    fig.suptitle("Digits: dropout vs none as the training set grows (equal updates per size)")
    _save(fig, path)


@figure
def regularizers(path: Path) -> None:
    from dropoutcourse import claims, plots
    from dropoutcourse.claims.lecture4 import best_l2, sweep_rows

    # the claim's run (lecture 4 §9): the flagship setting, MNIST-1D, 1000 examples, 256 units;
    # every setting on the same seeds (those that trained every arm)
    final = sweep_rows(claims.run("regularisers").data)
    l2 = best_l2(final)
    pick = {
        "none": "none",
        l2: f"best {l2}",
        "max-norm 1": "max-norm 1",
        "gaussian 0.5": "Gaussian 0.5",
        "dropout 0.5": "dropout 0.5",
        "dropout 0.5 + max-norm 1": "dropout + max-norm 1",
    }
    df = _error_pct(final[final["label"].isin(pick)].assign(label=lambda d: d.label.map(pick)))
    _, ax = plt.subplots(figsize=(10, 3.8))
    plots.bar_with_spread(
        df,
        by="label",
        y="test_error",
        ax=ax,
        kind="point",
        order=list(pick.values()),
        title=f"MNIST-1D, 1000 examples, 40-256-256-10: test error "
        f"(mean ± std, dots = {df.seed.nunique()} seeds)",
    )
    ax.set_ylabel("test error (%)")
    ax.set_xlabel("")
    _save(ax, path)


@figure
def mc_band(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the claim's run (lecture 6 §1): the first seed's band, its training points and sin 2πx
    df = claims.run("mc_band").data
    first = df[df["seed"] == df["seed"].min()]
    grid, train = first[first["part"] == "grid"], first[first["part"] == "train"]
    x, mean, std = grid["x"], grid["mc_mean"], grid["mc_std"]
    _, ax = plt.subplots(figsize=(10, 3.2))
    with plots.use_course_style():
        ax.axvspan(0, 1, color="0.93", label="training range")
        ax.fill_between(x, mean - 2 * std, mean + 2 * std, alpha=0.3, label="MC mean ± 2 std")
        ax.plot(x, mean, color=plots.PALETTE[0], label="MC mean (50 passes)")
        ax.plot(x, grid["truth"], "k--", linewidth=1, label="true sin 2πx")
        ax.scatter(train["x"], train["y"], color="black", s=16, zorder=3, label="training data")
        ax.set_ylim(-3, 3)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title("MC dropout band: 20 noisy points, dropout 0.1 (first seed)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    _save(ax, path)


@figure
def mc_uncertainty(path: Path) -> None:
    from dropoutcourse import claims, plots

    # the claim's run: the "dropout" row of experiments.regularizer_table with its defaults
    # (digits, 300 examples, 64-256-256-10, hidden dropout 0.5, 60 epochs, 5 seeds), 50 passes
    df = claims.run("mc_entropy").data
    entropy, wrong = df["entropy"].to_numpy(), df["wrong"].to_numpy(bool)
    _, ax = plt.subplots(figsize=(8, 3.8))
    with plots.use_course_style():
        bins = np.linspace(0, entropy.max(), 30)
        for sel, i, name in [(~wrong, 0, "correct"), (wrong, 1, "wrong")]:
            ax.hist(
                entropy[sel],
                bins=bins,
                density=True,
                alpha=0.6,
                color=plots.PALETTE[i],
                label=f"{name}: {sel.sum()} predictions, median {np.median(entropy[sel]):.2f}",
            )
        ax.set_xlabel("entropy of the MC-dropout prediction (50 passes, nats)")
        ax.set_ylabel("density")
        ax.set_title("Digits test set, 5 seeds: entropy of correct vs wrong predictions")
        ax.legend()
    _save(ax, path)


# --------------------------------------------------------------------------- lectures 7-8
@figure
def gain_by_size(path: Path) -> None:
    from dropoutcourse import claims, modern_demos

    # the claim's run (lecture 7): dropout 0.3 vs none, paired by seed, at every training size
    final = claims.run("gain_vs_data_size").data
    table = final.pivot_table(index="seed", columns=["train_size", "model"], values="val_loss")
    reduction = table.xs(0, axis=1, level="model") - table.xs(1, axis=1, level="model")
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    modern_demos.plot_gain_by_size(
        reduction, ax=ax, title="test-loss reduction by dropout 0.3 (dots: seeds)"
    )
    ax.set_ylabel("none − dropout (nats)")
    _save(fig, path)


@figure
def shift_curves(path: Path) -> None:
    from dropoutcourse import claims
    from dropoutcourse import uncertainty_demos as ud

    # the claim's run (lecture 8): every method at every noise level, mean ± sd over seeds
    fig = ud.shift_plot(claims.run("shift_benchmark").data, ("nll", "ece"))
    fig.set_size_inches(9, 3.4)
    _save(fig, path)
