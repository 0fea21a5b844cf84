"""Argument checks: right values pass through, wrong ones raise with a helpful message."""

import numpy as np
import pytest

from dropoutcourse._validate import (
    check_broadcastable,
    check_float_array,
    check_keep_prob,
    check_ndim,
    check_positive_int,
    check_rate,
    check_rng,
    check_same_shape,
)


@pytest.mark.parametrize(
    "rate", [0, 0.0, 0.5, 0.999, np.float32(0.25), np.float64(0.1), np.int64(0)]
)
def test_check_rate_accepts_rates_in_range(rate):
    out = check_rate(rate)
    assert type(out) is float
    assert out == float(rate)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1, 1.5, float("nan"), float("inf"), -1e-12])
def test_check_rate_rejects_out_of_range(rate):
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\).*dropping"):
        check_rate(rate)


@pytest.mark.parametrize("rate", ["0.5", True, False, np.bool_(True), None, [0.5], np.array([0.5])])
def test_check_rate_rejects_non_numbers(rate):
    with pytest.raises(TypeError, match=r"rate must be a real number in \[0, 1\)"):
        check_rate(rate)


def test_check_rate_message_names_the_argument_and_value():
    with pytest.raises(ValueError) as info:
        check_rate(1.5, name="hidden_rate")
    msg = str(info.value)
    assert msg.startswith("hidden_rate must be in [0, 1)")
    assert "1.5" in msg


@pytest.mark.parametrize("p", [1, 1.0, 0.5, 1e-6])
def test_check_keep_prob_accepts(p):
    assert check_keep_prob(p) == float(p)


@pytest.mark.parametrize("p", [0, 0.0, -0.5, 1.01, float("nan")])
def test_check_keep_prob_rejects_out_of_range(p):
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\]"):
        check_keep_prob(p)


@pytest.mark.parametrize("p", ["0.5", True])
def test_check_keep_prob_rejects_non_numbers(p):
    with pytest.raises(TypeError, match="keep_prob"):
        check_keep_prob(p)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_float_array_keeps_float_dtypes(dtype):
    x = np.ones((2, 3), dtype=dtype)
    out = check_float_array(x)
    assert out.dtype == dtype
    assert out is x  # no copy for arrays that are already fine


def test_check_float_array_converts_float_lists():
    out = check_float_array([1.0, 2.0])
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64


@pytest.mark.parametrize("x", [np.arange(3), np.ones(3, dtype=bool), [1, 2, 3], np.array(["a"])])
def test_check_float_array_rejects_non_float(x):
    with pytest.raises(TypeError, match=r"inputs must be a floating-point array.*dtype"):
        check_float_array(x, name="inputs")


def test_check_rng():
    rng = np.random.default_rng(0)
    assert check_rng(rng) is rng
    assert isinstance(check_rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        check_rng(0)
    with pytest.raises(TypeError, match="rng"):
        check_rng(np.random.RandomState(0))


def test_check_positive_int():
    assert check_positive_int(3, "block_size") == 3
    assert check_positive_int(np.int64(2), "block_size") == 2
    with pytest.raises(ValueError, match="block_size must be an integer >= 1, got 0"):
        check_positive_int(0, "block_size")
    for bad in (2.0, True, "3"):
        with pytest.raises(TypeError, match="block_size"):
            check_positive_int(bad, "block_size")


def test_check_ndim():
    check_ndim(np.ones((2, 3)), 2)
    check_ndim(np.ones((2, 3, 4)), 3, at_least=True)
    check_ndim(np.ones((2, 3, 4, 5)), 3, at_least=True)
    with pytest.raises(ValueError, match=r"x must have exactly 2 dimensions, got shape \(2,\)"):
        check_ndim(np.ones(2), 2)
    with pytest.raises(ValueError, match="at least 3"):
        check_ndim(np.ones((2, 3)), 3, at_least=True)


def test_check_same_shape():
    check_same_shape(np.ones((2, 3)), np.zeros((2, 3)), "a", "b")
    with pytest.raises(ValueError, match=r"a and b .* \(2, 3\) and \(3, 2\)"):
        check_same_shape(np.ones((2, 3)), np.zeros((3, 2)), "a", "b")


def test_check_broadcastable():
    big = np.ones((2, 4, 4, 3))
    check_broadcastable(np.ones((2, 1, 1, 3)), big, "mask", "dout")
    check_broadcastable(np.ones((2, 4, 4, 3)), big, "mask", "dout")
    # broadcasts, but would *grow* dout: not allowed
    with pytest.raises(ValueError, match=r"mask with shape \(5, 2, 4, 4, 3\).*\(2, 4, 4, 3\)"):
        check_broadcastable(np.ones((5, 2, 4, 4, 3)), big, "mask", "dout")
    with pytest.raises(ValueError, match="mask"):
        check_broadcastable(np.ones((2, 1, 1, 2)), big, "mask", "dout")
