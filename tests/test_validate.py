"""Argument checks: right values pass through, wrong ones raise with a helpful message."""

import numpy as np
import pytest

from dropoutcourse._validate import (
    check_broadcastable,
    check_float_array,
    check_int_in_range,
    check_keep_prob,
    check_ndim,
    check_positive_int,
    check_rate,
    check_rng,
    check_row_sets,
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


def test_check_int_in_range():
    assert check_int_in_range(np.int64(3), "folds", 2, 5) == 3
    with pytest.raises(ValueError, match=r"folds must be in \[2, 5\], got 6"):
        check_int_in_range(6, "folds", 2, 5)
    with pytest.raises(TypeError, match="folds"):
        check_int_in_range(3.0, "folds", 2, 5)
    with pytest.raises(TypeError, match="folds"):
        check_int_in_range(True, "folds", 0, 5)


def test_check_broadcastable():
    big = np.ones((2, 4, 4, 3))
    check_broadcastable(np.ones((2, 1, 1, 3)), big, "mask", "dout")
    check_broadcastable(np.ones((2, 4, 4, 3)), big, "mask", "dout")
    # broadcasts, but would *grow* dout: not allowed
    with pytest.raises(ValueError, match=r"mask with shape \(5, 2, 4, 4, 3\).*\(2, 4, 4, 3\)"):
        check_broadcastable(np.ones((5, 2, 4, 4, 3)), big, "mask", "dout")
    with pytest.raises(ValueError, match="mask"):
        check_broadcastable(np.ones((2, 1, 1, 2)), big, "mask", "dout")


# ----------------------------------------------------------------------------- shared checks
from dropoutcourse._validate import (  # noqa: E402
    check_choice,
    check_finite_array,
    check_labels,
    check_nonneg_float,
    check_nonneg_int,
    check_positive_float,
    check_same_length,
    check_seed,
    check_seeds,
    check_unit_interval,
)


def test_check_seed_value_vs_type():
    assert check_seed(np.int64(7)) == 7 and check_seed(2**32 - 1) == 2**32 - 1
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
            check_seed(bad)
    for bad in (1.0, True, "3", None):
        with pytest.raises(TypeError, match="seed"):
            check_seed(bad)


def test_check_seeds():
    assert check_seeds(range(3)) == [0, 1, 2]
    with pytest.raises(ValueError, match="repeat"):
        check_seeds([1, 1])
    with pytest.raises(ValueError, match="at least 5"):
        check_seeds([1, 2], at_least=5)
    with pytest.raises(TypeError, match="seeds"):
        check_seeds(3)
    with pytest.raises(ValueError, match="each seed"):
        check_seeds([0, -2])


def test_check_nonneg_int():
    assert check_nonneg_int(0, "epochs") == 0
    with pytest.raises(ValueError, match="epochs must be an integer >= 0"):
        check_nonneg_int(-1, "epochs")
    with pytest.raises(TypeError, match="epochs"):
        check_nonneg_int(1.0, "epochs")


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_real_checks_refuse_non_finite(bad):
    for check in (check_nonneg_float, check_positive_float):
        with pytest.raises(ValueError, match="l2.*finite"):
            check(bad, "l2")


def test_check_nonneg_and_positive_float():
    assert check_nonneg_float(0, "l2") == 0.0 and check_positive_float(0.5, "lr") == 0.5
    with pytest.raises(ValueError, match="l2 must be a real number >= 0"):
        check_nonneg_float(-1e-9, "l2")
    with pytest.raises(ValueError, match="lr must be a real number > 0"):
        check_positive_float(0.0, "lr")
    with pytest.raises(TypeError, match="lr"):
        check_positive_float(True, "lr")


def test_check_unit_interval():
    assert check_unit_interval(0.9, "momentum") == 0.9
    assert check_unit_interval(1.0, "frac", closed_right=True) == 1.0
    with pytest.raises(ValueError, match=r"momentum must be a real number in \[0, 1\)"):
        check_unit_interval(1.0, "momentum")
    with pytest.raises(ValueError, match="momentum"):
        check_unit_interval(-0.1, "momentum")


def test_check_choice_lists_the_choices():
    assert check_choice("sgd", "optimizer", ("sgd", "adam")) == "sgd"
    with pytest.raises(ValueError, match="optimizer must be one of 'sgd', 'adam'; got 'rms'"):
        check_choice("rms", "optimizer", ("sgd", "adam"))


def test_check_finite_array_and_same_length():
    check_finite_array(np.ones(3))
    with pytest.raises(ValueError, match="x contains 2 NaN or infinite"):
        check_finite_array(np.array([1.0, np.nan, np.inf]))
    check_same_length(np.ones(3), np.ones((3, 2)), "x", "y")
    with pytest.raises(ValueError, match="x and y must have the same number of examples, got 3"):
        check_same_length(np.ones(3), np.ones(4), "x", "y")


def test_check_labels():
    out = check_labels(np.array([0.0, 2.0]), 3)
    assert out.dtype == np.int64 and out.tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 3\)"):
        check_labels(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="1-D"):
        check_labels(np.zeros((2, 2), int), 3)
    with pytest.raises(TypeError, match="integer class labels"):
        check_labels(np.array([0.5]), 3)


def test_check_row_sets_names_the_bad_set():
    rows = check_row_sets([[0, 2], np.array([1])], n_rows=3, count=2)
    assert [r.tolist() for r in rows] == [[0, 2], [1]]
    for bad, message in [
        ([[0]], r"one array of rows per replica \(2\), got 1"),
        ([[0], []], r"train_rows\[1\] must be a non-empty 1-D"),
        ([[0], [0.5]], r"train_rows\[1\] must be a non-empty 1-D array of integer"),
        ([[0], [1, 1]], r"train_rows\[1\] must hold distinct rows in \[0, 3\)"),
        ([[3], [1]], r"train_rows\[0\] must hold distinct rows in \[0, 3\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_row_sets(bad, n_rows=3, count=2)
