"""The experiments the lectures quote, each returning a tidy pandas DataFrame.

Every experiment trains many replicas (settings × seeds) in one compiled computation: each
setting is a Keras model (:func:`dropoutcourse.models.mlp`), and
:func:`dropoutcourse.config_fit.fit_configs` trains every seed of every setting with
:func:`dropoutcourse.fit_replica_models`, so that the default settings (≥ 5 seeds) run in
under a minute on a 2-core CPU. ``full=True`` switches to larger, more paper-like settings
(used by ``python -m dropoutcourse reproduce --full``). Draw the results with
:mod:`dropoutcourse.plots`; summarise them with :func:`summarize`.

Convention: ``rate`` (and ``hidden_rate``/``input_rate``) is the probability of *dropping* a
unit. The paper's retention probability is ``p = 1 - rate``.

What an experiment shows, with its decision rule and on several seed sets, is a claim of
:mod:`dropoutcourse.claims` (``python -m dropoutcourse claims``); ``python -m dropoutcourse
reproduce`` reruns the paper experiments with these defaults and writes the numbers.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from dropoutcourse._validate import check_choice, check_positive_int, check_seeds

# re-exported: the lectures call these as experiments.*
from dropoutcourse.crossval import (
    KERAS_TUTORIAL_CONTROLS,
    KERAS_TUTORIAL_MODELS,
    _log,
    cross_validate,
    cross_validate_replicas,
    keras_tutorial_cv,
)
from dropoutcourse.stats import paired_comparison

__all__ = [
    "compare",
    "generalization_gap",
    "rate_sweep",
    "data_size_sweep",
    "dropout_gain",
    "mc_vs_weight_scaling",
    "regularizer_table",
    "cross_validate",
    "cross_validate_replicas",
    "keras_tutorial_cv",
    "KERAS_TUTORIAL_MODELS",
    "KERAS_TUTORIAL_CONTROLS",
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

#: Optimiser settings of every experiment (override with keyword arguments). SGD with lr 0.05
#: and momentum 0.9 diverges with dropout 0.5 on digits/MNIST-1D; lr 0.01 is stable for all.
TRAINING: dict[str, object] = {
    "optimizer": "sgd",
    "learning_rate": 0.01,
    "momentum": 0.9,
    "batch_size": 32,
}


# --------------------------------------------------------------------------- helpers


def _hidden(hidden: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    out = tuple(check_positive_int(h, "hidden") for h in hidden)
    if not out:
        raise ValueError("hidden must list at least one layer width")
    return out


def _load(data, *, name: str, train_size: int, seed: int = 0):
    """The default data sets (offline): MNIST-1D or scikit-learn's digits, few training examples."""
    if data is not None:
        return data
    from dropoutcourse import data as data_mod

    loader = {"mnist1d": data_mod.load_mnist1d, "digits": data_mod.load_digits}[name]
    return loader(train_size=train_size, seed=seed)


def _train(data, configs, *, hidden, epochs, verbose, final_only=False, **kwargs):
    """Every config trained as its Keras model (:func:`dropoutcourse.config_fit.fit_configs`)."""
    from dropoutcourse.config_fit import fit_configs

    settings = {**TRAINING, **kwargs}
    if final_only:
        # only the last epoch is reported: skip the per-epoch scoring
        settings.setdefault("eval_every", epochs)
    return fit_configs(data, configs, hidden=hidden, epochs=epochs, verbose=verbose, **settings)


def _final_rows(data, configs, hidden, epochs: int, train_kwargs: dict) -> pd.DataFrame:
    """The final rows (one per replica) of one quiet run that scores only at the end."""
    result = _train(
        data,
        configs,
        hidden=hidden,
        epochs=epochs,
        verbose=False,
        final_only=True,
        **train_kwargs,
    )
    return result.final()


def _configs(variants: Mapping[str, Mapping], seeds: Sequence[int]) -> list:
    from dropoutcourse.replica_config import ReplicaConfig

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
    pass final rows (e.g. ``fit_configs(...).final()``), not a whole per-epoch history.
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

    What it shows is the claim ``flagship`` of :mod:`dropoutcourse.claims` (lecture 1).
    """
    seeds = check_seeds(seeds)
    data = _load(data, name="mnist1d", train_size=1000)
    epochs = check_positive_int(epochs if epochs is not None else (150 if full else 50), "epochs")
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
    units (the paper's p·n) is ``base_units`` for every rate. One computation per width.
    Default data: digits, 300 training examples, 60 epochs (200 with ``full``).

    Returns final rows (one per replica) with ``mode, units, hidden_rate, seed, test_acc,
    test_loss, train_acc, train_loss`` and the other columns of a history row.

    Rate 0.9 may not train at all with the default learning rate (``untrained_rates`` finds
    such rates); the paper's small-p nets train because they use max-norm and larger steps.
    What a sweep shows on digits is the claim ``rate_plateau`` of :mod:`dropoutcourse.claims`.
    """
    from dropoutcourse._validate import check_rate

    mode = check_choice(mode, "mode", ("n_fixed", "pn_fixed"))
    seeds = check_seeds(seeds)
    rates = [check_rate(r, "rates") for r in rates]
    if not rates:
        raise ValueError("rates must contain at least one rate")
    if base_units is None:
        base_units = (256 if full else 128) if mode == "n_fixed" else (64 if full else 32)
    base_units = check_positive_int(base_units, "base_units")
    depth = check_positive_int(depth, "depth")
    data = _load(data, name="digits", train_size=300)
    epochs = check_positive_int(epochs if epochs is not None else (200 if full else 60), "epochs")

    by_width: dict[int, list[float]] = {}
    for r in rates:
        by_width.setdefault(_units_for(r, base_units, mode), []).append(r)
    frames = []
    for units, width_rates in by_width.items():
        t0 = time.perf_counter()
        variants = {f"rate {r:g}": {"hidden_rate": r} for r in width_rates}
        configs = _configs(variants, seeds)
        final = _final_rows(data, configs, (units,) * depth, epochs, train_kwargs)
        frames.append(final.assign(units=units, mode=mode))
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
    own_samples: bool = False,
    **train_kwargs,
) -> pd.DataFrame:
    """Paper Figure 10: final errors with and without dropout as the training set grows.

    Every replica trains on the first ``n`` examples of one training set and is tested on the
    same test set; with ``own_samples`` each seed draws its own ``n`` examples instead (the
    same ones for every rate, so the comparison stays paired, and the spread covers the
    sample). Each size gets about the same number of parameter *updates* (``updates``,
    default 500, 2000 with ``full``; epochs = updates / batches per epoch, at most
    ``max_epochs``), so tiny sets are not starved of training: one computation per size (in a
    single call every replica would pay for the largest set's steps). Default data: digits.
    ``input_rate`` applies to the dropout runs only. Use :func:`dropout_gain` for the
    per-seed difference. Columns: the final history rows plus ``epochs``. With equal
    updates the largest sets get few epochs, where dropout nets (slower to train) are not
    converged; on digits this is the claim ``digits_gain_is_small``.
    """
    from dropoutcourse._validate import check_rate

    seeds = check_seeds(seeds)
    sizes = sorted({check_positive_int(n, "sizes") for n in sizes})
    rates = [check_rate(r, "rates") for r in rates]
    if not sizes or not rates:
        raise ValueError("sizes and rates must not be empty")
    input_rate = check_rate(input_rate, "input_rate")
    data = _load(data, name="digits", train_size=max(sizes))
    if max(sizes) > data.n_train:
        raise ValueError(
            f"sizes must be <= the data's training set ({data.n_train}), got {max(sizes)}"
        )
    updates = check_positive_int(
        updates if updates is not None else (2000 if full else 500), "updates"
    )
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    batch = int(train_kwargs.get("batch_size", TRAINING["batch_size"]))
    frames = []
    for n in sizes:
        t0 = time.perf_counter()
        epochs = min(max_epochs, max(1, math.ceil(updates / math.ceil(n / batch))))
        configs = _size_configs(n, rates, seeds, input_rate)
        if own_samples:
            rows = [own_sample(c.seed, n, data.n_train) for c in configs]
            train_kwargs = train_kwargs | {"train_rows": rows}
        final = _final_rows(data, configs, _hidden(hidden), epochs, train_kwargs)
        frames.append(final.assign(epochs=epochs))
        _log(verbose, f"  {n} examples, {epochs} epochs: {time.perf_counter() - t0:.1f} s")
    return pd.concat(frames, ignore_index=True)


#: The purpose number of the per-seed sample stream (kept: it fixes which rows each seed drew).
_SAMPLE_STREAM = 4


def own_sample(seed: int, size: int, pool: int) -> np.ndarray:
    """The ``size`` training rows (out of ``pool``) that seed ``seed`` draws for itself.

    Nested: the first 50 rows of a seed's 200 are its 50, so a larger sample contains the
    smaller one, as "the first n" examples would.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SAMPLE_STREAM]))
    return rng.permutation(pool)[:size]


def _size_configs(n: int, rates: Sequence[float], seeds: Sequence[int], input_rate: float) -> list:
    """One ``ReplicaConfig`` per (rate, seed) on the first ``n`` training examples, labelled
    ``rate r``; ``input_rate`` only where there is hidden dropout."""
    from dropoutcourse.replica_config import ReplicaConfig

    return [
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

    Trains one dropout net per seed (one ``fit_replica_models`` run; default the
    :func:`compare` set-up: MNIST-1D, 1000 examples, 50 epochs). In each repetition it samples
    ``max(ks)`` random thinned nets on the test set (``uncertainty_demos.mc_sample_probs``), and
    for each k averages the class probabilities of the first k of them and compares the error of
    that average with the single deterministic weight-scaled pass. Columns: ``seed, replica, k, repeat, mc_error, ws_error``.

    What this shows, with its decision rule and on several seed sets, is the claim
    ``mc_vs_weight_scaling`` of :mod:`dropoutcourse.claims` (``python -m dropoutcourse claims``).
    """
    from dropoutcourse._validate import check_rate

    seeds = check_seeds(seeds)
    rate = check_rate(rate, "rate")
    if rate == 0:
        raise ValueError("rate must be > 0: without dropout there is nothing to sample")
    ks = [check_positive_int(k, "ks") for k in ks]
    repeats = check_positive_int(repeats, "repeats")
    data = _load(data, name="mnist1d", train_size=1000)
    epochs = check_positive_int(epochs if epochs is not None else (150 if full else 50), "epochs")
    fitted = _fit_dropout_net(data, rate, seeds, _hidden(hidden), epochs, verbose, train_kwargs)
    rows = []
    for i, (seed, net) in enumerate(fitted.each_replica()):
        rows += _mc_rows(net, seed, i, data, ks, repeats)
        _log(verbose, f"  MC passes of seed {seed} done")
    return pd.DataFrame(rows)


def _fit_dropout_net(data, rate, seeds, hidden, epochs, verbose, train_kwargs):
    """One Keras MLP with hidden dropout ``rate`` per seed (``fit_replica_models``)."""
    from dropoutcourse.config_fit import config_model
    from dropoutcourse.replica_config import ReplicaConfig
    from dropoutcourse.replica_fit import fit_replica_models

    settings = {**TRAINING, **train_kwargs}
    batch_size = check_positive_int(settings.pop("batch_size"), "batch_size")
    n_inputs = int(np.prod(np.shape(data.x_train)[1:]))
    config = ReplicaConfig(hidden_rate=rate)
    model = config_model(config, n_inputs, data.n_classes, hidden=hidden, **settings)
    x = np.asarray(data.x_train, np.float32).reshape(len(data.x_train), -1)
    return fit_replica_models(
        model, x, data.y_train, seeds=seeds, epochs=epochs, batch_size=batch_size, verbose=verbose
    )


def _mc_rows(net, seed: int, replica: int, data, ks, repeats) -> list[dict]:
    """One network's rows: for each repetition and k, the error of the average of k thinned
    passes on the test set, next to the error of its one weight-scaled pass.

    Each repetition samples ``max(ks)`` thinned passes once and averages the first k of them
    for every k: each average is still over k independent masks, and the passes cost
    ``max(ks)`` instead of ``sum(ks)`` per repetition (the ks of one repetition share passes).
    """
    from dropoutcourse.uncertainty_demos import mc_sample_probs

    x = np.asarray(data.x_test, np.float32).reshape(len(data.x_test), -1)
    y = np.asarray(data.y_test)
    ws_error = float((np.asarray(net(x, training=False)).argmax(-1) != y).mean())
    rows = []
    for rep in range(repeats):
        # masks from the replica's seed and the repetition: every repetition its own draws
        stream = (1000 * seed + 101 * rep) % 2**31
        running = np.cumsum(mc_sample_probs(net, x, max(ks), seed=stream), axis=0)
        for k in ks:
            # the sum of k passes has the argmax of their mean
            mc_error = float((running[k - 1].argmax(-1) != y).mean())
            rows.append(
                dict(
                    seed=seed,
                    replica=replica,
                    k=k,
                    repeat=rep,
                    mc_error=mc_error,
                    ws_error=ws_error,
                )
            )
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

    The claim ``regularisers`` of :mod:`dropoutcourse.claims` is the measured version on the
    flagship setting (lecture 4).
    """
    seeds = check_seeds(seeds)
    data = _load(data, name="digits", train_size=300)
    epochs = check_positive_int(epochs if epochs is not None else (200 if full else 60), "epochs")
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
