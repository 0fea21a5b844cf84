"""Tests of dropoutcourse.data: fixed splits, dtypes, train-only standardisation, errors."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from dropoutcourse import data

CLASSIFIERS = [
    (data.load_digits, 300, 64, 1797, 10),
    (data.load_breast_cancer, 100, 30, 569, 2),
]


@pytest.mark.parametrize(("loader", "n", "features", "total", "classes"), CLASSIFIERS)
def test_classification_shapes_and_dtypes(loader, n, features, total, classes):
    d = loader()
    assert isinstance(d, data.Dataset)
    assert d.x_train.shape == (n, features) and d.x_test.shape == (total - n, features)
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    assert d.y_train.dtype == np.int64 and d.y_test.dtype == np.int64
    assert (d.n_features, d.n_train, d.n_test, d.n_classes) == (features, n, total - n, classes)
    assert set(np.unique(d.y_train)) == set(range(classes))


@pytest.mark.parametrize(("loader", "n", "features", "total", "classes"), CLASSIFIERS)
def test_standardised_with_train_statistics_only(loader, n, features, total, classes):
    d = loader()
    mean, std = d.x_train.mean(axis=0), d.x_train.std(axis=0)
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    # constant features stay 0 (std 1 is used instead of 0), all others get std 1
    assert np.all((np.abs(std - 1) < 1e-4) | (std < 1e-6))
    # the test part is *not* exactly standardised: its statistics were not used
    assert np.abs(d.x_test.mean(axis=0)).max() > 1e-3


def test_split_is_fixed_by_seed_and_stratified():
    a, b, c = data.load_digits(200, seed=1), data.load_digits(200, seed=1), data.load_digits(200)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)
    # stratified: each of the 10 classes has ~20 of the 200 training samples
    counts = np.bincount(a.y_train, minlength=10)
    assert counts.min() >= 19 and counts.max() <= 21


def test_train_and_test_partition_the_data():
    from sklearn.datasets import load_digits

    raw = load_digits()
    d = data.load_digits(300, seed=3)
    assert d.n_train + d.n_test == len(raw.target)
    # every sample lands on exactly one side: the class counts add up
    counts = np.bincount(d.y_train, minlength=10) + np.bincount(d.y_test, minlength=10)
    np.testing.assert_array_equal(counts, np.bincount(raw.target))


def test_repr_does_not_dump_arrays():
    text = repr(data.load_digits())
    assert text.startswith("Dataset('digits'") and "300×64" in text and "[" not in text
    assert "\n" not in text


def test_dataset_is_frozen():
    d = data.load_breast_cancer()
    with pytest.raises(AttributeError):
        d.name = "other"


@pytest.mark.parametrize("bad", [0, 9, 1788, 5000])
def test_train_size_out_of_range_names_the_range(bad):
    with pytest.raises(ValueError, match=r"train_size must be in \[10, 1787\]"):
        data.load_digits(train_size=bad)


@pytest.mark.parametrize("bad", [2.5, "300", True, None])
def test_train_size_wrong_type(bad):
    with pytest.raises(TypeError, match="train_size"):
        data.load_breast_cancer(train_size=bad)


def test_digits_images_match_the_flat_split():
    flat, img = data.load_digits(250, seed=2), data.load_digits_images(250, seed=2)
    assert img.x_train.shape == (250, 8, 8, 1) and img.x_train.dtype == np.float32
    np.testing.assert_array_equal(flat.y_train, img.y_train)
    np.testing.assert_array_equal(flat.y_test, img.y_test)
    # one global mean/std over all training pixels (not per pixel)
    assert abs(img.x_train.mean()) < 1e-5 and abs(img.x_train.std() - 1) < 1e-4
    assert img.n_features == 64


def test_mnist1d_is_local_cached_and_restores_global_rng(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # get_dataset() would write a pickle here
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002 -- the very global state mnist1d touches
    expected_py, expected_np = random.random(), np.random.rand()  # noqa: NPY002
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    d = data.load_mnist1d(train_size=500, seed=1)
    assert random.random() == expected_py and np.random.rand() == expected_np  # noqa: NPY002
    assert os.listdir(tmp_path) == []
    assert d.x_train.shape == (500, 40) and d.x_test.shape == (1000, 40)
    assert d.n_classes == 10 and d.y_train.dtype == np.int64
    # cached: a second call is fast and gives the same fixed test set
    again = data.load_mnist1d(train_size=4000)
    assert again.n_train == 4000
    np.testing.assert_array_equal(again.y_test, d.y_test)
    with pytest.raises(ValueError, match=r"\[10, 4000\]"):
        data.load_mnist1d(train_size=4001)


def test_polynomial_regression():
    d = data.make_polynomial(n_train=15, n_test=200, noise=0.3, seed=0)
    assert d.n_classes == 0 and d.x_train.shape == (15, 1) and d.y_train.shape == (15,)
    assert d.y_train.dtype == np.float32 and d.x_train.dtype == np.float32
    # x is *not* standardised: it stays in [0, 1]; x_test is sorted for line plots
    assert d.x_train.min() >= 0 and d.x_train.max() <= 1
    assert np.all(np.diff(d.x_test[:, 0]) >= 0)
    clean = data.make_polynomial(n_test=50, noise=0.0)
    np.testing.assert_allclose(clean.y_test, np.sin(2 * np.pi * clean.x_test[:, 0]), atol=1e-5)
    with pytest.raises(ValueError, match="noise"):
        data.make_polynomial(noise=-1.0)
    with pytest.raises(ValueError, match="n_train"):
        data.make_polynomial(n_train=1)


def test_diabetes():
    d = data.load_diabetes(train_size=100, seed=0)
    assert d.n_classes == 0 and d.x_train.shape == (100, 10) and d.n_test == 342
    assert d.y_train.dtype == np.float32 and d.y_train.mean() > 50  # raw units
    one = data.load_diabetes(feature="bmi")
    assert one.x_train.shape == (100, 1)
    scaled = data.load_diabetes(scale_y=True)
    assert abs(scaled.y_train.mean()) < 1e-5
    with pytest.raises(ValueError, match="feature"):
        data.load_diabetes(feature="weight")


def test_photo():
    img = data.load_photo()
    assert img.shape == (427, 640, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0
    small = data.load_photo("flower.jpg", size=4)
    assert small.shape == (106, 160, 3)
    # block averaging: the first output pixel is the mean of the first 4×4 block
    full = data.load_photo("flower.jpg")
    np.testing.assert_allclose(small[0, 0], full[:4, :4].mean(axis=(0, 1)), atol=1e-6)
    with pytest.raises(ValueError, match="name"):
        data.load_photo("cat.jpg")


def test_keras_dataset_unknown_name():
    # the real loaders need the internet; only argument checking is tested
    with pytest.raises(ValueError, match="mnist"):
        data.load_keras_dataset("cifar10")


@pytest.mark.parametrize(
    "loader", [data.load_digits, data.load_breast_cancer, data.load_diabetes, data.make_polynomial]
)
def test_seed_errors_follow_the_package_rule(loader):
    # a bad value is a ValueError, a bad type a TypeError, as everywhere in the package
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
        loader(seed=-1)
    for bad in (1.5, True, "0"):
        with pytest.raises(TypeError, match="seed"):
            loader(seed=bad)


def test_noise_must_be_finite_and_nonnegative():
    with pytest.raises(ValueError, match="noise"):
        data.make_polynomial(noise=float("inf"))
    with pytest.raises(TypeError, match="noise"):
        data.make_polynomial(noise="0.3")
