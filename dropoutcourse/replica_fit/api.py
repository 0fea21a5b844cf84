"""``fit_replicas``: a student's compiled Keras model, trained once per seed, all at once.

>>> model = keras.Sequential([keras.Input((40,)), keras.layers.Dense(256, activation="relu"),
...                           keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax")])
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
>>> history = model.fit(x, y, epochs=20, validation_data=(x_val, y_val))    # one run
>>> runs = fit_replicas(model, x, y, seeds=range(10), epochs=20, validation_data=(x_val, y_val))
>>> runs[runs.epoch == 20].val_accuracy.describe()                        # ten runs

Each replica is what ``keras.utils.set_random_seed(seed)``, building and compiling the model
and ``model.fit(x, y, epochs=..., batch_size=..., validation_data=...)`` would give, up to the
random draws themselves: its own initial weights (those of that loop, exactly, when the code
constructs each layer before applying the next; with ``shared_start``, those of one model for
all), its own shuffle every epoch and its own dropout masks, all from its seed.
``tests/test_replica_fit_vs_fit.py`` checks that the two agree in distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from dropoutcourse._validate import (
    check_positive_int,
    check_row_sets,
    check_same_length,
    check_seeds,
)
from dropoutcourse.replica_fit.initial import continue_from, random_state_kept, share_start
from dropoutcourse.replica_fit.loop import EpochProgram, quiet_vectorization, replica_outputs
from dropoutcourse.replica_fit.random_ops import vectorizable_random
from dropoutcourse.replica_fit.stack import (
    ReplicaGroup,
    _uncompiled,
    group_replicas,
)
from dropoutcourse.replica_fit.support import check_supported, walk_layers

__all__ = ["FittedReplicas", "fit_replicas", "fit_replica_models"]


@dataclass
class FittedReplicas:
    """What :func:`fit_replica_models` returns: the history and the trained replicas."""

    history: pd.DataFrame
    groups: list[ReplicaGroup]
    run: int = 1  # how many fits these replicas have had (``start_from`` continues one)

    def models(self, model: int = 0, *, compiled: bool = True) -> dict[int, keras.Model]:
        """Seed -> a Keras model holding that replica's trained weights (of ``model``'s list index).

        ``compiled=False`` skips compiling each model (its optimizer and metrics): enough for
        calling or ``predict``-ing it, and faster when there are hundreds of replicas.
        """
        out = {}
        with random_state_kept():  # cloning draws layer seeds from Python's random
            for group in self.groups:
                order = _in_weight_order(group)
                # an uncompiled source: its clones are left uncompiled too
                source = group.template if compiled else _uncompiled(group.template)
                for r, (m, seed) in enumerate(zip(group.model_index, group.seeds, strict=True)):
                    if m == model:
                        out[seed] = _holding(keras.models.clone_model(source), group, order, r)
        return out

    def each_replica(self, model: int = 0) -> Iterator[tuple[int, keras.Model]]:
        """``(seed, network)`` for every replica of ``model`` (list index), in seed order.

        The network is ONE uncompiled Keras model, loaded with each replica's weights and
        rates in turn: use it (call it, ``predict``) before the next step of the loop, and
        keep its outputs, not the network. With hundreds of replicas this saves building a
        model for each, which is what :meth:`models` does; the outputs are the same.
        """
        for group in self.groups:
            picked = [r for r, m in enumerate(group.model_index) if m == model]
            if picked:
                net, order = _uncompiled(group.template), _in_weight_order(group)
                sites = _sites_of(net)  # found once: a replica's rate may be 0 (no dropout)
                for r in picked:
                    yield group.seeds[r], _holding(net, group, order, r, sites)

    def predict(self, x, model: int = 0) -> dict[int, np.ndarray]:
        """Seed -> that replica's outputs on ``x`` in inference mode (as ``predict`` gives them).

        All replicas of ``model`` (list index) in one vectorised computation, instead of a
        Keras call per replica: the outputs are those of :meth:`each_replica`'s networks, up
        to float rounding. Seeds in seed order.
        """
        x = _as_inputs(x, "predict")
        out = {}
        with quiet_vectorization():
            for group in self.groups:
                picked = [r for r, m in enumerate(group.model_index) if m == model]
                if picked:
                    outputs = replica_outputs(group, x)
                    out.update((group.seeds[r], outputs[r]) for r in picked)
        return out


def _holding(
    net: keras.Model, group: ReplicaGroup, order: list, r: int, sites: list | None = None
) -> keras.Model:
    """``net`` (a clone of ``group.template``) with replica ``r``'s weights and rates.

    ``sites``: ``net``'s per-replica-rate layers, when ``net`` is reloaded (found by a rate
    above 0, so after a replica with rate 0 they are no longer found in ``net`` itself).
    """
    net.set_weights([np.asarray(v.value[r]) for v in order])
    for site, rate in zip(_sites_of(net) if sites is None else sites, group.rates[r], strict=True):
        site.rate = float(rate)  # the replica's own rate again
    return net


def _sites_of(model: keras.Model) -> list:
    from dropoutcourse.replica_fit.stack import _rate_sites

    return _rate_sites(model)


def _in_weight_order(group: ReplicaGroup) -> list:
    """The stacked variables in the order of ``template.weights`` (for ``set_weights``)."""
    t = group.template
    by_path = {v.path: s for v, s in zip(t.trainable_variables, group.trainable, strict=True)}
    by_path.update(
        (v.path, s) for v, s in zip(t.non_trainable_variables, group.non_trainable, strict=True)
    )
    return [by_path[w.path] for w in t.weights]


def _as_models(model) -> list[keras.Model]:
    models = [model] if isinstance(model, keras.Model) else list(model)
    if not models or not all(isinstance(m, keras.Model) for m in models):
        raise TypeError(
            f"model must be a compiled keras.Model (or a list of them), got {type(model).__name__}"
        )
    return models


def _as_inputs(x, name: str) -> np.ndarray:
    x_arr = np.asarray(x)
    if not np.issubdtype(x_arr.dtype, np.number) or not np.all(np.isfinite(x_arr)):
        raise ValueError(f"{name} x must be finite numbers (no NaN/inf), got dtype {x_arr.dtype}")
    return x_arr.astype("float32") if np.issubdtype(x_arr.dtype, np.floating) else x_arr


def _as_arrays(x, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    x_arr, y_arr = np.asarray(x), np.asarray(y)
    check_same_length(x_arr, y_arr, f"{name} x", f"{name} y")
    x_arr = _as_inputs(x_arr, name)
    y_arr = y_arr.astype("float32") if np.issubdtype(y_arr.dtype, np.floating) else y_arr
    return x_arr, y_arr.astype("int64") if np.issubdtype(y_arr.dtype, np.integer) else y_arr


def _shuffles(
    groups: Sequence[ReplicaGroup], epoch: int, own: dict[int, np.ndarray], run: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Each replica's order of its training rows ``own[seed]`` in ``epoch``: from its seed only
    (and, in a continued run, from ``run``: a second fit shuffles afresh). With fewer rows
    than the longest, the order is padded with its first row, marked 0 in the second array
    (which rows are the replica's own)."""
    longest = max(len(mine) for mine in own.values())
    rows, valid = [], []
    for group in groups:
        for seed in group.seeds:
            mine = own[seed]
            key = [seed, epoch] if run == 1 else [seed, epoch, run]
            shuffled = mine[np.random.default_rng(key).permutation(len(mine))]
            pad = longest - len(mine)
            rows.append(np.concatenate([shuffled, np.repeat(shuffled[:1], pad)]))
            valid.append(np.r_[np.ones(len(mine)), np.zeros(pad)])
    return np.stack(rows).astype("int32"), np.stack(valid).astype("float32")


def _own_rows(train_rows, seeds: list[int], n: int, batch_size: int) -> dict[int, np.ndarray]:
    """Seed -> the rows of ``x`` its replicas train on (all of them without ``train_rows``).

    The seeds' row sets may differ in size within the last batch only: every replica takes
    the same number of steps per epoch (as k-fold training sets of 455 and 456 rows do).
    """
    if train_rows is None:
        return dict.fromkeys(seeds, np.arange(n))
    own = dict(zip(seeds, check_row_sets(train_rows, n, len(seeds)), strict=True))
    sizes = sorted({len(mine) for mine in own.values()})
    if len({-(-size // batch_size) for size in sizes}) > 1:
        raise ValueError(
            f"train_rows: the seeds' training sets ({sizes[0]} to {sizes[-1]} rows) take "
            f"different numbers of batches of batch_size={batch_size} per epoch; they may "
            "differ only within the last batch. Train each size in its own fit_replicas call"
        )
    return own


def _check_unequal_rows(groups: list[ReplicaGroup], own: dict[int, np.ndarray]) -> bool:
    """Whether the seeds' training sets differ in size (their shorter last batches are then
    padded); refuse what padding would change: batch statistics, activity penalties (averaged
    over the padded batch), a loss that is not a batch mean or not one value per example."""
    if len({len(mine) for mine in own.values()}) == 1:
        return False
    for group in groups:
        name = group.template.name
        reduction = getattr(group.objective.loss, "reduction", "sum_over_batch_size")
        if reduction not in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
            raise ValueError(
                f"train_rows of different sizes need a loss averaged over the batch; the "
                f"loss of {name!r} has reduction {reduction!r}"
            )
        if len(group.template.outputs[0].shape) > 2:
            raise ValueError(
                f"train_rows of different sizes need one loss value per example; {name!r} "
                f"has outputs of shape {tuple(group.template.outputs[0].shape)}"
            )
        for layer in walk_layers(group.template):
            if isinstance(layer, keras.layers.BatchNormalization) or getattr(
                layer, "activity_regularizer", None
            ):
                raise ValueError(
                    f"train_rows of different sizes cannot train {layer.name!r} "
                    f"({type(layer).__name__}): the padded last batches would enter its batch "
                    "statistics or activity penalty. Give every seed equally many rows"
                )
    return True


def _validation_pair(validation_data):
    if validation_data is None:
        return None
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise ValueError("validation_data must be a tuple (x_val, y_val)")
    return _as_arrays(*validation_data, "validation_data")


def _validated_epochs(validation_freq, epochs: int) -> set[int]:
    """The 1-based epochs after which ``fit`` would validate (Keras' ``validation_freq``)."""
    if isinstance(validation_freq, list | tuple):
        chosen = [check_positive_int(e, "validation_freq (each epoch)") for e in validation_freq]
        return {e for e in chosen if e <= epochs}
    freq = check_positive_int(validation_freq, "validation_freq")
    return {e for e in range(1, epochs + 1) if e % freq == 0}


def _rows(groups, sums, sizes: dict, val, epoch: int, many: bool) -> list[dict]:
    """History rows of one epoch: training means (as ``fit`` logs them: over each replica's
    ``sizes[seed]`` rows) and validation means."""
    rows = []
    for g, (group, train) in enumerate(zip(groups, sums, strict=True)):
        keys = ["loss", *group.objective.metrics]
        for r, seed in enumerate(group.seeds):
            row = {"model": group.model_index[r]} if many else {}
            row.update(seed=seed, epoch=epoch)
            row.update({k: float(v) / sizes[seed] for k, v in zip(keys, train[r], strict=True)})
            if val is not None:
                row.update({f"val_{k}": float(v) for k, v in zip(keys, val[g][r], strict=True)})
            rows.append(row)
    return rows


def _progress(epochs: int, verbose: bool):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="epochs (all replicas)", leave=False)


def fit_replica_models(
    model: keras.Model | Sequence[keras.Model],
    x,
    y,
    *,
    seeds: Iterable[int],
    epochs: int,
    batch_size: int = 32,
    validation_data=None,
    validation_freq: int | Sequence[int] = 1,
    train_rows: Sequence[Sequence[int]] | None = None,
    start_from: FittedReplicas | None = None,
    shared_start: bool | keras.Model = False,
    verbose: bool = True,
    on_epoch_end: Callable[[int, FittedReplicas], None] | None = None,
) -> FittedReplicas:
    """Like :func:`fit_replicas`, and also keep the trained replicas (``.models()``).

    ``on_epoch_end(epoch, replicas)``, if given, is called after every epoch (1-based) with
    the replicas as trained so far (their history not yet filled in), e.g. to score them in
    inference mode on more sets than the validation data: ``replicas.predict(x)``.
    """
    models = _as_models(model)
    seeds = check_seeds(seeds)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    x, y = _as_arrays(x, y, "training")
    own = _own_rows(train_rows, seeds, len(x), batch_size)
    sizes = {seed: len(mine) for seed, mine in own.items()}
    val = _validation_pair(validation_data)
    validated = _validated_epochs(validation_freq, epochs)
    for m in models:
        check_supported(m)
    groups = group_replicas(models, seeds)
    padded = _check_unequal_rows(groups, own)
    run = 1 if start_from is None else _continued(groups, start_from)
    if not isinstance(shared_start, bool | keras.Model):
        raise TypeError(f"shared_start must be True, False or a keras.Model, got {shared_start!r}")
    if shared_start is not False:
        if start_from is not None:
            raise ValueError("shared_start starts a first run; start_from continues one")
        share_start(groups, _uncompiled(models[0] if shared_start is True else shared_start))
    program = EpochProgram(groups, x, y, batch_size, padded)
    rows, bar = [], _progress(epochs, verbose)
    with quiet_vectorization(), vectorizable_random():
        for epoch in range(1, epochs + 1):
            order, valid = _shuffles(groups, epoch, own, run)
            sums = [s.numpy() for s in program.train_epoch(order, valid)]
            val_means = None if val is None or epoch not in validated else program.evaluate(*val)
            rows += _rows(groups, sums, sizes, val_means, epoch, len(models) > 1)
            if on_epoch_end is not None:
                on_epoch_end(epoch, FittedReplicas(pd.DataFrame(), groups, run))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    history = pd.DataFrame(rows)
    order = ["model", "seed", "epoch"] if len(models) > 1 else ["seed", "epoch"]
    history = history.sort_values(order, kind="stable")  # each run's epochs together
    return FittedReplicas(history=history.reset_index(drop=True), groups=groups, run=run)


def _continued(groups: list[ReplicaGroup], start_from: FittedReplicas) -> int:
    """Load ``start_from``'s final values into ``groups``; the number of this run."""
    if not isinstance(start_from, FittedReplicas):
        raise TypeError(
            "start_from must be what fit_replica_models returned (FittedReplicas), "
            f"got {type(start_from).__name__}"
        )
    continue_from(groups, start_from.groups)
    return start_from.run + 1


def fit_replicas(
    model: keras.Model | Sequence[keras.Model],
    x,
    y,
    *,
    seeds: Iterable[int],
    epochs: int,
    batch_size: int = 32,
    validation_data=None,
    validation_freq: int | Sequence[int] = 1,
    train_rows: Sequence[Sequence[int]] | None = None,
    start_from: FittedReplicas | None = None,
    shared_start: bool | keras.Model = False,
    verbose: bool = True,
) -> pd.DataFrame:
    """Train one independent replica of a compiled Keras ``model`` per seed, all at once.

    ``model`` is compiled as for ``fit`` (optimizer, loss, metrics); it is used as a recipe
    and left unchanged. A list of models (same data, e.g. one per dropout rate) trains every
    model on every seed in the same computation and adds a ``model`` column (list index).
    Returns one row per replica and epoch: ``seed``, ``epoch`` (1-based) and the keys
    ``History.history`` would hold: ``loss`` and each metric (training mode, averaged over
    the epoch's batches, as ``fit`` logs them) and, with ``validation_data=(x_val, y_val)``,
    ``val_loss``/``val_<metric>`` (inference mode, after the epoch). ``validation_freq``
    as in ``fit``: validate after every n-th epoch (an int) or after the listed epochs; the
    other epochs' ``val_*`` are NaN. Validating costs a pass over the validation data, so a
    study that reads only the final numbers passes ``validation_freq=epochs``.
    ``train_rows`` (one array of row indices of ``x`` per seed) gives each seed's replicas
    their own training set, e.g. disjoint samples of one data-generating process or the
    training parts of k folds; its epoch is a pass over those rows. The sets may differ in
    size within the last batch only (the same number of steps per epoch); the shorter last
    batches are padded and the padding is left out of the loss and the metrics.
    ``start_from`` (a :class:`FittedReplicas` of the same architecture, seeds and number of
    models) continues those replicas, as a second ``fit`` of the same networks would: each
    starts from its trained weights (and moving statistics and mask streams) with a fresh
    optimizer and fresh shuffles, e.g. to switch dropout off after some epochs (``Dropout``
    rates may differ between the two runs as long as both are above 0 or both 0).
    ``shared_start=True`` (with a list of models whose weights have the same shapes, e.g. one
    without and one with dropout): each seed's replicas all start from the initial weights
    of model 0's replica, so that a paired comparison by seed differs only in the models'
    differences, not in their starting points (a loop of ``fit`` would draw other weights
    for a model with other layers). A model instead of True: the weights that model gets
    for each seed (e.g. the network without dropout, whatever the list holds).
    """
    return fit_replica_models(
        model,
        x,
        y,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        validation_freq=validation_freq,
        train_rows=train_rows,
        start_from=start_from,
        shared_start=shared_start,
        verbose=verbose,
    ).history
