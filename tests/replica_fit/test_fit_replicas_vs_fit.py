"""fit_replicas is statistically a loop of ``set_random_seed(s)``; build; compile; ``fit``.

Both start from the same initial weights for the same seed, but the masks and shuffles come
from different random streams, so the two can only agree in distribution. Decision rule: on
the same seeds, the 90 % confidence interval of the paired difference (replica − loop) lies
inside ±MARGIN for the final validation accuracy and for the final training loss (logged with
dropout on). Positive
control, same rule: replicas trained *without* dropout must be told apart from the loop on the
training loss — dropout's effect on it is far larger than the margin, so a rule that cannot see
it would pass anything.
"""

import keras
import numpy as np
import pytest
from scipy import stats

from dropoutcourse import switches
from dropoutcourse.data import load_digits, load_digits_images
from dropoutcourse.replica_fit import fit_replicas

#: 4 accuracy points = two seed-to-seed standard deviations of these small nets (a trainer
#: that far off would change a lecture's conclusions); 0.1 nats of training loss, a third of
#: what dropout 0.5 adds to it. Paired sd on 10 pilot seeds (CNN): 2.3 points and 0.048 nats,
#: so with 8 seeds the margins are ≥ 4.9 SE from a true difference of zero.
MARGIN = {"val_accuracy": 0.04, "loss": 0.10}
SEEDS = range(8)


def _interval(a, b, confidence=0.90):
    """Paired t interval for mean(a − b) (a and b ordered by seed)."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    half = stats.t.ppf(0.5 + confidence / 2, len(diff) - 1) * stats.sem(diff)
    return diff.mean() - half, diff.mean() + half


def _equivalent(a, b, metric) -> bool:
    lo, hi = _interval(a, b)
    return -MARGIN[metric] < lo and hi < MARGIN[metric]


def _loop(build, data, epochs):
    final = {"val_accuracy": [], "loss": []}
    for seed in SEEDS:
        keras.utils.set_random_seed(seed)
        history = build().fit(
            data.x_train, data.y_train, epochs=epochs, batch_size=32,
            validation_data=(data.x_test, data.y_test), verbose=0,
        ).history  # fmt: skip
        for metric in final:
            final[metric].append(history[metric][-1])
    return final


def _replicas(build, data, epochs):
    runs = fit_replicas(
        build(), data.x_train, data.y_train, seeds=SEEDS, epochs=epochs,
        validation_data=(data.x_test, data.y_test), verbose=False,
    )  # fmt: skip
    return runs[runs.epoch == epochs]


def _compiled(layers):
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def mlp():
    return _compiled([
        keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


def cnn():
    return _compiled([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        keras.layers.SpatialDropout2D(0.2), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "load", "epochs"),
    [(mlp, lambda: load_digits(train_size=300), 20), (cnn, lambda: load_digits_images(300), 15)],
    ids=["mlp", "cnn"],
)
def test_replicas_match_a_loop_of_fit_in_distribution(build, load, epochs):
    data = load()
    loop = _loop(build, data, epochs)
    replicas = _replicas(build, data, epochs)
    for metric in MARGIN:
        assert _equivalent(replicas[metric], loop[metric], metric), (
            metric, _interval(replicas[metric], loop[metric]),
        )  # fmt: skip
    with switches.without_dropout():  # positive control: the rule sees dropout switched off
        no_dropout = _replicas(build, data, epochs)
    assert not _equivalent(no_dropout["loss"], loop["loss"], "loss")
