"""Dropout and its relatives in plain NumPy: the readable reference of the course.

Convention: ``rate`` is the probability of **dropping** a unit (as in Keras), in [0, 1).
The 2014 paper's ``p``, CS231n's ``p`` and deeplearning.ai's ``keep_prob`` are the
probability of **keeping** it; convert with :func:`keep_prob_to_rate` / :func:`rate_to_keep_prob`.

Every layer is a pair of small pure functions in the style of CS231n's ``layers.py``:
``*_forward(x, ...) -> (out, mask)`` and a backward that uses the mask. Randomness is explicit:
pass ``rng=np.random.default_rng(seed)`` to get a reproducible mask (needed for gradient checks).
When ``training`` is False (or ``rate == 0``) the layers return ``(x, None)``: at test time
inverted dropout does nothing at all. Outputs keep the input's float dtype.

References: Srivastava et al. (2014) JMLR 15:1929; Wan et al. (2013) DropConnect, ICML;
Tompson et al. (2015) arXiv:1411.4280 (spatial dropout); Ghiasi et al. (2018) DropBlock, NeurIPS.
"""

from __future__ import annotations

import numpy as np

from dropoutcourse._validate import (
    check_broadcastable,
    check_float_array,
    check_keep_prob,
    check_ndim,
    check_positive_int,
    check_rate,
    check_rng,
)

__all__ = [
    "classic_dropout_forward",
    "dropblock_forward",
    "dropconnect_backward",
    "dropconnect_forward",
    "dropout_backward",
    "dropout_forward",
    "gaussian_dropout_forward",
    "keep_prob_to_rate",
    "rate_to_keep_prob",
    "spatial_dropout_forward",
]


# ---------------------------------------------------------------------------------------------
# conventions


def keep_prob_to_rate(p: float) -> float:
    """Convert a keep probability ``p`` in (0, 1] (paper, CS231n) to a drop ``rate`` (Keras)."""
    return 1.0 - check_keep_prob(p, "p")


def rate_to_keep_prob(rate: float) -> float:
    """Convert a drop ``rate`` in [0, 1) (Keras) to a keep probability ``p`` (paper, CS231n)."""
    return 1.0 - check_rate(rate)


def _bernoulli_keep(shape: tuple[int, ...], rate: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean array of the given shape, True with probability ``1 - rate`` (unit is kept)."""
    # u ~ U[0, 1) is >= rate with probability exactly 1 - rate
    return rng.random(shape) >= rate


# ---------------------------------------------------------------------------------------------
# standard (inverted) dropout


def dropout_forward(
    x: np.ndarray,
    rate: float,
    *,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverted dropout: zero each unit with probability ``rate``, scale survivors by 1/(1-rate).

    x: any shape, float dtype. Returns ``(out, mask)`` with ``mask`` of x's shape and dtype,
    holding 0 (dropped) or 1/(1-rate) (kept), and ``out == x * mask``. The scaling keeps
    E[out] == x, so nothing changes at test time: when not training (or rate == 0) the result
    is ``(x, None)``.
    """
    x = check_float_array(x)
    rate = check_rate(rate)
    rng = check_rng(rng)
    if not training or rate == 0.0:
        return x, None
    # scale at train time ("inverted"), so inference is the identity
    mask = (_bernoulli_keep(x.shape, rate, rng) / (1.0 - rate)).astype(x.dtype)
    return x * mask, mask


def dropout_backward(dout: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Backward of every multiplicative-noise layer here: ``dx = dout * mask``.

    out = x * mask is linear in x, so the upstream gradient is multiplied by the *same* mask
    (dropped units get no gradient). ``mask`` may be any array that broadcasts to dout's shape
    (e.g. the spatial-dropout mask); ``None`` (inference) passes ``dout`` through.
    """
    dout = check_float_array(dout, "dout")
    if mask is None:
        return dout
    mask = check_float_array(mask, "mask")
    check_broadcastable(mask, dout, "mask", "dout")
    return dout * mask


# ---------------------------------------------------------------------------------------------
# the 2014 paper's form


def classic_dropout_forward(
    x: np.ndarray,
    rate: float,
    *,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Dropout as written in Srivastava et al. (2014): 0/1 mask in training, scale at test time.

    Training: ``mask`` of x's shape/dtype with values 0 or 1 (no rescaling), ``out = x * mask``,
    so E[out] = (1 - rate) x. Inference: ``out = x * (1 - rate)`` ("weight scaling"), mask None.
    The backward is :func:`dropout_backward` with the same mask.
    """
    x = check_float_array(x)
    rate = check_rate(rate)
    rng = check_rng(rng)
    if rate == 0.0:
        return x, None
    if not training:
        # match the *expected* training output instead of rescaling during training
        return (x * (1.0 - rate)).astype(x.dtype), None
    mask = _bernoulli_keep(x.shape, rate, rng).astype(x.dtype)
    return x * mask, mask


# ---------------------------------------------------------------------------------------------
# multiplicative Gaussian noise


def gaussian_dropout_forward(
    x: np.ndarray,
    rate: float,
    *,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Gaussian dropout: multiply each unit by noise ~ N(1, sigma^2), sigma = sqrt(rate/(1-rate)).

    That sigma gives the noise the same mean (1) and variance as the inverted Bernoulli mask
    (paper section 10; keras.layers.GaussianDropout). Returns ``(out, noise)`` with noise of x's
    shape and dtype and ``out == x * noise``; backward is ``dropout_backward(dout, noise)``.
    Inference or rate == 0: ``(x, None)``.
    """
    x = check_float_array(x)
    rate = check_rate(rate)
    rng = check_rng(rng)
    if not training or rate == 0.0:
        return x, None
    sigma = np.sqrt(rate / (1.0 - rate))
    noise = rng.normal(1.0, sigma, size=x.shape).astype(x.dtype)
    return x * noise, noise


# ---------------------------------------------------------------------------------------------
# spatial dropout (whole feature maps)


def spatial_dropout_forward(
    x: np.ndarray,
    rate: float,
    *,
    training: bool = True,
    rng: np.random.Generator | None = None,
    channel_axis: int = -1,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Spatial dropout (Tompson et al.): drop whole channels, one draw per (sample, channel).

    x: (batch, ..., channels) with at least 3 dims (``channel_axis`` selects the channel axis,
    default last, i.e. NHWC). Neighbouring pixels of a feature map are strongly correlated, so
    dropping single pixels hardly removes information; dropping the whole map does.
    ``mask`` has size 1 on the spatial axes (it broadcasts to x), values 0 or 1/(1-rate), and
    ``out == x * mask``; backward is ``dropout_backward(dout, mask)``. Inference: ``(x, None)``.
    """
    x = check_float_array(x)
    rate = check_rate(rate)
    rng = check_rng(rng)
    check_ndim(x, 3, at_least=True)
    if not -x.ndim <= channel_axis < x.ndim:
        raise ValueError(
            f"channel_axis must be in [{-x.ndim}, {x.ndim - 1}] for x with shape {x.shape}, "
            f"got {channel_axis}"
        )
    channel_axis %= x.ndim
    if channel_axis == 0:
        raise ValueError("channel_axis must not be 0: axis 0 is the batch axis")
    if not training or rate == 0.0:
        return x, None
    # like Keras' noise_shape=(N, 1, 1, C): size 1 everywhere except batch and channels
    shape = tuple(n if axis in (0, channel_axis) else 1 for axis, n in enumerate(x.shape))
    mask = (_bernoulli_keep(shape, rate, rng) / (1.0 - rate)).astype(x.dtype)
    return x * mask, mask


# ---------------------------------------------------------------------------------------------
# DropConnect (drop weights instead of activations)


def _check_affine(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Check x (N, D), W (D, M), b (M,) and return them as float arrays."""
    x = check_float_array(x, "x")
    W = check_float_array(W, "W")
    b = check_float_array(b, "b")
    check_ndim(x, 2, "x")
    check_ndim(W, 2, "W")
    check_ndim(b, 1, "b")
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"x (N, D) and W (D, M) must agree on D, got x {x.shape} and W {W.shape}")
    if b.shape[0] != W.shape[1]:
        raise ValueError(
            f"b must have shape (M,) = ({W.shape[1]},) to match W {W.shape}, got {b.shape}"
        )
    return x, W, b


def dropconnect_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    rate: float,
    *,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """DropConnect (Wan et al. 2013): an affine layer whose *weights* are dropped.

    x (N, D), W (D, M), b (M,). Training: ``out = x @ (W * W_mask) + b`` with ``W_mask`` (D, M)
    of 0 or 1/(1-rate); one mask per call, shared by the mini-batch (the paper samples one per
    example, which costs N copies of W). E[out] = x @ W + b, so inference is ``(x @ W + b, None)``
    (the paper's Gaussian-moment inference is not implemented). The bias is never dropped.
    """
    x, W, b = _check_affine(x, W, b)
    rate = check_rate(rate)
    rng = check_rng(rng)
    if not training or rate == 0.0:
        return x @ W + b, None
    W_mask = (_bernoulli_keep(W.shape, rate, rng) / (1.0 - rate)).astype(W.dtype)
    return x @ (W * W_mask) + b, W_mask


def dropconnect_backward(
    dout: np.ndarray, x: np.ndarray, W: np.ndarray, W_mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`dropconnect_forward`: returns ``(dx, dW, db)``.

    dout (N, M), x (N, D), W (D, M), W_mask (D, M) or None. With the effective weights
    W_eff = W * W_mask: dx = dout @ W_eff.T, dW = (x.T @ dout) * W_mask (dropped weights get no
    gradient), db = dout summed over the batch.
    """
    dout = check_float_array(dout, "dout")
    check_ndim(dout, 2, "dout")
    # the bias does not enter the backward; a zero bias lets us reuse the shape checks
    W = check_float_array(W, "W")
    check_ndim(W, 2, "W")
    x, W, _ = _check_affine(x, W, np.zeros(W.shape[1], dtype=W.dtype))
    if dout.shape != (x.shape[0], W.shape[1]):
        raise ValueError(
            f"dout must have shape (N, M) = {(x.shape[0], W.shape[1])} for x {x.shape} and "
            f"W {W.shape}, got {dout.shape}"
        )
    if W_mask is None:
        W_mask = np.ones_like(W)
    W_mask = check_float_array(W_mask, "W_mask")
    if W_mask.shape != W.shape:
        raise ValueError(f"W_mask and W must have the same shape, got {W_mask.shape} and {W.shape}")
    dx = dout @ (W * W_mask).T
    dW = (x.T @ dout) * W_mask
    db = dout.sum(axis=0)
    return dx, dW, db


# ---------------------------------------------------------------------------------------------
# DropBlock (contiguous square regions of a feature map)


def _block_mask(seeds: np.ndarray, block_size: int) -> np.ndarray:
    """Grow each seed (N, H-bs+1, W-bs+1, C) into a bs x bs block; return the 0/1 keep mask.

    A seed at (i, j) drops the square [i, i+bs) x [j, j+bs), which always lies inside the map.
    """
    n, hv, wv, c = seeds.shape
    h, w = hv + block_size - 1, wv + block_size - 1
    dropped = np.zeros((n, h, w, c), dtype=bool)
    # OR together the seed grid shifted by every offset of the block (a "max-pool" dilation)
    for di in range(block_size):
        for dj in range(block_size):
            dropped[:, di : di + hv, dj : dj + wv, :] |= seeds
    return ~dropped


def dropblock_gamma(rate: float, block_size: int, height: int, width: int) -> float:
    """Seed probability gamma of DropBlock (Ghiasi et al. 2018, eq. 1).

    gamma = rate / bs^2 * (H W) / ((H - bs + 1)(W - bs + 1)): each seed drops bs^2 units and
    seeds only live in the (H - bs + 1)(W - bs + 1) valid positions, so the expected number of
    dropped units (ignoring overlaps) is rate * H * W.
    """
    rate = check_rate(rate)
    return (
        rate
        / block_size**2
        * (height * width)
        / ((height - block_size + 1) * (width - block_size + 1))
    )


def dropblock_forward(
    x: np.ndarray,
    rate: float,
    block_size: int,
    *,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """DropBlock (Ghiasi et al. 2018): drop block_size x block_size squares of NHWC feature maps.

    x (N, H, W, C). Block seeds are drawn with probability :func:`dropblock_gamma` in the valid
    region (so every block fits in the map), independently per sample and channel, and grown into
    squares; ``keep = 1 - blocks``. Rescaling is over the *whole tensor*, as in the paper's
    Algorithm 1: ``mask = keep * keep.size / keep.sum()``, so the mean of ``mask`` is exactly 1.
    Overlapping blocks make the dropped fraction slightly *smaller* than ``rate`` (an
    approximation). ``out == x * mask``; backward is ``dropout_backward(dout, mask)``.
    Inference or rate == 0: ``(x, None)``.
    """
    x = check_float_array(x)
    rate = check_rate(rate)
    block_size = check_positive_int(block_size, "block_size")
    rng = check_rng(rng)
    check_ndim(x, 4)
    _, h, w, _ = x.shape
    if block_size > min(h, w):
        raise ValueError(
            f"block_size must be in [1, min(H, W)] = [1, {min(h, w)}] for x with shape {x.shape} "
            f"(NHWC), got {block_size}"
        )
    if not training or rate == 0.0:
        return x, None
    gamma = dropblock_gamma(rate, block_size, h, w)
    n, c = x.shape[0], x.shape[3]
    seeds = rng.random((n, h - block_size + 1, w - block_size + 1, c)) < gamma
    keep = _block_mask(seeds, block_size)
    n_kept = keep.sum()
    if n_kept == 0:  # everything dropped: nothing to rescale
        mask = np.zeros(x.shape, dtype=x.dtype)
    else:
        mask = (keep * (keep.size / n_kept)).astype(x.dtype)
    return x * mask, mask
