"""Lecture 7 (dropout today): residual and transformer blocks, early dropout, bigger MNIST-1D.

Model builders return *compiled* Keras models, so a student can ``fit`` them once and
``dropoutcourse.fit_replicas`` can train them on many seeds; the data helper generates
MNIST-1D offline at sizes beyond the 4000 signals of :func:`dropoutcourse.data.load_mnist1d`.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

import keras
import numpy as np

from dropoutcourse._validate import check_positive_int, check_rate, check_seed
from dropoutcourse.data import Dataset

__all__ = [
    "block_rates",
    "early_dropout_runs",
    "copy_into",
    "drop_path_sites",
    "load_mnist1d_large",
    "mlp",
    "plot_gain_by_size",
    "plot_paired_gains",
    "residual_mlp",
    "tiny_transformer",
]

#: MNIST-1D is 10 classes of 40-sample signals.
N_FEATURES, N_CLASSES = 40, 10
#: Most training examples :func:`load_mnist1d_large` generates (≈ 5 s of CPU for 20 000).
MAX_TRAIN = 20_000
#: The fixed test split of :func:`load_mnist1d_large`.
N_TEST = 1000


def _compile(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def block_rates(rate: float, n_blocks: int, schedule: str = "linear") -> list[float]:
    """DropPath rate of each residual block: ``"linear"`` (Huang et al.) or ``"uniform"``."""
    from dropoutcourse.layers import drop_path_rates

    rate = check_rate(rate, "rate")
    n_blocks = check_positive_int(n_blocks, "n_blocks")
    if schedule == "linear":
        return drop_path_rates(rate, n_blocks)
    if schedule == "uniform":
        return [rate] * n_blocks
    raise ValueError(f"schedule must be 'linear' or 'uniform', got {schedule!r}")


def residual_mlp(
    width: int = 32,
    n_blocks: int = 4,
    *,
    drop_path: float = 0.0,
    dropout: float = 0.0,
    schedule: str = "linear",
    learning_rate: float = 1e-3,
) -> keras.Model:
    """A pre-norm residual MLP for MNIST-1D: ``h = h + DropPath(Dense(Dropout(Dense(LN(h)))))``.

    ``dropout`` is ordinary dropout inside every branch (on its hidden units), ``drop_path``
    the stochastic-depth rate of the deepest block (``schedule`` spreads it over the blocks).
    DropPath is written as Keras' ``Dropout(rate, noise_shape=(None, 1))``: one Bernoulli
    draw per sample, survivors scaled by ``1/(1 − rate)`` — the operation of
    :class:`dropoutcourse.layers.DropPath` (and of Keras' EfficientNet). Being a Keras
    ``Dropout``, ``fit_replicas`` trains models that differ only in these rates (all > 0)
    in one computation. Compiled with Adam, sparse categorical cross-entropy and accuracy.
    """
    width = check_positive_int(width, "width")
    dropout = check_rate(dropout, "dropout")
    rates = block_rates(drop_path, n_blocks, schedule)
    # fixed layer names: functional configs link layers by name, and fit_replicas groups
    # models whose configs agree (up to dropout rates)
    inputs = keras.Input((N_FEATURES,), name="signal")
    h = keras.layers.Dense(width, name="embed")(inputs)
    for i, rate in enumerate(rates, start=1):
        branch = keras.layers.LayerNormalization(name=f"block{i}_norm")(h)
        branch = keras.layers.Dense(2 * width, activation="relu", name=f"block{i}_hidden")(branch)
        branch = keras.layers.Dropout(dropout, name=f"block{i}_dropout")(branch)
        branch = keras.layers.Dense(width, name=f"block{i}_out")(branch)
        # DropPath: drop the whole branch for a sample; that sample's block is the identity
        branch = keras.layers.Dropout(rate, noise_shape=(None, 1), name=f"block{i}_drop_path")(
            branch
        )
        h = keras.layers.Add(name=f"block{i}_add")([h, branch])
    h = keras.layers.LayerNormalization(name="head_norm")(h)
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax", name="head")(h)
    return _compile(keras.Model(inputs, outputs, name="residual_mlp"), learning_rate)


def drop_path_sites(model: keras.Model) -> list[float]:
    """The DropPath rates of a :func:`residual_mlp` (its per-sample ``Dropout`` layers)."""
    return [
        layer.rate
        for layer in model.layers
        if isinstance(layer, keras.layers.Dropout) and layer.noise_shape is not None
    ]


def mlp(
    hidden: Sequence[int] = (256, 256), *, dropout: float = 0.0, learning_rate: float = 1e-3
) -> keras.Model:
    """A plain ReLU MLP for MNIST-1D with ``Dropout(dropout)`` after every hidden layer."""
    dropout = check_rate(dropout, "dropout")
    layers = [keras.Input((N_FEATURES,))]
    for units in hidden:
        layers += [
            keras.layers.Dense(check_positive_int(units, "hidden"), activation="relu"),
            keras.layers.Dropout(dropout),
        ]
    layers.append(keras.layers.Dense(N_CLASSES, activation="softmax"))
    return _compile(keras.Sequential(layers), learning_rate)


def tiny_transformer(
    width: int = 32,
    n_heads: int = 2,
    *,
    patch: int = 4,
    attention_dropout: float = 0.1,
    dropout: float = 0.1,
    embedding_dropout: float = 0.1,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """One pre-norm transformer block on MNIST-1D cut into ``40 / patch`` tokens.

    Where dropout goes, as in BERT/GPT-2/ViT: on the embeddings (token + position),
    on the attention probabilities (``MultiHeadAttention(dropout=...)``) and on each
    sublayer's output *before* the residual addition.
    """
    if N_FEATURES % check_positive_int(patch, "patch"):
        raise ValueError(f"patch must divide {N_FEATURES}, got {patch!r}")
    n_tokens = N_FEATURES // patch
    inputs = keras.Input((N_FEATURES,))
    tokens = keras.layers.Reshape((n_tokens, patch))(inputs)
    h = keras.layers.Dense(width)(tokens)  # token embedding of each patch
    positions = keras.layers.Embedding(n_tokens, width)(np.arange(n_tokens))
    h = h + positions
    h = keras.layers.Dropout(embedding_dropout)(h)  # embedding dropout
    a = keras.layers.LayerNormalization()(h)
    a = keras.layers.MultiHeadAttention(n_heads, width // n_heads, dropout=attention_dropout)(a, a)
    a = keras.layers.Dropout(dropout)(a)  # sublayer output, before the residual add
    h = keras.layers.Add()([h, a])
    f = keras.layers.LayerNormalization()(h)
    f = keras.layers.Dense(2 * width, activation="relu")(f)
    f = keras.layers.Dense(width)(f)
    f = keras.layers.Dropout(dropout)(f)  # sublayer output, before the residual add
    h = keras.layers.Add()([h, f])
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.LayerNormalization()(h))
    outputs = keras.layers.Dense(N_CLASSES, activation="softmax")(h)
    return _compile(keras.Model(inputs, outputs), learning_rate)


def copy_into(target: keras.Model, source: keras.Model) -> keras.Model:
    """``target`` with ``source``'s weights (same architecture, e.g. another dropout rate)."""
    target.set_weights(source.get_weights())
    return target


@functools.lru_cache(maxsize=2)
def _pool(n_train: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_train`` + ``N_TEST`` MNIST-1D signals from mnist1d's generator (its seed 42)."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = n_train + N_TEST
    args.train_split = n_train / (n_train + N_TEST)
    # mnist1d reseeds Python's and NumPy's global generators: keep the caller's
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        d = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    arrays = (d["x"], d["y"], d["x_test"], d["y_test"])
    for a in arrays:
        a.flags.writeable = False
    return arrays


def load_mnist1d_large(
    train_size: int = 10_000, seed: int = 0, pool_size: int = MAX_TRAIN
) -> Dataset:
    """MNIST-1D with up to 20 000 training signals, generated offline (mnist1d's generator).

    A pool of ``pool_size`` training signals and a fixed test split of 1000 is generated once
    per process; ``train_size`` of them are drawn at random with ``seed`` (a seed set redraws
    the data). Inputs are standardised with the training subset's mean and sd per feature.
    """
    pool_size = check_positive_int(pool_size, "pool_size")
    if pool_size > MAX_TRAIN:
        raise ValueError(f"pool_size must be <= {MAX_TRAIN}, got {pool_size!r}")
    train_size = check_positive_int(train_size, "train_size")
    if not 10 <= train_size <= pool_size:
        raise ValueError(f"train_size must be in [10, {pool_size}], got {train_size!r}")
    x, y, x_test, y_test = _pool(pool_size)
    pick = np.random.default_rng(check_seed(seed)).permutation(pool_size)[:train_size]
    x_train = x[pick].astype(np.float32)
    mean, sd = x_train.mean(0), x_train.std(0) + 1e-8
    return Dataset(
        "mnist1d-large",
        (x_train - mean) / sd,
        y[pick].astype(np.int64),
        ((x_test - mean) / sd).astype(np.float32),
        y_test.astype(np.int64),
        N_CLASSES,
        f"MNIST-1D generated with mnist1d.make_dataset ({pool_size} + {N_TEST} signals, "
        f"seed 42); {train_size} training signals drawn with seed={seed}.",
    )


#: "Off" in :func:`early_dropout_runs`: a rate above 0 keeps both phases one architecture (each
#: replica's mask stream carries over), so ``start_from`` continues them; it drops ~1 unit in 10^6
OFF = 1e-6


def early_dropout_runs(
    data: Dataset,
    *,
    hidden: Sequence[int] = (32, 32),
    seeds=range(3),
    rate: float = 0.1,
    epochs_on: int = 4,
    epochs_off: int = 8,
    batch_size: int = 128,
):
    """Early dropout (Liu et al., 2023) against no dropout, both restarted after ``epochs_on``.

    Phase 1 trains ``mlp(hidden)`` with and without ``Dropout(rate)`` on every seed; phase 2
    continues every replica (``fit_replica_models(..., start_from=phase1)``) without dropout
    for ``epochs_off`` more epochs, with a fresh Adam (so both arms get the same restart).
    Returns one row per (arm, seed): ``train_loss`` (inference mode, full training set) and
    ``test_acc``.
    """
    import pandas as pd

    import dropoutcourse
    from dropoutcourse import uncertainty
    from dropoutcourse.uncertainty_demos import normalised

    rate = check_rate(rate, "rate")
    arms = {"no dropout": OFF, "early dropout": rate}
    fit = dict(batch_size=batch_size, verbose=False)
    phase1 = dropoutcourse.fit_replica_models(
        [mlp(hidden, dropout=r) for r in arms.values()],
        data.x_train,
        data.y_train,
        seeds=seeds,
        epochs=check_positive_int(epochs_on, "epochs_on"),
        **fit,
    )
    epochs_off = check_positive_int(epochs_off, "epochs_off")
    phase2 = dropoutcourse.fit_replica_models(
        [mlp(hidden, dropout=OFF) for _ in arms],
        data.x_train,
        data.y_train,
        seeds=seeds,
        epochs=epochs_off,
        validation_data=(data.x_test, data.y_test),
        validation_freq=epochs_off,
        start_from=phase1,
        **fit,
    )
    test_acc = phase2.history.set_index(["model", "seed", "epoch"])["val_accuracy"]
    rows = []
    for index, arm in enumerate(arms):
        for seed, probs in phase2.predict(data.x_train, model=index).items():
            loss = uncertainty.negative_log_likelihood(normalised(probs), data.y_train)
            acc = float(test_acc[(index, seed, epochs_off)])
            rows.append({"arm": arm, "seed": seed, "train_loss": loss, "test_acc": acc})
    return pd.DataFrame(rows)


def plot_paired_gains(final, metric: str = "val_accuracy", baseline: str = "none", ax=None):
    """Per-seed difference to ``baseline`` (points) for every other ``label``; mean as a bar."""
    from dropoutcourse.plots import PALETTE, _new_ax

    ax = _new_ax(ax)
    table = 100 * final.pivot(index="seed", columns="label", values=metric)
    others = [c for c in table.columns if c != baseline]
    for i, label in enumerate(others):
        diff = table[label] - table[baseline]
        ax.bar(i, diff.mean(), color=PALETTE[i % len(PALETTE)], alpha=0.35)
        ax.scatter(np.full(len(diff), i), diff, color=PALETTE[i % len(PALETTE)], s=16, zorder=3)
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.set_xticks(range(len(others)), others, rotation=15)
    ax.set(ylabel=f"test accuracy − {baseline} (points)", title="paired by seed (dots: seeds)")
    return ax


def plot_gain_by_size(gains, ax=None, title: str | None = None):
    """Dropout's gain (points) against the training-set size: seeds as dots, mean as a line."""
    from dropoutcourse.plots import PALETTE, _new_ax

    ax = _new_ax(ax)
    sizes = np.asarray(gains.columns, dtype=float)
    for _, row in gains.iterrows():
        ax.scatter(sizes, row.to_numpy(), color=PALETTE[0], s=14, alpha=0.6)
    ax.plot(sizes, gains.mean().to_numpy(), color=PALETTE[0], linewidth=2.2, label="mean")
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.set_xscale("log")
    ax.set(xlabel="training signals", ylabel="dropout − none (points)", title=title or "")
    ax.legend()
    return ax
