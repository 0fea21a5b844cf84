"""fit_variants / final_scores: named Keras models on the same seeds, scored after training."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dropoutcourse import data, models, switches
from dropoutcourse.claims import lecture5
from dropoutcourse.replica_fit import fit_replica_models
from dropoutcourse.scoring import mean_scores, per_example_scores
from dropoutcourse.variant_fit import final_scores, fit_variants

SCORES = ["train_loss", "train_acc", "test_loss", "test_acc"]


@pytest.fixture(scope="module")
def images() -> data.Dataset:
    return data.load_digits_images(train_size=64, seed=0)


def _cnn(images, **kw) -> keras.Model:
    return models.cnn(images.x_train.shape[1:], 10, filters=(4,), dense_units=8, seed=None, **kw)


def test_per_example_scores_are_keras_cross_entropy_and_accuracy():
    proba = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.5, 0.25, 0.25]], "float32")
    y = np.array([0, 0, 2])
    loss, correct = per_example_scores(proba, y)
    expected = keras.losses.sparse_categorical_crossentropy(y, proba).numpy()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)  # clipped p = 0: -log(1e-7), finite
    np.testing.assert_array_equal(correct, [1, 0, 0])
    stacked = per_example_scores(np.stack([proba, proba]), y)[0]  # (R, N, C) → (R, N)
    np.testing.assert_allclose(stacked, [loss, loss])
    nan = per_example_scores(np.full((2, 3), np.nan), np.array([0, 1]))[0]
    assert np.isnan(nan).all()  # a diverged replica reaches the rule as NaN
    with pytest.raises(ValueError, match="proba must have shape"):
        mean_scores(proba, y[:2])


def test_final_scores_are_those_of_each_replicas_keras_model(images):
    fitted = fit_replica_models(
        [_cnn(images), _cnn(images, dropout="spatial", rate=0.3)],
        images.x_train, images.y_train, seeds=[0, 1], epochs=2, verbose=False,
    )  # fmt: skip
    table = final_scores(fitted, images, ["none", "spatial"])
    assert list(table["label"]) == ["none", "none", "spatial", "spatial"]
    assert list(table["seed"]) == [0, 1, 0, 1]
    row = table.iloc[3]
    net = fitted.models(1, compiled=False)[1]  # spatial, seed 1: a real Keras model
    for part, x, y in [("train", images.x_train, images.y_train),
                       ("test", images.x_test, images.y_test)]:  # fmt: skip
        loss, acc = mean_scores(net.predict(x, verbose=0), y)
        assert row[f"{part}_acc"] == pytest.approx(acc)
        assert row[f"{part}_loss"] == pytest.approx(loss, rel=1e-5)


def test_variants_of_a_seed_are_paired_and_differ_only_by_their_dropout(images):
    """shared_start + the same batches: without dropout every variant is the plain run."""

    def run():
        variants = {
            "none": _cnn(images),
            "element": _cnn(images, dropout="element", rate=0.3),
            "dropblock": _cnn(images, dropout="dropblock", rate=0.3),
        }
        return fit_variants(
            images, variants, seeds=[0, 1], epochs=2, shared_start=variants["none"]
        ).pivot(index="seed", columns="label", values="train_loss")

    with switches.without_dropout():
        off = run()
    np.testing.assert_allclose(off["element"], off["none"], atol=1e-6)
    np.testing.assert_allclose(off["dropblock"], off["none"], atol=1e-6)
    on = run()
    assert (on["element"] != on["none"]).all() and (on["dropblock"] != on["none"]).all()


def test_a_variant_with_a_dropout_layer_starts_where_the_plain_one_does(images):
    """A Dropout layer takes a random seed when built, so without shared_start its network
    gets other initial weights; with it, a rate so small that (almost) nothing is dropped
    trains like the plain network."""
    variants = {"none": _cnn(images), "tiny": _cnn(images, dropout="element", rate=1e-7)}
    runs = fit_variants(images, variants, seeds=[0, 1], epochs=2, shared_start=variants["none"])
    loss = runs.pivot(index="seed", columns="label", values="train_loss")
    np.testing.assert_allclose(loss["tiny"], loss["none"], rtol=1e-4)


def test_bad_variants_are_named(images):
    with pytest.raises(TypeError, match="variants must be a non-empty dict"):
        fit_variants(images, [_cnn(images)], seeds=[0], epochs=1)
    with pytest.raises(TypeError, match="variants must be a non-empty dict"):
        fit_variants(images, {}, seeds=[0], epochs=1)


def test_lecture5_variants_are_models_cnn_with_their_dropout_layers():
    nets = lecture5.cnn_variant_models((8, 8, 1), 10)
    assert list(nets) == list(lecture5.CNN_VARIANTS)
    kinds = {label: {type(layer).__name__ for layer in net.layers} for label, net in nets.items()}
    assert "SpatialDropout2D" in kinds["spatial 0.2"] and "DropBlock2D" in kinds["dropblock 0.2"]
    assert not {"Dropout", "SpatialDropout2D", "DropBlock2D"} & kinds["none"]
    shapes = {label: [w.shape for w in net.weights] for label, net in nets.items()}
    assert all(s == shapes["none"] for s in shapes.values())  # shared_start needs this
