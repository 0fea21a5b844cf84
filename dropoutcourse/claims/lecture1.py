"""Lecture 1 (overfitting): the flagship run, where a big net memorises and dropout clearly helps.

The flagship setting is shared by lectures 1-4 and their slides: MNIST-1D (real
classification signals, generated offline) with 1000 training examples, a 40-256-256-10 ReLU
MLP that is far bigger than the data need, SGD (lr 0.01, momentum 0.9, batch 32), 60 epochs;
"no dropout" vs hidden dropout 0.5, paired by seed (same initial weights and data order).
"""

from __future__ import annotations

import pandas as pd

from dropoutcourse.claims.core import Claim, register
from dropoutcourse.stats import exceeds, paired_difference

#: The flagship setting (one definition for notebooks, slides and tests).
FLAGSHIP = dict(train_size=1000, hidden=(256, 256), epochs=60, learning_rate=0.01, eval_every=3)
#: Pre-declared minimal effect: dropout must raise test accuracy by more than this (points).
MIN_GAIN_POINTS = 2.0


def flagship_experiment(seeds: list[int]) -> pd.DataFrame:
    """Per-epoch history of both settings on every seed (``experiments.compare``)."""
    from dropoutcourse import data, experiments

    s = dict(FLAGSHIP)
    mnist1d = data.load_mnist1d(train_size=s.pop("train_size"), seed=0)
    return experiments.compare(mnist1d, seeds=seeds, **s)


def _epochs_to_plateau(history: pd.DataFrame, tolerance: float = 0.01) -> pd.Series:
    """Per seed: first epoch whose test accuracy is within ``tolerance`` of the run's final one."""

    def first(g: pd.DataFrame) -> int:
        g = g.sort_values("epoch")
        final = g["test_acc"].iloc[-1]
        return int(g.loc[g["test_acc"] >= final - tolerance, "epoch"].iloc[0])

    return history.groupby("seed")[["epoch", "test_acc"]].apply(first)


def flagship_decide(history: pd.DataFrame):
    last = history[history["epoch"] == history["epoch"].max()].set_index(["label", "seed"])
    no, do = last.loc["no dropout"], last.loc["dropout 0.5"]
    gain = paired_difference(100 * do["test_acc"], 100 * no["test_acc"])
    loss = paired_difference(do["test_loss"], no["test_loss"])
    curve = history[history["label"] == "no dropout"].groupby("epoch")["test_loss"].mean()
    epochs = int(history["epoch"].max())
    slower = paired_difference(
        _epochs_to_plateau(history[history["label"] == "dropout 0.5"]),
        _epochs_to_plateau(history[history["label"] == "no dropout"]),
    )
    checks = {
        "without dropout the net memorises: train accuracy >= 0.99 on every seed": (
            no["train_acc"].min() >= 0.99
        ),
        "without dropout the test loss is lowest in the first half of training and ends "
        ">= 20 % above that minimum": (
            curve.idxmin() <= epochs / 2 and curve.iloc[-1] > 1.2 * curve.min()
        ),
        f"dropout 0.5 raises test accuracy by more than {MIN_GAIN_POINTS:g} points "
        "(95 % paired interval)": exceeds(gain, MIN_GAIN_POINTS),
        "dropout 0.5 lowers the final test loss (95 % paired interval below 0)": loss.hi < 0,
        "dropout trains more slowly: it needs more epochs to reach its final test accuracy": (
            exceeds(slower, 0.0)
        ),
    }
    numbers = {
        "acc_none": 100 * no["test_acc"].mean(),
        "acc_dropout": 100 * do["test_acc"].mean(),
        "gain": gain.mean,
        "gain_lo": gain.lo,
        "gain_hi": gain.hi,
        "gain_min": gain.min,
        "gain_max": gain.max,
        "train_acc_none": 100 * no["train_acc"].mean(),
        "train_acc_dropout": 100 * do["train_acc"].mean(),
        "loss_none": no["test_loss"].mean(),
        "loss_dropout": do["test_loss"].mean(),
        "best_epoch_none": int(curve.idxmin()),
        "loss_rise": curve.iloc[-1] / curve.min(),
        "plateau_epoch_none": _epochs_to_plateau(history[history["label"] == "no dropout"]).mean(),
        "plateau_epoch_dropout": _epochs_to_plateau(
            history[history["label"] == "dropout 0.5"]
        ).mean(),
        "epochs": epochs,
        "n_seeds": int(len(no)),
    }
    return checks, numbers


FLAGSHIP_CLAIM = register(
    Claim(
        name="flagship",
        lecture=1,
        statement=(
            "A network much bigger than its 1000 training signals memorises them and its test "
            "loss rises after a few epochs; hidden dropout 0.5 raises its test accuracy by "
            "several points on every seed, and it trains more slowly."
        ),
        n_seeds=5,
        experiment=flagship_experiment,
        decide=flagship_decide,
        headline=("acc_none", "acc_dropout", "gain", "gain_lo", "gain_hi", "gain_min"),
    )
)


#: Small vs large training set, no dropout, the same number of parameter updates.
DATA_SIZE = dict(sizes=(250, 4000), hidden=(256, 256), updates=1000, learning_rate=0.01)


def data_size_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows of the flagship network without dropout trained on 250 vs 4000 signals."""
    from dropoutcourse import data, experiments

    s = dict(DATA_SIZE)
    mnist1d = data.load_mnist1d(train_size=max(s["sizes"]), seed=0)
    return experiments.data_size_sweep(
        sizes=s["sizes"],
        rates=(0.0,),
        seeds=seeds,
        hidden=s["hidden"],
        updates=s["updates"],
        max_epochs=10_000,
        data=mnist1d,
        learning_rate=s["learning_rate"],
    )


def data_size_decide(final: pd.DataFrame):
    small_n, large_n = DATA_SIZE["sizes"]
    final = final.assign(gap=100 * (final["train_acc"] - final["test_acc"]))
    by = final.pivot(index="seed", columns="train_size", values="gap")
    acc = final.pivot(index="seed", columns="train_size", values="test_acc") * 100
    shrink = paired_difference(by[small_n], by[large_n])
    checks = {
        f"the train − test accuracy gap is larger with {small_n} than with {large_n} examples "
        "by more than 10 points (95 % paired interval)": exceeds(shrink, 10.0),
    }
    numbers = {
        "gap_small": by[small_n].mean(),
        "gap_large": by[large_n].mean(),
        "gap_drop": shrink.mean,
        "gap_drop_lo": shrink.lo,
        "acc_small": acc[small_n].mean(),
        "acc_large": acc[large_n].mean(),
        "small_n": small_n,
        "large_n": large_n,
        "updates": DATA_SIZE["updates"],
    }
    return checks, numbers


OVERFITTING_NEEDS_SMALL_DATA = register(
    Claim(
        name="overfitting_needs_small_data",
        lecture=1,
        statement=(
            "Overfitting is a small-data problem: with the same network and the same number of "
            "updates, 16 times more training signals shrink the train − test gap sharply."
        ),
        n_seeds=5,
        experiment=data_size_experiment,
        decide=data_size_decide,
    )
)
