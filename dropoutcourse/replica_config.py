"""What one replica of the lectures' MLP experiments is: its settings, checked once.

A :class:`ReplicaConfig` names a network of :func:`dropoutcourse.models.mlp` (dropout rates,
L2, max-norm, Gaussian noise), its training-set size and its seed;
:func:`dropoutcourse.config_fit.fit_configs` trains a list of them. ``rate`` values are *drop*
probabilities, as in Keras.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dropoutcourse._validate import (
    check_finite_array,
    check_labels,
    check_nonneg_float,
    check_positive_float,
    check_positive_int,
    check_rate,
    check_row_sets,
    check_same_length,
    check_seed,
)
from dropoutcourse.data import Dataset

__all__ = ["HISTORY_COLUMNS", "ReplicaConfig", "check_configs", "check_dataset", "training_rows"]

#: The columns of a history: one row per (replica, evaluated epoch), scores in inference mode.
HISTORY_COLUMNS = [
    "replica", "label", "seed", "hidden_rate", "input_rate", "l2", "max_norm", "gaussian",
    "train_size", "epoch", "train_loss", "train_acc", "test_loss", "test_acc",
]  # fmt: skip


@dataclass(frozen=True)
class ReplicaConfig:
    """Settings of one replica. ``rate`` values are *drop* probabilities in [0, 1).

    * ``hidden_rate``: dropout after every hidden layer; ``input_rate``: on the inputs.
    * ``l2``: λ in λ·Σ‖W‖², added to the loss for every kernel (not the biases).
    * ``max_norm``: cap on the L2 norm of each hidden unit's incoming weights (None: no cap).
    * ``gaussian``: multiplicative N(1, rate/(1-rate)) noise instead of Bernoulli masks.
    * ``train_size``: train on the first n training samples only (None: all of them).
    * ``seed``: initial weights, shuffling and masks. ``label``: free text for plots.
    """

    hidden_rate: float = 0.0
    input_rate: float = 0.0
    l2: float = 0.0
    max_norm: float | None = None
    gaussian: bool = False
    train_size: int | None = None
    seed: int = 0
    label: str = ""

    def __post_init__(self) -> None:
        # frozen dataclass: normalise the fields with object.__setattr__
        object.__setattr__(self, "hidden_rate", check_rate(self.hidden_rate, "hidden_rate"))
        object.__setattr__(self, "input_rate", check_rate(self.input_rate, "input_rate"))
        object.__setattr__(self, "l2", check_nonneg_float(self.l2, "l2"))
        if self.max_norm is not None:
            object.__setattr__(self, "max_norm", check_positive_float(self.max_norm, "max_norm"))
        if not isinstance(self.gaussian, bool | np.bool_):
            raise TypeError(f"gaussian must be True or False, got {self.gaussian!r}")
        if self.train_size is not None:
            object.__setattr__(
                self, "train_size", check_positive_int(self.train_size, "train_size")
            )
        object.__setattr__(self, "seed", check_seed(self.seed, "seed"))
        if not isinstance(self.label, str):
            raise TypeError(f"label must be a string, got {self.label!r}")


def check_dataset(data: Dataset) -> None:
    """Refuse data that would fail silently or cryptically (NaN, mismatched or bad labels)."""
    for attr in ("x_train", "y_train", "x_test", "y_test", "n_classes"):
        if not hasattr(data, attr):
            raise TypeError(f"data must be a dropoutcourse.data.Dataset, got {type(data)}")
    if data.n_classes == 1:
        raise ValueError("data.n_classes must be 0 (regression) or >= 2 (classification)")
    # NaN would surface only as "diverged"; mismatched or out-of-range labels as a TF error
    for part in ("train", "test"):
        x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
        check_finite_array(np.asarray(x, np.float32), f"data.x_{part}")
        check_same_length(x, y, f"data.x_{part}", f"data.y_{part}")
        if data.n_classes >= 2:
            check_labels(y, data.n_classes, f"data.y_{part}")
        else:
            check_finite_array(np.asarray(y, np.float32), f"data.y_{part}")


def check_configs(configs, hidden: tuple[int, ...]) -> list[ReplicaConfig]:
    """``configs`` as a non-empty list of ReplicaConfig; refuse settings that would do nothing."""
    configs = list(configs) if not isinstance(configs, ReplicaConfig) else [configs]
    if not configs:
        raise ValueError("configs must contain at least one ReplicaConfig, got an empty list")
    for c in configs:
        if not isinstance(c, ReplicaConfig):
            raise TypeError(f"configs must contain ReplicaConfig objects, got {type(c).__name__}")
    if not hidden and any(c.hidden_rate or c.max_norm is not None for c in configs):
        raise ValueError("hidden=() has no hidden units: hidden_rate and max_norm would do nothing")
    return configs


def _train_sizes(configs: list[ReplicaConfig], n_train: int) -> list[int]:
    """Each replica's number of training examples (its ``train_size``, or all of them)."""
    sizes = [n_train if c.train_size is None else c.train_size for c in configs]
    if max(sizes) > n_train:
        raise ValueError(
            f"train_size must be in [1, {n_train}] (the dataset's training samples), "
            f"got {max(sizes)}"
        )
    return sizes


def training_rows(configs: list[ReplicaConfig], train_rows, n_train: int):
    """Each replica's training-set size, and its own rows (None: the first ``size`` rows)."""
    if train_rows is None:
        return _train_sizes(configs, n_train), None
    rows = _check_train_rows(train_rows, configs, n_train)
    return [len(own) for own in rows], rows


def _check_train_rows(train_rows, configs: list[ReplicaConfig], n_train: int) -> list[np.ndarray]:
    """``train_rows`` as one int array per replica: distinct rows of ``data.x_train``."""
    rows = check_row_sets(train_rows, n_train, len(configs))
    for r, (own, config) in enumerate(zip(rows, configs, strict=True)):
        if config.train_size is not None and config.train_size != len(own):
            raise ValueError(
                f"configs[{r}].train_size={config.train_size} disagrees with the "
                f"{len(own)} rows of train_rows[{r}]; leave train_size None"
            )
    return [own.astype(np.int32) for own in rows]


def warn_if_diverged(history: pd.DataFrame) -> None:
    """A RuntimeWarning naming the replicas whose training loss is not finite."""
    diverged = sorted(history.loc[~np.isfinite(history["train_loss"]), "replica"].unique())
    if diverged:
        warnings.warn(
            f"replicas {diverged} diverged (non-finite loss): lower learning_rate or set "
            f"max_norm (the paper pairs dropout + high learning rates with max-norm)",
            RuntimeWarning,
            stacklevel=3,
        )


_COLUMNS = [
    "replica",
    "label",
    "seed",
    "hidden_rate",
    "input_rate",
    "l2",
    "max_norm",
    "gaussian",
    "train_size",
    "epoch",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
]
