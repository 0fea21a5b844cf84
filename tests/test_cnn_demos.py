"""cnn_demos: neighbour reconstruction, the variance shift, and the many-CNNs trainer."""

import numpy as np
import pytest

from dropoutcourse import cnn_demos


def _smooth_image(h=40, w=60):
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([np.sin(xx / 7.0), np.cos(yy / 5.0), np.sin((xx + yy) / 9.0)], axis=-1)
    return (0.5 + 0.5 * img).astype(np.float32)


def test_reconstruction_keeps_kept_values_and_fills_constant_image_exactly():
    img = np.full((10, 12, 2), 0.7, np.float32)
    dropped, keep = cnn_demos.drop_pixels(img, "element", 0.5, rng=np.random.default_rng(0))
    guess = cnn_demos.neighbour_reconstruction(dropped, keep)
    np.testing.assert_allclose(guess, 0.7, atol=1e-6)
    np.testing.assert_array_equal(guess[keep], dropped[keep])


def test_reconstruction_uses_fill_where_no_neighbour_survives():
    x = np.zeros((1, 5, 5, 1), np.float32)
    keep = np.zeros_like(x, dtype=bool)
    keep[0, 0, 0, 0] = True
    x[0, 0, 0, 0] = 4.0
    guess = cnn_demos.neighbour_reconstruction(x, keep, fill=-1.0)
    assert guess[0, 1, 1, 0] == pytest.approx(4.0)  # neighbour of the kept pixel
    assert guess[0, 4, 4, 0] == pytest.approx(-1.0)  # too far away: the fill value


def test_bad_arguments_raise():
    img = _smooth_image()
    with pytest.raises(ValueError, match="method"):
        cnn_demos.drop_pixels(img, "pixels", 0.5)
    with pytest.raises(ValueError, match="size"):
        cnn_demos.neighbour_reconstruction(img[None], np.ones(img[None].shape, bool), size=2)


def test_element_dropout_is_easy_to_undo_blocks_and_channels_are_not():
    """The lecture's claim: neighbours give back most of an element-wise-dropped pixel."""
    df = cnn_demos.pixel_drop_study(_smooth_image(), 0.5, block_size=7, seeds=range(3))
    rec = df.groupby("method")["recovered"].mean()
    assert rec["element"] > 0.9
    assert rec["block"] < rec["element"] - 0.3
    assert rec["channel"] == pytest.approx(0.0, abs=1e-6)  # no neighbour survives in-channel


def test_channel_reconstruction_uses_the_other_channels_at_the_same_pixel():
    x = np.array([[[[1.0, 3.0, 8.0], [2.0, 0.0, 0.0]]]], np.float32)  # (1, 1, 2, 3)
    keep = np.array([[[[True, True, False], [True, False, False]]]])
    guess = cnn_demos.channel_reconstruction(x, keep, fill=-1.0)
    assert guess[0, 0, 0, 2] == pytest.approx(2.0)  # mean of the kept channels 1 and 3
    assert guess[0, 0, 1, 1] == pytest.approx(2.0)  # only channel 0 kept there
    np.testing.assert_array_equal(guess[keep], x[keep])
    nothing = np.zeros_like(keep)
    assert (cnn_demos.channel_reconstruction(x, nothing, fill=-1.0) == -1.0).all()
    with pytest.raises(ValueError, match="channels"):
        cnn_demos.channel_reconstruction(x[..., :1], keep[..., :1])
    with pytest.raises(ValueError, match="guess"):
        cnn_demos.reconstruction_error(_smooth_image(), "channel", 0.5, guess="both")
    with pytest.raises(ValueError, match="guesses"):
        cnn_demos.pixel_drop_study(_smooth_image(), 0.5, guesses=())


def test_an_across_channel_guess_recovers_channel_dropout_of_correlated_channels():
    """Channel dropout hides nothing from a guess that looks across correlated channels."""
    base = _smooth_image()[..., :1]
    img = np.concatenate([base, 0.9 * base + 0.05, 0.8 * base + 0.1], axis=-1)
    df = cnn_demos.pixel_drop_study(
        img, 0.5, seeds=range(3), methods=("channel",), guesses=cnn_demos.GUESSES
    )
    rec = df.groupby("guess")["recovered"].mean()
    assert rec["neighbours"] == pytest.approx(0.0, abs=1e-6)  # by construction: none survives
    assert rec["channels"] > 0.5
    flipped = np.concatenate([base, 1.0 - base], axis=-1)  # anti-correlated: the mean misleads
    df = cnn_demos.pixel_drop_study(
        flipped, 0.5, seeds=range(3), methods=("channel",), guesses=("channels",)
    )
    assert df["recovered"].mean() < 0.0
    same = np.concatenate([base, base, base], axis=-1)
    df = cnn_demos.pixel_drop_study(
        same, 0.5, seeds=range(3), methods=("channel",), guesses=("channels",)
    )
    assert df["recovered"].min() > 0.5  # equal channels: exact wherever one channel survived


def test_theoretical_variance_shift():
    res = cnn_demos.theoretical_variance_shift(0.5, mean=1.0, var=1.0)
    assert res["train_var"] == pytest.approx(3.0)
    assert res["ratio"] == pytest.approx(1 / 3)


def test_variance_shift_depends_on_its_seed_only():
    """No global random state: the same seed gives the same table whatever was seeded before."""
    import keras

    tables = []
    for global_seed in (1, 2):
        keras.utils.set_random_seed(global_seed)
        tables.append(cnn_demos.variance_shift(0.5, n_steps=5, seed=3))
    assert tables[0].equals(tables[1])
    assert not tables[0].equals(cnn_demos.variance_shift(0.5, n_steps=5, seed=4))


def test_variance_shift_measured_with_keras_batchnorm():
    df = cnn_demos.variance_shift(0.5, n_steps=100).set_index("order")
    theory = cnn_demos.theoretical_variance_shift(0.5, 1.0, 1.0)
    before, after = df.loc["dropout→BN"], df.loc["BN→dropout"]
    assert before["bn_moving_var"] == pytest.approx(theory["train_var"], rel=0.15)
    assert before["bn_output_var_infer"] == pytest.approx(theory["ratio"], rel=0.15)
    assert after["bn_output_var_infer"] == pytest.approx(1.0, rel=0.1)
