"""The dropout noise *inside* the replica trainers: statistics, independence, activity.

The NumPy references are tested against their formulas elsewhere; these tests look at the
masks the MLP engine and the CNN trainer actually multiply with, so that a missing
1/(1 − rate), a wrong Gaussian σ, replicas sharing one key or a dead dropout layer fail here.
Tolerances are 5 binomial/normal standard errors of the sample sizes used.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from dropoutcourse import _replicas, cnn_engine, data
from dropoutcourse.engine import ReplicaConfig, _ReplicaMLP

BATCH, WIDTH = 2000, 50  # 100 000 draws per replica and site


def _mlp_masks(configs, counter=0):
    net = _ReplicaMLP(configs, [WIDTH, WIDTH, 3])
    keys = [_replicas.key(c.seed, _replicas.MASKS) for c in configs]
    masks = net.masks(keys, tf.constant(counter, tf.int64), BATCH)
    return [None if m is None else m.numpy() for m in masks]


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.7])
def test_engine_bernoulli_masks_have_the_inverted_dropout_statistics(rate):
    _, hidden = _mlp_masks([ReplicaConfig(hidden_rate=rate, seed=3)])
    m = hidden[0]
    n = m.size
    dropped = (m == 0).mean()
    assert abs(dropped - rate) < 5 * math.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(np.unique(m), [0.0, 1.0 / (1.0 - rate)], rtol=1e-6)
    assert abs(m.mean() - 1.0) < 5 * math.sqrt(rate / (1 - rate) / n)
    assert m.var() == pytest.approx(rate / (1 - rate), rel=0.05)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_engine_gaussian_noise_has_sigma_sqrt_rate_over_keep(rate):
    _, hidden = _mlp_masks([ReplicaConfig(hidden_rate=rate, gaussian=True, seed=1)])
    m = hidden[0]
    sigma = math.sqrt(rate / (1 - rate))
    assert abs(m.mean() - 1.0) < 5 * sigma / math.sqrt(m.size)
    assert m.std() == pytest.approx(sigma, rel=0.02)  # σ = rate would be 0.2 / 0.5, not this


def test_engine_input_and_hidden_sites_use_their_own_rates():
    inputs, hidden = _mlp_masks([ReplicaConfig(input_rate=0.2, hidden_rate=0.6, seed=0)])
    assert (inputs[0] == 0).mean() == pytest.approx(0.2, abs=0.01)
    assert (hidden[0] == 0).mean() == pytest.approx(0.6, abs=0.01)
    assert _mlp_masks([ReplicaConfig(seed=0)]) == [None, None]  # no noise where nobody drops


def test_engine_replicas_draw_independent_masks_and_equal_seeds_share_them():
    configs = [
        ReplicaConfig(hidden_rate=0.5, seed=0),
        ReplicaConfig(hidden_rate=0.5, seed=1),
        ReplicaConfig(hidden_rate=0.5, seed=0, label="same seed"),
    ]
    _, hidden = _mlp_masks(configs)
    a, b, same = (hidden[r].ravel() > 0 for r in range(3))
    np.testing.assert_array_equal(a, same)  # common random numbers
    agreement = (a == b).mean()  # independent Bernoulli(0.5) masks agree half of the time
    assert abs(agreement - 0.5) < 5 * math.sqrt(0.25 / a.size)
    # a replica's masks do not depend on its neighbours
    alone = _mlp_masks([configs[1]])[1][0].ravel() > 0
    np.testing.assert_array_equal(alone, b)


def test_engine_masks_change_from_step_to_step():
    first = _mlp_masks([ReplicaConfig(hidden_rate=0.5, seed=0)], counter=0)[1]
    second = _mlp_masks([ReplicaConfig(hidden_rate=0.5, seed=0)], counter=1)[1]
    assert ((first > 0) == (second > 0)).mean() == pytest.approx(0.5, abs=0.02)


# ----------------------------------------------------------------------------- CNN trainer
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


def test_mc_predictions_are_traced_once_and_depend_on_the_seed_only():
    from dropoutcourse.engine import train_replicas

    d = data.load_digits(train_size=64, seed=0)
    configs = [ReplicaConfig(hidden_rate=0.5, seed=s) for s in (0, 1)]
    result = train_replicas(d, configs, hidden=(16,), epochs=1, verbose=False)
    a = result.predict_proba(d.x_test[:50], mc_samples=3, seed=1)
    b = result.predict_proba(d.x_test[:50], mc_samples=3, seed=2)
    again = result.predict_proba(d.x_test[:50], mc_samples=3, seed=1)
    np.testing.assert_array_equal(a, again)
    assert np.abs(a - b).max() > 1e-4
    assert result._stochastic_pass().experimental_get_tracing_count() == 1


# ----------------------------------------------------------------------------- bad input
def _digits_with(**change):
    import dataclasses

    d = data.load_digits(train_size=64, seed=0)
    return dataclasses.replace(d, **change)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("nan", "data.x_train contains 1 NaN"),
        ("short_y", "same number of examples"),
        ("label", r"labels in \[0, 10\)"),
    ],
)
def test_engine_rejects_data_that_would_fail_silently_or_cryptically(change, message):
    from dropoutcourse.engine import train_replicas

    d = data.load_digits(train_size=64, seed=0)
    if change == "nan":
        x = d.x_train.copy()
        x[0, 0] = np.nan
        d = _digits_with(x_train=x)
    elif change == "short_y":
        d = _digits_with(y_train=d.y_train[:-1])
    else:
        y = d.y_train.copy()
        y[0] = 12
        d = _digits_with(y_train=y)
    with pytest.raises(ValueError, match=message):
        train_replicas(d, [ReplicaConfig()], hidden=(8,), epochs=1, verbose=False)


def test_engine_rejects_settings_that_do_nothing():
    from dropoutcourse.engine import train_replicas

    d = data.load_digits(train_size=64, seed=0)
    for config in (ReplicaConfig(hidden_rate=0.5), ReplicaConfig(max_norm=1.0)):
        with pytest.raises(ValueError, match="hidden=()"):
            train_replicas(d, [config], hidden=(), epochs=1, verbose=False)
    for bad in (float("inf"), float("nan"), -1.0):
        with pytest.raises(ValueError, match="l2"):
            ReplicaConfig(l2=bad)
    with pytest.raises(ValueError, match="max_norm"):
        ReplicaConfig(max_norm=float("inf"))
