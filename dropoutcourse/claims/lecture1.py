"""Lecture 1 (overfitting): the flagship run, where a big net memorises and dropout clearly helps.

The flagship setting is shared by lectures 1-4 and their slides: MNIST-1D (real
classification signals, generated offline) with 1000 training examples, a 40-256-256-10 ReLU
MLP that is far bigger than the data need, SGD (lr 0.01, momentum 0.9, batch 32), 60 epochs;
"no dropout" vs hidden dropout 0.5, paired by seed (same initial weights and data order:
``fit_replica_models(shared_start=...)`` through ``experiments.compare``).
"""

from __future__ import annotations

import pandas as pd

from dropoutcourse.claims.core import Claim
from dropoutcourse.claims.rules import (
    all_above,
    all_below,
    below,
    dropout_changes,
    exceeds,
    interval_numbers,
)
from dropoutcourse.claims.seedsets import data_seed
from dropoutcourse.stats import paired_difference

#: The flagship setting (one definition for notebooks, slides and tests). Why 256 units and
#: not fewer: at 128 units these claims train three times faster, but dropout 0.5 gains only
#: 2.6-6.4 points, and the flagship's pre-declared 2-point rule failed on a fresh seed set
#: (benchmarks/README.md, "A narrower flagship network, tried and not adopted").
FLAGSHIP = dict(train_size=1000, hidden=(256, 256), epochs=60, learning_rate=0.01, eval_every=3)
#: Pre-declared minimal effect: dropout must raise test accuracy by more than this (points).
#: Why 2: below two points on a 10-class task a practitioner would not pay dropout's slower
#: training for it (MNIST-1D's test set is 1000 signals, so 2 points = 20 signals).
MIN_GAIN_POINTS = 2.0
#: Seeds: pilot sets 0/1000 (5 seeds): gain 3.4/4.2 SE above 2 points, "trains more slowly"
#: only 1.9/1.4 SE above 0 (plateau-epoch difference / SE ≈ 4.2-4.7). Scaling by √n, 10 seeds
#: put the weakest check ≥ 3.3 SE from its threshold (power.n_for_margin).
FLAGSHIP_N_SEEDS = 10


def flagship_experiment(seeds: list[int]) -> pd.DataFrame:
    """Per-epoch history of both settings on every seed (``experiments.compare``)."""
    from dropoutcourse import data, experiments

    s = dict(FLAGSHIP)
    mnist1d = data.load_mnist1d(train_size=s.pop("train_size"), seed=data_seed(seeds))
    return experiments.compare(mnist1d, seeds=seeds, **s)


def _epochs_to_plateau(history: pd.DataFrame, tolerance: float = 0.01) -> pd.Series:
    """Per seed: first epoch whose test accuracy is within ``tolerance`` of the run's final one."""

    def first(g: pd.DataFrame) -> int:
        g = g.sort_values("epoch")
        final = g["test_acc"].iloc[-1]
        return int(g.loc[g["test_acc"] >= final - tolerance, "epoch"].iloc[0])

    return history.groupby("seed")[["epoch", "test_acc"]].apply(first)


def _loss_curves(history: pd.DataFrame) -> pd.DataFrame:
    """Test loss of the run without dropout: epochs (rows) × seeds (columns)."""
    none = history[history["label"] == "no dropout"]
    return none.pivot(index="epoch", columns="seed", values="test_loss")


def flagship_decide(history: pd.DataFrame):
    last = history[history["epoch"] == history["epoch"].max()].set_index(["label", "seed"])
    no, do = last.loc["no dropout"], last.loc["dropout 0.5"]
    gain = paired_difference(100 * do["test_acc"], 100 * no["test_acc"])
    loss = paired_difference(do["test_loss"], no["test_loss"])
    curves = _loss_curves(history)
    curve = curves.mean(axis=1)
    epochs = int(history["epoch"].max())
    rise = paired_difference(curves.iloc[-1] / curves.min())
    slower = paired_difference(
        _epochs_to_plateau(history[history["label"] == "dropout 0.5"]),
        _epochs_to_plateau(history[history["label"] == "no dropout"]),
    )
    # without dropout both arms are the same network: their final training losses agree to
    # 4e-5 (float reordering); with dropout they differ by ≥ 0.37 on every pilot
    # and confirmation seed, so 1e-3 separates the two cases with room to spare
    changed = (do["train_loss"] - no["train_loss"]).abs()
    checks = {
        "dropout is active: the dropout run's final training loss differs from the plain run's "
        "on every seed (by more than 0.001; the same run without dropout)": dropout_changes(
            changed, tolerance=1e-3
        ),
        "without dropout the net memorises: train accuracy above 0.99 on every seed": all_above(
            no["train_acc"], 0.99
        ),
        "without dropout the test loss is lowest in the first half of training, on every "
        "seed": all_below(curves.idxmin(), epochs / 2),
        "without dropout the final test loss is more than 20 % above that minimum "
        "(95 % interval of the per-seed ratio)": exceeds(rise, 1.2),
        f"dropout 0.5 raises test accuracy by more than {MIN_GAIN_POINTS:g} points "
        "(95 % paired interval)": exceeds(gain, MIN_GAIN_POINTS),
        "dropout 0.5 lowers the final test loss (95 % paired interval below 0)": below(loss, 0.0),
        "dropout trains more slowly: it needs more epochs to reach its final test accuracy": (
            exceeds(slower, 0.0)
        ),
    }
    numbers = {
        "acc_none": 100 * no["test_acc"].mean(),
        "acc_dropout": 100 * do["test_acc"].mean(),
        **interval_numbers("gain", gain),
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


FLAGSHIP_CLAIM = Claim(
    name="flagship",
    lecture=1,
    statement=(
        "A network much bigger than its 1000 training signals memorises them and its test "
        "loss rises after a few epochs; hidden dropout 0.5 raises its test accuracy by "
        "several points on every seed, and it trains more slowly."
    ),
    n_seeds=FLAGSHIP_N_SEEDS,
    experiment=flagship_experiment,
    decide=flagship_decide,
    headline=("acc_none", "acc_dropout", "gain", "gain_lo", "gain_hi", "gain_min"),
)


#: Small vs large training set, the same number of parameter updates; without dropout, and
#: with hidden dropout 0.5 (which must narrow the small-data gap: the claim is about dropout's
#: problem, and the arm makes the claim fail when dropout is switched off).
DATA_SIZE = dict(
    sizes=(250, 4000), rates=(0.0, 0.5), hidden=(256, 256), updates=1000, learning_rate=0.01
)
#: Minimal effects (points). 10: a gap shrink smaller than that would not make "more data"
#: the first remedy. 1: dropout must narrow the small-data gap by at least a point (10 of the
#: 1000 test signals) to count as narrowing it. Pilot set 0 (5 seeds): shrink 55.8 (> 90 SE),
#: narrowing 3.2 points (sd 0.84), only 3.1 SE above 1 point. Seeds: power.n_for_margin with
#: a pessimistic pilot (sd × 1.3, mean − 0.3 points: sd 1.1, distance 1.9) = 10. Pilot sets
#: 0-90000 at 10 seeds: the narrowing 3.5-13.9 SE above 1 point, below 4 SE on two of ten;
#: the distance grows as √n, so 14 seeds put the worst of them at ≈ 4.7 SE.
MIN_SHRINK_POINTS, MIN_NARROWING_POINTS = 10.0, 1.0
DATA_SIZE_N_SEEDS = 14


def data_size_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows of the flagship network without dropout trained on 250 vs 4000 signals."""
    from dropoutcourse import data, experiments

    s = dict(DATA_SIZE)
    mnist1d = data.load_mnist1d(train_size=max(s["sizes"]), seed=data_seed(seeds))
    return experiments.data_size_sweep(
        sizes=s["sizes"],
        rates=s["rates"],
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
    plain = final[final["hidden_rate"] == 0.0]
    by = plain.pivot(index="seed", columns="train_size", values="gap")
    acc = plain.pivot(index="seed", columns="train_size", values="test_acc") * 100
    with_dropout = final[final["hidden_rate"] > 0].pivot(
        index="seed", columns="train_size", values="gap"
    )
    shrink = paired_difference(by[small_n], by[large_n])
    narrowing = paired_difference(by[small_n], with_dropout[small_n])
    checks = {
        f"the train − test accuracy gap is larger with {small_n} than with {large_n} examples "
        f"by more than {MIN_SHRINK_POINTS:g} points (95 % paired interval)": exceeds(
            shrink, MIN_SHRINK_POINTS
        ),
        f"dropout 0.5 narrows the gap at {small_n} examples by more than "
        f"{MIN_NARROWING_POINTS:g} points (95 % paired interval)": exceeds(
            narrowing, MIN_NARROWING_POINTS
        ),
    }
    numbers = {
        "gap_small": by[small_n].mean(),
        "gap_large": by[large_n].mean(),
        **interval_numbers("gap_drop", shrink),
        "gap_small_dropout": with_dropout[small_n].mean(),
        **interval_numbers("dropout_narrowing", narrowing),
        "acc_small": acc[small_n].mean(),
        "acc_large": acc[large_n].mean(),
        "small_n": small_n,
        "large_n": large_n,
        "updates": DATA_SIZE["updates"],
        "n_seeds": int(len(by)),
    }
    return checks, numbers


OVERFITTING_NEEDS_SMALL_DATA = Claim(
    name="overfitting_needs_small_data",
    lecture=1,
    statement=(
        "Overfitting is a small-data problem: with the same network and the same number of "
        "updates, 16 times more training signals shrink the train − test gap sharply; "
        "hidden dropout 0.5 narrows the small-data gap too."
    ),
    n_seeds=DATA_SIZE_N_SEEDS,
    experiment=data_size_experiment,
    decide=data_size_decide,
)

#: This lecture's claims, in the order the course presents them (collected by
#: :mod:`dropoutcourse.claims.registry`; defining a claim registers nothing).
CLAIMS = (
    FLAGSHIP_CLAIM,
    OVERFITTING_NEEDS_SMALL_DATA,
)
