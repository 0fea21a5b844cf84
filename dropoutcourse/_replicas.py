"""What the hand-written replica trainer shares: random streams, Glorot init, batching, masks.

The CNN trainer (:func:`dropoutcourse.cnn_engine.train_cnn_replicas`) trains R networks at
once with weights stacked on a leading replica axis. It draws everything a replica sees from
*its own* seed (so a replica never depends on its neighbours, and equal seeds give equal draws:
common random numbers), cuts every epoch into Keras-style mini-batches (the last one smaller),
and uses Glorot initialisation, Adam and inverted dropout masks; ``layers.DropBlock2D`` shares
its DropBlock rule, and ``experiments.data_size_sweep`` its per-seed samples. Those pieces live
here, once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Random streams derived from a replica's seed: one per purpose, so that e.g. changing the
# number of epochs never changes the initial weights.
INIT, SHUFFLE, MASKS, MC, SAMPLE = 0, 1, 2, 3, 4
# Mask counter = epoch * STEP_STRIDE + step: independent of how many steps *other* replicas
# need per epoch (they may have more training samples).
STEP_STRIDE = 1_000_000


def stream(seed: int, purpose: int, *extra: int) -> np.random.Generator:
    """An independent NumPy generator for one (seed, purpose, ...) tuple."""
    return np.random.default_rng(np.random.SeedSequence([seed, purpose, *extra]))


def key(seed: int, purpose: int, *extra: int) -> int:
    """A 31-bit integer key for TensorFlow's stateless random ops."""
    return int(np.random.SeedSequence([seed, purpose, *extra]).generate_state(1)[0] >> 1)


def own_sample(seed: int, size: int, pool: int) -> np.ndarray:
    """The ``size`` training rows (out of ``pool``) that seed ``seed`` draws for itself.

    Nested: the first 50 rows of a seed's 200 are its 50, so a larger sample contains the
    smaller one, as "the first n" examples would.
    """
    return stream(seed, SAMPLE).permutation(pool)[:size]


def glorot_uniform(
    seeds: Sequence[int], layer: int, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> np.ndarray:
    """Keras' Glorot-uniform kernels for every replica, stacked: ``(R, *shape)`` float32.

    U(−a, a) with a = √(6 / (fan_in + fan_out)); replica r draws from ``stream(seed_r, INIT,
    layer)``.
    """
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    kernels = [stream(s, INIT, layer).uniform(-limit, limit, shape) for s in seeds]
    return np.stack(kernels).astype(np.float32)


def epoch_batches(
    rngs: list[np.random.Generator], sizes: list[int], batch_size: int, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """This epoch's mini-batches: indices (R, steps, B) and loss weights (R, steps, B).

    Replica r shuffles its first sizes[r] samples, cuts them into batches (the last one
    smaller, as in Keras) and pads with weight 0 up to `steps` batches of B. A sample's
    weight is 1/len(its batch), so the weighted sum is Keras' per-batch mean.
    """
    n_slots = steps * batch_size
    idx = np.zeros((len(sizes), n_slots), np.int32)
    wts = np.zeros((len(sizes), n_slots), np.float32)
    for r, (rng, n) in enumerate(zip(rngs, sizes, strict=True)):
        idx[r, :n] = rng.permutation(n)
        counts = np.full(n, batch_size, np.float32)
        if n % batch_size:
            counts[-(n % batch_size) :] = n % batch_size  # the short last batch
        wts[r, :n] = 1.0 / counts
    shape = (len(sizes), steps, batch_size)
    return idx.reshape(shape), wts.reshape(shape)


def replica_uniform(keys: Sequence[int], counter, site: int, n_sites: int, shape):
    """U[0, 1) noise of shape ``(R, *shape)``: replica r's slice comes from its own key only.

    ``counter`` (an int64 scalar tensor: epoch · STEP_STRIDE + step) and ``site`` (which
    dropout layer) make every step's and every layer's draw different.
    """
    import tensorflow as tf

    per_replica = []
    for k in keys:
        seed = tf.stack([tf.cast(k, tf.int64), counter * n_sites + site])
        per_replica.append(tf.random.stateless_uniform(shape, seed))
    return tf.stack(per_replica)


def inverted_keep(uniform, rate):
    """Inverted-dropout multipliers from U[0, 1) noise: 1/(1 − rate) where kept, else 0."""
    from keras import ops

    return ops.cast(uniform >= rate, "float32") / (1.0 - rate)


def dropblock_blocks(uniform, rate, block_size: int):
    """DropBlock's dropped squares (1 = dropped) from U[0, 1) noise of shape (..., H, W, C).

    ``gamma = rate / bs² · H·W / ((H − bs + 1)(W − bs + 1))`` is the probability that a pixel
    is a block centre (centres only where a whole block fits), so that about ``rate`` of the
    pixels end up dropped; a stride-1 max-pool grows every centre into a bs × bs square.
    ``rate`` may be a tensor that broadcasts against ``uniform`` (one rate per replica).
    The caller rescales the kept values (over what it counts as one sample of the mask).
    """
    from keras import ops

    *lead, height, width, channels = uniform.shape
    bs = min(block_size, height, width)
    gamma = rate / bs**2 * (height * width) / ((height - bs + 1) * (width - bs + 1))
    valid = np.zeros((height, width, 1), dtype="float32")
    lo = bs // 2
    valid[lo : lo + height - bs + 1, lo : lo + width - bs + 1, :] = 1.0
    centres = ops.cast(uniform < gamma, "float32") * valid
    flat = ops.reshape(centres, (-1, height, width, channels))
    blocks = ops.max_pool(flat, pool_size=bs, strides=1, padding="same")
    return ops.reshape(blocks, ops.shape(uniform))


def adam_update(params, grads, ms, vs, t, learning_rate: float, active=None) -> None:
    """One Adam step with Keras' defaults (β₁ = 0.9, β₂ = 0.999, ε = 1e-7), in place.

    ``t`` is the step count *after* this step (a tensor that broadcasts over the replica axis);
    ``active`` (bool, broadcastable) freezes the replicas that have no batch this step.
    """
    import tensorflow as tf

    b1, b2, eps = 0.9, 0.999, 1e-7
    alpha = learning_rate * tf.sqrt(1 - b2**t) / (1 - b1**t)
    for p, g, m, v in zip(params, grads, ms, vs, strict=True):
        m_new = m + (g - m) * (1 - b1)
        v_new = v + (g * g - v) * (1 - b2)
        p_new = p - alpha * m_new / (tf.sqrt(v_new) + eps)
        if active is None:
            m.assign(m_new)
            v.assign(v_new)
            p.assign(p_new)
        else:
            m.assign(tf.where(active, m_new, m))
            v.assign(tf.where(active, v_new, v))
            p.assign(tf.where(active, p_new, p))
