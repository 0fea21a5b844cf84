"""Lecture 4 (Gaussian dropout and regularisation): a regulariser table on the flagship setting.

The same task, network and optimiser as lecture 1's flagship (MNIST-1D, 1000 training
signals, 40-256-256-10, SGD lr 0.01 momentum 0.9, 60 epochs, batches of 32), so that lectures
1 and 4 show one effect. Every regulariser of the lecture is a Keras model
(:func:`dropoutcourse.models.mlp`: the network the notebook's ``build`` writes by hand) trained as
:func:`dropoutcourse.fit_replica_models` replicas, paired by seed: a seed's replicas of every
setting see the same shuffles, and settings with the same layers start from the same weights.
"""

from __future__ import annotations

import pandas as pd

from dropoutcourse.claims.core import Claim
from dropoutcourse.claims.lecture1 import FLAGSHIP, MIN_GAIN_POINTS
from dropoutcourse.claims.rules import (
    all_above,
    all_of,
    below,
    by_construction,
    exceeds,
    interval_numbers,
    within,
)
from dropoutcourse.claims.seedsets import data_seed
from dropoutcourse.stats import paired_difference

#: The arms of the lecture-4 comparison, label → :func:`dropoutcourse.models.mlp` arguments
#: (not :data:`dropoutcourse.experiments.REGULARIZERS`, the paper's Table 9 in miniature). The
#: L2 strengths bracket the best one (on both metrics).
ARMS: dict[str, dict] = {
    "none": {},
    "rate 0.2": {"hidden_rate": 0.2},
    "dropout 0.5": {"hidden_rate": 0.5},
    "rate 0.8": {"hidden_rate": 0.8},
    "gaussian 0.5": {"hidden_rate": 0.5, "kind": "gaussian"},
    "L2 1e-3": {"l2": 1e-3},
    "L2 3e-3": {"l2": 3e-3},
    "L2 1e-2": {"l2": 1e-2},
    "L2 3e-2": {"l2": 3e-2},
    "max-norm 1": {"max_norm": 1.0},
    "dropout 0.5 + max-norm 1": {"hidden_rate": 0.5, "max_norm": 1.0},
}
#: The arms of the Gaussian-vs-Bernoulli equivalence and of dropout's gain: trained on every
#: seed of the claim. The other eight arms (rate sweep, L2 sweep, max-norm) train on the first
#: ``SWEEP_N_SEEDS`` seeds only: their checks are far from their thresholds (below).
CORE_ARMS = ("none", "dropout 0.5", "gaussian 0.5")
L2_LABELS = [label for label in ARMS if label.startswith("L2")]
RATE_LABELS = ["none", "rate 0.2", "dropout 0.5", "rate 0.8"]
#: Equivalence margin (points) for "the same result" (Gaussian vs Bernoulli dropout, dropout
#: with and without max-norm). A constant, fixed before the confirmation runs: the margin
#: used to be a third of the same run's lower gain bound, so a noisier run got a wider margin.
#: Why 2.5: a third of dropout's ≈ 7-point gain on this task; a practitioner choosing between
#: the two noises, or adding max-norm, would not act on less.
SAME_MARGIN_POINTS = 2.5
REGULARISER_N_SEEDS = 30
SWEEP_N_SEEDS = 10
REGULARISER_SIZING = (
    "pilot sets 0/1000 (5 seeds): sd of paired differences Gaussian − Bernoulli and max-norm "
    "vs none ≈ 1.0-1.3 points, means within ±0.4; pilot set 0 with 8 seeds: Gaussian − "
    "Bernoulli sd 1.43 (one seed at −3.3), TOST only 2.9 SE inside ±2.5. Sized on that: "
    "power.n_for_margin(1.43, 2.5 − 0.4, confidence=0.90) = 11. "
    "Positive control on the same metric and protocol: dropout 0.2 vs none (pilot means "
    "4.5-5.5 points, about twice the margin; lower 95 % ends 3.3-4.7 on pilot sets 0 and "
    "20000-50000). Dropout's lead over the best L2 (chosen on the test set) was the control "
    "until pilot set 30000 put its lower end at +0.17: a selected maximum is too noisy to "
    "test, so it is reported, not claimed. "
    "Resized after the confirmation sets 60000-90000 (now pilots) put the TOST 1.3-5.2 SE "
    "inside ±2.5: on all nine pilot sets at 11 seeds (99 seeds) Gaussian − Bernoulli has mean "
    "−0.07, sd 1.39 points (set sds 0.76-2.33); the expected TOST distance is 4.0 SE at 11 "
    "seeds and 6.1 SE at 20 (power.n_for_margin(1.39, 2.5 − 0.07, target_se=5.5, "
    "confidence=0.90) = 18; 20 for the spread of the set sds). "
    "Resized again after the confirmation sets 100000-130000 (now pilots): at 20 seeds set "
    "120000 had Gaussian − Bernoulli −0.84 (sd 1.65), its TOST only 2.8 SE inside ±2.5; the "
    "five set means (−0.84 … +0.23) scatter as 20-seed means of sd ≈ 1.5 should. "
    "power.n_for_margin(1.5, 2.5 − 0.84, confidence=0.90) = 19 for a set mean that far out; "
    "30 seeds for the spread of the set sds. "
    "The sweep arms went down to 10 seeds (170 networks instead of 330, half the training) "
    "after the confirmation sets 140000-170000 (now pilots), where at 30 seeds their checks "
    "were at least 8.5 SE (max-norm TOST), 14.8 SE (positive control) and 40 SE (test loss) "
    "inside their thresholds: an interval √3 wider with t(9) instead of t(29) puts the "
    "smallest at ≈ 4 SE; the per-seed check (5.4-10.4 SE) does not depend on the seed count. "
    "Moved from the hand-written engine to fit_replica_models replicas of Keras models "
    "(2026-12-07), with the rule, margins and seed counts unchanged: it held on set 0 (7.1 SE), "
    "on the confirmation sets 180000-210000 (5.0-7.1 SE; 4.5-6.6 SE on the engine) and on "
    "610000 and 620000 (6.5 and 4.3 SE), the first run of each set on the new trainer."
)


def arm_model(label: str, n_features: int = 40, n_classes: int = 10):
    """The Keras model of arm ``label`` (:data:`ARMS`): the flagship MLP, compiled, with
    unseeded layers (each replica's initial weights and masks come from its seed)."""
    from dropoutcourse import models

    s = FLAGSHIP
    return models.mlp(
        n_features,
        n_classes,
        hidden=s["hidden"],
        learning_rate=s["learning_rate"],
        seed=None,
        **ARMS[label],
    )


def _final_rows(fitted, labels, mnist1d) -> pd.DataFrame:
    """One row per (arm, seed): its settings, then its scores on the training and the test set
    in inference mode (dropout off), after the last epoch."""
    from dropoutcourse.variant_fit import final_scores

    settings = pd.DataFrame(
        [
            {
                "label": label,
                "hidden_rate": ARMS[label].get("hidden_rate", 0.0),
                "l2": ARMS[label].get("l2", 0.0),
                "max_norm": ARMS[label].get("max_norm"),
                "gaussian": ARMS[label].get("kind") == "gaussian",
                "epoch": FLAGSHIP["epochs"],
            }
            for label in labels
        ]
    )
    return settings.merge(final_scores(fitted, mnist1d, labels), on="label")


def regulariser_experiment(seeds: list[int]) -> pd.DataFrame:
    """Final rows of every regulariser × seed: the core arms on every seed and the sweep arms
    on the first ``SWEEP_N_SEEDS``, each group in one ``fit_replica_models`` run."""
    import dropoutcourse
    from dropoutcourse import data

    s = FLAGSHIP
    mnist1d = data.load_mnist1d(train_size=s["train_size"], seed=data_seed(seeds))
    sweep = [label for label in ARMS if label not in CORE_ARMS]
    parts = []
    for labels, arm_seeds in ((CORE_ARMS, seeds), (sweep, seeds[:SWEEP_N_SEEDS])):
        fitted = dropoutcourse.fit_replica_models(
            [arm_model(label, mnist1d.n_features, mnist1d.n_classes) for label in labels],
            mnist1d.x_train,
            mnist1d.y_train,
            seeds=arm_seeds,
            epochs=s["epochs"],
            batch_size=32,
            verbose=False,
        )
        parts.append(_final_rows(fitted, labels, mnist1d))
    return pd.concat(parts, ignore_index=True)


def sweep_rows(final: pd.DataFrame) -> pd.DataFrame:
    """The rows of the seeds that trained every arm (the first ``SWEEP_N_SEEDS``): the fair
    table of all regularisers, each arm on the same seeds."""
    every_arm = final.groupby("seed")["label"].nunique() == len(ARMS)
    return final[final["seed"].isin(every_arm[every_arm].index)]


def best_l2(final: pd.DataFrame, metric: str = "test_acc") -> str:
    """The L2 label with the best mean ``metric`` (chosen on the test set: flatters L2)."""
    means = final[final["label"].isin(L2_LABELS)].groupby("label")[metric].mean()
    return str(means.idxmin() if "loss" in metric else means.idxmax())


def _key(label: str) -> str:
    """``"dropout 0.5 + max-norm 1"`` → ``"dropout_05_and_maxnorm_1"`` (a slide placeholder name)."""
    return label.lower().replace(" + ", "_and_").replace(" ", "_").replace(".", "").replace("-", "")


def regulariser_decide(final: pd.DataFrame):
    core = 100 * final.pivot(index="seed", columns="label", values="test_acc")[list(CORE_ARMS)]
    final = sweep_rows(final)  # every comparison below: on the seeds that trained every arm
    acc = 100 * final.pivot(index="seed", columns="label", values="test_acc")
    loss = final.pivot(index="seed", columns="label", values="test_loss")
    train = final.pivot(index="seed", columns="label", values="train_loss")
    gain = paired_difference(core["dropout 0.5"], core["none"])
    shape = paired_difference(core["gaussian 0.5"], core["dropout 0.5"], confidence=0.90)
    with_mn = paired_difference(acc["dropout 0.5 + max-norm 1"], acc["dropout 0.5"], confidence=0.9)
    l2 = best_l2(final)
    vs_l2 = paired_difference(acc["dropout 0.5"], acc[l2])
    control = paired_difference(acc["rate 0.2"], acc["none"])
    lower_loss = [
        below(paired_difference(loss[name], loss["none"]), 0.0) for name in ARMS if name != "none"
    ]
    m = SAME_MARGIN_POINTS
    # dropout is active: every step up in rate raises the training loss (exactly 0 without
    # dropout); the smallest step per seed, a per-seed bound (pilot set 0: 14.6 SE)
    steps = train[RATE_LABELS].diff(axis=1).iloc[:, 1:].min(axis=1)
    checks = {
        f"dropout 0.5 raises test accuracy by more than {MIN_GAIN_POINTS:g} points "
        "(95 % paired interval)": exceeds(gain, MIN_GAIN_POINTS),
        f"Gaussian and Bernoulli dropout 0.5 agree within ±{m:g} points (TOST, 90 %)": within(
            shape, m
        ),
        f"adding max-norm 1 to dropout 0.5 changes accuracy by less than ±{m:g} points "
        "(TOST, 90 %)": within(with_mn, m),
        "positive control of the two equivalences, same metric and protocol: the difference "
        "of dropout 0.2 over none (about twice the margin) is detected (95 % paired "
        "interval)": exceeds(control, 0.0),
        "the best L2 strength is inside the sweep, not at its edge": by_construction(
            l2 not in (L2_LABELS[0], L2_LABELS[-1]), f"best: {l2}"
        ),
        "every regulariser lowers the test loss (95 % paired interval)": all_of(lower_loss),
        "dropout is active: the training loss grows with the hidden rate on every seed": (
            all_above(steps, 0.0)
        ),
    }
    numbers = {}
    for label in ARMS:
        key = _key(label)
        numbers[f"acc_{key}"] = acc[label].mean()
        numbers[f"loss_{key}"] = loss[label].mean()
    numbers |= {
        **interval_numbers("gain", gain),
        "gain_min": gain.min,
        "same_margin": m,
        **interval_numbers("gauss_minus_bernoulli", shape),
        "maxnorm_change": with_mn.mean,
        "best_l2": float(ARMS[l2]["l2"]),
        "acc_best_l2": acc[l2].mean(),
        "best_l2_loss": float(ARMS[best_l2(final, "test_loss")]["l2"]),
        **interval_numbers("dropout_vs_l2", vs_l2),
        **interval_numbers("control", control),
        "n_seeds": int(len(core)),
        "sweep_n_seeds": int(len(acc)),
        "n_networks": int(core.size + acc.drop(columns=list(CORE_ARMS)).size),
    }
    return checks, numbers


REGULARISERS_CLAIM = Claim(
    name="regularisers",
    lecture=4,
    statement=(
        "On the flagship task, Gaussian and Bernoulli dropout give the same accuracy "
        "(within ±2.5 points), every regulariser lowers the test loss, and max-norm "
        "changes dropout's accuracy by less than 2.5 points at this learning rate. "
        "Dropout's lead over the best L2 penalty (tuned on the test set) is shown, not "
        "claimed."
    ),
    n_seeds=REGULARISER_N_SEEDS,
    experiment=regulariser_experiment,
    sizing=REGULARISER_SIZING,
    decide=regulariser_decide,
    headline=("gain", "gain_lo", "gauss_minus_bernoulli", "same_margin", "control_lo"),
)

#: This lecture's claims, in the order the course presents them (collected by
#: :mod:`dropoutcourse.claims.registry`; defining a claim registers nothing).
CLAIMS = (REGULARISERS_CLAIM,)
