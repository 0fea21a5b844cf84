"""``ReplicaConfig`` lists trained as Keras models, all seeds at once, by ``fit_replica_models``.

The experiments of lectures 1 and 3 describe each network by a :class:`ReplicaConfig` (its
dropout rates, L2, max-norm, training-set size, seed). Here every distinct setting becomes
the Keras model :func:`dropoutcourse.models.mlp` builds for it, with unseeded layers: a
replica's data order and masks come from its seed, as in a loop of
``keras.utils.set_random_seed(seed)``, build, ``fit``; its initial weights are those the
network *without* noise layers gets for that seed (``shared_start``), so that the configs of
one seed are paired (a loop would give a network with dropout layers other draws). All
replicas train in one computation (:func:`dropoutcourse.fit_replica_models`).

The history is the experiments' own: after each evaluated epoch, the loss (the data loss,
without the L2 penalty) and the accuracy *in inference mode* on the replica's own training
rows and on the test set, unlike ``fit``'s log, whose training numbers are running means
with dropout on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from dropoutcourse._validate import (
    check_choice,
    check_positive_float,
    check_positive_int,
    check_unit_interval,
)
from dropoutcourse.data import Dataset
from dropoutcourse.replica_config import (
    HISTORY_COLUMNS,
    ReplicaConfig,
    check_configs,
    check_dataset,
    training_rows,
    warn_if_diverged,
)
from dropoutcourse.scoring import per_example_scores

__all__ = ["ConfigRuns", "config_model", "fit_configs"]


@dataclass
class ConfigRuns:
    """What :func:`fit_configs` returns: one history row per (replica, evaluated epoch)."""

    history: pd.DataFrame
    configs: list[ReplicaConfig]

    def final(self) -> pd.DataFrame:
        """The last-epoch row of every replica."""
        last = self.history["epoch"].max()
        return self.history[self.history["epoch"] == last].reset_index(drop=True)


def config_model(
    config: ReplicaConfig,
    n_inputs: int,
    n_classes: int,
    *,
    hidden: Sequence[int],
    optimizer: str = "sgd",
    learning_rate: float = 0.01,
    momentum: float = 0.9,
):
    """The compiled Keras MLP of ``config`` (its seed and label aside), with unseeded layers."""
    from dropoutcourse import models

    return models.mlp(
        n_inputs,
        n_classes,
        hidden=tuple(hidden),
        hidden_rate=config.hidden_rate,
        input_rate=config.input_rate,
        kind="gaussian" if config.gaussian else "bernoulli",
        max_norm=config.max_norm,
        l2=config.l2,
        optimizer=optimizer,
        learning_rate=learning_rate,
        momentum=momentum,
        seed=None,
    )


def _setting(config: ReplicaConfig) -> tuple:
    """What decides a config's model (not its seed, label or training rows)."""
    return (config.hidden_rate, config.input_rate, config.l2, config.max_norm, config.gaussian)


def _calls(
    rows: list[np.ndarray], configs: list[ReplicaConfig], batch_size: int
) -> list[list[int]]:
    """Configs (indices) that can share one ``fit_replica_models`` call: the same number of
    steps per epoch, and one set of training rows per seed."""
    calls: list[tuple[int, dict[int, bytes], list[int]]] = []
    for r, (own, config) in enumerate(zip(rows, configs, strict=True)):
        steps, key = -(-len(own) // batch_size), own.tobytes()
        for call_steps, by_seed, members in calls:
            if call_steps == steps and by_seed.setdefault(config.seed, key) == key:
                members.append(r)
                break
        else:
            calls.append((steps, {config.seed: key}, [r]))
    return [members for _, _, members in calls]


class _Scorer:
    """After each evaluated epoch: every config's inference-mode scores on its own training
    rows and on the test set, from one vectorised pass per group over both."""

    def __init__(self, data: Dataset, evaluated: set[int]) -> None:
        self.x_train = np.asarray(data.x_train, np.float32).reshape(len(data.x_train), -1)
        self.x_test = np.asarray(data.x_test, np.float32).reshape(len(data.x_test), -1)
        self.y_train, self.y_test = np.asarray(data.y_train), np.asarray(data.y_test)
        self.regression = data.n_classes == 0
        self.evaluated = evaluated
        self.scores: dict[tuple[int, int], tuple[float, ...]] = {}  # (r, epoch) -> 4 scores

    def _per_sample(self, out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R, N) per-example loss and correctness of every replica's outputs (R, N, C)."""
        if self.regression:
            return (out[..., 0] - y) ** 2, np.full(out.shape[:2], np.nan)
        return per_example_scores(out, y)

    def hook(self, members: list[int], model_of: dict[int, int], rows: list[np.ndarray], configs):
        """The ``on_epoch_end`` of one call whose configs are ``members``."""
        wanted = {(model_of[r], configs[r].seed): r for r in members}
        x = np.concatenate([self.x_train, self.x_test])
        y = np.concatenate([self.y_train, self.y_test])
        n = len(self.x_train)

        def on_epoch_end(epoch: int, replicas) -> None:
            if epoch not in self.evaluated:
                return
            from dropoutcourse.replica_fit.loop import quiet_vectorization, replica_outputs

            for group in replicas.groups:
                with quiet_vectorization():
                    loss, correct = self._per_sample(replica_outputs(group, x), y)
                for i, pair in enumerate(zip(group.model_index, group.seeds, strict=True)):
                    if pair in wanted:
                        r = wanted[pair]
                        own = rows[r]
                        self.scores[r, epoch] = (
                            float(loss[i, own].mean()),
                            float(correct[i, own].mean()),
                            float(loss[i, n:].mean()),
                            float(correct[i, n:].mean()),
                        )

        return on_epoch_end


def _fit_call(data, configs, members, rows, scorer, shape, train_kwargs):
    """One ``fit_replica_models`` call: one model per distinct setting, each on every seed."""
    from dropoutcourse.replica_fit import fit_replica_models

    hidden, epochs, batch_size, verbose = shape
    settings = list(dict.fromkeys(_setting(configs[r]) for r in members))
    model_of = {r: settings.index(_setting(configs[r])) for r in members}
    first = {s: next(r for r in members if _setting(configs[r]) == s) for s in settings}
    n_inputs = int(np.prod(np.shape(data.x_train)[1:]))
    models = [
        config_model(configs[first[s]], n_inputs, data.n_classes, hidden=hidden, **train_kwargs)
        for s in settings
    ]
    seeds = list(dict.fromkeys(configs[r].seed for r in members))
    own = {configs[r].seed: rows[r] for r in members}
    fit_replica_models(
        models,
        scorer.x_train,
        data.y_train,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        train_rows=[own[s] for s in seeds],
        # paired by seed: every config starts from the weights the network without noise
        # layers gets for the seed (whichever configs train alongside), as well as data order
        shared_start=config_model(ReplicaConfig(), n_inputs, data.n_classes, hidden=hidden),
        verbose=verbose,
        on_epoch_end=scorer.hook(members, model_of, rows, configs),
    )


def fit_configs(
    data: Dataset,
    configs: Sequence[ReplicaConfig],
    *,
    hidden: Sequence[int] = (256, 256),
    epochs: int = 100,
    batch_size: int = 32,
    optimizer: str = "sgd",
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    eval_every: int = 1,
    train_rows: Sequence[Sequence[int]] | None = None,
    verbose: bool = False,
) -> ConfigRuns:
    """Train one Keras MLP per config (:func:`config_model`), all at once.

    ``optimizer``: "sgd" (Keras' SGD with ``momentum``) or "adam". Softmax cross-entropy
    when ``data.n_classes >= 2``, mean squared error when it is 0 (regression).
    ``eval_every``: score after every ``eval_every``-th epoch and after the last one (the
    history has rows for those epochs only). ``train_rows``: config r trains on rows
    ``train_rows[r]`` of ``data.x_train`` (None: on its first ``train_size`` rows); configs
    with the same seed in one call must use the same rows. ``verbose``: a progress bar.
    """
    check_dataset(data)
    hidden = tuple(check_positive_int(h, "hidden (each layer width)") for h in hidden)
    configs = check_configs(configs, hidden)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    train_kwargs = {
        "optimizer": check_choice(optimizer, "optimizer", ("sgd", "adam")),
        "learning_rate": check_positive_float(learning_rate, "learning_rate"),
        "momentum": check_unit_interval(momentum, "momentum"),
    }
    sizes, own = training_rows(configs, train_rows, len(data.x_train))
    rows = own if own is not None else [np.arange(n) for n in sizes]
    evaluated = {e for e in range(1, epochs + 1) if e % eval_every == 0 or e == epochs}
    scorer = _Scorer(data, evaluated)
    for members in _calls(rows, configs, batch_size):
        _fit_call(
            data,
            configs,
            members,
            rows,
            scorer,
            (hidden, epochs, batch_size, verbose),
            train_kwargs,
        )
    history = _history(configs, sizes, scorer.scores, sorted(evaluated))
    warn_if_diverged(history)
    return ConfigRuns(history, configs)


def _history(configs, sizes: list[int], scores: dict, epochs: list[int]) -> pd.DataFrame:
    names = ("train_loss", "train_acc", "test_loss", "test_acc")
    rows = [
        asdict(config)
        | {"train_size": n, "replica": r, "epoch": e}
        | dict(zip(names, scores[r, e], strict=True))
        for r, (config, n) in enumerate(zip(configs, sizes, strict=True))
        for e in epochs
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)
