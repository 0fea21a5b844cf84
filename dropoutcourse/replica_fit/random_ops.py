"""Random numbers that vectorise over replicas: Keras' random ops, redrawn by a counter hash.

Inside ``fit_replicas`` every replica has its own dropout seed (its seed-generator state), so
under ``tf.vectorized_map`` the seed of TensorFlow's stateless random ops varies per replica,
and TensorFlow falls back to a slow loop over replicas for them. While
:func:`vectorizable_random` is active, Keras' ``uniform``, ``normal`` and ``dropout`` (used by
``Dropout``, ``SpatialDropout*``, ``GaussianDropout``, ``AlphaDropout``, ``GaussianNoise``,
recurrent and attention dropout and the package's own layers) draw from a counter-based hash
instead: the i-th number of a draw is ``hash(i, seed)``, made only of element-wise integer
ops, which vectorise. Each draw still comes from the layer's seed generator, so masks differ
between replicas, steps and layers, and equal seeds give equal masks.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import tensorflow as tf
from keras.src.backend.tensorflow import random as tf_random
from keras.src.random.seed_generator import draw_seed

__all__ = ["hashed_uniform", "per_replica_rates", "vectorizable_random"]

#: while a replica's step is traced: id(seed generator) -> that replica's rate (a tensor)
_RATES: dict[int, tf.Tensor] = {}

_U32 = tf.uint32


def _mix(x: tf.Tensor) -> tf.Tensor:
    """A 32-bit integer hash with good avalanche ("lowbias32", C. Wellons)."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, _U32)))
    x = x * tf.constant(0x7FEB352D, _U32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, _U32)))
    x = x * tf.constant(0x846CA68B, _U32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, _U32)))


def hashed_uniform(shape, seed: tf.Tensor, stream: int = 0) -> tf.Tensor:
    """Uniform float32 in [0, 1) of ``shape`` from a (2,) integer ``seed`` (and a stream id)."""
    # element-wise casts only (no bitcast): every op here must vectorise over replicas
    seed = tf.cast(tf.math.floormod(tf.cast(seed, tf.int64), 2**32), _U32)
    salt = tf.constant(0x9E3779B9 * (stream + 1) % 2**32, _U32)
    key = _mix(_mix(tf.bitwise.bitwise_xor(seed[0], salt)) + seed[1])
    index = tf.cast(tf.reshape(tf.range(tf.reduce_prod(shape), dtype=tf.int64), shape), _U32)
    bits = _mix(_mix(tf.bitwise.bitwise_xor(index, key)) + key)
    # the top 24 bits give evenly spaced floats in [0, 1) without rounding up to 1
    return tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, _U32)), tf.float32) * 2.0**-24


def _uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    u = hashed_uniform(shape, draw_seed(seed))
    return tf.cast(minval + (maxval - minval) * u, dtype or "float32")


def _normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    if id(seed) in _RATES:  # GaussianDropout: its std sqrt(rate/(1-rate)) from this replica's rate
        rate = _RATES[id(seed)]
        stddev = tf.sqrt(rate / (1.0 - rate))
    seed = draw_seed(seed)  # one draw of the seed generator, two streams (Box–Muller)
    u1 = 1.0 - hashed_uniform(shape, seed, stream=1)  # in (0, 1]: log is finite
    u2 = hashed_uniform(shape, seed, stream=2)
    z = tf.sqrt(-2.0 * tf.math.log(u1)) * tf.cos(2.0 * math.pi * u2)
    return tf.cast(mean + stddev * z, dtype or "float32")


def _dropout(inputs, rate, noise_shape=None, seed=None):
    rate = _RATES.get(id(seed), rate)
    shape = tf_random._get_concrete_noise_shape(inputs, noise_shape)
    keep = tf.cast(hashed_uniform(shape, draw_seed(seed)) >= rate, inputs.dtype)
    return inputs * keep / tf.cast(1.0 - rate, inputs.dtype)


@contextlib.contextmanager
def per_replica_rates(sites, rates) -> Iterator[None]:
    """Inside the block, layer ``sites[i]`` draws its noise with rate ``rates[i]``."""
    _RATES.update({id(site.seed_generator): rates[i] for i, site in enumerate(sites)})
    try:
        yield
    finally:
        _RATES.clear()


@contextlib.contextmanager
def vectorizable_random() -> Iterator[None]:
    """Route Keras' TensorFlow random ops through the hash above inside the block."""
    saved = {name: getattr(tf_random, name) for name in ("uniform", "normal", "dropout")}
    tf_random.uniform, tf_random.normal, tf_random.dropout = _uniform, _normal, _dropout
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(tf_random, name, fn)
