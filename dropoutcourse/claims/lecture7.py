"""Lecture 7 (dropout today): DropPath on a small residual net, and dropout's gain vs data size.

* ``droppath_small_scale`` — a 4-block residual MLP on 1000 MNIST-1D signals, trained with
  ``fit_replicas`` (one call, four models): no dropout, dropout 0.3 inside every branch,
  DropPath 0.3 (linear depth schedule) and, as the positive control, DropPath 0.8 on every
  block. At this scale neither kind of dropout buys 2 points of test accuracy.
* ``gain_vs_data_size`` — a 40-128-128-10 MLP with and without dropout 0.3, the same number
  of examples processed at 500, 4000 and 20 000 training signals: dropout lowers the test
  loss on small data and raises it once every example is seen only once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dropoutcourse.claims.core import Claim
from dropoutcourse.claims.rules import (
    active_on_every_seed,
    all_above,
    below,
    exceeds,
    interval_numbers,
)
from dropoutcourse.claims.seedsets import data_seed
from dropoutcourse.stats import paired_difference

# --------------------------------------------------------------------------- DropPath
#: The residual setting of lecture 7 §3 (one definition for notebook, slides and tests).
RESIDUAL = dict(train_size=1000, width=32, n_blocks=4, epochs=30, batch_size=64)
#: Test accuracy is measured after every 3rd epoch (the claim reads the last; the notebook
#: plots the curve): validating costs a pass over the 1000 test signals, training doesn't change.
VALIDATION_FREQ = 3
#: "Off" for the claim's models: a rate > 0 keeps all four models one architecture, so
#: ``fit_replicas`` trains them in one computation. 1e-6 is no dropout in effect: over the
#: whole run (1000 signals × 30 epochs × 4 blocks) it drops 0.1 branches and 8 units expected.
OFF = 1e-6
#: The four models, in ``fit_replicas``' order (its ``model`` column): keyword arguments of
#: ``modern_demos.residual_mlp``.
RESIDUAL_MODELS = {
    "none": {"drop_path": OFF, "dropout": OFF},
    "dropout 0.3": {"drop_path": OFF, "dropout": 0.3},
    "DropPath 0.3": {"drop_path": 0.3, "dropout": OFF},
    "DropPath 0.8 (every block)": {"drop_path": 0.8, "dropout": OFF, "schedule": "uniform"},
}
#: Pre-declared minimal effect (points): a regulariser is worth its cost when it raises test
#: accuracy by 2 points (20 of MNIST-1D's 1000 test signals), the flagship's minimal gain.
MIN_GAIN_POINTS = 2.0
#: "Memorises": final training accuracy (dropout on, as ``fit`` logs it) above this on every
#: seed (pilots: 99.6 % on average), so there is overfitting for a regulariser to fight.
MEMORISED = 0.95
#: DropPath must be active: it raises the final training loss (training mode) by more than
#: this on every seed (pilot: ≈ 0.45; without dropout the models are identical: 0).
ACTIVE_LOSS_RISE = 0.05
RESIDUAL_SIZING = (
    "pilot sets 1000 and 2000 (8 seeds each, the final protocol): DropPath 0.3 − none −0.7 "
    "and −0.3 points (sd 2.1, 1.7), dropout 0.3 − none −0.9 and −0.4 (sd 1.3, 1.7), control "
    "−11.1 and −10.3 (sd 1.6, 1.7); at 8 seeds the DropPath bound was only 1.3/1.5 SE from "
    "its threshold. power.n_for_margin(sd=1.9, distance=2 + 0.5) = 16 seeds. Pilot sets 0 "
    "and 60000-90000 at 16 seeds: the DropPath bound 3.9-7.4 SE below +2; the distance grows "
    "as √n, so 20 seeds put the worst of them at ≈ 4.7 SE."
)


def residual_models() -> list:
    """The four compiled residual MLPs of ``RESIDUAL_MODELS``, in order."""
    from dropoutcourse import modern_demos

    s = RESIDUAL
    return [
        modern_demos.residual_mlp(s["width"], s["n_blocks"], **kw)
        for kw in RESIDUAL_MODELS.values()
    ]


def droppath_experiment(seeds: list[int]) -> pd.DataFrame:
    """``fit_replicas`` history of the four models (column ``label`` names them)."""
    import dropoutcourse
    from dropoutcourse import data

    s = RESIDUAL
    d = data.load_mnist1d(train_size=s["train_size"], seed=data_seed(seeds))
    runs = dropoutcourse.fit_replicas(
        residual_models(),
        d.x_train,
        d.y_train,
        seeds=seeds,
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        validation_data=(d.x_test, d.y_test),
        validation_freq=VALIDATION_FREQ,
        verbose=False,
    )
    runs["label"] = np.asarray(list(RESIDUAL_MODELS))[runs["model"].to_numpy()]
    return runs


def droppath_decide(runs: pd.DataFrame):
    last = runs[runs["epoch"] == runs["epoch"].max()]
    acc = 100 * last.pivot(index="seed", columns="label", values="val_accuracy")
    loss = last.pivot(index="seed", columns="label", values="loss")
    labels = list(RESIDUAL_MODELS)
    none, drop, path, control = (acc[k] for k in labels)
    g_path = paired_difference(path, none)
    g_drop = paired_difference(drop, none)
    g_control = paired_difference(control, none)
    m = MIN_GAIN_POINTS
    checks = {
        f"without dropout the net memorises: training accuracy above {MEMORISED:g} on every "
        "seed": all_above(last[last["label"] == labels[0]]["accuracy"], MEMORISED),
        "dropout is active: DropPath raises the final training loss on every seed": (
            active_on_every_seed(loss[labels[2]] - loss[labels[0]], ACTIVE_LOSS_RISE)
        ),
        f"positive control: DropPath 0.8 on every block lowers test accuracy by more than "
        f"{m:g} points (95 % paired interval below −{m:g})": below(g_control, -m),
        f"DropPath 0.3 does not raise test accuracy by {m:g} points (95 % paired interval "
        f"below +{m:g})": below(g_path, m),
    }
    # plain dropout 0.3 is the comparison, shown, not claimed: on pilot set 0 its upper end
    # (+1.4) was only 1.4 SE below the 2 points, too close to call on a new seed set
    numbers = {
        **interval_numbers("gain_droppath", g_path),
        **interval_numbers("gain_dropout", g_drop),
        **interval_numbers("control_cost", g_control),
        "resolution": (g_path.hi - g_path.lo) / 2,
        "acc_none": none.mean(),
        "train_acc_none": 100 * last[last["label"] == labels[0]]["accuracy"].mean(),
        "min_gain": m,
        "n_seeds": int(len(acc)),
    }
    return checks, numbers


DROPPATH_SMALL_SCALE = Claim(
    name="droppath_small_scale",
    lecture=7,
    statement=(
        "On 1000 MNIST-1D signals a 4-block residual MLP memorises its training set, yet "
        "DropPath 0.3 does not raise its test accuracy by 2 points: at this scale "
        "stochastic depth does not detectably help. The same protocol detects the cost of "
        "too much DropPath (0.8 on every block). Plain dropout 0.3 is shown for "
        "comparison, not claimed."
    ),
    n_seeds=20,
    experiment=droppath_experiment,
    decide=droppath_decide,
    sizing=RESIDUAL_SIZING,
    headline=("gain_droppath", "gain_droppath_hi", "control_cost"),
)


# --------------------------------------------------------------------------- data size
#: The data-size setting of lecture 7 §5: a 40-128-128-10 MLP, Adam, batch 64, with and
#: without dropout 0.3, the same number of examples processed at every size.
DATA_SIZES = dict(sizes=(500, 4000, 20_000), hidden=(128, 128), rate=0.3, batch_size=64)
#: Epochs per size: 20 000 examples processed at every size (the largest set is seen once,
#: as in large-scale pretraining; the smallest 40 times).
SIZE_EPOCHS = {500: 40, 4000: 5, 20_000: 1}
#: Pre-declared minimal effect on the test loss (nats): 0.05 is 4 % of the plain net's test
#: loss on plenty of data (≈ 1.2 nats); a smaller change would not be worth a sentence.
MIN_LOSS_EFFECT = 0.05
DATA_SIZES_SIZING = (
    "pilot set 1000 (5 seeds, batch 32): test-loss reduction by dropout 0.62 nats (sd 0.04) "
    "at 500 signals, −0.22 (sd 0.02) at 20 000; accuracy gain +1.9 points (sd 1.7) at 500. "
    "Pilot set 2000 with the final protocol (batch 64): 0.36 (sd 0.04) and −0.23 (sd 0.02); "
    "every check ≥ 3.5 SE. power.n_for_margin(0.04, 0.36 − 0.05) = 2: the course's minimum "
    "of 5 seeds is plenty. The accuracy gain at 500 (+0.8, sd 1.8) would need ≈ 25 seeds, so "
    "it is reported, not claimed. "
    "The check that the accuracy gain shrinks with the data was per seed ('on every seed'); "
    "the confirmation sets 60000-90000 (now pilots) put it 2.1-4.0 SE clear, and a per-seed "
    "bound only gets harder with more seeds. It is now a paired interval of gain(500) − "
    "gain(20 000): on the five pilot sets (25 seeds) mean 9.1, sd 2.8 points, set means "
    "6.5-10.6. power.n_for_margin(2.8, 9.1, target_se=5.5) = 7; at the lowest set mean "
    "(6.5, sd 2.9) = 12. 10 seeds."
)


def data_size_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows per (size, model, seed) of ``fit_replicas``; ``model`` 1 = dropout."""
    import dropoutcourse
    from dropoutcourse import modern_demos

    s = DATA_SIZES
    frames = []
    for n in s["sizes"]:
        d = modern_demos.load_mnist1d_large(train_size=n, seed=data_seed(seeds))
        models = [
            modern_demos.mlp(s["hidden"]),
            modern_demos.mlp(s["hidden"], dropout=s["rate"]),
        ]
        runs = dropoutcourse.fit_replicas(
            models,
            d.x_train,
            d.y_train,
            seeds=seeds,
            epochs=SIZE_EPOCHS[n],
            batch_size=s["batch_size"],
            validation_data=(d.x_test, d.y_test),
            validation_freq=SIZE_EPOCHS[n],  # only the final numbers are read
            shared_start=True,  # paired by seed: the dropout network starts from the plain one's
            verbose=False,
        )
        frames.append(runs[runs["epoch"] == runs["epoch"].max()].assign(train_size=n))
    return pd.concat(frames, ignore_index=True)


def data_size_decide(final: pd.DataFrame):
    sizes = DATA_SIZES["sizes"]

    def table(metric: str, scale: float = 1.0) -> pd.DataFrame:
        return scale * final.pivot_table(
            index="seed", columns=["train_size", "model"], values=metric
        )

    acc, test_loss, loss = table("val_accuracy", 100), table("val_loss"), table("loss")
    # positive = dropout better: lower test loss, higher test accuracy
    helps = {n: paired_difference(test_loss[(n, 0)], test_loss[(n, 1)]) for n in sizes}
    gains = {n: paired_difference(acc[(n, 1)], acc[(n, 0)]) for n in sizes}
    small, big = min(sizes), max(sizes)
    shrink = paired_difference(acc[(small, 1)] - acc[(small, 0)], acc[(big, 1)] - acc[(big, 0)])
    m = MIN_LOSS_EFFECT
    checks = {
        f"dropout is active: it raises the training loss at {big} examples on every seed": (
            active_on_every_seed(loss[(big, 1)] - loss[(big, 0)], 0.01)
        ),
        f"at {small} examples dropout lowers the test loss by more than {m:g} nats (95 % "
        "paired interval)": exceeds(helps[small], m),
        f"at {big} examples (each seen once) dropout raises the test loss by more than {m:g} "
        "nats (95 % paired interval)": below(helps[big], -m),
        "the accuracy gain shrinks with the data: smaller at the largest size than at the "
        "smallest (95 % paired interval of the difference above 0)": exceeds(shrink, 0.0),
    }
    numbers = {}
    for n in sizes:
        numbers |= interval_numbers(f"loss_gain_{n}", helps[n])
        numbers |= interval_numbers(f"gain_{n}", gains[n])
        numbers[f"acc_none_{n}"] = acc[(n, 0)].mean()
        numbers[f"epochs_{n}"] = SIZE_EPOCHS[n]
    numbers |= interval_numbers("shrink", shrink)
    numbers |= {"min_loss_effect": m, "n_seeds": int(len(acc))}
    return checks, numbers


GAIN_VS_DATA_SIZE = Claim(
    name="gain_vs_data_size",
    lecture=7,
    statement=(
        "With the same number of examples processed, dropout 0.3 lowers the test loss of a "
        "40-128-128-10 MLP trained on 500 MNIST-1D signals (40 passes) but raises it on "
        "20 000 signals seen once each: dropout's effect crosses zero as the data grow."
    ),
    n_seeds=10,
    experiment=data_size_experiment,
    decide=data_size_decide,
    sizing=DATA_SIZES_SIZING,
    headline=("loss_gain_500", "loss_gain_20000", "gain_20000"),
)

#: This lecture's claims, in the order the course presents them (collected by
#: :mod:`dropoutcourse.claims.registry`; defining a claim registers nothing).
CLAIMS = (
    DROPPATH_SMALL_SCALE,
    GAIN_VS_DATA_SIZE,
)
