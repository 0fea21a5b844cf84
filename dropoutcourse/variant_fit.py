"""Named Keras models trained on one data set and the same seeds, scored after the last epoch.

The comparisons of lectures 4 and 5 train a few variants of one network (with and without a
regulariser, one dropout layer or another) on every seed, paired by seed, and judge them on
their final scores. :func:`fit_variants` trains them all with
:func:`dropoutcourse.fit_replica_models`; :func:`final_scores` scores each replica *in
inference mode* (dropout off) on the whole training set and on the test set, as ``evaluate``
would, from one vectorised pass over all seeds per model and data set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import keras
import numpy as np
import pandas as pd

from dropoutcourse.data import Dataset
from dropoutcourse.replica_fit import FittedReplicas, fit_replica_models
from dropoutcourse.scoring import mean_scores

__all__ = ["final_scores", "fit_variants"]

SCORE_COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc")


def final_scores(fitted: FittedReplicas, data: Dataset, labels: Sequence[str]) -> pd.DataFrame:
    """One row per (label, seed): ``label, seed, train_loss, train_acc, test_loss, test_acc``.

    ``labels[m]`` names model ``m`` of the list ``fitted`` was trained on. Losses are the
    cross-entropy without any weight penalty (Keras' clip), in inference mode.
    """
    rows = []
    y_train, y_test = np.asarray(data.y_train), np.asarray(data.y_test)
    for m, label in enumerate(labels):
        train = fitted.predict(data.x_train, model=m)
        test = fitted.predict(data.x_test, model=m)
        for seed in sorted(train):
            rows.append(
                (label, seed, *mean_scores(train[seed], y_train), *mean_scores(test[seed], y_test))
            )
    return pd.DataFrame(rows, columns=["label", "seed", *SCORE_COLUMNS])


def fit_variants(
    data: Dataset,
    variants: Mapping[str, keras.Model],
    *,
    seeds: Iterable[int],
    epochs: int,
    batch_size: int = 32,
    shared_start: bool | keras.Model = False,
) -> pd.DataFrame:
    """Train every compiled model of ``variants`` (label → model) on every seed; final scores.

    All replicas train in one :func:`dropoutcourse.fit_replica_models` call: a seed's
    replicas of every variant see the same batches, and with ``shared_start`` (a model, e.g.
    the variant without dropout, or True for the first variant) start from the same initial
    weights, so that a paired difference by seed measures the variants' difference alone.
    Returns :func:`final_scores`' table.
    """
    if not isinstance(variants, Mapping) or not variants:
        raise TypeError(f"variants must be a non-empty dict label -> keras.Model, got {variants!r}")
    labels = list(variants)
    fitted = fit_replica_models(
        [variants[label] for label in labels],
        data.x_train,
        data.y_train,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        shared_start=shared_start,
        verbose=False,
    )
    return final_scores(fitted, data, labels)
