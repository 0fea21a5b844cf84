"""Tests of DropBlock2D: Keras' own layer checks, dropped fraction, mean and block structure."""

import keras
import numpy as np
import pytest
from keras.src import testing

from dropoutcourse.layers import DropBlock2D, ScratchDropout

RNG = np.random.default_rng(0)


def as_np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


class DropBlock2DKerasContractTest(testing.TestCase):
    def test_dropblock_basics(self):
        self.run_layer_test(
            DropBlock2D,
            init_kwargs={"rate": 0.2, "block_size": 2},
            input_shape=(2, 6, 6, 3),
            call_kwargs={"training": True},
            expected_output_shape=(2, 6, 6, 3),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=False,
        )


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: DropBlock2D(1.0, 3), ValueError),
        (lambda: DropBlock2D(0.1, 0), ValueError),
    ],
)
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


def dropped_fraction_and_blocks(rate, block_size=3, shape=(16, 32, 32, 8), seed=0):
    x = np.ones(shape, dtype="float32")
    out = as_np(DropBlock2D(rate, block_size, seed=seed)(x, training=True))
    return out, out == 0


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_dropblock_drops_about_rate_and_preserves_mean(rate):
    out, dropped = dropped_fraction_and_blocks(rate)
    # overlapping blocks make the real fraction a little smaller than `rate`
    assert abs(dropped.mean() - rate) < 0.03
    assert abs(out.mean() - 1.0) < 1e-4  # rescaled by count / sum(mask)
    kept = np.unique(out[~dropped])
    np.testing.assert_allclose(kept, [1 / (1 - dropped.mean())], rtol=1e-4)


def test_dropblock_zeros_form_whole_blocks():
    bs = 3
    _, dropped = dropped_fraction_and_blocks(0.15, bs)
    # every dropped pixel must lie inside a bs x bs window that is dropped entirely
    windows = np.lib.stride_tricks.sliding_window_view(dropped, (bs, bs), axis=(1, 2))
    full = windows.all(axis=(-2, -1))  # (N, H-bs+1, W-bs+1, C)
    covered = np.zeros_like(dropped)
    for di in range(bs):
        for dj in range(bs):
            covered[:, di : di + full.shape[1], dj : dj + full.shape[2], :] |= full
    np.testing.assert_array_equal(covered, dropped)


def test_dropblock_is_contiguous_unlike_elementwise_dropout():
    def right_neighbour_also_dropped(dropped):
        pairs = dropped[:, :, :-1, :]
        return (pairs & dropped[:, :, 1:, :]).sum() / pairs.sum()

    _, blocks = dropped_fraction_and_blocks(0.2, 3)
    x = np.ones((16, 32, 32, 8), dtype="float32")
    elementwise = as_np(ScratchDropout(0.2, seed=0)(x, training=True)) == 0
    assert right_neighbour_also_dropped(elementwise) < 0.25  # ≈ rate: independent pixels
    assert right_neighbour_also_dropped(blocks) > 0.6  # ≥ 2/3 for 3-wide blocks


def test_dropblock_identity_at_inference_and_small_maps():
    x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    layer = DropBlock2D(0.3, 3, seed=0)
    np.testing.assert_array_equal(as_np(layer(x)), x)
    np.testing.assert_array_equal(as_np(layer(x, training=False)), x)
    # a map smaller than the block: the block shrinks to fit instead of failing
    tiny = np.ones((4, 2, 2, 5), dtype="float32")
    out = as_np(DropBlock2D(0.5, 5, seed=0)(tiny, training=True))
    assert out.shape == tiny.shape and np.isfinite(out).all()


def test_dropblock_needs_4d_input():
    with pytest.raises(ValueError):
        DropBlock2D(0.1, 3)(np.ones((2, 8, 8), "float32"))
