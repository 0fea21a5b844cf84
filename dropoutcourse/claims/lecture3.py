"""Lecture 3 (dropout in Keras): the practical tips, measured on 300 digits.

Digits (8×8, 64 inputs) are small enough to sweep in seconds, and they are the honest
counterpart of lecture 1's flagship: a task where a plain network already generalises well
(≈ 93 %), so dropout's gain is small. Every claim pairs runs by seed (same initial weights
and data order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dropoutcourse.claims.core import Claim, register
from dropoutcourse.stats import exceeds, paired_difference, within

#: The digits setting of lecture 3 §4-5: 300 training digits, 64-128-128-10, SGD, 30 epochs.
DIGITS = dict(train_size=300, units=128, epochs=30)
RATES = (0.0, 0.25, 0.5, 0.75)
MAX_NORMS = (1.0, 2.0, 3.0, 4.0)
#: Ten seeds for the digits sweeps (they take seconds): with five, the positive control's
#: interval (rate 0.75 worse than 0.5) came within 0.1 point of 0 on one seed set.
#: Non-inferiority margin (points): dropout may not cost more than this on digits. The
#: seed-to-seed sd of paired accuracy differences is about 0.5 points. The rule uses the lower
#: end of the two-sided 95 % interval, i.e. a one-sided test at 2.5 %.
PLATEAU_MARGIN_POINTS = 1.0


def _digits():
    from dropoutcourse import data

    return data.load_digits(train_size=DIGITS["train_size"], seed=0)


def _points(final: pd.DataFrame, column: str, metric: str = "test_acc") -> pd.DataFrame:
    return 100 * final.pivot(index="seed", columns=column, values=metric)


# ----------------------------------------------------------------------------- rate plateau
def rate_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows of the hidden-rate sweep (``experiments.rate_sweep``, width fixed)."""
    from dropoutcourse import experiments

    return experiments.rate_sweep(
        rates=RATES,
        seeds=seeds,
        epochs=DIGITS["epochs"],
        base_units=DIGITS["units"],
        data=_digits(),
    )


def rate_decide(sweep: pd.DataFrame):
    acc = _points(sweep, "hidden_rate")
    half = paired_difference(acc[0.5], acc[0.0])
    quarter = paired_difference(acc[0.25], acc[0.0])
    too_much = paired_difference(acc[0.5], acc[0.75])
    m = PLATEAU_MARGIN_POINTS
    checks = {
        f"rate 0.25 costs less than {m:g} point against no dropout (95 % paired interval)": (
            quarter.lo > -m
        ),
        f"rate 0.5 costs less than {m:g} point against no dropout (95 % paired interval)": (
            half.lo > -m
        ),
        "positive control: rate 0.75 is worse than rate 0.5 (95 % paired interval)": exceeds(
            too_much, 0.0
        ),
    }
    numbers = {f"acc_{round(100 * r):02d}": acc[r].mean() for r in RATES}  # acc_00 … acc_75
    numbers |= {
        "gain_half": half.mean,
        "gain_half_lo": half.lo,
        "gain_half_hi": half.hi,
        "cost_075": too_much.mean,
        "cost_075_lo": too_much.lo,
        "sd_no_dropout": float(acc[0.0].std()),
    }
    return checks, numbers


RATE_PLATEAU = register(
    Claim(
        name="rate_plateau",
        lecture=3,
        statement=(
            "On 300 digits, hidden rates 0.25 and 0.5 cost at most one point against no "
            "dropout (non-inferiority), while 0.75 is clearly worse: a plateau, then a cliff."
        ),
        n_seeds=10,
        experiment=rate_experiment,
        decide=rate_decide,
        headline=("gain_half", "gain_half_lo", "cost_075_lo"),
    )
)


# ----------------------------------------------------------------------------- big steps
#: The "fast" optimiser of the tips: momentum 0.99 (a 10× effective step at lr 0.01).
FAST_MOMENTUM = 0.99


def tips_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows: dropout 0.5 with momentum 0.9 (plain) and with 0.99 and max-norm c or none."""
    from dropoutcourse import experiments

    digits = _digits()
    hidden = (DIGITS["units"],) * 2
    variants = {"m=0.99, no max-norm": {"hidden_rate": 0.5}}
    variants |= {f"m=0.99, max-norm {c:g}": {"hidden_rate": 0.5, "max_norm": c} for c in MAX_NORMS}
    plain = experiments.compare(
        data=digits,
        variants={"m=0.9, no max-norm": {"hidden_rate": 0.5}},
        seeds=seeds,
        epochs=DIGITS["epochs"],
        hidden=hidden,
    )
    fast = experiments.compare(
        data=digits,
        variants=variants,
        seeds=seeds,
        epochs=DIGITS["epochs"],
        hidden=hidden,
        momentum=FAST_MOMENTUM,
    )
    both = pd.concat([plain, fast], ignore_index=True)
    return both[both["epoch"] == both["epoch"].max()].rename(columns={"label": "setting"})


def tips_decide(final: pd.DataFrame):
    acc = _points(final, "setting")
    plain, bare = acc["m=0.9, no max-norm"], acc["m=0.99, no max-norm"]
    c1, c3 = acc["m=0.99, max-norm 1"], acc["m=0.99, max-norm 3"]
    hurt = paired_difference(plain, bare)
    rescued = paired_difference(c1, bare)
    right_c = paired_difference(c1, c3)
    fast = acc.drop(columns="m=0.9, no max-norm")
    best = fast.mean().idxmax()
    vs_plain = paired_difference(fast[best], plain)
    checks = {
        "without max-norm the 10x step costs more than 3 points (95 % paired interval)": exceeds(
            hurt, 3.0
        ),
        "max-norm c = 1 repairs it: more than 3 points above no constraint": exceeds(rescued, 3.0),
        "the value of c decides: c = 1 is more than 3 points above c = 3": exceeds(right_c, 3.0),
        "no fast setting beats the plain momentum 0.9 one by more than 1 point "
        "(95 % paired interval)": vs_plain.hi < 1.0,
    }
    numbers = {f"acc_c{c:g}": acc[f"m=0.99, max-norm {c:g}"].mean() for c in MAX_NORMS}  # acc_c1 …
    numbers |= {
        "acc_plain": plain.mean(),
        "acc_fast_bare": bare.mean(),
        "cost_fast": hurt.mean,
        "cost_fast_lo": hurt.lo,
        "rescue_c1": rescued.mean,
        "best_vs_plain": vs_plain.mean,
        "best_vs_plain_hi": vs_plain.hi,
        "momentum": FAST_MOMENTUM,
    }
    return checks, numbers


BIG_STEPS_NEED_MAX_NORM = register(
    Claim(
        name="big_steps_need_max_norm",
        lecture=3,
        statement=(
            "With a 10x effective step (momentum 0.99) a dropout network trains badly unless "
            "max-norm is tight (c = 1 here, not the recommended 3-4); even then it is no better "
            "than the plain optimiser."
        ),
        n_seeds=10,
        experiment=tips_experiment,
        decide=tips_decide,
    )
)


# ----------------------------------------------------------------------------- data size
DIGIT_SIZES = dict(sizes=(50, 200, 800), updates=300)
#: Equivalence margin (points) for "dropout's gain on digits is small at every size". On
#: digits the seed-to-seed sd of the gain is about one point at 50 examples (so with 5 seeds a
#: 90 % interval is about ±1 point wide); 3 points is about half of the plain network's error
#: (≈ 7 %) and less than half of the flagship's gain on MNIST-1D (more than 5 points on every
#: seed set): a gain that large would be a clear effect.
SMALL_GAIN_MARGIN_POINTS = 3.0


def digit_sizes_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows with and without dropout 0.5 on the first 50, 200 and 800 digits."""
    from dropoutcourse import experiments

    return experiments.data_size_sweep(
        sizes=DIGIT_SIZES["sizes"],
        seeds=seeds,
        updates=DIGIT_SIZES["updates"],
        hidden=(DIGITS["units"],) * 2,
    )


def digit_sizes_decide(final: pd.DataFrame):
    from dropoutcourse import experiments

    sizes = DIGIT_SIZES["sizes"]
    gain = experiments.dropout_gain(final, by="train_size")
    gain = 100 * gain.pivot(index="seed", columns="train_size", values="gain")
    loss = final.pivot_table(
        index="seed", columns=["train_size", "hidden_rate"], values="train_loss"
    )
    diffs = {n: paired_difference(gain[n], confidence=0.90) for n in sizes}
    biggest = max(sizes)
    active = paired_difference(loss[(biggest, 0.5)], loss[(biggest, 0.0)])
    m = SMALL_GAIN_MARGIN_POINTS
    checks = {
        f"positive control: dropout is active (it raises the training loss at {biggest} "
        "examples, 95 % paired interval)": exceeds(active, 0.0),
    }
    checks |= {
        f"the gain at {n} examples lies within ±{m:g} points (90 % interval, TOST)": within(
            diffs[n], m
        )
        for n in sizes
    }
    numbers = {f"gain_{n}": diffs[n].mean for n in sizes}
    numbers |= {f"gain_{n}_lo": diffs[n].lo for n in sizes}
    numbers |= {f"gain_{n}_hi": diffs[n].hi for n in sizes}
    numbers |= {
        "largest_at_smallest": float(np.argmax([diffs[n].mean for n in sizes]) == 0),
        "updates": DIGIT_SIZES["updates"],
    }
    return checks, numbers


DIGITS_GAIN_IS_SMALL = register(
    Claim(
        name="digits_gain_is_small",
        lecture=3,
        statement=(
            "On 8x8 digits dropout 0.5 changes test accuracy by less than three points at "
            "every training-set size from 50 to 800, although it is active (it raises the "
            "training loss)."
        ),
        n_seeds=5,
        experiment=digit_sizes_experiment,
        decide=digit_sizes_decide,
        headline=("gain_50", "gain_200", "gain_800"),
    )
)


# ----------------------------------------------------------------------------- k-fold
#: The shrunk protocol of lecture 3 §7 (the tutorial's is 10 folds × 300 epochs, batch 16).
KFOLD = dict(folds=5, epochs=5, batch_size=32)
KFOLD_SEED = 7  # the tutorial's seed; a seed set with offset N uses 7 + N


def kfold_experiment(seeds: list[int]) -> pd.DataFrame:
    """Fold scores of the tutorial's three models and the two controls (same folds)."""
    from dropoutcourse import experiments

    return experiments.keras_tutorial_cv(**KFOLD, seed=KFOLD_SEED + seeds[0], controls=True)


def kfold_decide(scores: pd.DataFrame):
    from dropoutcourse.experiments import KERAS_TUTORIAL_CONTROLS

    control, positive = KERAS_TUTORIAL_CONTROLS
    acc = 100 * scores.pivot(index="fold", columns="model", values="accuracy")
    ratio = 1 / (KFOLD["folds"] - 1)  # Nadeau-Bengio: k-fold training sets overlap

    def vs(a, b):
        return paired_difference(a, b, test_train_ratio=ratio)

    dropout = (acc["visible"] + acc["hidden"]) / 2
    rows = {
        "dropout_vs_baseline": vs(dropout, acc["baseline"]),
        "control_vs_baseline": vs(acc[control], acc["baseline"]),
        "dropout_vs_control": vs(dropout, acc[control]),
        "positive_vs_baseline": vs(acc["baseline"], acc[positive]),
    }
    d = rows["dropout_vs_control"]
    # the smallest difference this protocol could have detected: the interval's half-width
    detectable = (d.hi - d.lo) / 2
    checks = {
        "positive control: the protocol detects a too-small learning rate "
        "(corrected 95 % interval above 0)": exceeds(rows["positive_vs_baseline"], 0.0),
        "against the baseline with the same optimiser, dropout's difference is not "
        "detectable (corrected 95 % interval contains 0)": d.lo < 0 < d.hi,
    }
    numbers = {f"acc_{name}": acc[name].mean() for name in ("baseline", "visible", "hidden")}
    numbers |= {"acc_control": acc[control].mean(), "acc_positive": acc[positive].mean()}
    for key, diff in rows.items():
        numbers |= {key: diff.mean, f"{key}_lo": diff.lo, f"{key}_hi": diff.hi}
    numbers |= {"detectable": detectable, "folds": KFOLD["folds"], "epochs": KFOLD["epochs"]}
    return checks, numbers


KERAS_TUTORIAL_KFOLD = register(
    Claim(
        name="keras_tutorial_kfold",
        lecture=3,
        statement=(
            "The Keras tutorial's k-fold comparison changes dropout and a 10x learning rate at "
            "once; against a baseline with the same optimiser, dropout's difference is not "
            "detectable with 5 folds, although the protocol does detect a real difference."
        ),
        n_seeds=1,
        experiment=kfold_experiment,
        decide=kfold_decide,
        headline=(
            "dropout_vs_control",
            "dropout_vs_control_lo",
            "dropout_vs_control_hi",
            "positive_vs_baseline_lo",
        ),
        replication="folds",
    )
)
