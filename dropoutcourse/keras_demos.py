"""Small Keras helpers of lecture 3: what goes wrong when dropout is scaled at test time.

Keras' ``Dropout`` is *inverted* dropout: during training it scales the kept units up by
1/(1 − rate), and at test time it does nothing. Code (or a tutorial) that also scales at test
time double-counts. :func:`scale_dropout_at_test` builds that mistake from a trained model, so
that its cost can be measured with ``evaluate`` instead of argued about.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

__all__ = ["TEST_SCALINGS", "digits_mlp", "evaluate_test_scalings", "scale_dropout_at_test"]

#: What a test-time rule multiplies a Dropout layer's input by, as a function of its ``rate``.
TEST_SCALINGS: dict[str, Callable[[float], float]] = {
    "none (Keras)": lambda rate: 1.0,
    "× (1 − rate): scaled twice": lambda rate: 1.0 - rate,
    "× rate: the sentence": lambda rate: rate,
}


def digits_mlp(n_features: int, n_classes: int, rate: float = 0.5) -> keras.Model:
    """The compiled network of notebook 03 §1 (the slides' figures train it; the notebook writes
    it out): two ReLU layers of 128 units, each followed by ``Dropout(rate)``, softmax output,
    SGD with learning rate 0.01 and momentum 0.9 (the setting of lecture 3's claims).
    """
    from dropoutcourse._validate import check_positive_int, check_rate

    n_features = check_positive_int(n_features, "n_features")
    n_classes = check_positive_int(n_classes, "n_classes")
    rate = check_rate(rate, "rate")
    model = keras.Sequential(
        [
            keras.Input(shape=(n_features,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(rate),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def scale_dropout_at_test(model: keras.Model, factor: Callable[[float], float]) -> keras.Model:
    """A copy of a trained ``model`` whose Dropout layers multiply by ``factor(rate)``.

    The copy has the same weights; every ``keras.layers.Dropout`` is replaced by a fixed
    ``Rescaling(factor(rate))``, which is what "scale the outputs at test time" means. Only for
    inference: the copy drops nothing, in training mode either.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not callable(factor):
        raise TypeError(f"factor must be a function of the rate, got {type(factor).__name__}")

    def clone(layer):
        if isinstance(layer, keras.layers.Dropout):
            return keras.layers.Rescaling(float(factor(layer.rate)), name=f"{layer.name}_scaled")
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())  # Rescaling has no weights: the order is unchanged
    return copy


def evaluate_test_scalings(
    models: dict[int, keras.Model], x: np.ndarray, y: np.ndarray
) -> list[dict]:
    """Rows ``seed, test-time scaling, loss, accuracy`` for every model and rule of ``TEST_SCALINGS``.

    ``models`` maps a seed to a trained softmax classifier (``fit_replica_models(...).models()``)
    and ``y`` holds integer labels; the loss is the sparse categorical cross-entropy.
    """
    if not models:
        raise ValueError("models must map at least one seed to a trained keras.Model")
    cross_entropy = keras.losses.SparseCategoricalCrossentropy()
    rows = []
    for seed, trained in models.items():
        for name, factor in TEST_SCALINGS.items():
            probs = scale_dropout_at_test(trained, factor)(x)  # one eager call: no tracing
            rows.append(
                {
                    "seed": seed,
                    "test-time scaling": name,
                    "loss": float(cross_entropy(y, probs)),
                    "accuracy": float(np.mean(np.argmax(probs, axis=-1) == y)),
                }
            )
    return rows
