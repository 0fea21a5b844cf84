"""k-fold cross-validation of Keras models, and the Keras dropout tutorial's comparison.

:func:`cross_validate` is the protocol of the classic Keras dropout tutorial (stratified
folds, each standardised with its training part's statistics); :func:`keras_tutorial_cv` runs
the tutorial's three networks, plus the controls it lacks, on the same folds. Compare the
fold scores pairwise with :func:`dropoutcourse.stats.paired_comparison` and the Nadeau-Bengio
correction (``test_train_ratio = 1 / (k - 1)``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from dropoutcourse._validate import (
    check_choice,
    check_int_in_range,
    check_positive_int,
    check_seed,
)

__all__ = [
    "cross_validate",
    "cross_validate_replicas",
    "keras_tutorial_cv",
    "KERAS_TUTORIAL_MODELS",
    "KERAS_TUTORIAL_CONTROLS",
]


_TASKS = ("classification", "regression")


def _log(verbose: bool, msg: str) -> None:
    """Print ``msg`` (flushed) when ``verbose``: the progress lines of crossval and experiments."""
    if verbose:
        print(msg, flush=True)


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

    if not callable(build_model):
        raise TypeError("build_model must be a function returning a compiled Keras model")
    X, y = _check_xy(X, y)
    task = check_choice(_infer_task(y) if task is None else task, "task", _TASKS)
    folds = check_int_in_range(folds, "folds", 2, X.shape[0])
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    splitter, y_model = _splitter(task, y, folds, seed)

    scores = []
    for fold, (tr, te) in enumerate(splitter.split(X, y_model)):
        x_tr, x_te = _standardise(X, tr, te)
        keras.utils.set_random_seed(seed + fold)
        model = build_model()
        if not (hasattr(model, "fit") and hasattr(model, "predict")):
            raise TypeError(
                f"build_model() must return a compiled Keras model, got {type(model).__name__}"
            )
        model.fit(x_tr, y_model[tr], epochs=epochs, batch_size=batch_size, verbose=0)
        score = _fold_score(model, x_te, y_model[te], task)
        scores.append(score)
        _log(verbose, f"  fold {fold + 1}/{folds}: {score:.4f}")
    return np.asarray(scores)


def cross_validate_replicas(
    build_models: Sequence[Callable[[], object]],
    X,
    y,
    *,
    folds: int = 10,
    epochs: int = 300,
    batch_size: int = 16,
    seed: int = 7,
    task: str | None = None,
    network_seed: int | None = None,
) -> np.ndarray:
    """:func:`cross_validate` of several models at once, every model on every fold as
    :func:`dropoutcourse.fit_replicas` replicas. Returns scores, shape (models, folds).

    The same folds (from ``seed``) and per-fold standardisation as :func:`cross_validate`, and
    fold ``k``'s network is what ``keras.utils.set_random_seed(network_seed + k)`` and
    ``build_model()`` give (the replica of that seed; ``network_seed`` defaults to ``seed``, as
    in the loop; build the models with unseeded layers so that the seed decides). Each
    replica trains on its own fold's rows with its own shuffles and dropout masks: the
    protocol of the loop of ``fit``, equal in distribution, not draw for draw. One computation
    per number of steps an epoch takes (usually one; 10 folds of 569 rows in batches of 16
    take 32 and 33 steps: two).
    """
    from dropoutcourse.replica_fit import fit_replica_models

    build_models = [] if callable(build_models) else list(build_models)
    if not build_models or not all(callable(b) and not hasattr(b, "fit") for b in build_models):
        raise TypeError(
            "build_models must be a non-empty list of functions returning compiled Keras models"
        )
    X, y = _check_xy(X, y)
    task = check_choice(_infer_task(y) if task is None else task, "task", _TASKS)
    folds = check_int_in_range(folds, "folds", 2, X.shape[0])
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    first = check_seed(seed if network_seed is None else network_seed, "network_seed")
    splitter, y_model = _splitter(task, y, folds, seed)
    x_all, y_all, train_rows, test_rows = _fold_blocks(X, y_model, splitter)
    models = [build() for build in build_models]
    steps = [-(-len(rows) // batch_size) for rows in train_rows]
    scores = np.empty((len(models), folds))
    for n_steps in sorted(set(steps)):  # replicas of one computation take their steps together
        chosen = [k for k in range(folds) if steps[k] == n_steps]
        fitted = fit_replica_models(
            models,
            x_all,
            y_all,
            seeds=[first + k for k in chosen],
            epochs=epochs,
            batch_size=batch_size,
            train_rows=[train_rows[k] for k in chosen],
            verbose=False,
        )
        _score_chosen_folds(scores, fitted, x_all, y_all, test_rows, chosen, first, task)
    return scores


def _score_chosen_folds(scores, fitted, x_all, y_all, test_rows, chosen, first, task) -> None:
    """Fill ``scores[m, k]`` for the folds ``chosen``: each model predicts these folds' test
    rows once, and fold k's replica (seed ``first + k``) is scored on its own rows."""
    rows = np.concatenate([test_rows[k] for k in chosen])
    for m in range(scores.shape[0]):
        outputs = fitted.predict(x_all[rows], model=m)
        at = 0
        for k in chosen:
            mine = slice(at, at + len(test_rows[k]))
            scores[m, k] = _score(outputs[first + k][mine], y_all[test_rows[k]], task)
            at += len(test_rows[k])


def _fold_blocks(X: np.ndarray, y_model: np.ndarray, splitter):
    """(x, y, train rows, test rows): fold k's block of rows is its training rows, then its
    test rows, standardised with the training rows' statistics."""
    n, x_blocks, y_blocks, train_rows, test_rows = X.shape[0], [], [], [], []
    for fold, (tr, te) in enumerate(splitter.split(X, y_model)):
        x_blocks += _standardise(X, tr, te)
        y_blocks += [y_model[tr], y_model[te]]
        train_rows.append(fold * n + np.arange(len(tr)))
        test_rows.append(fold * n + len(tr) + np.arange(len(te)))
    return np.concatenate(x_blocks), np.concatenate(y_blocks), train_rows, test_rows


def _check_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cross_validate`'s data checked: X as 2-D float32 (a 1-D X is one feature), y 1-D."""
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
    return X, y


def _splitter(task: str, y: np.ndarray, folds: int, seed: int):
    """(shuffled k-fold splitter, targets the model is fitted on) for ``task``.

    Classification: ``StratifiedKFold`` and the labels encoded as 0..C-1 (int64); regression:
    ``KFold`` and ``y`` as float32.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

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
    return splitter, y_model


def _standardise(X: np.ndarray, tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``tr`` and ``te`` of X standardised with the mean and std of the ``tr`` rows."""
    mean = X[tr].mean(axis=0)
    std = X[tr].std(axis=0)
    std[std == 0] = 1.0
    return (X[tr] - mean) / std, (X[te] - mean) / std


def _fold_score(model, x_te: np.ndarray, y_te: np.ndarray, task: str) -> float:
    """Accuracy (classification; one output unit is thresholded at 0.5) or MSE on a fold."""
    # a direct call, not predict(): predict traces a new function per fold (stderr noise)
    return _score(np.asarray(model(x_te, training=False)), y_te, task)


def _score(pred: np.ndarray, y_te: np.ndarray, task: str) -> float:
    """Accuracy (classification; one output unit is thresholded at 0.5) or MSE of ``pred``."""
    if task == "classification":
        if pred.ndim == 1 or pred.shape[-1] == 1:
            labels = (pred.reshape(-1) > 0.5).astype(np.int64)
        else:
            labels = pred.argmax(axis=-1)
        return float(np.mean(labels == y_te))
    return float(np.mean((pred.reshape(-1) - y_te) ** 2))


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
    "positive control (lr 1e-3)": dict(learning_rate=1e-3, momentum=0.8),
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
    network_seed: int | None = None,
) -> pd.DataFrame:
    """The Keras dropout tutorial's k-fold comparison: baseline vs visible vs hidden dropout.

    Every model sees the same folds (``StratifiedKFold(shuffle=True, random_state=seed)``), so
    scores can be compared fold by fold with :func:`paired_comparison`. Default data: scikit-
    learn's breast-cancer set (569 × 30, binary; the tutorial's Sonar set is not shipped
    offline). ``full=True`` is the tutorial's protocol (10 folds × 300 epochs, batch 16; about a
    minute on 2 cores, 45 minutes as a loop of ``fit``); the default (5 folds × 10 epochs,
    batch 16) about 10 s.
    ``controls=True`` adds :data:`KERAS_TUTORIAL_CONTROLS`. All models and folds train as
    replicas (:func:`cross_validate_replicas`; fold k's networks from seed
    ``network_seed + k``, by default ``seed + k`` as :func:`cross_validate`'s loop of ``fit``
    builds them). Returns one row per (model, fold):
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
    setups = KERAS_TUTORIAL_MODELS | (KERAS_TUTORIAL_CONTROLS if controls else {})
    t0 = time.perf_counter()
    scores = cross_validate_replicas(
        # unseeded layers: fold k's network comes from its seed, as in cross_validate's loop
        [
            lambda kwargs=kwargs: models.mlp(n_features, 1, hidden=(60, 30), seed=None, **kwargs)
            for kwargs in setups.values()
        ],
        X,
        y,
        folds=folds,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        network_seed=network_seed,
    )
    table = _tidy_scores(setups, scores, verbose)
    _log(verbose, f"  ({len(setups)} models × {folds} folds in {time.perf_counter() - t0:.1f} s)")
    return table


def _tidy_scores(names, scores: np.ndarray, verbose: bool) -> pd.DataFrame:
    """One row per (model, fold) from scores of shape (models, folds)."""
    rows = []
    for name, own in zip(names, scores, strict=True):
        rows += [{"model": name, "fold": k + 1, "accuracy": s} for k, s in enumerate(own)]
        _log(verbose, f"  {name}: {own.mean():.4f} ± {own.std(ddof=1):.4f}")
    return pd.DataFrame(rows)
