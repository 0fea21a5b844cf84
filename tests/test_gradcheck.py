"""The gradient checker itself: right on functions whose gradient we know by hand."""

import numpy as np
import pytest

from dropoutcourse.gradcheck import numerical_gradient, rel_error


def test_rel_error_matches_cs231n_definition():
    a = np.array([1.0, 0.0, -2.0])
    b = np.array([1.1, 0.0, -2.0])
    # |1 - 1.1| / (1 + 1.1); the 0/0 entry uses the 1e-8 floor and contributes 0
    assert rel_error(a, b) == pytest.approx(0.1 / 2.1)
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_rel_error_is_symmetric_and_returns_float():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert isinstance(rel_error(a, b), float)
    assert rel_error(a, b) == rel_error(b, a)


def test_rel_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(3,\) and \(4,\)"):
        rel_error(np.zeros(3), np.zeros(4))


def test_numerical_gradient_of_elementwise_square():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    grad = numerical_gradient(lambda v: v**2, x, dout)
    assert rel_error(grad, 2 * x * dout) < 1e-8


def test_numerical_gradient_of_matmul_changes_shape():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    W = rng.standard_normal((3, 2))
    dout = rng.standard_normal((5, 2))
    grad = numerical_gradient(lambda v: v @ W, x, dout)
    assert grad.shape == x.shape
    assert rel_error(grad, dout @ W.T) < 1e-8


def test_numerical_gradient_restores_x():
    x = np.linspace(-1.0, 1.0, 7)
    before = x.copy()
    numerical_gradient(np.sin, x, np.ones(7))
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_with_function_returning_a_view():
    # f returns x itself: without copying f(x), pos and neg would alias and the gradient be 0
    x = np.array([1.0, 2.0, 3.0])
    dout = np.array([0.5, -1.0, 2.0])
    grad = numerical_gradient(lambda v: v, x, dout)
    np.testing.assert_allclose(grad, dout, rtol=1e-8)


def test_numerical_gradient_bad_inputs():
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        numerical_gradient(lambda v: v, np.arange(3), np.ones(3))
    with pytest.raises(ValueError, match="h must be a real number > 0"):
        numerical_gradient(lambda v: v, np.ones(3), np.ones(3), h=0.0)


@pytest.mark.parametrize("shape", [(1,), (3, 1), (1, 3), (2, 3)])
def test_numerical_gradient_rejects_a_dout_that_only_broadcasts(shape):
    # f(x) has shape (3,); a broadcastable dout of another shape used to be accepted
    with pytest.raises(ValueError, match=r"dout must have the shape of f\(x\), \(3,\)"):
        numerical_gradient(lambda v: v**2, np.ones(3), np.ones(shape))
