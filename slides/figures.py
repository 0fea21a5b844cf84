"""The figures of the lecture decks, each drawn by the ``dropoutcourse`` package.

``DECK_FIGURES`` lists, per deck number, the figures the deck shows as
``![alt](figures/NAME.png)``; ``slides/build.py`` checks that every figure a deck uses is listed
here, and calls :func:`make` for the ones missing from ``slides/build/figures/``.

Every figure comes from the same functions the notebooks call (``data``, ``demos``,
``reference``, ``theory``, ``cnn_demos``, ``experiments``, ``plots``); nothing is drawn by hand
or downloaded. Experiment-backed figures use the experiments' quick defaults so that all
figures together take a few minutes at most on two cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DECK_FIGURES: dict[str, list[str]] = {
    "01": ["fit_demo", "poly_errors"],
    "02": ["thinned_networks"],
    "03": [],
    "04": ["gaussian_vs_bernoulli", "linear_identity"],
    "05": ["pixel_drop", "pixel_recovery", "variance_shift"],
    "06": [],
}

#: Experiment-backed figures, ready for the decks once ``dropoutcourse.experiments`` is stable:
#: 01 "Networks memorise too" ← memorise; 02 "Is weight scaling good enough?" ← mc_vs_ws;
#: 03 rate/data-size slides ← rate_sweep, data_size; 04 regularizers; 06 mc_uncertainty.
#: To use one, add it to DECK_FIGURES and put ``![alt](figures/NAME.png)`` on the slide.
PENDING_FIGURES = [
    "memorise",
    "mc_vs_ws",
    "rate_sweep",
    "data_size",
    "regularizers",
    "mc_uncertainty",
]

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
    from dropoutcourse import cnn_demos, data, plots

    img = data.load_photo("china.jpg", size=4)
    df = cnn_demos.pixel_drop_study(img, rate=0.3, seeds=range(5))
    _, ax = plt.subplots(figsize=(7, 3.8))
    plots.bar_with_spread(
        df,
        by="method",
        y="recovered",
        ax=ax,
        title="Dropped signal recovered from the 3×3 neighbours (5 seeds)",
    )
    _save(ax, path)


@figure
def variance_shift(path: Path) -> None:
    from dropoutcourse import cnn_demos, plots

    rates = np.linspace(0.0, 0.7, 29)
    ratio = [cnn_demos.theoretical_variance_shift(r, mean=1.0, var=1.0)["ratio"] for r in rates]
    _, ax = plt.subplots(figsize=(7, 3.6))
    with plots.use_course_style():
        ax.plot(rates, ratio, color=plots.PALETTE[0])
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("dropout rate before BatchNorm")
        ax.set_ylabel("test variance / train variance")
        ax.set_title("Variance shift for a unit with mean 1, variance 1")
    _save(ax, path)


# --------------------------------------------------------------------------- experiments
# (dropoutcourse.experiments trains many replicas in one compiled computation; the defaults
# here are its quick settings, a few tens of seconds each on two cores)
@figure
def memorise(path: Path) -> None:
    from dropoutcourse import experiments, plots

    history = experiments.compare(seeds=range(5), epochs=100)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
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
    _save(fig, path)


@figure
def mc_vs_ws(path: Path) -> None:
    from dropoutcourse import experiments, plots

    df = experiments.mc_vs_weight_scaling(ks=(1, 2, 5, 10, 20, 50, 100), seeds=range(5))
    _, ax = plt.subplots(figsize=(8, 4))
    plots.mc_convergence(df, ax=ax)
    _save(ax, path)


@figure
def rate_sweep(path: Path) -> None:
    from dropoutcourse import experiments, plots

    df = experiments.rate_sweep(rates=(0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9), seeds=range(5))
    df = df.assign(test_error=100 * (1 - df["test_acc"]))
    _, ax = plt.subplots(figsize=(8, 4))
    plots.sweep(
        df,
        x="hidden_rate",
        y="test_error",
        ax=ax,
        title="Digits, 300 examples: test error vs rate (mean ± std, 5 seeds)",
    )
    ax.set_ylabel("test error (%)")
    _save(ax, path)


@figure
def data_size(path: Path) -> None:
    from dropoutcourse import experiments, plots

    df = experiments.data_size_sweep(seeds=range(5))
    df = df.assign(test_error=100 * (1 - df["test_acc"]))
    _, ax = plt.subplots(figsize=(8, 4))
    plots.sweep(
        df,
        x="train_size",
        y="test_error",
        by="hidden_rate",
        ax=ax,
        logx=True,
        title="Test error with and without dropout as the data grows (5 seeds)",
    )
    ax.set_ylabel("test error (%)")
    _save(ax, path)


@figure
def regularizers(path: Path) -> None:
    from dropoutcourse import experiments, plots

    df = experiments.regularizer_table(seeds=range(5), epochs=100)
    df = df.assign(test_error=100 * (1 - df["test_acc"]))
    _, ax = plt.subplots(figsize=(9, 3.6))
    plots.bar_with_spread(
        df,
        by="label",
        y="test_error",
        ax=ax,
        kind="point",
        order=list(experiments.REGULARIZERS),
        title="Digits, 300 examples: test error (mean ± std, 5 seeds)",
    )
    ax.set_ylabel("test error (%)")
    _save(ax, path)


@figure
def mc_uncertainty(path: Path) -> None:
    from dropoutcourse import data, engine, plots

    ds = data.load_digits(train_size=300)
    configs = [engine.ReplicaConfig(hidden_rate=0.5, input_rate=0.2, seed=s) for s in range(3)]
    result = engine.train_replicas(ds, configs, epochs=100, verbose=False)
    proba = result.predict_proba(ds.x_test, mc_samples=50, seed=1)  # (R, N, C)
    entropy = -(proba * np.log(np.clip(proba, 1e-12, 1))).sum(-1).ravel()
    wrong = (proba.argmax(-1) != np.asarray(ds.y_test)[None, :]).ravel()
    _, ax = plt.subplots(figsize=(8, 3.8))
    with plots.use_course_style():
        bins = np.linspace(0, entropy.max(), 30)
        ax.hist(
            entropy[~wrong],
            bins=bins,
            density=True,
            alpha=0.6,
            color=plots.PALETTE[0],
            label=f"correct ({(~wrong).sum()})",
        )
        ax.hist(
            entropy[wrong],
            bins=bins,
            density=True,
            alpha=0.6,
            color=plots.PALETTE[1],
            label=f"wrong ({wrong.sum()})",
        )
        ax.set_xlabel("entropy of the MC-dropout prediction (50 passes, nats)")
        ax.set_ylabel("density")
        ax.set_title("Digits test set: the model is less sure where it is wrong")
        ax.legend()
    _save(ax, path)
