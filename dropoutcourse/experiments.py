"""The experiments the lectures quote, each returning a tidy pandas DataFrame.

Every experiment trains many replicas (settings × seeds) in one compiled computation through
:func:`dropoutcourse.engine.train_replicas`, so that the default settings (≥ 5 seeds) run in
under a minute on a 2-core CPU. ``full=True`` switches to larger, more paper-like settings
(used by ``python -m dropoutcourse reproduce --full``). Draw the results with
:mod:`dropoutcourse.plots`; summarise them with :func:`summarize`.

Convention: ``rate`` (and ``hidden_rate``/``input_rate``) is the probability of *dropping* a
unit. The paper's retention probability is ``p = 1 - rate``.

What the defaults measure is written in each docstring, with the numbers we obtained on the
course machine; when a set-up does not show the paper's effect, the docstring says so.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from dropoutcourse.stats import paired_comparison  # noqa: F401  (re-exported: lectures use it)

__all__ = [
    "compare",
    "generalization_gap",
    "rate_sweep",
    "data_size_sweep",
    "dropout_gain",
    "mc_vs_weight_scaling",
    "regularizer_table",
    "cross_validate",
    "paired_comparison",
    "summarize",
    "DEFAULT_VARIANTS",
    "REGULARIZERS",
]

#: The two settings :func:`compare` trains by default (label → ``ReplicaConfig`` fields).
DEFAULT_VARIANTS: dict[str, dict] = {
    "no dropout": {},
    "dropout 0.5": {"hidden_rate": 0.5},
}

#: Paper Table 9 in miniature: label → ``ReplicaConfig`` fields.
REGULARIZERS: dict[str, dict] = {
    "none": {},
    "L2": {"l2": 5e-4},
    "max-norm": {"max_norm": 3.0},
    "dropout": {"hidden_rate": 0.5},
    "dropout + L2": {"hidden_rate": 0.5, "l2": 5e-4},
    "dropout + max-norm": {"hidden_rate": 0.5, "max_norm": 3.0},
}

FINAL_COLUMNS = ["test_acc", "test_loss", "train_acc", "train_loss"]

#: Optimiser settings of every experiment (override with keyword arguments). Measured on
#: digits/MNIST-1D: SGD with lr 0.05 and momentum 0.9 *diverges* with dropout 0.5 (even with
#: max-norm 3), lr 0.01 is stable for all settings; Adam (1e-3) was not faster.
TRAINING: dict[str, object] = {
    "optimizer": "sgd",
    "learning_rate": 0.01,
    "momentum": 0.9,
    "batch_size": 32,
}


# --------------------------------------------------------------------------- helpers


def _seeds(seeds: Iterable[int]) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        raise TypeError(f"seeds must be an iterable of ints such as range(5), got {seeds!r}")
    out = list(seeds)
    if not out:
        raise ValueError("seeds must contain at least one seed")
    for s in out:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"seeds must be non-negative integers, got {s!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {out}")
    return [int(s) for s in out]


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _hidden(hidden: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    out = tuple(_positive_int(h, "hidden") for h in hidden)
    if not out:
        raise ValueError("hidden must list at least one layer width")
    return out


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, flush=True)


def _load(data, *, name: str, train_size: int, seed: int = 0):
    """The default data sets (offline): MNIST-1D or scikit-learn's digits, few training examples."""
    if data is not None:
        return data
    from dropoutcourse import data as data_mod

    loader = {"mnist1d": data_mod.load_mnist1d, "digits": data_mod.load_digits}[name]
    return loader(train_size=train_size, seed=seed)


def _train(data, configs, *, hidden, epochs, verbose, final_only=False, **kwargs):
    from dropoutcourse import engine

    settings = {**TRAINING, **kwargs}
    if final_only:
        # only the last epoch is reported: skip the per-epoch evaluation (about half the work;
        # training itself is identical)
        settings.setdefault("eval_every", epochs)
    return engine.train_replicas(
        data, configs, hidden=hidden, epochs=epochs, verbose=verbose, **settings
    )


def _configs(variants: Mapping[str, Mapping], seeds: Sequence[int]) -> list:
    from dropoutcourse.engine import ReplicaConfig

    if not isinstance(variants, Mapping) or not variants:
        raise ValueError("variants must be a non-empty dict {label: ReplicaConfig fields}")
    configs = []
    for label, fields in variants.items():
        fields = dict(fields)
        bad = {"seed", "label"} & set(fields)
        if bad:
            raise ValueError(f"variants[{label!r}] must not set {sorted(bad)}; use seeds=")
        for seed in seeds:
            try:
                configs.append(ReplicaConfig(**fields, seed=seed, label=str(label)))
            except TypeError as err:
                raise ValueError(f"variants[{label!r}]: {err}") from None
    return configs


# --------------------------------------------------------------------------- summaries


def summarize(df: pd.DataFrame, by: str | Sequence[str], metric: str = "test_acc") -> pd.DataFrame:
    """Mean, std (ddof=1), min, max and number of runs ``n`` of ``metric`` per group.

    Groups keep the order in which they first appear. Works on final rows (one per replica);
    pass ``TrainResult.final()``-like rows, not a whole per-epoch history.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    keys = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*keys, metric] if c not in df.columns]
    if missing:
        raise ValueError(f"df is missing column(s) {missing}; available: {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("df is empty")
    out = (
        df.groupby(keys, sort=False, dropna=False)[metric]
        .agg(mean="mean", std="std", min="min", max="max", n="count")
        .reset_index()
    )
    return out


def generalization_gap(history: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``history`` with ``acc_gap = train_acc − test_acc`` and ``loss_gap = test_loss − train_loss``."""
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    missing = [c for c in FINAL_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history is missing column(s) {missing}")
    out = history.copy()
    out["acc_gap"] = out["train_acc"] - out["test_acc"]
    out["loss_gap"] = out["test_loss"] - out["train_loss"]
    return out


def untrained_rates(final: pd.DataFrame, n_classes: int = 10) -> list[float]:
    """Hidden rates whose mean test accuracy stays below twice chance level (1 / n_classes).

    Such runs did not learn at all (e.g. rate 0.9 with inverted dropout's ×10 rescaling); the
    sweep plots leave them out and say so, rather than squashing the rest of the axis.
    """
    if "hidden_rate" not in final or "test_acc" not in final:
        raise ValueError("final must have the columns 'hidden_rate' and 'test_acc'")
    means = final.groupby("hidden_rate")["test_acc"].mean()
    return [float(r) for r in means[means < 2.0 / n_classes].index]


def dropout_gain(
    results: pd.DataFrame, by: str = "train_size", metric: str = "test_acc"
) -> pd.DataFrame:
    """Per ``by`` value and seed: ``metric`` of each dropout rate minus the same seed's rate-0 run.

    Columns: ``by, hidden_rate, seed, gain`` (rate 0 itself is left out). For accuracy a
    positive gain means dropout helped; for a loss, a negative one.
    """
    needed = [by, "hidden_rate", "seed", metric]
    missing = [c for c in needed if c not in results.columns]
    if missing:
        raise ValueError(f"results is missing column(s) {missing}")
    base = results[results["hidden_rate"] == 0.0][[by, "seed", metric]]
    if base.empty:
        raise ValueError("results has no hidden_rate == 0 runs to compare against")
    merged = results[results["hidden_rate"] > 0][[by, "hidden_rate", "seed", metric]].merge(
        base, on=[by, "seed"], suffixes=("", "_base")
    )
    merged["gain"] = merged[metric] - merged[f"{metric}_base"]
    return merged[[by, "hidden_rate", "seed", "gain"]].reset_index(drop=True)


# --------------------------------------------------------------------------- experiments


def compare(
    data=None,
    variants: Mapping[str, Mapping] | None = None,
    seeds: Iterable[int] = range(5),
    epochs: int | None = None,
    hidden: Sequence[int] = (256, 256),
    full: bool = False,
    verbose: bool = False,
    **train_kwargs,
) -> pd.DataFrame:
    """Train each variant with every seed; return the per-epoch history (one row per replica and epoch).

    Default: MNIST-1D with 1000 training examples (the fixed 1000-signal test set), a
    40-256-256-10 ReLU MLP, SGD (lr 0.01, momentum 0.9, batch 32), 50 epochs (150 with
    ``full``), ``{"no dropout", "dropout 0.5"}`` with dropout on the hidden layers only.
    Add :func:`generalization_gap` columns to read off train − test differences.

    Measured (5 seeds, 50 epochs): test accuracy 0.465 ± 0.016 without dropout vs
    0.53 ± 0.01 with dropout 0.5; the no-dropout test loss *rises* from epoch ~15 (overfitting)
    while the dropout one keeps falling. Input dropout 0.2 on top *hurt* on MNIST-1D
    (0.46 at epoch 100), so it is not in the default. On digits (300 examples) the same
    comparison gives only +0.8 points (0.937 → 0.945) and no gain in test loss.
    """
    seeds = _seeds(seeds)
    data = _load(data, name="mnist1d", train_size=1000)
    epochs = _positive_int(epochs if epochs is not None else (150 if full else 50), "epochs")
    configs = _configs(DEFAULT_VARIANTS if variants is None else variants, seeds)
    result = _train(
        data, configs, hidden=_hidden(hidden), epochs=epochs, verbose=verbose, **train_kwargs
    )
    return result.history


def _units_for(rate: float, base_units: int, mode: str) -> int:
    if mode == "n_fixed":
        return base_units
    return max(1, round(base_units / (1.0 - rate)))


def rate_sweep(
    rates: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    mode: str = "n_fixed",
    seeds: Iterable[int] = range(5),
    base_units: int | None = None,
    depth: int = 2,
    data=None,
    epochs: int | None = None,
    full: bool = False,
    verbose: bool = False,
    **train_kwargs,
) -> pd.DataFrame:
    """Paper Figure 9: final errors as a function of the hidden dropout rate.

    ``mode="n_fixed"``: every net has ``base_units`` units per hidden layer (default 128).
    ``mode="pn_fixed"``: a net with rate r has ``round(base_units / (1 − r))`` units per
    hidden layer (default base 32, so 32 … 320 units), so that the expected number of *kept*
    units (the paper's p·n) is ``base_units`` for every rate. One engine call per width.
    Default data: digits, 300 training examples, 60 epochs (200 with ``full``).

    Returns final rows (one per replica) with ``mode, units, hidden_rate, seed, test_acc,
    test_loss, train_acc, train_loss`` and the engine's other columns.

    Measured (5 seeds, defaults, ~20 s per mode). n fixed (128 units): test accuracy
    0.936 at rate 0, 0.940–0.943 for rates 0.1–0.6 (flat, as in the paper), 0.935 at 0.7,
    0.920 at 0.8, and rate 0.9 does *not train at all* (chance level, 0.12) with this
    learning rate. p·n fixed (32 kept units): 0.920 at rate 0 (32 units), 0.931–0.936 for
    rates 0.2–0.7 (flat; the paper's optimum near p = 0.6, i.e. rate 0.4, is inside this
    plateau but not singled out), 0.925 at 0.8, and again chance level at rate 0.9 (320
    units). The paper's small-p nets do train: they use max-norm and larger learning rates.
    """
    from dropoutcourse._validate import check_rate

    if mode not in ("n_fixed", "pn_fixed"):
        raise ValueError(f"mode must be 'n_fixed' or 'pn_fixed', got {mode!r}")
    seeds = _seeds(seeds)
    rates = [check_rate(r, "rates") for r in rates]
    if not rates:
        raise ValueError("rates must contain at least one rate")
    if base_units is None:
        base_units = (256 if full else 128) if mode == "n_fixed" else (64 if full else 32)
    base_units = _positive_int(base_units, "base_units")
    depth = _positive_int(depth, "depth")
    data = _load(data, name="digits", train_size=300)
    epochs = _positive_int(epochs if epochs is not None else (200 if full else 60), "epochs")

    by_width: dict[int, list[float]] = {}
    for r in rates:
        by_width.setdefault(_units_for(r, base_units, mode), []).append(r)
    frames = []
    for units, width_rates in by_width.items():
        t0 = time.perf_counter()
        variants = {f"rate {r:g}": {"hidden_rate": r} for r in width_rates}
        result = _train(
            data,
            _configs(variants, seeds),
            hidden=(units,) * depth,
            epochs=epochs,
            verbose=False,
            final_only=True,
            **train_kwargs,
        )
        frames.append(result.final().assign(units=units, mode=mode))
        _log(
            verbose,
            f"  {mode}: {units} units, rates {width_rates}: {time.perf_counter() - t0:.1f} s",
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["hidden_rate", "seed"], kind="stable").reset_index(drop=True)


def data_size_sweep(
    sizes: Sequence[int] = (50, 100, 200, 400, 800, 1200),
    rates: Sequence[float] = (0.0, 0.5),
    seeds: Iterable[int] = range(5),
    input_rate: float = 0.0,
    hidden: Sequence[int] = (256, 256),
    updates: int | None = None,
    max_epochs: int = 400,
    data=None,
    full: bool = False,
    verbose: bool = False,
    **train_kwargs,
) -> pd.DataFrame:
    """Paper Figure 10: final errors with and without dropout as the training set grows.

    Every replica trains on the first ``n`` examples of one training set
    (``ReplicaConfig.train_size``) and is tested on the same test set. Each size gets about
    the same number of parameter *updates* (``updates``, default 500, 2000 with ``full``;
    epochs = updates / batches per epoch, at most ``max_epochs``), so that tiny sets are not
    starved of training. That needs one engine call per size: in a single call every
    replica pays for the largest set's steps, which made the sweep several times slower.
    Default data: digits (1200 training examples available, 597 test).
    ``input_rate`` applies to the dropout runs only. Use :func:`dropout_gain` for the
    per-seed difference. Columns: the engine's final rows plus ``epochs``.

    Measured (5 seeds, 500 updates, 50–100 s depending on machine load): mean gain in test
    accuracy (paired by seed) +0.8 ± 1.3 points at 50 examples, +1.2 ± 1.3 at 100, +0.3 at
    200, +0.1 at 400, −0.1 at 800, −0.2 ± 0.4 at 1200. The *mean* gain is largest on small
    sets and shrinks with more data, as in the paper, but **no size's gain is significantly
    different from zero** (one-sample t over 5 seeds), the paper's "no gain on the tiniest
    sets" is not reproduced, and dropout's test *loss* is higher at every size. At 800–1200
    examples the equal-updates budget means only 16–24 epochs, where dropout nets (which
    train more slowly) are not converged. On this data set the effect is too small to see;
    MNIST-1D (:func:`compare`) shows a large one but is too slow to sweep in a minute.
    """
    from dropoutcourse._validate import check_rate
    from dropoutcourse.engine import ReplicaConfig

    seeds = _seeds(seeds)
    sizes = sorted({_positive_int(n, "sizes") for n in sizes})
    rates = [check_rate(r, "rates") for r in rates]
    if not sizes or not rates:
        raise ValueError("sizes and rates must not be empty")
    input_rate = check_rate(input_rate, "input_rate")
    data = _load(data, name="digits", train_size=max(sizes))
    if max(sizes) > data.n_train:
        raise ValueError(
            f"sizes must be <= the data's training set ({data.n_train}), got {max(sizes)}"
        )
    updates = _positive_int(updates if updates is not None else (2000 if full else 500), "updates")
    max_epochs = _positive_int(max_epochs, "max_epochs")
    batch = int(train_kwargs.get("batch_size", TRAINING["batch_size"]))
    frames = []
    for n in sizes:
        t0 = time.perf_counter()
        epochs = min(max_epochs, max(1, math.ceil(updates / math.ceil(n / batch))))
        configs = [
            ReplicaConfig(
                hidden_rate=r,
                input_rate=input_rate if r > 0 else 0.0,
                train_size=n,
                seed=s,
                label=f"rate {r:g}",
            )
            for r in rates
            for s in seeds
        ]
        result = _train(
            data,
            configs,
            hidden=_hidden(hidden),
            epochs=epochs,
            verbose=False,
            final_only=True,
            **train_kwargs,
        )
        frames.append(result.final().assign(epochs=epochs))
        _log(verbose, f"  {n} examples, {epochs} epochs: {time.perf_counter() - t0:.1f} s")
    return pd.concat(frames, ignore_index=True)


def mc_vs_weight_scaling(
    ks: Sequence[int] = (1, 2, 5, 10, 20, 50, 100),
    seeds: Iterable[int] = range(5),
    rate: float = 0.5,
    repeats: int = 3,
    hidden: Sequence[int] = (256, 256),
    data=None,
    epochs: int | None = None,
    full: bool = False,
    verbose: bool = False,
    **train_kwargs,
) -> pd.DataFrame:
    """Paper Figure 11: Monte-Carlo model averaging over k thinned nets vs weight scaling.

    Trains one dropout net per seed (one engine call; default the :func:`compare` set-up:
    MNIST-1D, 1000 examples, 50 epochs), then for each k and repetition averages the class
    probabilities of k random thinned nets on the test set
    (``predict_proba(mc_samples=k)``) and compares its error with the single deterministic
    weight-scaled pass. Columns: ``seed, replica, k, repeat, mc_error, ws_error``.

    What this shows, with its decision rule and on several seed sets, is the claim
    ``mc_vs_weight_scaling`` of :mod:`dropoutcourse.claims` (``python -m dropoutcourse claims``).
    """
    from dropoutcourse._validate import check_rate

    seeds = _seeds(seeds)
    rate = check_rate(rate, "rate")
    if rate == 0:
        raise ValueError("rate must be > 0: without dropout there is nothing to sample")
    ks = [_positive_int(k, "ks") for k in ks]
    repeats = _positive_int(repeats, "repeats")
    data = _load(data, name="mnist1d", train_size=1000)
    epochs = _positive_int(epochs if epochs is not None else (150 if full else 50), "epochs")
    configs = _configs({f"dropout {rate:g}": {"hidden_rate": rate}}, seeds)
    result = _train(
        data,
        configs,
        hidden=_hidden(hidden),
        epochs=epochs,
        verbose=verbose,
        final_only=True,
        **train_kwargs,
    )
    y = np.asarray(data.y_test)
    ws = result.predict_proba(data.x_test, mc_samples=0)
    ws_error = (ws.argmax(-1) != y[None, :]).mean(axis=1)
    rows = []
    import tensorflow as tf

    tf_logger = tf.get_logger()
    level = tf_logger.level
    tf_logger.setLevel("ERROR")  # each predict_proba call traces anew: keep stderr clean
    try:
        rows = _mc_rows(result, data, y, ks, repeats, seeds, ws_error, verbose)
    finally:
        tf_logger.setLevel(level)
    return pd.DataFrame(rows)


def _mc_rows(result, data, y, ks, repeats, seeds, ws_error, verbose) -> list[dict]:
    rows = []
    for rep in range(repeats):
        for k in ks:
            proba = result.predict_proba(data.x_test, mc_samples=k, seed=10_000 * (rep + 1) + k)
            mc_error = (proba.argmax(-1) != y[None, :]).mean(axis=1)
            for i, s in enumerate(seeds):
                rows.append(
                    dict(
                        seed=s,
                        replica=i,
                        k=k,
                        repeat=rep,
                        mc_error=float(mc_error[i]),
                        ws_error=float(ws_error[i]),
                    )
                )
        _log(verbose, f"  MC repetition {rep + 1}/{repeats} done")
    return rows


def regularizer_table(
    seeds: Iterable[int] = range(5),
    regularizers: Mapping[str, Mapping] | None = None,
    hidden: Sequence[int] = (256, 256),
    data=None,
    epochs: int | None = None,
    full: bool = False,
    verbose: bool = False,
    **train_kwargs,
) -> pd.DataFrame:
    """Paper Table 9 in miniature: none, L2, max-norm, dropout, dropout + L2, dropout + max-norm.

    Default data: digits with 300 training examples, 60 epochs (200 with ``full``);
    :data:`REGULARIZERS` lists the settings (L2 λ = 5e-4 on λ·Σ‖W‖², max-norm c = 3,
    dropout 0.5 on the hidden layers). Returns final rows (one per replica);
    ``summarize(df, "label")`` gives the table.

    Measured (5 seeds, ~40–55 s): test accuracy none 0.934 ± 0.004, L2 0.935, max-norm
    0.934, dropout 0.942 ± 0.003, dropout + L2 0.942, dropout + max-norm 0.942. Dropout
    helps by ~0.8 points; L2 at this strength barely matters; max-norm c = 3 *never binds*
    at this learning rate (its runs are identical to the ones without it) — the paper's
    benefit of max-norm comes with the large learning rates it makes possible, and with
    lr 0.05 our dropout nets diverged even with max-norm 3.
    """
    seeds = _seeds(seeds)
    data = _load(data, name="digits", train_size=300)
    epochs = _positive_int(epochs if epochs is not None else (200 if full else 60), "epochs")
    configs = _configs(REGULARIZERS if regularizers is None else regularizers, seeds)
    result = _train(
        data,
        configs,
        hidden=_hidden(hidden),
        epochs=epochs,
        verbose=verbose,
        final_only=True,
        **train_kwargs,
    )
    return result.final().reset_index(drop=True)


# --------------------------------------------------------------------------- cross-validation


def _infer_task(y: np.ndarray) -> str:
    if y.dtype.kind in "biuOUS":
        return "classification"
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return "classification"
    return "regression"


def cross_validate(
    build_model: Callable[[], object],
    X,
    y,
    *,
    folds: int = 10,
    epochs: int = 300,
    batch_size: int = 16,
    seed: int = 7,
    task: str | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """k-fold cross-validation of a Keras model, the protocol of the Keras dropout tutorial.

    ``StratifiedKFold(folds, shuffle=True, random_state=seed)`` for classification (``KFold``
    for regression); in each fold the inputs are standardised with the *training* part's mean
    and std, ``build_model()`` must return a fresh compiled Keras model, which is fitted with
    ``verbose=0`` and scored on the held-out part. Returns one score per fold: accuracy for
    classification (labels may be strings; a 1-unit output is thresholded at 0.5, otherwise
    argmax), mean squared error for regression. ``task`` (``"classification"`` or
    ``"regression"``) is inferred from ``y`` when ``None``: integer, bool, string or
    integral-float labels mean classification.
    """
    import keras
    from sklearn.model_selection import KFold, StratifiedKFold

    if not callable(build_model):
        raise TypeError("build_model must be a function returning a compiled Keras model")
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples × features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    X = X.astype(np.float32)
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D with one entry per row of X ({X.shape[0]}), got shape {y.shape}"
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values")
    if y.dtype.kind == "O" and any(
        v is None or (isinstance(v, float) and math.isnan(v)) for v in y
    ):
        raise ValueError("y contains missing values")
    task = _infer_task(y) if task is None else task
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")
    folds = _positive_int(folds, "folds")
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    if folds < 2 or folds > X.shape[0]:
        raise ValueError(f"folds must be in [2, n_samples={X.shape[0]}], got {folds}")
    if task == "classification":
        classes, y_enc = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError("y must contain at least 2 classes for classification")
        smallest = np.bincount(y_enc).min()
        if smallest < folds:
            raise ValueError(
                f"folds={folds} is more than the smallest class has members ({smallest})"
            )
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        y_model = y_enc.astype(np.int64)
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
        y_model = y.astype(np.float32)

    scores = []
    for fold, (tr, te) in enumerate(splitter.split(X, y_model)):
        mean = X[tr].mean(axis=0)
        std = X[tr].std(axis=0)
        std[std == 0] = 1.0
        x_tr, x_te = (X[tr] - mean) / std, (X[te] - mean) / std
        keras.utils.set_random_seed(seed + fold)
        model = build_model()
        if not (hasattr(model, "fit") and hasattr(model, "predict")):
            raise TypeError(
                f"build_model() must return a compiled Keras model, got {type(model).__name__}"
            )
        model.fit(x_tr, y_model[tr], epochs=epochs, batch_size=batch_size, verbose=0)
        # a direct call, not predict(): predict traces a new function per fold (stderr noise)
        pred = np.asarray(model(x_te, training=False))
        if task == "classification":
            if pred.ndim == 1 or pred.shape[-1] == 1:
                labels = (pred.reshape(-1) > 0.5).astype(np.int64)
            else:
                labels = pred.argmax(axis=-1)
            score = float(np.mean(labels == y_model[te]))
        else:
            score = float(np.mean((pred.reshape(-1) - y_model[te]) ** 2))
        scores.append(score)
        _log(verbose, f"  fold {fold + 1}/{folds}: {score:.4f}")
    return np.asarray(scores)


#: The three networks of the classic Keras dropout tutorial (Brownlee 2016, Sonar data):
#: a 60-30 MLP, its optimiser, and where the dropout goes. Keyword arguments of `models.mlp`.
KERAS_TUTORIAL_MODELS: dict[str, dict] = {
    "baseline": dict(learning_rate=0.01, momentum=0.8),
    "visible": dict(input_rate=0.2, max_norm=3.0, learning_rate=0.1, momentum=0.9),
    "hidden": dict(hidden_rate=0.2, max_norm=3.0, learning_rate=0.1, momentum=0.9),
}

#: Controls the tutorial lacks (``keras_tutorial_cv(controls=True)``): the baseline with the
#: dropout models' optimiser (the tutorial changes dropout *and* a 10× learning rate at once),
#: and a positive control that must score worse (a learning rate too small for 5 epochs), so
#: that "no detectable difference" is not just a test without power.
KERAS_TUTORIAL_CONTROLS: dict[str, dict] = {
    "control (baseline, dropout's optimiser)": dict(learning_rate=0.1, momentum=0.9),
    "positive control (lr 1e-4)": dict(learning_rate=1e-4, momentum=0.8),
}


def keras_tutorial_cv(
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    folds: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 7,
    full: bool = False,
    controls: bool = False,
    verbose: bool = False,
) -> pd.DataFrame:
    """The Keras dropout tutorial's k-fold comparison: baseline vs visible vs hidden dropout.

    Every model sees the same folds (``StratifiedKFold(shuffle=True, random_state=seed)``), so
    scores can be compared fold by fold with :func:`paired_comparison`. Default data: scikit-
    learn's breast-cancer set (569 × 30, binary; the tutorial's Sonar set is not shipped
    offline). ``full=True`` is the tutorial's protocol (10 folds × 300 epochs, batch 16; about
    45 minutes on 2 cores); the default (5 folds × 10 epochs, batch 16) takes about 25 s.
    ``controls=True`` adds :data:`KERAS_TUTORIAL_CONTROLS`. Returns one row per (model, fold):
    ``model, fold, accuracy``. What the comparison shows is the claim ``keras_tutorial_kfold``
    of :mod:`dropoutcourse.claims`.
    """
    from sklearn.datasets import load_breast_cancer

    from dropoutcourse import models

    if (X is None) != (y is None):
        raise ValueError("pass both X and y, or neither (the breast-cancer data)")
    if X is None:
        X, y = load_breast_cancer(return_X_y=True)
    folds = folds if folds is not None else (10 if full else 5)
    epochs = epochs if epochs is not None else (300 if full else 10)
    batch_size = batch_size if batch_size is not None else 16
    n_features = np.asarray(X).shape[1]
    rows = []
    setups = KERAS_TUTORIAL_MODELS | (KERAS_TUTORIAL_CONTROLS if controls else {})
    for name, kwargs in setups.items():
        t0 = time.perf_counter()
        scores = cross_validate(
            lambda kwargs=kwargs: models.mlp(n_features, 1, hidden=(60, 30), **kwargs),
            X,
            y,
            folds=folds,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
        )
        rows += [{"model": name, "fold": k + 1, "accuracy": s} for k, s in enumerate(scores)]
        _log(
            verbose,
            f"  {name}: {scores.mean():.4f} ± {scores.std(ddof=1):.4f} "
            f"({time.perf_counter() - t0:.1f} s)",
        )
    return pd.DataFrame(rows)
