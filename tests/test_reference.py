"""The NumPy reference layers: statistics against theory, gradient checks, bad inputs.

Statistical tests use a seeded rng and large arrays, and tolerances of 5 standard errors
derived from the distribution under test (not from a previous run's output).
"""

import numpy as np
import pytest

from dropoutcourse import reference as R
from dropoutcourse.gradcheck import numerical_gradient, rel_error

RATES = [0.1, 0.5, 0.8]


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# conventions


def test_keep_prob_rate_conversion():
    assert R.keep_prob_to_rate(0.8) == pytest.approx(0.2)
    assert R.rate_to_keep_prob(0.2) == pytest.approx(0.8)
    assert R.keep_prob_to_rate(1) == 0.0
    assert R.rate_to_keep_prob(0) == 1.0
    for p in (0.25, 0.5, 0.9):
        assert R.rate_to_keep_prob(R.keep_prob_to_rate(p)) == pytest.approx(p)


@pytest.mark.parametrize("p", [0, 0.0, -0.2, 1.5, float("nan")])
def test_keep_prob_to_rate_rejects_bad_keep_prob(p):
    with pytest.raises(ValueError, match=r"p must be in \(0, 1\]"):
        R.keep_prob_to_rate(p)


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan")])
def test_rate_to_keep_prob_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        R.rate_to_keep_prob(rate)


def test_conversions_reject_non_numbers():
    with pytest.raises(TypeError):
        R.keep_prob_to_rate("0.8")
    with pytest.raises(TypeError):
        R.rate_to_keep_prob(True)


# ---------------------------------------------------------------------------------------------
# inverted dropout


@pytest.mark.parametrize("rate", RATES)
def test_dropout_fraction_dropped_matches_rate(rate):
    x = rng(1).standard_normal((500, 500)) + 10  # CS231n's check: no zeros in x itself
    out, mask = R.dropout_forward(x, rate, rng=rng(2))
    n = x.size
    sigma = np.sqrt(rate * (1 - rate) / n)  # std of a binomial fraction
    assert abs(np.mean(out == 0) - rate) < 5 * sigma
    assert abs(np.mean(mask == 0) - rate) < 5 * sigma


@pytest.mark.parametrize("rate", RATES)
def test_dropout_preserves_the_mean(rate):
    x = rng(1).standard_normal((500, 500)) + 10
    out, _ = R.dropout_forward(x, rate, rng=rng(3))
    # Var(out_i) = x_i^2 rate/(1-rate): standard error of the mean of all outputs
    se = np.sqrt(np.sum(x**2) * rate / (1 - rate)) / x.size
    assert abs(out.mean() - x.mean()) < 5 * se
    # and it is *not* the un-scaled mean (1 - rate) * x: the test would catch a missing 1/(1-rate)
    assert abs(out.mean() - (1 - rate) * x.mean()) > 50 * se


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.75])
def test_dropout_kept_value_is_exactly_inverse_keep_prob(rate):
    x = rng(0).standard_normal((50, 40))
    out, mask = R.dropout_forward(x, rate, rng=rng(1))
    kept = mask[mask != 0]
    assert kept.size > 0
    assert np.all(kept == 1 / (1 - rate))
    assert set(np.unique(mask)) == {0.0, 1 / (1 - rate)}
    np.testing.assert_array_equal(out, x * mask)
    # dropped units are exactly zero, kept ones exactly x / (1 - rate)
    np.testing.assert_array_equal(out[mask == 0], 0.0)
    np.testing.assert_array_equal(out[mask != 0], x[mask != 0] * (1 / (1 - rate)))


def test_dropout_inference_and_rate_zero_are_identity():
    x = rng(0).standard_normal((6, 7))
    for kwargs in ({"rate": 0.5, "training": False}, {"rate": 0.0}, {"rate": 0}):
        out, mask = R.dropout_forward(x, **kwargs)
        assert mask is None
        assert out is x  # not even a copy


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dropout_preserves_dtype(dtype):
    x = rng(0).standard_normal((30, 30)).astype(dtype)
    out, mask = R.dropout_forward(x, 0.3, rng=rng(1))
    assert out.dtype == dtype
    assert mask.dtype == dtype
    assert out.shape == mask.shape == x.shape
    assert np.all(mask[mask != 0] == dtype(1 / 0.7))


def test_dropout_same_seed_same_mask_and_new_draw_each_call():
    x = np.ones((20, 20))
    _, m1 = R.dropout_forward(x, 0.5, rng=rng(7))
    _, m2 = R.dropout_forward(x, 0.5, rng=rng(7))
    np.testing.assert_array_equal(m1, m2)
    g = rng(7)
    _, a = R.dropout_forward(x, 0.5, rng=g)
    _, b = R.dropout_forward(x, 0.5, rng=g)
    assert not np.array_equal(a, b)  # the generator advances between calls
    # rng=None draws from fresh OS entropy
    _, c = R.dropout_forward(x, 0.5)
    assert set(np.unique(c)) == {0.0, 2.0}


def test_dropout_units_are_independent():
    # if the mask were shared along an axis, neighbouring entries would agree far too often
    rate = 0.5
    _, mask = R.dropout_forward(np.ones((400, 400)), rate, rng=rng(4))
    agree = np.mean(mask[:, 1:] == mask[:, :-1])
    p = rate**2 + (1 - rate) ** 2
    assert abs(agree - p) < 5 * np.sqrt(p * (1 - p) / mask[:, 1:].size)


def test_dropout_backward():
    dout = rng(0).standard_normal((4, 5))
    mask = R.dropout_forward(np.ones((4, 5)), 0.5, rng=rng(1))[1]
    np.testing.assert_array_equal(R.dropout_backward(dout, mask), dout * mask)
    assert R.dropout_backward(dout, None) is dout


def test_dropout_backward_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(4, 5\)"):
        R.dropout_backward(np.ones((4, 5)), np.ones((5, 4)))
    with pytest.raises(ValueError, match="mask"):  # broadcasts, but would grow dout
        R.dropout_backward(np.ones((4, 5)), np.ones((2, 4, 5)))


def test_dropout_backward_bad_dtypes():
    with pytest.raises(TypeError, match="dout"):
        R.dropout_backward(np.ones((2, 2), dtype=int), np.ones((2, 2)))
    with pytest.raises(TypeError, match="mask"):
        R.dropout_backward(np.ones((2, 2)), np.ones((2, 2), dtype=bool))


# ---------------------------------------------------------------------------------------------
# classic (2014 paper) dropout


@pytest.mark.parametrize("rate", RATES)
def test_classic_dropout_expected_train_output_equals_inference(rate):
    x = np.full((400, 500), 3.0)
    train, mask = R.classic_dropout_forward(x, rate, rng=rng(5))
    test, test_mask = R.classic_dropout_forward(x, rate, training=False)
    assert test_mask is None
    np.testing.assert_allclose(test, x * (1 - rate))
    assert set(np.unique(mask)) == {0.0, 1.0}  # no rescaling while training
    np.testing.assert_array_equal(train, x * mask)
    se = 3.0 * np.sqrt(rate * (1 - rate) / x.size)
    assert abs(train.mean() - test.mean()) < 5 * se
    assert abs(train.mean() - x.mean()) > 50 * se  # the paper's form does not preserve the mean


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_classic_dropout_dtype_and_rate_zero(dtype):
    x = rng(0).standard_normal((10, 10)).astype(dtype)
    out, mask = R.classic_dropout_forward(x, 0.4, rng=rng(1))
    assert out.dtype == mask.dtype == dtype
    out, _ = R.classic_dropout_forward(x, 0.4, training=False)
    assert out.dtype == dtype
    out, mask = R.classic_dropout_forward(x, 0.0)
    assert out is x and mask is None


# ---------------------------------------------------------------------------------------------
# Gaussian dropout


@pytest.mark.parametrize("rate", RATES)
def test_gaussian_noise_mean_and_std(rate):
    x = np.ones((500, 400))
    out, noise = R.gaussian_dropout_forward(x, rate, rng=rng(6))
    sigma = np.sqrt(rate / (1 - rate))
    n = x.size
    assert abs(noise.mean() - 1.0) < 5 * sigma / np.sqrt(n)
    assert abs(noise.std() - sigma) < 5 * sigma / np.sqrt(2 * n)  # se of a normal sample std
    np.testing.assert_array_equal(out, x * noise)
    # the same mean and variance as inverted Bernoulli dropout, which has var rate/(1-rate)
    _, mask = R.dropout_forward(x, rate, rng=rng(7))
    assert abs(noise.var() - mask.var()) < 0.02 * sigma**2 + 0.02


def test_gaussian_dropout_inference_rate_zero_dtype():
    x = rng(0).standard_normal((5, 5)).astype(np.float32)
    assert R.gaussian_dropout_forward(x, 0.5, training=False)[0] is x
    assert R.gaussian_dropout_forward(x, 0.0)[1] is None
    for dtype in (np.float16, np.float32, np.float64):
        out, noise = R.gaussian_dropout_forward(x.astype(dtype), 0.5, rng=rng(1))
        assert out.dtype == noise.dtype == dtype


# ---------------------------------------------------------------------------------------------
# spatial dropout


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_spatial_dropout_drops_whole_channels(rate):
    x = rng(0).standard_normal((64, 6, 5, 32)) + 10
    out, mask = R.spatial_dropout_forward(x, rate, rng=rng(1))
    assert mask.shape == (64, 1, 1, 32)
    assert out.shape == x.shape
    np.testing.assert_array_equal(out, x * mask)
    dropped = (out == 0).all(axis=(1, 2))  # (N, C): the whole map is zero
    kept = (out != 0).all(axis=(1, 2))  # ... or no pixel of it is
    assert np.all(dropped | kept)
    assert dropped.any() and kept.any()
    assert set(np.unique(mask)) == {0.0, 1 / (1 - rate)}
    n = dropped.size
    assert abs(dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / n)


def test_spatial_dropout_draws_independently_per_sample_and_channel():
    rate = 0.5
    _, mask = R.spatial_dropout_forward(np.ones((200, 3, 3, 200)), rate, rng=rng(2))
    m = mask[:, 0, 0, :] == 0  # (N, C)
    p = rate**2 + (1 - rate) ** 2  # chance that two independent draws agree
    for agree in (np.mean(m[1:] == m[:-1]), np.mean(m[:, 1:] == m[:, :-1])):  # batch, channels
        assert abs(agree - p) < 5 * np.sqrt(p * (1 - p) / m[1:].size)


def test_spatial_dropout_channels_first_and_1d():
    x = np.ones((8, 16, 5, 5))  # NCHW
    out, mask = R.spatial_dropout_forward(x, 0.5, rng=rng(3), channel_axis=1)
    assert mask.shape == (8, 16, 1, 1)
    assert np.all((out == 0).all(axis=(2, 3)) | (out != 0).all(axis=(2, 3)))
    x = np.ones((8, 10, 4), dtype=np.float32)  # (N, T, C) as in SpatialDropout1D
    out, mask = R.spatial_dropout_forward(x, 0.5, rng=rng(3))
    assert mask.shape == (8, 1, 4)
    assert out.dtype == np.float32


def test_spatial_dropout_inference_and_bad_axes():
    x = np.ones((2, 3, 3, 4))
    out, mask = R.spatial_dropout_forward(x, 0.5, training=False)
    assert out is x and mask is None
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        R.spatial_dropout_forward(np.ones((4, 5)), 0.5)
    with pytest.raises(ValueError, match="batch axis"):
        R.spatial_dropout_forward(x, 0.5, channel_axis=0)
    with pytest.raises(ValueError, match="channel_axis must be in"):
        R.spatial_dropout_forward(x, 0.5, channel_axis=4)


def test_spatial_backward_broadcasts_the_mask():
    x = rng(0).standard_normal((2, 3, 3, 4))
    _, mask = R.spatial_dropout_forward(x, 0.5, rng=rng(1))
    dout = rng(2).standard_normal(x.shape)
    dx = R.dropout_backward(dout, mask)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dx, dout * np.broadcast_to(mask, x.shape))


# ---------------------------------------------------------------------------------------------
# DropConnect


def affine_data(seed=0, n=4, d=10, m=3):
    g = rng(seed)
    return g.standard_normal((n, d)), g.standard_normal((d, m)), g.standard_normal(m)


def test_dropconnect_inference_is_the_plain_affine_layer():
    x, W, b = affine_data()
    for kwargs in ({"training": False}, {}):
        rate = 0.5 if kwargs else 0.0
        out, W_mask = R.dropconnect_forward(x, W, b, rate, **kwargs)
        assert W_mask is None
        np.testing.assert_allclose(out, x @ W + b, rtol=1e-12)


def test_dropconnect_drops_weights_not_activations():
    x, W, b = affine_data()
    rate = 0.4
    out, W_mask = R.dropconnect_forward(x, W, b, rate, rng=rng(1))
    assert W_mask.shape == W.shape
    assert set(np.unique(W_mask)) == {0.0, 1 / (1 - rate)}
    np.testing.assert_allclose(out, x @ (W * W_mask) + b, rtol=1e-12)
    # an output unit whose incoming weights are all kept equals the rescaled plain output
    assert not np.allclose(out, x @ W + b)


def test_dropconnect_expected_train_output_is_inference_output():
    x, W, b = affine_data(seed=3)
    rate, k = 0.5, 4000
    g = rng(4)
    outs = np.stack([R.dropconnect_forward(x, W, b, rate, rng=g)[0] for _ in range(k)])
    # Var(out_nm) = sum_d x_nd^2 W_dm^2 rate/(1-rate) (independent weight masks)
    var = (x**2) @ (W**2) * rate / (1 - rate)
    np.testing.assert_array_less(np.abs(outs.mean(axis=0) - (x @ W + b)), 5 * np.sqrt(var / k))
    np.testing.assert_allclose(outs.var(axis=0), var, rtol=0.15)


def test_dropconnect_weight_fraction_dropped():
    rate = 0.3
    W = np.ones((300, 200))
    _, W_mask = R.dropconnect_forward(np.ones((2, 300)), W, np.zeros(200), rate, rng=rng(0))
    assert abs(np.mean(W_mask == 0) - rate) < 5 * np.sqrt(rate * (1 - rate) / W.size)


def test_dropconnect_backward_without_mask_is_affine_backward():
    x, W, b = affine_data()
    dout = rng(9).standard_normal((4, 3))
    dx, dW, db = R.dropconnect_backward(dout, x, W, None)
    np.testing.assert_allclose(dx, dout @ W.T)
    np.testing.assert_allclose(dW, x.T @ dout)
    np.testing.assert_allclose(db, dout.sum(axis=0))


def test_dropconnect_shape_checks():
    x, W, b = affine_data()
    with pytest.raises(ValueError, match=r"D.*\(4, 10\).*\(9, 3\)"):
        R.dropconnect_forward(x, W[:9], b, 0.5)
    with pytest.raises(ValueError, match=r"b must have shape \(M,\)"):
        R.dropconnect_forward(x, W, b[:2], 0.5)
    with pytest.raises(ValueError, match="x must have exactly 2"):
        R.dropconnect_forward(x[0], W, b, 0.5)
    with pytest.raises(ValueError, match="b must have exactly 1"):
        R.dropconnect_forward(x, W, b[None], 0.5)
    with pytest.raises(TypeError, match="W must be a floating-point"):
        R.dropconnect_forward(x, W.astype(int), b, 0.5)
    dout = np.ones((4, 3))
    with pytest.raises(ValueError, match="W_mask and W"):
        R.dropconnect_backward(dout, x, W, np.ones((3, 10)))
    with pytest.raises(ValueError, match=r"dout must have shape \(N, M\)"):
        R.dropconnect_backward(np.ones((4, 2)), x, W, None)
    with pytest.raises(ValueError, match="D"):
        R.dropconnect_backward(dout, x, W[:9], None)


# ---------------------------------------------------------------------------------------------
# DropBlock


def expected_dropblock_fraction(rate, bs, h, w):
    """Exact E[dropped fraction]: pixel (i, j) survives iff none of the k(i, j) seeds covering it fires."""
    gamma = R.dropblock_gamma(rate, bs, h, w)

    def cover(n):  # how many valid top-left positions cover each coordinate
        i = np.arange(n)
        return np.minimum(i, n - bs) - np.maximum(0, i - bs + 1) + 1

    k = np.outer(cover(h), cover(w))
    return float(np.mean(1 - (1 - gamma) ** k))


def test_dropblock_gamma_formula():
    # Ghiasi et al. eq. 1 with a hand-computed example: 0.1 / 9 * 256 / 196
    assert R.dropblock_gamma(0.1, 3, 16, 16) == pytest.approx(0.1 / 9 * 256 / 196)
    assert R.dropblock_gamma(0.3, 1, 5, 7) == pytest.approx(0.3)  # block 1 == plain dropout
    assert R.dropblock_gamma(0.3, 4, 4, 4) == pytest.approx(0.3)  # one block covers the map


@pytest.mark.parametrize(("rate", "bs"), [(0.1, 3), (0.2, 5), (0.3, 2)])
def test_dropblock_fraction_dropped_is_about_rate(rate, bs):
    n, h, w, c = 32, 16, 16, 16
    _, mask = R.dropblock_forward(np.ones((n, h, w, c)), rate, bs, rng=rng(11))
    per_map = np.mean(mask == 0, axis=(1, 2)).ravel()  # one dropped fraction per (sample, channel)
    expected = expected_dropblock_fraction(rate, bs, h, w)
    se = per_map.std(ddof=1) / np.sqrt(per_map.size)
    assert abs(per_map.mean() - expected) < 5 * se
    # overlapping blocks make the fraction a bit smaller than rate: it is an approximation
    assert expected < rate
    assert abs(per_map.mean() - rate) < 0.15 * rate


def test_dropblock_block_size_one_is_elementwise_dropout():
    rate = 0.3
    _, mask = R.dropblock_forward(np.ones((16, 20, 20, 8)), rate, 1, rng=rng(12))
    assert abs(np.mean(mask == 0) - rate) < 5 * np.sqrt(rate * (1 - rate) / mask.size)


def test_dropblock_one_seed_makes_one_square():
    seeds = np.zeros((1, 6, 5, 2), dtype=bool)  # 8 x 7 map, block 3
    seeds[0, 2, 4, 1] = True
    keep = R._block_mask(seeds, 3)
    assert keep.shape == (1, 8, 7, 2)
    assert keep[..., 0].all()  # the other channel is untouched
    zeros = np.argwhere(~keep[0, :, :, 1])
    assert len(zeros) == 9
    assert zeros.min(axis=0).tolist() == [2, 4] and zeros.max(axis=0).tolist() == [4, 6]


def test_dropblock_zeros_are_unions_of_full_blocks():
    bs = 3
    _, mask = R.dropblock_forward(np.ones((8, 12, 12, 4)), 0.15, bs, rng=rng(13))
    dropped = mask == 0
    assert dropped.any() and not dropped.all()
    # every dropped pixel lies in some bs x bs square that is dropped entirely (elementwise
    # dropout would fail this almost surely)
    hv = 12 - bs + 1
    covered = np.zeros_like(dropped)
    for i in range(hv):
        for j in range(hv):
            full = dropped[:, i : i + bs, j : j + bs, :].all(axis=(1, 2))  # (N, C)
            covered[:, i : i + bs, j : j + bs, :] |= full[:, None, None, :]
    np.testing.assert_array_equal(covered, dropped)


def test_dropblock_rescaling_preserves_the_mean():
    x = np.ones((4, 10, 10, 3))
    out, mask = R.dropblock_forward(x, 0.3, 3, rng=rng(14))
    # rescaling is over the whole tensor: count / count_ones, as in the paper's Algorithm 1
    assert out.mean() == pytest.approx(1.0, rel=1e-12)
    kept = mask[mask != 0]
    assert np.all(kept == kept[0])
    assert kept[0] == pytest.approx(mask.size / np.count_nonzero(mask))
    np.testing.assert_array_equal(out, x * mask)
    # for a non-constant input the mean is preserved in expectation over draws
    xr = rng(15).standard_normal((4, 10, 10, 3)) + 2
    g = rng(16)
    means = np.array([R.dropblock_forward(xr, 0.3, 3, rng=g)[0].mean() for _ in range(200)])
    assert abs(means.mean() - xr.mean()) < 5 * means.std(ddof=1) / np.sqrt(means.size)


def test_dropblock_everything_dropped_gives_zeros_not_nan():
    x = np.ones((1, 3, 3, 1))
    outcomes = set()
    for seed in range(30):
        out, mask = R.dropblock_forward(x, 0.5, 3, rng=rng(seed))
        assert np.all(np.isfinite(out))
        outcomes.add(float(out.sum()))
    assert outcomes == {0.0, 9.0}  # one block covers the whole map: all dropped or all kept


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dropblock_dtype_and_inference(dtype):
    x = np.ones((2, 6, 6, 2), dtype=dtype)
    out, mask = R.dropblock_forward(x, 0.3, 2, rng=rng(0))
    assert out.dtype == mask.dtype == dtype
    assert out.shape == mask.shape == x.shape
    for kwargs in ({"rate": 0.3, "training": False}, {"rate": 0.0}):
        out, mask = R.dropblock_forward(x, block_size=2, **kwargs)
        assert out is x and mask is None


@pytest.mark.parametrize("block_size", [0, -1, 7, 9])
def test_dropblock_bad_block_size_value(block_size):
    with pytest.raises(ValueError, match="block_size"):
        R.dropblock_forward(np.ones((1, 6, 8, 1)), 0.3, block_size)


def test_dropblock_bad_block_size_type_and_shape():
    with pytest.raises(TypeError, match="block_size"):
        R.dropblock_forward(np.ones((1, 6, 6, 1)), 0.3, 2.0)
    with pytest.raises(ValueError, match="exactly 4 dimensions"):
        R.dropblock_forward(np.ones((6, 6, 1)), 0.3, 2)


# ---------------------------------------------------------------------------------------------
# gradient checks: float64, the same mask on every call (fresh seeded rng inside f)

SEED = 123


def check_grad(forward, x, **kwargs):
    """Numerical gradient of forward(x)[0] vs dropout_backward with the forward's mask."""
    f = lambda v: forward(v, rng=rng(SEED), **kwargs)[0]  # noqa: E731
    _, mask = forward(x, rng=rng(SEED), **kwargs)
    dout = rng(1).standard_normal(f(x).shape)
    dx_num = numerical_gradient(f, x, dout)
    dx = R.dropout_backward(dout, mask)
    assert mask is not None
    return rel_error(dx, dx_num)


@pytest.mark.parametrize(
    ("forward", "shape", "kwargs"),
    [
        (R.dropout_forward, (10, 10), {"rate": 0.2}),
        (R.dropout_forward, (10, 10), {"rate": 0.7}),
        (R.classic_dropout_forward, (10, 10), {"rate": 0.4}),
        (R.gaussian_dropout_forward, (10, 10), {"rate": 0.5}),
        (R.spatial_dropout_forward, (3, 4, 4, 5), {"rate": 0.5}),
        (R.spatial_dropout_forward, (3, 5, 4, 4), {"rate": 0.5, "channel_axis": 1}),
        (R.dropblock_forward, (2, 6, 6, 3), {"rate": 0.3, "block_size": 3}),
    ],
)
def test_backward_matches_numerical_gradient(forward, shape, kwargs):
    x = rng(0).standard_normal(shape) + 10
    assert check_grad(forward, x, **kwargs) < 1e-8


def test_wrong_backward_is_caught_by_gradcheck():
    # the ddbourgin/numpy-ml bug: scaling the gradient but forgetting the mask
    x = rng(0).standard_normal((10, 10))
    f = lambda v: R.dropout_forward(v, 0.5, rng=rng(SEED))[0]  # noqa: E731
    dout = rng(1).standard_normal((10, 10))
    wrong = dout / (1 - 0.5)
    assert rel_error(wrong, numerical_gradient(f, x, dout)) > 0.1


def test_dropconnect_backward_matches_numerical_gradient():
    x, W, b = affine_data(seed=5, n=4, d=6, m=3)
    rate = 0.5
    out, W_mask = R.dropconnect_forward(x, W, b, rate, rng=rng(SEED))
    assert W_mask is not None and np.any(W_mask == 0)
    dout = rng(1).standard_normal(out.shape)
    dx, dW, db = R.dropconnect_backward(dout, x, W, W_mask)

    def fwd(x_, W_, b_):
        return R.dropconnect_forward(x_, W_, b_, rate, rng=rng(SEED))[0]

    assert rel_error(dx, numerical_gradient(lambda v: fwd(v, W, b), x, dout)) < 1e-8
    assert rel_error(dW, numerical_gradient(lambda v: fwd(x, v, b), W, dout)) < 1e-8
    assert rel_error(db, numerical_gradient(lambda v: fwd(x, W, v), b, dout)) < 1e-8
    assert np.all(dW[W_mask == 0] == 0)  # dropped weights get no gradient


# ---------------------------------------------------------------------------------------------
# bad inputs, for every forward

# name -> (forward(x, rate, **kwargs), a valid input shape)
FORWARDS = {
    "dropout": (R.dropout_forward, (3, 4)),
    "classic": (R.classic_dropout_forward, (3, 4)),
    "gaussian": (R.gaussian_dropout_forward, (3, 4)),
    "spatial": (R.spatial_dropout_forward, (2, 3, 3, 4)),
    "dropblock": (lambda x, rate, **kw: R.dropblock_forward(x, rate, 2, **kw), (2, 6, 6, 2)),
    "dropconnect": (
        lambda x, rate, **kw: R.dropconnect_forward(x, np.ones((4, 2)), np.zeros(2), rate, **kw),
        (3, 4),
    ),
}


def call(name, rate, dtype=np.float64, **kwargs):
    forward, shape = FORWARDS[name]
    return forward(np.ones(shape, dtype=dtype), rate, **kwargs)


@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan")])
def test_forward_rejects_rate_out_of_range(name, rate):
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        call(name, rate)


@pytest.mark.parametrize("name", FORWARDS)
@pytest.mark.parametrize("rate", ["0.5", True, None])
def test_forward_rejects_rate_of_wrong_type(name, rate):
    with pytest.raises(TypeError, match="rate must be a real number"):
        call(name, rate)


@pytest.mark.parametrize("name", FORWARDS)
def test_forward_rejects_integer_x_and_bad_rng(name):
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        call(name, 0.5, dtype=np.int64)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        call(name, 0.5, rng=42)


@pytest.mark.parametrize("name", FORWARDS)
def test_forward_validates_even_at_inference(name):
    # a wrong rate must not hide behind training=False
    with pytest.raises(ValueError, match="rate"):
        call(name, 1.5, training=False)
