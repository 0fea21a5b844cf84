"""Decision rules of five claims on synthetic data: data with the effect must HOLD, and every
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
from dropoutcourse.claims import lecture1, lecture3, lecture4, lecture5, lecture8


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
    loss = {label: -0.5 for label in lecture4.REGULARISERS} | {"none": 0.0} | (loss or {})
    rng = np.random.default_rng(0)
    base_acc = 0.46 + 0.01 * rng.standard_normal(n_seeds)
    base_loss = 2.4 + 0.03 * rng.standard_normal(n_seeds)
    runs = {}
    for label, config in lecture4.REGULARISERS.items():
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
