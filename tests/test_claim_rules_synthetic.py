"""Decision rules of nine claims on synthetic data: data with the effect must HOLD, and every
part of a rule must be able to FAIL on data without its part of the effect.

Each generator builds a small frame in the format of the claim's experiment (the columns its
``decide`` reads) with a fixed ``np.random.default_rng(0)``; each bad variant changes one
thing and asserts that exactly the checks about that thing fail. "Without dropout" means every
dropout arm is the no-dropout arm's run, to the last bit (what ``switches.without_dropout``
gives): where a rule has an activity check, that check must fail.
"""

import numpy as np
import pandas as pd
import pytest

from dropoutcourse import claims, experiments
from dropoutcourse.claims import (
    lecture1,
    lecture2,
    lecture3,
    lecture4,
    lecture5,
    lecture6,
    lecture8,
)


def _named(checks, *parts: str) -> list[str]:
    """The checks whose text contains one of ``parts`` (each part must name exactly one)."""
    for part in parts:
        assert sum(part in k for k in checks) == 1, (part, list(checks))
    return [k for k in checks if any(part in k for part in parts)]


def _failed(checks) -> list[str]:
    """The checks that failed (a ``Check`` is falsy when it did not pass)."""
    return [k for k, ok in checks.items() if not ok]


# --------------------------------------------------------------------------- lecture 1


NONE, DROPOUT = experiments.DEFAULT_VARIANTS  # "no dropout", "dropout 0.5"


def _flagship_history(
    n_seeds: int = 10,
    *,
    gain: float = 6.0,
    rise: float = 0.5,
    loss_change: float = -0.3,
    slower: int = 18,
    identical: bool = False,
) -> pd.DataFrame:
    """A synthetic flagship run in ``experiments.compare``'s per-epoch format.

    Without dropout the test loss is lowest at epoch 12-18 and ends ``1 + rise`` times that
    minimum; test accuracy ramps linearly to its final value, reached at epoch 9 or 12 without
    dropout and ``slower`` epochs later with it (± 3); dropout's final accuracy is higher
    by ``gain`` points and its final test loss differs by ``loss_change``. ``identical``: the
    dropout arm is the no-dropout run.
    """
    rng = np.random.default_rng(0)
    every = lecture1.FLAGSHIP["eval_every"]  # 3: epochs 3, 6, …, 60
    epochs = np.arange(every, lecture1.FLAGSHIP["epochs"] + 1, every)
    last = epochs[-1]
    rows = []
    for s in range(n_seeds):
        best, low = 12 + 3 * (s % 3), 1.5 + 0.05 * rng.standard_normal()
        r = rise + 0.05 * rng.standard_normal()
        loss = np.where(
            epochs < best,
            low * (1 + (best - epochs) / best),
            low * (1 + r * ((epochs - best) / (last - best)) ** 2),
        )
        acc = 0.62 + 0.01 * rng.standard_normal()
        plateau = 9 + 3 * (s % 2)
        arms = {
            NONE: (acc, plateau, loss, 1.0, 0.01),
            DROPOUT: (
                acc + gain / 100 + 0.005 * rng.standard_normal(),
                plateau + slower + 3 * (s % 3) - 3,
                np.full(epochs.size, loss[-1] + loss_change + 0.02 * rng.standard_normal()),
                0.97,
                0.3,
            ),
        }
        if identical:
            arms[DROPOUT] = arms[NONE]
        for replica, (label, (final, at, test_loss, train_acc, train_loss)) in enumerate(
            arms.items()
        ):
            for i, epoch in enumerate(epochs):
                rows.append(
                    {
                        "replica": replica * n_seeds + s,
                        "label": label,
                        "seed": s,
                        "hidden_rate": experiments.DEFAULT_VARIANTS[label].get("hidden_rate", 0.0),
                        "input_rate": 0.0,
                        "l2": 0.0,
                        "max_norm": None,
                        "gaussian": False,
                        "train_size": lecture1.FLAGSHIP["train_size"],
                        "epoch": int(epoch),
                        "train_loss": train_loss,
                        "train_acc": train_acc,
                        "test_loss": float(test_loss[i]),
                        "test_acc": final * min(1.0, epoch / at),
                    }
                )
    return pd.DataFrame(rows)


def test_flagship_rule_holds_on_a_memorising_net_that_dropout_helps():
    """Memorisation, a late loss rise, a gain, a lower loss and slower training: it holds;
    the numbers are the generator's (plateau epochs exactly, gain and rise approximately)."""
    history = _flagship_history()
    assert history.groupby(["label", "seed"]).size().eq(20).all()  # epochs 3, 6, …, 60
    checks, numbers = lecture1.flagship_decide(history)
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 10 and numbers["epochs"] == lecture1.FLAGSHIP["epochs"]
    assert numbers["plateau_epoch_none"] == 10.5  # 9 and 12, alternating
    assert numbers["plateau_epoch_dropout"] == pytest.approx(10.5 + 18 - 0.3)  # ± 3: mean −0.3
    assert numbers["gain"] == pytest.approx(6.0, abs=0.5)
    assert numbers["loss_rise"] == pytest.approx(1.5, abs=0.05)
    assert numbers["gain_lo"] > lecture1.MIN_GAIN_POINTS


def test_flagship_rule_fails_in_each_part():
    """Each part fails alone: no memorisation, a late loss minimum, no loss rise, a gain
    below 2 points, no lower test loss, no slower training."""
    decide = lecture1.flagship_decide
    history = _flagship_history()
    last = history["epoch"] == history["epoch"].max()

    not_memorised = history.copy()
    not_memorised.loc[last & (history["label"] == NONE) & (history["seed"] == 0), "train_acc"] = (
        0.98
    )
    checks = decide(not_memorised)[0]
    assert _failed(checks) == _named(checks, "memorises")

    late = history.copy()  # seed 0's test loss without dropout is lowest at epoch 33 (> 30)
    late.loc[(late["label"] == NONE) & (late["seed"] == 0) & (late["epoch"] == 33), "test_loss"] = 1
    checks = decide(late)[0]
    assert _failed(checks) == _named(checks, "first half")

    checks = decide(_flagship_history(rise=0.1))[0]  # the loss ends only 10 % above its minimum
    assert _failed(checks) == _named(checks, "20 % above")

    checks = decide(_flagship_history(gain=1.0))[0]
    assert _failed(checks) == _named(checks, "raises test accuracy")

    checks = decide(_flagship_history(loss_change=0.1))[0]
    assert _failed(checks) == _named(checks, "lowers the final test loss")

    checks = decide(_flagship_history(slower=0))[0]
    assert _failed(checks) == _named(checks, "trains more slowly")


def test_flagship_rule_fails_without_dropout():
    """Both arms the same run: the activity check and every part about dropout fail, the
    parts about the net without dropout still hold."""
    checks, numbers = lecture1.flagship_decide(_flagship_history(identical=True))
    assert _failed(checks) == _named(
        checks,
        "dropout is active",
        "raises test accuracy",
        "lowers the final test loss",
        "trains more slowly",
    )
    assert numbers["gain"] == 0 and numbers["gain_lo"] == 0


# --------------------------------------------------------------------------- lecture 3


def _rate_sweep(
    costs: dict[float, float] | None = None, n_seeds: int = 10, *, identical: bool = False
) -> pd.DataFrame:
    """Synthetic final rows of the digits rate sweep: rate → test-accuracy cost (points)
    against rate 0, paired by seed (0.2 points of noise per run). ``identical``: every rate's
    run is rate 0's."""
    costs = {0.0: 0.0, 0.25: 0.2, 0.5: 0.3, 0.75: 3.0} | (costs or {})
    rng = np.random.default_rng(0)
    base = 0.93 + 0.004 * rng.standard_normal(n_seeds)
    train_base = 0.01 + 0.001 * rng.standard_normal(n_seeds)
    rows = []
    for rate in lecture3.RATES:
        acc = base - costs[rate] / 100 + 0.002 * rng.standard_normal(n_seeds)
        train_loss = 0.01 + 0.02 * rate + 0.001 * rng.standard_normal(n_seeds)
        if identical or rate == 0.0:
            acc, train_loss = base, train_base
        rows += [
            {
                "label": f"rate {rate:g}",
                "seed": s,
                "hidden_rate": rate,
                "epoch": lecture3.DIGITS["epochs"],
                "train_acc": 1.0,
                "train_loss": train_loss[s],
                "test_acc": acc[s],
                "units": lecture3.DIGITS["units"],
                "mode": "n_fixed",
            }
            for s in range(n_seeds)
        ]
    return pd.DataFrame(rows)


def test_rate_rule_holds_on_a_plateau_then_a_cliff():
    """Rates 0.25 and 0.5 cost a fraction of a point, 0.75 three points: it holds."""
    checks, numbers = lecture3.rate_decide(_rate_sweep())
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 10
    assert numbers["gain_half"] == pytest.approx(-0.3, abs=0.3)
    assert numbers["cost_075"] == pytest.approx(2.7, abs=0.3)
    assert numbers["acc_00"] - numbers["acc_75"] == pytest.approx(3.0, abs=0.3)


def test_rate_rule_fails_in_each_part():
    """A 2-point cost at 0.25 or at 0.5, or no cliff at 0.75: exactly that part fails."""
    checks = lecture3.rate_decide(_rate_sweep({0.25: 2.0}))[0]
    assert _failed(checks) == _named(checks, "rate 0.25 costs")
    checks = lecture3.rate_decide(_rate_sweep({0.5: 2.0}))[0]
    assert _failed(checks) == _named(checks, "rate 0.5 costs")
    checks = lecture3.rate_decide(_rate_sweep({0.75: 0.0}))[0]  # 0.75 no worse than 0.5
    assert _failed(checks) == _named(checks, "positive control")


def test_rate_rule_fails_without_dropout_through_activity_and_positive_control():
    """Every rate is rate 0's run: the two non-inferiority parts hold trivially (a difference
    of exactly 0); the activity check and the positive control (0.75 worse than 0.5) fail."""
    checks, numbers = lecture3.rate_decide(_rate_sweep(identical=True))
    assert _failed(checks) == _named(checks, "dropout is active", "positive control")
    assert numbers["gain_half"] == 0 and numbers["cost_075"] == 0


# --------------------------------------------------------------------------- lecture 4

#: Test-accuracy change against "none" (points), roughly pilot set 0's.
REG_ACC = {
    "none": 0.0,
    "rate 0.2": 5.0,
    "dropout 0.5": 7.5,
    "rate 0.8": -22.0,
    "gaussian 0.5": 7.5,
    "L2 1e-3": 2.0,
    "L2 3e-3": 4.5,
    "L2 1e-2": 2.5,
    "L2 3e-2": -16.0,
    "max-norm 1": 0.0,
    "dropout 0.5 + max-norm 1": 7.5,
}
#: Training loss (grows with the hidden rate: none < 0.2 < 0.5 < 0.8).
REG_TRAIN = {"none": 0.015, "rate 0.2": 0.05, "dropout 0.5": 0.43, "rate 0.8": 1.7}


def _regularisers(
    acc: dict[str, float] | None = None,
    loss: dict[str, float] | None = None,
    n_seeds: int = 11,
    *,
    identical: bool = False,
) -> pd.DataFrame:
    """Synthetic final rows of the regulariser table: label → accuracy change (points, 0.3 of
    noise per run) and test-loss change (default −0.5 for every regulariser) against "none".
    ``identical``: every dropout arm is the run without its dropout ("none", or "max-norm 1"
    for "dropout 0.5 + max-norm 1")."""
    acc = REG_ACC | (acc or {})
    loss = {label: -0.5 for label in lecture4.ARMS} | {"none": 0.0} | (loss or {})
    rng = np.random.default_rng(0)
    base_acc = 0.46 + 0.01 * rng.standard_normal(n_seeds)
    base_loss = 2.4 + 0.03 * rng.standard_normal(n_seeds)
    runs = {}
    for label, config in lecture4.ARMS.items():
        runs[label] = {
            "test_acc": base_acc + acc[label] / 100 + 0.003 * rng.standard_normal(n_seeds),
            "test_loss": base_loss + loss[label] + 0.02 * rng.standard_normal(n_seeds),
            "train_loss": REG_TRAIN.get(label, 0.1) * (1 + 0.05 * rng.standard_normal(n_seeds)),
            **{key: np.full(n_seeds, float(config.get(key, 0.0))) for key in ("hidden_rate", "l2")},
        }
    if identical:
        for label in ("rate 0.2", "dropout 0.5", "rate 0.8", "gaussian 0.5"):
            runs[label] = runs["none"]
        runs["dropout 0.5 + max-norm 1"] = runs["max-norm 1"]
    return pd.concat(
        [
            pd.DataFrame({"label": label, "seed": range(n_seeds), **run})
            for label, run in runs.items()
        ],
        ignore_index=True,
    )


def test_regulariser_rule_holds_on_the_regulariser_table():
    """Dropout gains 7.5 points, Gaussian = Bernoulli, max-norm changes nothing, rate 0.2
    gains 5, the best L2 is inside the sweep, all lower the loss: it holds."""
    checks, numbers = lecture4.regulariser_decide(_regularisers())
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 11 and numbers["same_margin"] == lecture4.SAME_MARGIN_POINTS
    assert numbers["best_l2"] == 3e-3 and numbers["best_l2_loss"] in (1e-3, 3e-3, 1e-2, 3e-2)
    assert numbers["gain"] == pytest.approx(7.5, abs=0.5)
    assert numbers["control"] == pytest.approx(5.0, abs=0.5)


def test_regulariser_rule_fails_in_each_part():
    """Each part fails alone: a 1-point gain, Gaussian 4 points off, max-norm costing 4
    points, no rate-0.2 gain, the best L2 at the sweep's edge, one regulariser raising the
    loss, and one seed whose training loss falls from rate 0.5 to 0.8."""
    decide = lecture4.regulariser_decide
    small = {"dropout 0.5": 1.0, "gaussian 0.5": 1.0, "dropout 0.5 + max-norm 1": 1.0}
    checks = decide(_regularisers(small))[0]
    assert _failed(checks) == _named(checks, "raises test accuracy")
    checks = decide(_regularisers({"gaussian 0.5": 3.5}))[0]
    assert _failed(checks) == _named(checks, "Gaussian and Bernoulli")
    checks = decide(_regularisers({"dropout 0.5 + max-norm 1": 3.5}))[0]
    assert _failed(checks) == _named(checks, "adding max-norm")
    checks = decide(_regularisers({"rate 0.2": 0.0}))[0]
    assert _failed(checks) == _named(checks, "positive control")
    checks, numbers = decide(_regularisers({"L2 3e-2": 6.0}))
    assert _failed(checks) == _named(checks, "best L2") and numbers["best_l2"] == 3e-2
    checks = decide(_regularisers(loss={"max-norm 1": 0.1}))[0]
    assert _failed(checks) == _named(checks, "lowers the test loss")
    bumpy = _regularisers()
    bumpy.loc[(bumpy["label"] == "rate 0.8") & (bumpy["seed"] == 3), "train_loss"] = 0.3
    checks = decide(bumpy)[0]
    assert _failed(checks) == _named(checks, "training loss grows")


def test_regulariser_rule_fails_without_dropout():
    """Every dropout arm is the run without dropout: the activity part (training loss grows
    with the rate) fails, and so do the gain, the positive control and "every regulariser
    lowers the loss"; the two equivalences hold (a difference of exactly 0, and max-norm's
    own small change)."""
    checks, numbers = lecture4.regulariser_decide(_regularisers(identical=True))
    assert _failed(checks) == _named(
        checks, "raises test accuracy", "positive control", "lowers the test loss", "loss grows"
    )
    assert numbers["gain"] == 0 and numbers["gauss_minus_bernoulli"] == 0


# --------------------------------------------------------------------------- lecture 5

PIXEL_ACTIVE = "dropout is active"


def _pixel_drop(
    n_seeds: int = 10,
    *,
    element: float = 0.9,
    block: float = 0.35,
    channel: float = 0.0,
    across: float = 0.6,
    empty_channel: tuple[int, ...] = (),
    nothing_dropped: bool = False,
) -> pd.DataFrame:
    """Synthetic ``cnn_demos.pixel_drop_study`` rows: share recovered by the 3×3 guess
    (``element``, ``block``, ``channel``) and by the guess across channels for channel
    dropout (``across``, 0.15 of noise per seed). ``empty_channel``: seeds whose channel masks
    dropped nothing (dropped fraction 0, NaN scores, as the study reports them).
    ``nothing_dropped``: every mask dropped nothing (a run without dropout)."""
    rng = np.random.default_rng(0)
    recovered = {  # (method, guess) → per-seed share recovered
        ("element", "neighbours"): element + 0.01 * rng.standard_normal(n_seeds),
        ("element", "channels"): 0.68 + 0.01 * rng.standard_normal(n_seeds),
        ("channel", "neighbours"): np.full(n_seeds, channel),
        ("channel", "channels"): across + 0.15 * rng.standard_normal(n_seeds),
        ("block", "neighbours"): block + 0.03 * rng.standard_normal(n_seeds),
        ("block", "channels"): 0.75 + 0.02 * rng.standard_normal(n_seeds),
    }
    dropped = {
        "element": np.full(n_seeds, 0.5),
        "channel": rng.choice([1 / 3, 2 / 3], n_seeds),
        "block": 0.39 + 0.01 * rng.standard_normal(n_seeds),
    }
    rows = []
    for s in range(n_seeds):
        for (method, guess), rec in recovered.items():
            frac, score = dropped[method][s], rec[s]
            if nothing_dropped or (method == "channel" and s in empty_channel):
                frac, score = 0.0, np.nan
            baseline = np.nan if np.isnan(score) else 0.33
            rows.append(
                {
                    "method": method,
                    "guess": guess,
                    "seed": s,
                    "rate": lecture5.PIXEL_DROP["rate"],
                    "block_size": lecture5.PIXEL_DROP["block_size"],
                    "dropped_fraction": frac,
                    "rmse": baseline * np.sqrt(1 - score),
                    "baseline_rmse": baseline,
                    "recovered": score,
                }
            )
    return pd.DataFrame(rows)


def test_pixel_drop_rule_holds_when_neighbours_leak():
    """3×3 neighbours give back 90 % of element-wise drops, 35 % of blocks, 0 of a channel;
    the other channels give back part of a channel: it holds."""
    checks, numbers = lecture5.pixel_drop_decide(_pixel_drop())
    assert all(checks.values()), checks
    assert numbers["channel_empty_draws"] == 0 and numbers["n_seeds"] == 10
    assert numbers["element"] == pytest.approx(90, abs=1) and numbers["channel"] == 0
    assert numbers["block"] == pytest.approx(35, abs=2)
    assert numbers["block_dropped"] == pytest.approx(39, abs=1)


def test_pixel_drop_rule_skips_and_counts_channel_draws_that_dropped_nothing():
    """Two channel draws that dropped nothing (NaN scores) are left out of the channel parts
    and counted, not a failure; more than half of them fails only the activity part."""
    df = _pixel_drop(empty_channel=(2, 7))
    assert df.loc[df["dropped_fraction"] == 0, "recovered"].isna().all()
    checks, numbers = lecture5.pixel_drop_decide(df)
    assert all(checks.values()), checks
    assert numbers["channel_empty_draws"] == 2 and numbers["n_seeds"] == 10
    assert numbers["channel"] == 0
    kept = df[(df["method"] == "channel") & (df["guess"] == "channels") & ~df["seed"].isin([2, 7])]
    assert numbers["channel_across"] == pytest.approx(100 * kept["recovered"].mean())

    checks, numbers = lecture5.pixel_drop_decide(_pixel_drop(empty_channel=tuple(range(6))))
    assert _failed(checks) == _named(checks, PIXEL_ACTIVE)
    assert numbers["channel_empty_draws"] == 6


def test_pixel_drop_rule_fails_in_each_part():
    """Each part fails alone: element-wise drops recovered to only 70 %, blocks recovered
    nearly as well (75 %), a dropped channel partly recovered from its own channel, nothing
    recovered across channels."""
    decide = lecture5.pixel_drop_decide
    checks = decide(_pixel_drop(element=0.7))[0]
    assert _failed(checks) == _named(checks, "more than 80 %")
    checks = decide(_pixel_drop(block=0.75))[0]
    assert _failed(checks) == _named(checks, "30 points less")
    checks = decide(_pixel_drop(channel=0.02))[0]
    assert _failed(checks) == _named(checks, "0 % recovered, by construction")
    checks = decide(_pixel_drop(across=0.0))[0]
    assert _failed(checks) == _named(checks, "guess across channels")


def test_pixel_drop_claim_fails_without_dropout():
    """No mask dropped anything (every score NaN): the claim fails through its activity check,
    the only check that applies when nothing was removed."""
    df = _pixel_drop(nothing_dropped=True)
    result = claims.get("pixel_drop").evaluate(df, list(range(10)))
    assert not result.holds
    assert [k for k in result.checks] == _named(result.checks, PIXEL_ACTIVE)


@pytest.mark.parametrize(
    "df",
    [
        pytest.param(_pixel_drop(nothing_dropped=True), id="without-dropout"),
        pytest.param(
            _pixel_drop().assign(
                dropped_fraction=lambda d: d["dropped_fraction"].mask(
                    (d["method"] == "block") & (d["seed"] == 0), 0.0
                ),
                recovered=lambda d: d["recovered"].mask(
                    (d["method"] == "block") & (d["seed"] == 0)
                ),
            ),
            id="one-empty-block-mask",
        ),
    ],
)
def test_pixel_drop_activity_check_fails_when_a_mask_dropped_nothing(df):
    """What the activity check is for: a mask that dropped nothing fails it (exact)."""
    checks, _ = lecture5.pixel_drop_decide(df)
    assert not checks[_named(checks, PIXEL_ACTIVE)[0]]


# --------------------------------------------------------------------------- lecture 8


def _ood(
    n_seeds: int = 10,
    *,
    mc: float = 0.57,
    ens: float = 0.89,
    mean_mi: float = 0.15,
    identical: bool = False,
) -> pd.DataFrame:
    """Synthetic ``ood_experiment`` rows: AUROC of mutual information for MC dropout (``mc``)
    and the ensemble (``ens``), 0.01 of noise per seed; in-distribution mutual information of
    the MC passes ``mean_mi``. ``identical``: the dropout network is the plain one and its MC
    passes agree (mutual information 0 everywhere: AUROC exactly 0.5, all ties)."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(n_seeds):
        entropy = {
            m: a + 0.01 * rng.standard_normal()
            for m, a in zip(lecture8.METHODS, (0.55, 0.57, 0.62, 0.62, 0.65), strict=True)
        }
        mi = {
            "mc_dropout": mc + 0.01 * rng.standard_normal(),
            "ensemble": ens + 0.01 * rng.standard_normal(),
        }
        seed_mi = mean_mi + 0.005 * rng.standard_normal()
        if identical:
            entropy["dropout"] = entropy["mc_dropout"] = entropy["plain"]
            mi["mc_dropout"], seed_mi = 0.5, 0.0
        rows += [
            {
                "seed": s,
                "method": m,
                "auroc_entropy": entropy[m],
                "auroc_mi": mi.get(m, np.nan),
                "mean_mi": seed_mi,
            }
            for m in lecture8.METHODS
        ]
    return pd.DataFrame(rows)


def test_ood_rule_holds_when_mc_beats_chance_and_the_ensemble_beats_mc():
    """MC dropout's AUROC 0.57, the ensemble's 0.89, the passes disagree: it holds."""
    checks, numbers = lecture8.ood_decide(_ood())
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 10
    assert numbers["mc_mi"] == pytest.approx(0.57, abs=0.01)
    assert numbers["gap"] == pytest.approx(0.32, abs=0.015)
    assert numbers["plain_entropy"] == pytest.approx(0.55, abs=0.01)


def test_ood_rule_fails_in_each_part():
    """Each part fails alone: MC passes that agree on one seed, an ensemble at 0.59 (still
    0.075 above MC at 0.515), MC at chance, an ensemble only 0.02 above MC."""
    decide = lecture8.ood_decide
    one_silent = _ood()
    one_silent.loc[one_silent["seed"] == 4, "mean_mi"] = 0.0
    checks = decide(one_silent)[0]
    assert _failed(checks) == _named(checks, "dropout is active")
    checks = decide(_ood(mc=0.515, ens=0.59))[0]
    assert _failed(checks) == _named(checks, "positive control")
    checks = decide(_ood(mc=0.5))[0]
    assert _failed(checks) == _named(checks, "better than chance")
    checks = decide(_ood(mc=0.7, ens=0.72))[0]
    assert _failed(checks) == _named(checks, "better by more than")


def test_ood_rule_fails_without_dropout():
    """The MC passes agree: the activity part fails (exact) and so does "better than
    chance"; the ensemble, trained without dropout anyway, still passes its parts."""
    checks, numbers = lecture8.ood_decide(_ood(identical=True))
    assert _failed(checks) == _named(checks, "dropout is active", "better than chance")
    assert numbers["mc_mi"] == 0.5 and numbers["dropout_entropy"] == numbers["plain_entropy"]


# --------------------------------------------------------------------------- lecture 2


def _mc(
    gap1: float = 8.0, gap_max: float = 0.8, n_seeds: int = 16, *, identical: bool = False
) -> pd.DataFrame:
    """Synthetic ``experiments.mc_vs_weight_scaling`` rows (k = 1 … 100, 3 repeats): the MC
    error is the seed's weight-scaling error plus ``gap_max + (gap1 − gap_max) / k`` points
    (``gap1`` at k = 1, ``gap_max`` at k = 100) and 0.5 points of noise per repeat.
    ``identical``: the net has no dropout, every MC pass is the weight-scaled one (MC error =
    weight-scaling error, to the last bit)."""
    rng = np.random.default_rng(0)
    ks, repeats = lecture2.MC_SETTINGS["ks"], lecture2.MC_SETTINGS["repeats"]
    ws = 0.58 + 0.01 * rng.standard_normal(n_seeds)
    rows = []
    for rep in range(repeats):
        for k in ks:
            gap = (gap_max + (gap1 - gap_max) / k + 0.5 * rng.standard_normal(n_seeds)) / 100
            mc = ws if identical else ws + gap
            rows += [
                {
                    "seed": s,
                    "replica": s,
                    "k": k,
                    "repeat": rep,
                    "mc_error": mc[s],
                    "ws_error": ws[s],
                }
                for s in range(n_seeds)
            ]
    return pd.DataFrame(rows)


def test_mc_rule_holds_when_averaging_closes_the_gap():
    """One thinned net is 8 points worse than weight scaling, 100 of them 0.8 points: the
    gap closes by 90 % and MC is not better: it holds."""
    df = _mc()
    checks, numbers = lecture2.mc_decide(df)
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 16 and numbers["k_max"] == 100 and numbers["n_ks"] == 7
    assert numbers["ks_where_mc_worse"] == 7
    assert numbers["ws_error"] == pytest.approx(100 * df.groupby("seed")["ws_error"].first().mean())
    assert numbers["gap_k1"] == pytest.approx(8.0, abs=0.3)
    assert numbers["gap_kmax"] == pytest.approx(0.8, abs=0.3)


def test_mc_rule_fails_in_each_part():
    """Each part fails alone: a k = 1 gap of 1.5 points (closed completely), a k = 100 gap of
    2.5 points (less than 3/4 of 8 closed), MC averaging 2 points better than weight scaling."""
    decide = lecture2.mc_decide
    checks = decide(_mc(gap1=1.5, gap_max=0.0))[0]
    assert _failed(checks) == _named(checks, "positive control")
    checks = decide(_mc(gap_max=2.5))[0]
    assert _failed(checks) == _named(checks, "closes more than 3/4")
    checks = decide(_mc(gap_max=-2.0))[0]
    assert _failed(checks) == _named(checks, "not better than weight scaling")


def test_mc_rule_fails_without_dropout_through_activity_and_positive_control():
    """Every MC pass is the weight-scaled one: every gap is exactly 0, so the activity check,
    the positive control (k = 1 worse by more than 2 points) and "closes 3/4 of the gap"
    (0 > 0) fail; non-inferiority holds trivially."""
    checks, numbers = lecture2.mc_decide(_mc(identical=True))
    assert _failed(checks) == _named(
        checks, "dropout is active", "positive control", "closes more than 3/4"
    )
    assert numbers["gap_k1"] == 0 and numbers["gap_kmax"] == 0
    assert numbers["ks_where_mc_worse"] == 0


# --------------------------------------------------------------------------- lecture 3 (tips)

PLAIN, BARE = "m=0.9, no max-norm", "m=0.99, no max-norm"  # dropout 0.5 in both
#: Test error (%) per setting, roughly pilot set 0's (the others: momentum 0.99, dropout 0.5).
TIPS_ERROR = {
    lecture3.NO_DROPOUT: 6.9,
    PLAIN: 6.6,
    "m=0.99, max-norm 1": 7.3,
    "m=0.99, max-norm 2": 12.0,
    "m=0.99, max-norm 3": 15.0,
    "m=0.99, max-norm 4": 17.0,
    BARE: 18.0,
}
#: The seed whose momentum-0.99 run without max-norm diverges (test accuracy 10 %: chance).
DIVERGED_SEED = 6


def _tips(
    error: dict[str, float] | None = None,
    n_seeds: int = lecture3.TIPS_N_SEEDS,
    *,
    diverged: bool = True,
    identical: bool = False,
) -> pd.DataFrame:
    """Synthetic final rows of ``lecture3.tips_experiment``: setting → test error (%), times a
    per-seed difficulty (10 % sd, shared by every setting) and 2 % of noise per run.
    ``diverged``: seed ``DIVERGED_SEED``'s run without max-norm ends at 10 % accuracy.
    ``identical``: the dropout run at momentum 0.9 is the run without dropout."""
    error = TIPS_ERROR | (error or {})
    rng = np.random.default_rng(0)
    hard = np.exp(0.1 * rng.standard_normal(n_seeds))
    runs = {}
    for setting, e in error.items():
        loss = {lecture3.NO_DROPOUT: 0.014, PLAIN: 0.025}.get(setting, 1.0)
        runs[setting] = (
            e * hard * np.exp(0.02 * rng.standard_normal(n_seeds)),
            loss * np.exp(0.1 * rng.standard_normal(n_seeds)),
        )
    if diverged:
        runs[BARE][0][DIVERGED_SEED], runs[BARE][1][DIVERGED_SEED] = 90.0, 2.3
    if identical:
        runs[PLAIN] = runs[lecture3.NO_DROPOUT]
    rows = []
    for setting, (err, loss) in runs.items():
        c = setting.removeprefix("m=0.99, max-norm ")
        rows += [
            {
                "setting": setting,
                "seed": s,
                "hidden_rate": 0.0 if setting == lecture3.NO_DROPOUT else 0.5,
                "max_norm": float(c) if c != setting else None,
                "epoch": lecture3.DIGITS["epochs"],
                "train_loss": loss[s],
                "test_acc": 1 - err[s] / 100,
            }
            for s in range(n_seeds)
        ]
    return pd.DataFrame(rows)


def test_tips_rule_holds_although_one_seed_diverged():
    """The 10x step without max-norm multiplies the error by 2.7, c = 1 repairs it, c = 3
    does not, nothing beats momentum 0.9; one seed's run without max-norm diverged to chance
    (90 % error): the rule still holds, because it judges log error ratios (that seed's
    ratio, 90/7.3, is one large value on the log scale, not a 70-point outlier)."""
    df = _tips()
    bare = df[df["setting"] == BARE].set_index("seed")["test_acc"]
    assert bare[DIVERGED_SEED] == pytest.approx(0.10) and bare.drop(DIVERGED_SEED).min() > 0.75
    checks, numbers = lecture3.tips_decide(df)
    assert all(checks.values()), checks
    assert (
        numbers["n_seeds"] == lecture3.TIPS_N_SEEDS
        and numbers["momentum"] == lecture3.FAST_MOMENTUM
    )
    # the diverged seed drags the mean accuracy down by ~5 points
    n = lecture3.TIPS_N_SEEDS
    assert numbers["acc_fast_bare"] == pytest.approx(100 * bare.mean())
    assert 100 * bare.drop(DIVERGED_SEED).mean() - numbers["acc_fast_bare"] > 4
    assert numbers["error_ratio_c3"] == pytest.approx(15 / 7.3, rel=0.02)
    assert numbers["error_ratio_fast"] == pytest.approx(
        np.exp(((n - 1) * np.log(18 / 6.6) + np.log(90 / 6.6)) / n), rel=0.03
    )
    assert numbers["error_ratio_fast_lo"] > lecture3.TIP_MIN_ERROR_RATIO
    assert lecture3.tips_decide(_tips(diverged=False))[1]["error_ratio_fast"] == pytest.approx(
        18 / 6.6, rel=0.02
    )


def test_tips_rule_fails_in_each_part():
    """Each part fails alone: one seed whose dropout run has the training loss of the run
    without dropout; a fast run without max-norm only 1.15x the plain one's error (plain 5 %,
    c = 1 4.4 %: while "repairs it" and "no better" hold, the fast run's error has only a
    window ~1.25 points wide in which this part can fail alone); no constraint only 1.1x
    c = 1's error; c = 3 no worse than c = 1; c = 1 two points better than momentum 0.9."""
    decide = lecture3.tips_decide
    inactive = _tips()
    seed3 = inactive["seed"] == 3
    plain3 = seed3 & (inactive["setting"] == PLAIN)
    inactive.loc[plain3, "train_loss"] = inactive.loc[
        seed3 & (inactive["setting"] == lecture3.NO_DROPOUT), "train_loss"
    ].to_numpy()
    checks = decide(inactive)[0]
    assert _failed(checks) == _named(checks, "dropout is active")

    hurt = {PLAIN: 5.0, "m=0.99, max-norm 1": 4.4, BARE: 1.25 * np.sqrt(5.0 * 4.4)}
    checks = decide(_tips(hurt, diverged=False))[0]
    assert _failed(checks) == _named(checks, "without max-norm the 10x step")

    checks = decide(_tips({"m=0.99, max-norm 1": 16.0, "m=0.99, max-norm 3": 21.0}))[0]
    assert _failed(checks) == _named(checks, "repairs it")
    checks = decide(_tips({"m=0.99, max-norm 3": 7.6}))[0]
    assert _failed(checks) == _named(checks, "value of c decides")
    checks = decide(_tips({"m=0.99, max-norm 1": 4.6}))[0]
    assert _failed(checks) == _named(checks, "no fast setting beats")


def test_tips_rule_fails_without_dropout():
    """The dropout run at momentum 0.9 is the run without dropout (same training loss to the
    last bit): the activity check fails, and only it."""
    checks, numbers = lecture3.tips_decide(_tips(identical=True))
    assert _failed(checks) == _named(checks, "dropout is active")
    assert numbers["acc_plain"] == pytest.approx(100 - 6.9, abs=0.2)


# --------------------------------------------------------------------------- lecture 3 (sizes)


def _digit_sizes(
    gain: dict[int, float] | None = None,
    n_seeds: int = 20,
    *,
    control: float = 4.5,
    rise: float = 0.027,
    identical: bool = False,
) -> pd.DataFrame:
    """Synthetic ``lecture3.digit_sizes_experiment`` rows: train size → dropout's gain in test
    accuracy (points; 0.6 points of noise per run), ``control`` points more accuracy without
    dropout at 800 than at 200 digits, dropout raising the training loss at 800 by ``rise``.
    ``identical``: every dropout run is the same seed's and size's run without dropout."""
    gain = {50: 1.0, 200: 0.3, 800: -0.7} | (gain or {})
    plain_acc = {50: 81.0, 200: 91.7, 800: 91.7 + control}
    plain_loss = {50: 0.0043, 200: 0.0096, 800: 0.026}
    rise_at = {50: -0.0037, 200: 0.0004, 800: rise}
    rng = np.random.default_rng(0)
    updates = lecture3.DIGIT_SIZES["updates"]
    rows = []
    for n in lecture3.DIGIT_SIZES["sizes"]:
        acc = plain_acc[n] + 0.6 * rng.standard_normal(n_seeds)
        loss = plain_loss[n] * np.exp(0.05 * rng.standard_normal(n_seeds))
        runs = {
            0.0: (acc, loss),
            0.5: (
                acc + gain[n] + 0.6 * rng.standard_normal(n_seeds),
                loss + rise_at[n] + 0.003 * rng.standard_normal(n_seeds),
            ),
        }
        if identical:
            runs[0.5] = runs[0.0]
        epochs = round(updates / -(-n // 32))  # 300 updates of batches of 32: 150, 43, 12
        for rate, (test_acc, train_loss) in runs.items():
            rows += [
                {
                    "label": f"rate {rate:g}",
                    "seed": s,
                    "hidden_rate": rate,
                    "train_size": n,
                    "epoch": epochs,
                    "epochs": epochs,
                    "train_loss": abs(train_loss[s]),
                    "test_acc": test_acc[s] / 100,
                }
                for s in range(n_seeds)
            ]
    return pd.DataFrame(rows)


def test_digit_sizes_rule_holds_on_small_gains_and_a_size_effect():
    """Gains of +1, +0.3 and −0.7 points at 50, 200 and 800 digits, 4.5 points from 200 to
    800 digits without dropout, a higher training loss with dropout at 800: it holds."""
    checks, numbers = lecture3.digit_sizes_decide(_digit_sizes())
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 20 and numbers["updates"] == lecture3.DIGIT_SIZES["updates"]
    assert numbers["gain_50"] == pytest.approx(1.0, abs=0.3)
    assert numbers["gain_800"] == pytest.approx(-0.7, abs=0.3)
    assert numbers["largest_at_smallest"] == 1.0
    assert numbers["control_gain"] == pytest.approx(4.5, abs=0.3)


def test_digit_sizes_rule_fails_in_each_part():
    """Each part fails alone: dropout leaving the training loss at 800 unchanged, 800 digits
    no better than 200, a 5-point gain at one size."""
    decide = lecture3.digit_sizes_decide
    checks = decide(_digit_sizes(rise=0.0))[0]
    assert _failed(checks) == _named(checks, "dropout is active")
    checks = decide(_digit_sizes(control=0.0))[0]
    assert _failed(checks) == _named(checks, "positive control")
    for n in lecture3.DIGIT_SIZES["sizes"]:
        checks, numbers = decide(_digit_sizes({n: 5.0}))
        assert _failed(checks) == _named(checks, f"gain at {n} examples"), n
        assert numbers[f"gain_{n}"] == pytest.approx(5.0, abs=0.3)


def test_digit_sizes_rule_fails_without_dropout():
    """Every dropout run is the run without dropout: the activity check fails (a paired
    difference of exactly 0); the gains are exactly 0, inside the margin, and the positive
    control does not involve dropout."""
    checks, numbers = lecture3.digit_sizes_decide(_digit_sizes(identical=True))
    assert _failed(checks) == _named(checks, "dropout is active")
    assert all(numbers[f"gain_{n}"] == 0 for n in lecture3.DIGIT_SIZES["sizes"])


# --------------------------------------------------------------------------- lecture 6


def _bn_pitfall(n_seeds: int = 5, *, without_dropout: str = "") -> pd.DataFrame:
    """Synthetic ``lecture6.bn_pitfall_experiment`` rows, roughly pilot set 0's: mc_predict's
    mean 0.014 from the deterministic prediction (range 1.5), the naive ``training=True``
    mean 0.4 from it, one-point calls nearly constant, the naive calls moving bn1's moving
    mean and ``predict``. ``without_dropout``: ``"exact"`` — mc_predict's passes are the
    deterministic pass to the last bit (spread and RMS exactly 0); ``"float32"`` — they
    differ by float32 rounding only (1e-7, as the real run without dropout gives)."""
    rng = np.random.default_rng(0)

    def around(value: float, sd: float = 0.1) -> np.ndarray:
        return value * np.exp(sd * rng.standard_normal(n_seeds))

    det_range = around(1.5)
    df = pd.DataFrame(
        {
            "seed": range(n_seeds),
            "mc_spread": around(0.09),
            "rms_good": around(0.014),
            "rms_naive": around(0.4),
            "det_range": det_range,
            "single_range": around(0.01, 1.0),
            "det_single_range": det_range * around(0.97, 0.02),
            "moving_mean_change": around(0.013, 0.4),
            "predict_change": around(0.15, 0.2),
        }
    )
    if without_dropout == "exact":
        df[["mc_spread", "rms_good"]] = 0.0
    elif without_dropout == "float32":
        df["mc_spread"], df["rms_good"] = around(1.5e-7), around(2e-7)
    return df


def test_bn_pitfall_rule_holds_when_training_true_misleads():
    """mc_predict lands within 1 % of the range, the naive mean 30x farther, one-point calls
    ignore the input, the naive calls change the model: it holds."""
    df = _bn_pitfall()
    checks, numbers = lecture6.bn_pitfall_decide(df)
    assert all(checks.values()), checks
    assert numbers["n_seeds"] == 5
    assert numbers["rms_gap"] == pytest.approx((df["rms_naive"] - df["rms_good"]).mean())
    assert numbers["rms_gap"] == pytest.approx(0.4 - 0.014, abs=0.06)
    assert numbers["mc_spread"] == pytest.approx(0.09, abs=0.01)


def test_bn_pitfall_rule_fails_in_each_part():
    """Each part fails alone (``all_of`` checks in each of their parts): one seed with no MC
    spread; one where mc_predict misses by 20 % of the range (the naive mean still 3x
    farther); the naive mean farther on every seed but the paired interval reaching below 0
    (one seed 20 off), or only 1.5x farther on one seed; one-point calls spanning 60 % of the
    deterministic range; one seed whose moving mean, or whose ``predict``, did not move."""
    decide = lecture6.bn_pitfall_decide
    df = _bn_pitfall()

    def one_seed(column: str, value) -> list[str]:
        bad = df.copy()
        bad.loc[2, column] = value(bad.loc[2]) if callable(value) else value
        return _failed(decide(bad)[0])

    checks = decide(df)[0]
    assert one_seed("mc_spread", 0.0) == _named(checks, "dropout is active")
    bad = df.copy()
    bad.loc[2, "rms_good"] = 0.2 * bad.loc[2, "det_range"]
    bad.loc[2, "rms_naive"] = 3 * bad.loc[2, "rms_good"]
    assert _failed(decide(bad)[0]) == _named(checks, "stays close")
    assert one_seed("rms_naive", 20.0) == _named(checks, "farther off")  # the interval
    assert one_seed("rms_naive", lambda r: 1.5 * r["rms_good"]) == _named(checks, "farther off")
    single = one_seed("single_range", lambda r: 0.6 * r["det_single_range"])
    assert single == _named(checks, "ignores the input")
    assert one_seed("moving_mean_change", 0.0) == _named(checks, "change the model")
    assert one_seed("predict_change", 0.0) == _named(checks, "change the model")


def test_bn_pitfall_rule_fails_without_dropout():
    """mc_predict's passes are the deterministic pass (no dropout): the activity check fails.
    With passes equal to the last bit, "the naive mean is farther off" fails too, not because
    the naive mean is closer (it is 0.4 off, mc_predict 0) but because its ratio
    rms_naive / rms_good is infinite, which ``all_above`` rejects as not finite. With float32
    rounding between the passes (the real run without dropout) only the activity check fails."""
    checks, numbers = lecture6.bn_pitfall_decide(_bn_pitfall(without_dropout="exact"))
    assert _failed(checks) == _named(checks, "dropout is active", "farther off")
    assert "finite" in checks[_named(checks, "farther off")[0]].reason
    assert numbers["mc_spread"] == 0 and numbers["rms_good"] == 0

    checks, numbers = lecture6.bn_pitfall_decide(_bn_pitfall(without_dropout="float32"))
    assert _failed(checks) == _named(checks, "dropout is active")
    assert numbers["mc_spread"] < claims.rules.EXACT_TOLERANCE


def test_a_check_is_found_by_a_fragment_of_its_sentence():
    """``ClaimResult.check`` finds exactly one check by a fragment; none or several: KeyError."""
    result = claims.get("regularisers").evaluate(_regularisers(), list(range(11)))
    assert result.check("training loss grows with the hidden rate").passed
    with pytest.raises(KeyError, match="matches 0 checks"):
        result.check("no such sentence")
    with pytest.raises(KeyError, match="matches [2-9] checks"):
        result.check("dropout 0.5")
