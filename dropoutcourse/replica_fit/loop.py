"""The compiled training and evaluation programs: all groups, all replicas, one call per epoch.

One ``tf.function`` runs a whole epoch: every mini-batch step of every replica of every group.
Each step gathers each replica's own batch (its own shuffle), runs the model's
``stateless_call`` vectorised over the replica axis (``tf.vectorized_map``), differentiates
the sum of the replicas' losses (a replica's weights get exactly its own gradient) and lets
the group's optimizer update the stacked weights element-wise, i.e. independently per replica.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

import numpy as np
import tensorflow as tf

from dropoutcourse.replica_fit.random_ops import per_replica_rates
from dropoutcourse.replica_fit.stack import ReplicaGroup

__all__ = ["EpochProgram", "quiet_vectorization", "replica_outputs"]

#: validation examples per vectorised inference call (bounds memory with many replicas)
EVAL_CHUNK = 1024


@contextlib.contextmanager
def quiet_vectorization() -> Iterator[None]:
    """Hide TensorFlow's notices about how it vectorises random ops (traced once, harmless)."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _values(variables: Sequence) -> list:
    return [tf.identity(v.value) for v in variables]


def _call_replica(group: ReplicaGroup, weights, states, rates, x, training: bool):
    """One replica's (outputs, new non-trainable values, layer losses): the group's template
    called with that replica's values and dropout rates (inside ``tf.vectorized_map``)."""
    with per_replica_rates(group.sites, tf.unstack(rates, num=len(group.sites))):
        return group.template.stateless_call(
            weights, states, x, training=training, return_losses=True
        )


def _replica_stats(group: ReplicaGroup, x, y, training: bool, trainable=None, valid=None):
    """Per replica: the mean loss, the summed metrics and the new non-trainable values.

    ``valid`` (R, B) of 0/1, only when the replicas' training sets differ in size: which rows
    of each replica's batch are its own (a shorter last batch is padded to the longest). The
    loss is then the mean over its own rows, the metrics are summed over them.
    """
    objective = group.objective
    trainable = _values(group.trainable) if trainable is None else trainable

    def one_replica(args):
        weights, states, rates, xr, yr, *own = args
        y_pred, new_states, losses = _call_replica(group, weights, states, rates, xr, training)
        if own:  # weight B / own rows on each own row: the batch mean over own rows only
            size = tf.cast(tf.shape(own[0])[0], "float32")
            weight = own[0] * (size / tf.reduce_sum(own[0]))
            loss, keep = objective.loss(yr, y_pred, sample_weight=weight), own[0]
        else:
            loss, keep = objective.loss(yr, y_pred), 1.0
        loss = loss + tf.add_n([0.0, *losses])
        sums = [
            tf.reduce_sum(keep * tf.cast(fn(yr, y_pred), "float32"))
            for fn in objective.metrics.values()
        ]
        return loss, tf.stack([0.0, *sums]), new_states

    states = _values(group.non_trainable)
    args = (trainable, states, tf.constant(group.rates), x, y)
    return tf.vectorized_map(one_replica, args if valid is None else (*args, valid))


def _outputs(group: ReplicaGroup, x) -> tf.Tensor:
    """(R, N, ...): every replica's outputs on the same inputs ``x``, in inference mode."""

    def one_replica(args):
        return _call_replica(group, *args, x, training=False)[0]

    values = (_values(group.trainable), _values(group.non_trainable), tf.constant(group.rates))
    return tf.vectorized_map(one_replica, values)


def replica_outputs(group: ReplicaGroup, x: np.ndarray) -> np.ndarray:
    """(R, N, ...) every replica's outputs on ``x`` in inference mode, ``EVAL_CHUNK`` rows a call.

    One vectorised call for all replicas of ``group``: what calling each replica's network on
    ``x`` gives (up to float rounding), without a Keras call per replica.
    """
    # traced once per group: a study may ask for the outputs after every epoch
    if "outputs" not in group.compiled:
        group.compiled["outputs"] = tf.function(
            lambda rows: _outputs(group, rows), reduce_retracing=True
        )
    compiled = group.compiled["outputs"]
    chunks = [
        compiled(tf.constant(x[start : start + EVAL_CHUNK]))
        for start in range(0, len(x), EVAL_CHUNK)
    ]
    return np.concatenate([c.numpy() for c in chunks], axis=1)


def _train_step(group: ReplicaGroup, x, y, valid=None) -> tf.Tensor:
    """One optimizer step of every replica of ``group``; returns (R, 1 + metrics) batch sums
    (over each replica's own rows with ``valid``, see :func:`_replica_stats`)."""
    with tf.GradientTape() as tape:
        weights = _values(group.trainable)
        tape.watch(weights)
        loss, sums, new_states = _replica_stats(group, x, y, True, weights, valid)
        total = tf.reduce_sum(loss)  # d total / d replica r's weights = d loss_r / d them
    group.optimizer.apply(tape.gradient(total, weights), group.trainable)
    for variable, constraint in zip(group.trainable, group.constraints, strict=True):
        if constraint is not None:  # e.g. max-norm, applied to each replica's own weights
            variable.assign(tf.vectorized_map(constraint, variable.value))
    for variable, value in zip(group.non_trainable, new_states, strict=True):
        variable.assign(value)
    if valid is None:
        rows = tf.cast(tf.shape(x)[1], "float32")
    else:
        rows = tf.reduce_sum(valid, axis=1, keepdims=True)
    return tf.concat([loss[:, None] * rows, sums[:, 1:]], axis=1)


class EpochProgram:
    """Compiled epoch and evaluation functions for a list of replica groups."""

    def __init__(
        self, groups: list[ReplicaGroup], x, y, batch_size: int, padded: bool = False
    ) -> None:
        self.groups = groups
        self.padded = padded  # the replicas' training sets differ in size: mask the padding
        self.x, self.y = tf.constant(x), tf.constant(y)
        self.batch_size = batch_size
        self.offsets = np.cumsum([0] + [g.n_replicas for g in groups]).tolist()
        self.train_epoch = tf.function(self._train_epoch)
        self.evaluate_chunk = tf.function(self._evaluate_chunk, reduce_retracing=True)

    def _step(self, batch_indices, batch_valid) -> list:
        out = []
        for g, group in enumerate(self.groups):
            idx = batch_indices[self.offsets[g] : self.offsets[g + 1]]
            valid = batch_valid[self.offsets[g] : self.offsets[g + 1]]
            x, y = tf.gather(self.x, idx), tf.gather(self.y, idx)
            out.append(_train_step(group, x, y, valid if self.padded else None))
        return out

    def _train_epoch(self, order, valid) -> list:
        """``order``: (R_total, n) each replica's shuffle of its rows, ``valid`` (R_total, n)
        which of them are its own (0: padding of a shorter last batch); per-group (R, 1+M) sums."""
        n, b = int(order.shape[1]), self.batch_size
        totals = [tf.zeros((g.n_replicas, 1 + len(g.objective.metrics))) for g in self.groups]
        # Keras keeps the short last batch; slicing to min(.., n) makes it one more turn of
        # the same loop, so the step is traced once (a second copy would double the tracing)
        for i in tf.range(-(-n // b)):
            batch = slice(i * b, tf.minimum((i + 1) * b, n))
            sums = self._step(order[:, batch], valid[:, batch])
            totals = [t + s for t, s in zip(totals, sums, strict=True)]
        return totals

    def _evaluate_chunk(self, x, y) -> list:
        out = []
        for group in self.groups:
            reps = group.n_replicas
            xr = tf.repeat(x[None], reps, axis=0)
            yr = tf.repeat(y[None], reps, axis=0)
            loss, sums, _ = _replica_stats(group, xr, yr, training=False)
            size = tf.cast(tf.shape(x)[0], "float32")
            out.append(tf.concat([loss[:, None] * size, sums[:, 1:]], axis=1))
        return out

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """Per group, (R, 1 + M) means over ``x``: loss then metrics, in inference mode."""
        totals = None
        for start in range(0, len(x), EVAL_CHUNK):
            sums = self.evaluate_chunk(x[start : start + EVAL_CHUNK], y[start : start + EVAL_CHUNK])
            sums = [s.numpy() for s in sums]
            totals = sums if totals is None else [t + s for t, s in zip(totals, sums, strict=True)]
        return [t / len(x) for t in totals]
