"""Lecture 8's experiments: MC dropout, a deep ensemble and temperature scaling, under shift.

* :func:`split_validation` — a held-out validation split (temperature scaling is fitted there,
  never on the test set);
* :func:`shifted` / :func:`noise_inputs` — growing Gaussian input noise (a distribution shift in
  the spirit of Ovadia et al., 2019) and pure-noise inputs (out of distribution);
* :func:`mc_sample_probs` / :func:`member_probs` — the (T, N, C) stack of MC-dropout passes or
  ensemble members' predictions;
* :func:`scores` — accuracy, NLL, Brier score and ECE of one prediction;
* :func:`reliability_plot` — reliability diagrams of several methods side by side;
* :func:`model_precision` — the τ of Gal & Ghahramani (2016) from length-scale, keep
  probability, N and weight decay.

The Keras models are the student's own (``keras.Sequential`` of ``Dense``/``Dropout``), trained
with :func:`dropoutcourse.fit_replica_models`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dropoutcourse import uncertainty
from dropoutcourse._validate import check_nonneg_float, check_positive_float, check_positive_int

__all__ = [
    "member_probs",
    "mc_sample_probs",
    "model_precision",
    "noise_inputs",
    "reliability_plot",
    "scores",
    "shifted",
    "split_validation",
]


def split_validation(x, y, val_size: int, seed: int) -> tuple[np.ndarray, ...]:
    """``(x_fit, y_fit, x_val, y_val)``: ``val_size`` random examples held out from ``(x, y)``."""
    x, y = np.asarray(x), np.asarray(y)
    val_size = check_positive_int(val_size, "val_size")
    if val_size >= len(x):
        raise ValueError(f"val_size must be below the {len(x)} examples, got {val_size}")
    order = np.random.default_rng(seed).permutation(len(x))
    val, fit = order[:val_size], order[val_size:]
    return x[fit], y[fit], x[val], y[val]


def shifted(x, noise: float, seed: int) -> np.ndarray:
    """``x`` plus Gaussian noise of standard deviation ``noise`` (standardised units), float32."""
    noise = check_nonneg_float(noise, "noise")
    x = np.asarray(x, dtype="float32")
    rng = np.random.default_rng(seed)
    return (x + noise * rng.standard_normal(x.shape)).astype("float32")


def noise_inputs(n: int, n_features: int, seed: int) -> np.ndarray:
    """``n`` inputs of pure standard-normal noise: no signal at all (out of distribution)."""
    n = check_positive_int(n, "n")
    n_features = check_positive_int(n_features, "n_features")
    return np.random.default_rng(seed).standard_normal((n, n_features)).astype("float32")


def mc_sample_probs(model, x, n_samples: int, seed: int) -> np.ndarray:
    """(T, N, C): ``n_samples`` MC-dropout passes of ``model`` over ``x`` in ONE call.

    The T copies of ``x`` are stacked into one batch: every row gets its own dropout mask,
    so this equals T separate passes, at the price of one big call. Only dropout-family
    layers are switched on (``layers.mc_predict``'s rule); BatchNorm stays in inference mode.
    """
    from keras import ops

    from dropoutcourse.layers.mc_predict import _dropout_always_on

    n_samples = check_positive_int(n_samples, "n_samples")
    x = np.asarray(x, dtype="float32")
    with _dropout_always_on(model, seed):
        out = ops.convert_to_numpy(model(np.tile(x, (n_samples, 1)), training=False))
    return out.reshape(n_samples, len(x), -1).astype("float64")


def member_probs(models: Sequence, x) -> np.ndarray:
    """(M, N, C): the predictions of M ensemble members (inference mode) on ``x``."""
    from keras import ops

    x = np.asarray(x, dtype="float32")
    return np.stack([ops.convert_to_numpy(m(x, training=False)) for m in models]).astype("float64")


def normalised(probs) -> np.ndarray:
    """float32 softmax outputs as float64 rows that sum to 1 (what the scores expect)."""
    p = np.clip(np.asarray(probs, dtype="float64"), 0.0, 1.0)
    return p / p.sum(axis=-1, keepdims=True)


def scores(probs, labels, n_bins: int = 15) -> dict[str, float]:
    """Accuracy (%), NLL, Brier score and ECE (%, ``n_bins`` bins) of one prediction."""
    p = normalised(probs)
    labels = np.asarray(labels)
    return {
        "accuracy": 100 * float(np.mean(p.argmax(1) == labels)),
        "nll": uncertainty.negative_log_likelihood(p, labels),
        "brier": uncertainty.brier_score(p, labels),
        "ece": 100 * uncertainty.expected_calibration_error(p, labels, n_bins=n_bins),
    }


def temperature_scaled(probs_val, y_val, probs) -> tuple[np.ndarray, float]:
    """Fit T on the validation predictions, apply it to ``probs``: ``(scaled probs, T)``.

    ``log p`` are the logits up to a per-row constant, which softmax ignores.
    """
    t = uncertainty.fit_temperature(np.log(np.clip(probs_val, 1e-12, 1)), y_val)
    return uncertainty.softmax(np.log(np.clip(probs, 1e-12, 1)), t), t


def model_precision(
    length_scale: float, keep_prob: float, n_train: int, weight_decay: float
) -> float:
    """Model precision τ = p l² / (2 N λ) of MC dropout (Gal & Ghahramani, 2016, §4).

    ``keep_prob`` is the paper's p (the KEEP probability, ``1 − rate``), ``length_scale`` the
    prior length-scale l, ``n_train`` N and ``weight_decay`` λ (the L2 coefficient of the
    loss). Observation-noise variance of a regression model: ``1 / τ``.
    """
    length_scale = check_positive_float(length_scale, "length_scale")
    keep_prob = check_positive_float(keep_prob, "keep_prob")
    if keep_prob > 1.0:
        raise ValueError(f"keep_prob is the keep probability 1 − rate, in (0, 1]; got {keep_prob}")
    n_train = check_positive_int(n_train, "n_train")
    weight_decay = check_positive_float(weight_decay, "weight_decay")
    return keep_prob * length_scale**2 / (2.0 * n_train * weight_decay)


def reliability_plot(predictions: Mapping[str, np.ndarray], labels, n_bins: int = 10, axes=None):
    """One reliability diagram per method (accuracy against confidence, bars per bin).

    ``predictions`` maps a method's name to its (N, C) probabilities. The diagonal is perfect
    calibration; bars below it mean overconfidence. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if not predictions:
        raise ValueError("predictions must name at least one method")
    if axes is None:
        fig, axes = plt.subplots(1, len(predictions), figsize=(3.2 * len(predictions), 3.2))
    axes = np.atleast_1d(axes)
    for ax, (name, probs) in zip(axes, predictions.items(), strict=True):
        p = normalised(probs)
        table = uncertainty.reliability_diagram(p, labels, n_bins=n_bins)
        width = table["bin_hi"] - table["bin_lo"]
        ax.bar(
            table["bin_lo"],
            table["accuracy"].fillna(0),
            width=width,
            align="edge",
            edgecolor="black",
            alpha=0.7,
            label="accuracy",
        )
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
        ece = 100 * uncertainty.expected_calibration_error(p, labels, n_bins=15)
        ax.set(title=f"{name}\nECE {ece:.1f} %", xlabel="confidence", xlim=(0, 1), ylim=(0, 1))
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left", fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def mlp(n_features: int, n_classes: int, rate: float = 0.0, hidden: Sequence[int] = (128, 128)):
    """The lecture's compiled Keras MLP: Dense-ReLU(-Dropout) blocks, softmax output, Adam.

    ``rate`` 0 gives the plain network (no Dropout layers at all) of the ensemble members.
    """
    import keras

    layers = [keras.Input((n_features,))]
    for units in hidden:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if rate > 0:
            layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def concrete_mlp(
    n_features: int,
    n_classes: int,
    n_train: int,
    hidden: Sequence[int] = (64, 64),
    learning_rate: float = 0.005,
):
    """An MLP of ``ConcreteDense`` layers (learned drop rates) regularised for ``n_train``.

    Adam's step moves the rate's logit by at most about ``learning_rate`` per step, so the
    default (5× Keras') lets the rates settle within a few hundred steps.
    """
    import keras

    from dropoutcourse.layers.concrete_dropout import ConcreteDense, concrete_regularizers

    reg = concrete_regularizers(n_train)
    layers = [keras.Input((n_features,))]
    layers += [ConcreteDense(units, "relu", **reg) for units in hidden]
    layers.append(ConcreteDense(n_classes, "softmax", **reg))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


#: How the lecture's figures name the methods.
LABELS = {
    "plain": "plain network",
    "temperature": "temperature scaling",
    "dropout": "dropout (weight scaling)",
    "mc_dropout": "MC dropout",
    "ensemble": "deep ensemble",
}


def shift_plot(df, metrics: Sequence[str] = ("nll", "ece"), axes=None):
    """Mean ± one sd over seeds of each ``metric`` against the input noise, one line per method.

    ``df`` has columns ``seed, method, noise`` and the metrics (``claims.lecture8``'s
    ``shift_benchmark`` data). Returns the figure.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6))
    axes = np.atleast_1d(axes)
    names = {
        "nll": "NLL (nats)",
        "ece": "ECE (%)",
        "brier": "Brier score",
        "accuracy": "accuracy (%)",
    }
    for ax, metric in zip(axes, metrics, strict=True):
        for method, g in df.groupby("method", sort=False):
            stats = g.groupby("noise")[metric].agg(["mean", "std"])
            ax.errorbar(
                stats.index,
                stats["mean"],
                yerr=stats["std"],
                marker="o",
                capsize=3,
                label=LABELS.get(method, method),
            )
        ax.set(xlabel="input noise sd (shift)", ylabel=names.get(metric, metric))
    axes[0].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig
