"""sequence_demos: the masks Keras' recurrent dropout uses, made visible."""

import numpy as np
import pytest

from dropoutcourse import sequence_demos as sd


def _values_ok(masks, rate):
    vals = masks[~np.isnan(masks)]
    kept = 1 / (1 - rate)
    assert np.all(np.isclose(vals, 0.0, atol=1e-5) | np.isclose(vals, kept, rtol=1e-4))


def test_plain_dropout_changes_mask_every_step():
    m = sd.dropout_over_time(0.5, 10, 16, shared=False, seed=0)
    assert m.shape == (10, 16)
    _values_ok(m, 0.5)
    assert not sd.is_shared_over_time(m)


def test_noise_shape_shares_mask_over_time():
    m = sd.dropout_over_time(0.5, 10, 16, shared=True, seed=0)
    _values_ok(m, 0.5)
    assert sd.is_shared_over_time(m)
    assert 0 < (m[0] == 0).sum() < 16


@pytest.mark.parametrize("fn", [sd.rnn_input_masks, sd.rnn_recurrent_masks])
def test_keras_rnn_dropout_is_variational(fn):
    """Gal & Ghahramani: one mask per sequence, reused at every step (inputs and state)."""
    m = fn(0.3, 8, 32, seed=1)
    assert m.shape == (8, 32)
    _values_ok(m, 0.3)
    assert sd.is_shared_over_time(m)
    dropped = np.nanmean(m[-1] == 0)
    assert 0.05 < dropped < 0.6


def test_rate_zero_rejected():
    with pytest.raises(ValueError, match="rate"):
        sd.rnn_input_masks(0.0, 4, 4)
    with pytest.raises(ValueError, match="rate"):
        sd.dropout_over_time(1.5, 4, 4, shared=True)


def test_seed_is_checked_like_everywhere_else():
    with pytest.raises(ValueError, match="seed"):
        sd.dropout_over_time(0.5, 4, 4, shared=False, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        sd.rnn_input_masks(0.5, 4, 4, seed=1.5)
