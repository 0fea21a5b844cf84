"""The dropout noise *inside* the CNN replica trainer: statistics, independence, activity.

The NumPy references are tested against their formulas elsewhere, and the Keras layers that
``fit_replicas`` trains in ``tests/replica_fit/test_random_ops.py``; these tests look at the
masks the hand-written CNN trainer actually multiplies with, so that a missing 1/(1 − rate),
replicas sharing one key or a dead dropout layer fail here. Tolerances are 5 binomial/normal
standard errors of the sample sizes used.
"""

import numpy as np
import pytest
import tensorflow as tf

from dropoutcourse import _replicas, cnn_engine, data


def _cnn(kinds, rates, seeds, block_size=3):
    return cnn_engine._ReplicaCNN(
        (8, 8, 1),
        10,
        kinds,
        np.asarray(rates, float),
        np.full(len(kinds), 0.5),
        seeds,
        filters=(4,),
        dense_units=8,
        block_size=block_size,
    )


def _conv_mask(net, shape=(400, 8, 8, 16), counter=0):
    h = tf.ones((net.R, *shape))
    return net._conv_mask(h, tf.constant(counter, tf.int64), 0).numpy()


def test_cnn_element_and_spatial_masks_have_the_inverted_dropout_statistics():
    net = _cnn(["element", "spatial", "none"], [0.3, 0.3, 0.3], [0, 0, 0])
    m = _conv_mask(net)
    element, spatial, none = m
    assert (element == 0).mean() == pytest.approx(0.3, abs=0.005)
    np.testing.assert_allclose(np.unique(element), [0.0, 1 / 0.7], rtol=1e-6)
    # spatial: one draw per (example, channel), shared over the whole map
    assert np.all(spatial == spatial[:, :1, :1, :])
    assert (spatial[:, 0, 0, :] == 0).mean() == pytest.approx(0.3, abs=0.03)
    np.testing.assert_array_equal(none, 1.0)


def test_cnn_dropblock_mask_drops_about_rate_in_squares_and_keeps_the_mean():
    rate = 0.2
    net = _cnn(["dropblock"], [rate], [0], block_size=3)
    m = _conv_mask(net, shape=(200, 16, 16, 4))[0]
    dropped = (m == 0).mean()
    # overlapping blocks make the dropped fraction a little smaller than rate, never larger
    assert rate * 0.75 < dropped <= rate * 1.02
    assert m.mean() == pytest.approx(1.0, abs=1e-4)  # rescaled per replica
    # every dropped pixel lies in a fully dropped 3x3 square (not single pixels)
    zero = m == 0
    isolated = zero[:, 1:-1, 1:-1] & ~zero[:, :-2, 1:-1] & ~zero[:, 2:, 1:-1]
    assert isolated.mean() == 0


def test_dropblock_layer_and_cnn_trainer_share_one_mask_rule():
    from dropoutcourse.layers import DropBlock2D

    layer_mask = DropBlock2D(0.2, block_size=3, seed=0)(
        np.ones((200, 16, 16, 4), "float32"), training=True
    )
    dropped = (np.asarray(layer_mask) == 0).mean()
    net_dropped = (
        _conv_mask(_cnn(["dropblock"], [0.2], [1]), shape=(200, 16, 16, 4))[0] == 0
    ).mean()
    assert dropped == pytest.approx(net_dropped, abs=0.01)


def test_cnn_replicas_draw_their_own_masks():
    together = _conv_mask(_cnn(["element", "element"], [0.5, 0.5], [0, 1]))
    alone = _conv_mask(_cnn(["element"], [0.5], [1]))
    np.testing.assert_array_equal(together[1], alone[0])  # independent of the neighbour
    agreement = ((together[0] > 0) == (together[1] > 0)).mean()
    assert agreement == pytest.approx(0.5, abs=0.01)


def test_cnn_dropout_is_active_in_training_and_off_at_inference():
    d = data.load_digits_images(train_size=100, seed=0)
    variants = {"none": {"dropout": "none"}, "element 0.5": {"dropout": "element", "rate": 0.5}}
    df, net = cnn_engine.fit_cnn_replicas(d, variants, seeds=[0], epochs=1, batch_size=64)
    x = tf.constant(np.repeat(np.asarray(d.x_test[:64], np.float32)[None], net.R, 0))
    off_a, off_b = net.forward(x).numpy(), net.forward(x).numpy()
    on = net.forward(x, tf.constant(7, tf.int64)).numpy()
    np.testing.assert_array_equal(off_a, off_b)  # inference is deterministic
    assert np.abs(on[1] - off_a[1]).max() > 1e-3  # replica 1 drops in training mode
    np.testing.assert_allclose(on[0], off_a[0], rtol=1e-6)  # replica 0 has no dropout


def test_cnn_trainer_trains_on_a_set_smaller_than_one_batch():
    """The short last batch is used (the old trainer took full batches only: zero steps here)."""
    d = data.load_digits_images(train_size=20, seed=0)
    _, net = cnn_engine.fit_cnn_replicas(
        d, {"none": {"dropout": "none"}}, seeds=[0], epochs=1, batch_size=32
    )
    start = _replicas.glorot_uniform([0], 0, (3, 3, 1, 16), 9, 9 * 16)
    assert np.abs(net.params[0].numpy() - start).max() > 1e-5
