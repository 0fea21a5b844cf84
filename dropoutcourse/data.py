"""Offline datasets with fixed, documented splits.

Every loader returns a :class:`Dataset` (except :func:`load_photo`, which returns one image).
The rules are the same everywhere, so that results are comparable across lectures:

* the split depends only on ``(train_size, seed)``: same arguments, same split, on any machine;
* classification splits are *stratified* (every class keeps its share in train and test);
* features are float32 and standardised with mean/std fitted on the **training** part only
  (fitting on all data would leak test information into training);
* labels are int64 class indices; regression targets (``n_classes == 0``) are float32.

Everything works offline (scikit-learn ships its data sets, MNIST-1D is generated locally),
except :func:`load_keras_dataset`, which downloads MNIST/Fashion-MNIST and is never used by
the tests. This module knows nothing about models.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np

from dropoutcourse._validate import (
    check_choice,
    check_int_in_range,
    check_nonneg_float,
    check_seed,
)

__all__ = [
    "Dataset",
    "load_breast_cancer",
    "load_diabetes",
    "load_digits",
    "load_digits_images",
    "load_keras_dataset",
    "load_mnist1d",
    "load_photo",
    "make_polynomial",
]


@dataclass(frozen=True, eq=False)  # eq=False: comparing datasets array-by-array is never wanted
class Dataset:
    """A train/test split. ``x_*`` float32; ``y_*`` int64 labels (float32 targets if regression).

    ``n_classes`` is the number of classes, or 0 for a regression target.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str = ""

    @property
    def n_features(self) -> int:
        """Number of input features per sample (product of all non-sample axes)."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return len(self.x_train)

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return len(self.x_test)

    def __repr__(self) -> str:
        # never dump arrays: a notebook cell that ends with `data` should print one line
        shape = "×".join(str(s) for s in self.x_train.shape[1:])
        task = "regression" if self.n_classes == 0 else f"n_classes={self.n_classes}"
        return (
            f"Dataset({self.name!r}, train={self.n_train}×{shape}, "
            f"test={self.n_test}×{shape}, {task})"
        )


# --------------------------------------------------------------------------- helpers


def _standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both parts with the per-feature mean/std of the *training* part."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    # constant features (e.g. the always-blank corner pixels of digits) would divide by zero
    std = np.where(std > 1e-8, std, 1.0)
    return (
        ((x_train - mean) / std).astype(np.float32),
        ((x_test - mean) / std).astype(np.float32),
    )


def _stratified_split(y: np.ndarray, train_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of a stratified split; train indices keep a random order."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    if train_size == len(y):
        return np.random.default_rng(seed).permutation(idx), idx[:0]
    train, test = train_test_split(idx, train_size=train_size, random_state=seed, stratify=y)
    return train, np.sort(test)  # sorted test order: nothing depends on it, easier to inspect


def _classification(
    name: str, x: np.ndarray, y: np.ndarray, train_size: int, seed: int, description: str
) -> Dataset:
    """Stratified split of (x, y) + train-fitted standardisation."""
    n_classes = int(y.max()) + 1
    # a stratified split needs at least one sample of every class on each side
    train_size = check_int_in_range(train_size, "train_size", n_classes, len(y) - n_classes)
    seed = check_seed(seed)
    tr, te = _stratified_split(y, train_size, seed)
    x_train, x_test = _standardize(x[tr].astype(np.float64), x[te].astype(np.float64))
    return Dataset(
        name,
        x_train,
        y[tr].astype(np.int64),
        x_test,
        y[te].astype(np.int64),
        n_classes,
        f"{description} Stratified split: {train_size} train / {len(te)} test (seed={seed}).",
    )


# --------------------------------------------------------------------------- loaders


def load_digits(train_size: int = 300, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 handwritten digits (1797 × 64, 10 classes); the rest is test.

    300 training samples is small enough for a 2×256 MLP to overfit, so dropout has
    something to do.
    """
    from sklearn import datasets

    bunch = datasets.load_digits()
    return _classification(
        "digits",
        bunch.data,
        bunch.target,
        train_size,
        seed,
        "8×8 grey-level handwritten digits (UCI via scikit-learn), 64 pixel features.",
    )


def load_digits_images(train_size: int = 500, seed: int = 0) -> Dataset:
    """The digits as images, x shaped (N, 8, 8, 1), for the CNN lecture.

    Same split as :func:`load_digits` with the same ``(train_size, seed)``. Standardised with
    *one* mean/std over all training pixels (not per pixel), so images still look like digits
    and every position is treated alike, as a convolution expects.
    """
    from sklearn import datasets

    bunch = datasets.load_digits()
    train_size = check_int_in_range(train_size, "train_size", 10, len(bunch.target) - 10)
    seed = check_seed(seed)
    tr, te = _stratified_split(bunch.target, train_size, seed)  # the split of load_digits
    x_train, x_test = bunch.data[tr], bunch.data[te]
    mean, std = x_train.mean(), x_train.std()
    return Dataset(
        "digits_images",
        ((x_train - mean) / std).astype(np.float32).reshape(-1, 8, 8, 1),
        bunch.target[tr].astype(np.int64),
        ((x_test - mean) / std).astype(np.float32).reshape(-1, 8, 8, 1),
        bunch.target[te].astype(np.int64),
        10,
        f"8×8×1 handwritten digit images (scikit-learn), standardised with one train "
        f"mean/std. Stratified split: {train_size} train / {len(te)} test (seed={seed}).",
    )


def load_breast_cancer(train_size: int = 100, seed: int = 0) -> Dataset:
    """Wisconsin breast cancer (569 × 30, 2 classes: 0 malignant, 1 benign); rest is test."""
    from sklearn import datasets

    bunch = datasets.load_breast_cancer()
    return _classification(
        "breast_cancer",
        bunch.data,
        bunch.target,
        train_size,
        seed,
        "Wisconsin diagnostic breast cancer (scikit-learn), 30 cell-nucleus features.",
    )


@functools.lru_cache(maxsize=1)
def _mnist1d_raw() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Generate MNIST-1D (4000 train / 1000 test × 40) once per process."""
    from mnist1d.data import get_dataset_args, make_dataset

    # mnist1d calls random.seed / np.random.seed: protect the caller's global random state
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        # never get_dataset(): it tries a download and writes a pickle into the cwd
        d = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    arrays = (d["x"], d["y"], d["x_test"], d["y_test"])
    for a in arrays:
        a.flags.writeable = False  # the cache hands out the same arrays to every caller
    return arrays


def load_mnist1d(train_size: int = 1000, seed: int = 0) -> Dataset:
    """MNIST-1D (Greydanus 2020): 10 classes of 40-sample 1-D signals, generated locally.

    The test set is always the fixed 1000-sample MNIST-1D test split; ``train_size``
    samples are drawn (stratified) from the 4000-sample training split. The first call
    takes a few seconds; later calls use an in-process cache.
    """
    x, y, x_test, y_test = _mnist1d_raw()
    train_size = check_int_in_range(train_size, "train_size", 10, len(y))
    seed = check_seed(seed)
    tr, _ = _stratified_split(y, train_size, seed)
    x_train, x_te = _standardize(x[tr].astype(np.float64), x_test.astype(np.float64))
    return Dataset(
        "mnist1d",
        x_train,
        y[tr].astype(np.int64),
        x_te,
        y_test.astype(np.int64),
        10,
        f"MNIST-1D, generated with mnist1d.make_dataset (default args, seed 42). "
        f"{train_size} stratified train samples (seed={seed}) from the 4000 training "
        f"signals / the fixed 1000-signal test set.",
    )


def make_polynomial(
    n_train: int = 15, n_test: int = 200, noise: float = 0.3, seed: int = 0
) -> Dataset:
    """Noisy 1-D regression y = sin(2πx) + N(0, noise²), x ~ U[0, 1] — the fit picture.

    The classic under/right/over-fitting demo (Bishop, PRML §1.1). ``x`` is **not**
    standardised: it already lies in [0, 1], and plots read better in the original units.
    ``x_test`` is sorted so that it can be plotted as a line; ``n_classes == 0``.
    """
    n_train = check_int_in_range(n_train, "n_train", 2, 100_000)
    n_test = check_int_in_range(n_test, "n_test", 1, 100_000)
    noise = check_nonneg_float(noise, "noise")  # the noise std
    rng = np.random.default_rng(check_seed(seed))
    x_train = rng.uniform(0.0, 1.0, n_train)
    x_test = np.sort(rng.uniform(0.0, 1.0, n_test))

    def target(x: np.ndarray) -> np.ndarray:
        return np.sin(2 * np.pi * x) + rng.normal(0.0, noise, x.shape)

    return Dataset(
        "polynomial",
        x_train.astype(np.float32)[:, None],
        target(x_train).astype(np.float32),
        x_test.astype(np.float32)[:, None],
        target(x_test).astype(np.float32),
        0,
        f"y = sin(2πx) + N(0, {noise}²), x ~ U[0, 1]; {n_train} train / {n_test} test "
        f"(seed={seed}); x not standardised.",
    )


_DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def load_diabetes(
    train_size: int = 100, seed: int = 0, feature: str | None = None, scale_y: bool = False
) -> Dataset:
    """scikit-learn diabetes regression (442 patients × 10 features, n_classes == 0).

    The target is disease progression one year after baseline (about 25–346). ``feature``
    keeps one named column (e.g. ``"bmi"``) for a 1-D plot; ``scale_y=True`` standardises
    the target with train statistics (handy for training a network with default settings).
    Random (not stratified) split.
    """
    from sklearn import datasets

    if feature is not None:
        check_choice(feature, "feature", _DIABETES_FEATURES)
    bunch = datasets.load_diabetes()
    x, y = bunch.data, bunch.target
    if feature is not None:
        x = x[:, [_DIABETES_FEATURES.index(feature)]]
    train_size = check_int_in_range(train_size, "train_size", 2, len(y) - 1)
    perm = np.random.default_rng(check_seed(seed)).permutation(len(y))
    tr, te = perm[:train_size], np.sort(perm[train_size:])
    x_train, x_test = _standardize(x[tr], x[te])
    y_train, y_test = y[tr], y[te]
    if scale_y:
        mean, std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    cols = feature or "all 10 features"
    return Dataset(
        "diabetes",
        x_train,
        y_train.astype(np.float32),
        x_test,
        y_test.astype(np.float32),
        0,
        f"Diabetes progression (scikit-learn), {cols}; random split {train_size} train / "
        f"{len(te)} test (seed={seed}); target {'standardised' if scale_y else 'raw'}.",
    )


_PHOTOS = ("china.jpg", "flower.jpg")


def load_photo(name: str = "china.jpg", size: int | None = None) -> np.ndarray:
    """One of scikit-learn's two sample photos as float32 H×W×3 in [0, 1] (427×640 full size).

    ``size=k`` downscales by averaging every k×k block of pixels (rows/columns that do not
    fill a whole block are cropped): ``size=4`` gives 106×160.
    """
    from sklearn.datasets import load_sample_image

    check_choice(name, "name", _PHOTOS)
    img = load_sample_image(name).astype(np.float32) / 255.0
    if size is None or size == 1:
        return img
    k = check_int_in_range(size, "size", 1, min(img.shape[:2]))
    h, w = img.shape[0] // k, img.shape[1] // k
    # split each axis into (blocks, k) and average over the two within-block axes
    return img[: h * k, : w * k].reshape(h, k, w, k, 3).mean(axis=(1, 3)).astype(np.float32)


_KERAS_DATASETS = ("mnist", "fashion_mnist")


def load_keras_dataset(
    name: str, train_size: int | None = None, seed: int = 0, flatten: bool = True
) -> Dataset:
    """MNIST or Fashion-MNIST via ``keras.datasets`` — **needs the internet** (first call).

    Test set: the official 10 000 images. ``train_size`` draws a stratified subset of the
    60 000 training images (None: all of them). ``flatten=True`` gives (N, 784) with
    per-pixel standardisation; ``flatten=False`` gives (N, 28, 28, 1) with one mean/std.
    Not used by the tests (no network there).
    """
    check_choice(name, "name", _KERAS_DATASETS)
    import keras

    (x, y), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    if train_size is not None:
        train_size = check_int_in_range(train_size, "train_size", 10, len(y))
        tr, _ = _stratified_split(y, train_size, check_seed(seed))
        x, y = x[tr], y[tr]
    x, x_test = x.astype(np.float32) / 255.0, x_test.astype(np.float32) / 255.0
    if flatten:
        x_tr, x_te = _standardize(x.reshape(len(x), -1), x_test.reshape(len(x_test), -1))
    else:
        mean, std = x.mean(), x.std()
        x_tr, x_te = ((x - mean) / std)[..., None], ((x_test - mean) / std)[..., None]
    return Dataset(
        name,
        x_tr.astype(np.float32),
        y.astype(np.int64),
        x_te.astype(np.float32),
        y_test.astype(np.int64),
        10,
        f"{name} from keras.datasets; {len(y)} train / {len(y_test)} test (seed={seed}).",
    )
