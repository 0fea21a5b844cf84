"""The training loop of the hand-written CNN replica trainer (:mod:`dropoutcourse.cnn_engine`).

Its network says how a batch's loss is computed from the stacked weights; the rest is here:
Keras' Adam applied to every replica's own slice, the gradient step, the compiled epoch (all
mini-batch steps in one TensorFlow graph) and the Python loop over epochs with its progress
bar. (The MLP experiments train Keras models with :func:`dropoutcourse.fit_replica_models`.) The random streams, batching and masks
they share are in :mod:`dropoutcourse._replicas`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dropoutcourse import _replicas

__all__ = ["Adam", "EpochProgram", "train_epochs"]


class Adam:
    """Keras' Adam (β₁ 0.9, β₂ 0.999, ε 1e-7) on stacked replica weights.

    ``step_shape``: the shape of the step counter, () when every replica takes every step,
    or e.g. (R, 1, 1) so that a replica without a batch keeps its own count.
    """

    def __init__(self, params: Sequence, learning_rate: float, step_shape=()) -> None:
        import tensorflow as tf

        self.params, self.lr = list(params), learning_rate
        self.m = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.v = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.t = tf.Variable(tf.zeros(step_shape))

    def apply(self, grads: Sequence, active=None) -> None:
        import tensorflow as tf

        if active is None:
            self.t.assign_add(tf.ones_like(self.t))
        else:
            self.t.assign(self.t + tf.cast(active, tf.float32))
        _replicas.adam_update(self.params, grads, self.m, self.v, self.t, self.lr, active)

    def apply_batch(self, grads: Sequence, wts) -> None:
        """``EpochProgram``'s update when every replica takes every step (no mask needed)."""
        self.apply(grads)


#: ``loss(idx, wts, counter) -> total``: the summed loss of every replica's batch.
BatchLoss = Callable
#: ``after(grads, wts) -> None``: the update (and constraints) once the gradients are known.
Update = Callable


class EpochProgram:
    """One compiled call per epoch: every mini-batch step of every replica, then metrics.

    ``loss(idx, wts, counter)`` gives the total loss of a step (replicas are independent, so
    d total / d replica r's weights = d loss_r / d them); ``update(grads, wts)`` applies it.
    ``evaluate()`` (optional) returns a metrics tensor of shape ``metrics_shape``, computed
    after the epochs the caller asks for.
    """

    def __init__(
        self,
        params: Sequence,
        loss: BatchLoss,
        update: Update,
        evaluate: Callable | None = None,
        metrics_shape: tuple[int, ...] = (1,),
    ) -> None:
        import tensorflow as tf

        self.params, self.loss, self.update = list(params), loss, update
        self.evaluate = evaluate
        self.metrics_shape = metrics_shape
        # autograph=False: the loop is written with tf.while_loop by hand, so the graph does
        # not depend on AutoGraph re-reading this file's source (and traces faster)
        self.run = tf.function(self._run, autograph=False)

    def _step(self, idx, wts, counter) -> None:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            total = self.loss(idx, wts, counter)
        self.update(tape.gradient(total, self.params), wts)

    def _run(self, idx, wts, epoch, measure):
        import tensorflow as tf

        def body(s):
            counter = epoch * _replicas.STEP_STRIDE + tf.cast(s, tf.int64)
            self._step(idx[:, s], wts[:, s], counter)
            return (s + 1,)

        # all mini-batch steps of the epoch inside the graph: no Python between the steps
        tf.while_loop(lambda s: s < tf.shape(idx)[1], body, (tf.constant(0),))
        if self.evaluate is None:
            return tf.zeros(self.metrics_shape)
        # one graph for both kinds of epoch (a tensor flag, not a Python bool: no retracing)
        return tf.cond(measure, self.evaluate, lambda: tf.zeros(self.metrics_shape))


def _progress(epochs: int, verbose: bool):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="epochs", leave=False)


def train_epochs(
    program: EpochProgram,
    seeds: Sequence[int],
    sizes: Sequence[int],
    batch_size: int,
    epochs: int,
    evaluated: Sequence[int] = (),
    *,
    verbose: bool = False,
    postfix: Callable[[np.ndarray], dict] | None = None,
) -> np.ndarray:
    """Run ``epochs`` epochs; return the metrics after each epoch in ``evaluated`` (1-based).

    Replica r shuffles its first ``sizes[r]`` examples every epoch from its own seed's stream
    and runs Keras-style batches (the last one smaller); a replica with fewer examples sits
    out the extra steps (loss weight 0). ``postfix(metrics)`` labels the progress bar.
    """
    import tensorflow as tf

    steps = max(-(-n // batch_size) for n in sizes)
    shuffles = [_replicas.stream(s, _replicas.SHUFFLE) for s in seeds]
    out = np.empty((len(evaluated), *program.metrics_shape))
    bar, row = _progress(epochs, verbose), 0
    for epoch in range(epochs):
        idx, wts = _replicas.epoch_batches(shuffles, list(sizes), batch_size, steps)
        measure = epoch + 1 in evaluated
        metrics = program.run(
            tf.constant(idx), tf.constant(wts), tf.constant(epoch, tf.int64), tf.constant(measure)
        )
        if measure:
            out[row] = metrics
            row += 1
        if bar is not None:
            bar.update(1)
            if row and postfix is not None:
                bar.set_postfix(postfix(out[row - 1]))
    if bar is not None:
        bar.close()
    return out
