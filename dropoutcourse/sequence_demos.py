"""Small demonstrations for lecture 6: which dropout masks a recurrent network uses over time.

Gal & Ghahramani (2016, "A Theoretically Grounded Application of Dropout in Recurrent Neural
Networks") argue for *variational* RNN dropout: draw one mask per sequence and reuse it at
every time step, for the inputs and for the recurrent state. Keras does exactly that for
``LSTM/GRU/SimpleRNN(dropout=..., recurrent_dropout=...)``. These helpers make the masks
visible by choosing weights for which a ``SimpleRNN``'s output *is* its mask.

Every function returns a NumPy array of shape (timesteps, units): entry [t, j] is the
multiplicative factor applied to unit j at step t — 0 (dropped) or 1/(1 - rate) (kept).
"""

from __future__ import annotations

import numpy as np

from dropoutcourse._validate import check_positive_int, check_rate, check_seed

__all__ = ["dropout_over_time", "rnn_input_masks", "rnn_recurrent_masks", "is_shared_over_time"]


def _check(rate: float, timesteps: int, units: int) -> tuple[float, int, int]:
    rate = check_rate(rate)
    if rate == 0.0:
        raise ValueError("rate must be > 0 to show a mask, got 0")
    return rate, check_positive_int(timesteps, "timesteps"), check_positive_int(units, "units")


def dropout_over_time(
    rate: float, timesteps: int, units: int, *, shared: bool, seed: int = 0
) -> np.ndarray:
    """The mask of ``keras.layers.Dropout`` on a (1, timesteps, units) sequence of ones.

    ``shared=False``: a plain ``Dropout(rate)`` — a fresh mask at every time step.
    ``shared=True``: ``Dropout(rate, noise_shape=(None, 1, units))`` — the noise shape has size
    1 on the time axis, so one mask is broadcast over all steps (variational dropout on the
    inputs of any sequence model).
    """
    import keras

    rate, timesteps, units = _check(rate, timesteps, units)
    seed = check_seed(seed)
    noise_shape = (None, 1, units) if shared else None
    layer = keras.layers.Dropout(rate, noise_shape=noise_shape, seed=seed)
    ones = np.ones((1, timesteps, units), "float32")
    return keras.ops.convert_to_numpy(layer(ones, training=True))[0]


def _linear_rnn(units: int, **kwargs):
    import keras

    return keras.layers.SimpleRNN(units, activation=None, return_sequences=True, **kwargs)


def rnn_input_masks(rate: float, timesteps: int, units: int, *, seed: int = 0) -> np.ndarray:
    """The input mask of ``SimpleRNN(units, dropout=rate)`` at every step, via identity weights.

    With kernel = I, recurrent kernel = 0 and bias = 0 the cell computes
    h_t = (x_t * mask_t) @ I = mask_t for an input of ones, so the outputs are the masks.
    """
    rate, timesteps, units = _check(rate, timesteps, units)
    rnn = _linear_rnn(units, dropout=rate, seed=check_seed(seed))
    rnn.build((1, timesteps, units))
    rnn.set_weights([np.eye(units), np.zeros((units, units)), np.zeros(units)])
    ones = np.ones((1, timesteps, units), "float32")
    import keras

    return keras.ops.convert_to_numpy(rnn(ones, training=True))[0]


def rnn_recurrent_masks(rate: float, timesteps: int, units: int, *, seed: int = 0) -> np.ndarray:
    """The recurrent-state mask of ``SimpleRNN(units, recurrent_dropout=rate)`` at every step.

    With kernel = 0, recurrent kernel = I and bias = 1 the cell computes
    h_t = 1 + (h_{t-1} * mask_t) @ I, starting from h_0 = 0. From the outputs we recover
    mask_t = (h_t - 1) / h_{t-1} for t >= 1 (row 0 has no previous state; it is set to NaN).
    """
    import keras

    rate, timesteps, units = _check(rate, timesteps, units)
    rnn = _linear_rnn(units, recurrent_dropout=rate, seed=check_seed(seed))
    rnn.build((1, timesteps, units))
    rnn.set_weights([np.zeros((units, units)), np.eye(units), np.ones(units)])
    h = keras.ops.convert_to_numpy(rnn(np.ones((1, timesteps, units), "float32"), training=True))[0]
    masks = np.full_like(h, np.nan)
    masks[1:] = (h[1:] - 1.0) / h[:-1]
    return masks


def is_shared_over_time(masks: np.ndarray) -> bool:
    """True if every unit's mask is the same at every time step (NaN rows are ignored)."""
    masks = np.asarray(masks, dtype=float)
    rows = masks[~np.isnan(masks).any(axis=1)]
    return bool(len(rows) > 0 and np.allclose(rows, rows[:1]))
