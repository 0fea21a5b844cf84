"""Property-based tests: invariants of the reference layers for any shape, dtype and rate."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dropoutcourse import reference as R
from dropoutcourse._validate import check_rate

SETTINGS = settings(max_examples=40, deadline=None)

float_dtypes = st.sampled_from([np.float16, np.float32, np.float64])
rates = st.floats(min_value=0.0, max_value=0.95, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def float_arrays(draw, min_dims=1, max_dims=4):
    dtype = draw(float_dtypes)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=6))
    # |x| <= 100 keeps x / (1 - 0.95) far from float16's overflow at 65504
    elements = st.floats(-100, 100, allow_nan=False, width=np.dtype(dtype).itemsize * 8)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def keep_value(rate, dtype):
    return dtype(1 / (1 - rate))


@SETTINGS
@given(x=float_arrays(), rate=rates, seed=seeds)
def test_dropout_invariants(x, rate, seed):
    out, mask = R.dropout_forward(x, rate, rng=np.random.default_rng(seed))
    if rate == 0:
        assert mask is None and out is x
        return
    assert out.shape == mask.shape == x.shape
    assert out.dtype == mask.dtype == x.dtype
    np.testing.assert_array_equal(out, x * mask)
    assert np.all((mask == 0) | (mask == keep_value(rate, x.dtype.type)))


@SETTINGS
@given(x=float_arrays(), rate=rates, seed=seeds, training=st.booleans())
def test_classic_dropout_invariants(x, rate, seed, training):
    out, mask = R.classic_dropout_forward(
        x, rate, training=training, rng=np.random.default_rng(seed)
    )
    assert out.shape == x.shape and out.dtype == x.dtype
    if rate == 0:
        assert mask is None and out is x
    elif training:
        assert mask.dtype == x.dtype
        assert np.all((mask == 0) | (mask == 1))
        np.testing.assert_array_equal(out, x * mask)
    else:
        assert mask is None
        np.testing.assert_allclose(
            out, x * (1 - rate), rtol=1e-2 if x.dtype == np.float16 else 1e-6
        )


@SETTINGS
@given(x=float_arrays(), rate=rates, seed=seeds)
def test_gaussian_dropout_invariants(x, rate, seed):
    out, noise = R.gaussian_dropout_forward(x, rate, rng=np.random.default_rng(seed))
    if rate == 0:
        assert noise is None and out is x
        return
    assert out.shape == noise.shape == x.shape
    assert out.dtype == noise.dtype == x.dtype
    np.testing.assert_array_equal(out, x * noise)


@SETTINGS
@given(x=float_arrays(min_dims=3), rate=rates, seed=seeds)
def test_spatial_dropout_invariants(x, rate, seed):
    out, mask = R.spatial_dropout_forward(x, rate, rng=np.random.default_rng(seed))
    if rate == 0:
        assert mask is None and out is x
        return
    assert out.shape == x.shape and out.dtype == mask.dtype == x.dtype
    # size 1 on every spatial axis, full size on batch and channels
    assert mask.shape == (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    np.testing.assert_array_equal(out, x * mask)
    assert np.all((mask == 0) | (mask == keep_value(rate, x.dtype.type)))
    dx = R.dropout_backward(np.ones_like(x), mask)
    assert dx.shape == x.shape


@SETTINGS
@given(data=st.data(), rate=rates, seed=seeds)
def test_dropblock_invariants(data, rate, seed):
    shape = data.draw(hnp.array_shapes(min_dims=4, max_dims=4, max_side=7))
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-100, 100)))
    block_size = data.draw(st.integers(1, min(shape[1], shape[2])))
    out, mask = R.dropblock_forward(x, rate, block_size, rng=np.random.default_rng(seed))
    if rate == 0:
        assert mask is None and out is x
        return
    assert out.shape == mask.shape == x.shape
    np.testing.assert_array_equal(out, x * mask)
    kept = mask[mask != 0]
    if kept.size:
        # one scale for the whole tensor, chosen so that the mask averages exactly 1
        assert np.all(kept == kept[0])
        assert abs(mask.mean() - 1.0) < 1e-9
    else:
        assert np.all(out == 0)


@SETTINGS
@given(x=float_arrays(), rate=rates, seed=seeds)
def test_backward_is_dout_times_mask(x, rate, seed):
    _, mask = R.dropout_forward(x, rate, rng=np.random.default_rng(seed))
    dout = np.ones_like(x) * 3
    dx = R.dropout_backward(dout, mask)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    expected = dout if mask is None else dout * mask
    np.testing.assert_array_equal(dx, expected)


@SETTINGS
@given(rate=st.floats(0.0, 1.0, exclude_max=True))
def test_rate_keep_prob_round_trip(rate):
    p = R.rate_to_keep_prob(rate)
    assert 0 < p <= 1
    assert abs(R.keep_prob_to_rate(p) - rate) < 1e-12


@SETTINGS
@given(rate=st.one_of(st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=1.0)))
def test_rates_outside_the_interval_are_rejected(rate):
    try:
        check_rate(rate)
    except ValueError as err:
        assert "rate must be in [0, 1)" in str(err)
    else:
        raise AssertionError(f"check_rate accepted {rate!r}")
