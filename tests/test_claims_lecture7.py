"""Lecture 7's claims: their rules on synthetic data (each part can fail).

The real runs (the default seed set, and the negative control with every rate forced to 0)
are tested for all claims at once: ``test_claims.py`` and ``test_claim_rules.py``.
"""

import numpy as np
import pandas as pd

from dropoutcourse.claims import lecture7 as l7

LABELS = list(l7.RESIDUAL_MODELS)


def _residual_runs(gains: dict, loss_rise: float = 0.5, n_seeds: int = 8) -> pd.DataFrame:
    """Final-epoch rows of a fake droppath run: label -> test-accuracy change (fraction)."""
    rng = np.random.default_rng(0)
    base = 0.40 + 0.01 * rng.standard_normal(n_seeds)
    rows = []
    for label in LABELS:
        for s in range(n_seeds):
            rows.append(
                {
                    "label": label,
                    "seed": s,
                    "epoch": 15,
                    "loss": 0.5 + (0.0 if label == "none" else loss_rise),
                    "accuracy": 0.99,
                    "val_accuracy": base[s] + gains.get(label, 0.0) + 0.003 * rng.standard_normal(),
                }
            )
    return pd.DataFrame(rows)


NULL = {"DropPath 0.8 (every block)": -0.10}


def test_droppath_rule_holds_for_an_active_null():
    checks, numbers = l7.droppath_decide(_residual_runs(NULL))
    assert all(checks.values()), checks
    assert numbers["control_cost"] < -9 and abs(numbers["gain_droppath"]) < 1


def _failed(checks) -> list[str]:
    return [k for k, ok in checks.items() if not ok]


def test_droppath_rule_fails_when_its_parts_fail():
    gain = l7.droppath_decide(_residual_runs(NULL | {"DropPath 0.3": 0.04}))[0]
    assert _failed(gain) == [k for k in gain if k.startswith("DropPath 0.3 does not")]
    blind = l7.droppath_decide(_residual_runs({}))[0]
    assert _failed(blind) == [k for k in blind if k.startswith("positive control")]
    inactive = l7.droppath_decide(_residual_runs(NULL, loss_rise=0.0))[0]
    assert _failed(inactive) == [k for k in inactive if k.startswith("dropout is active")]


def _size_runs(effects: dict, loss_rise: float = 0.3, n_seeds: int = 5) -> pd.DataFrame:
    """Final rows of a fake data-size run: size -> (accuracy gain, test-loss reduction)."""
    rng = np.random.default_rng(1)
    rows = []
    for n, (gain, lower) in effects.items():
        for model in (0, 1):
            for s in range(n_seeds):
                rows.append(
                    {
                        "train_size": n,
                        "model": model,
                        "seed": s,
                        "loss": 1.0 + model * loss_rise,
                        "val_loss": 1.2 - model * lower + 0.01 * rng.standard_normal(),
                        "val_accuracy": 0.5 + model * gain + 0.004 * rng.standard_normal(),
                    }
                )
    return pd.DataFrame(rows)


CROSSING = {500: (0.02, 0.6), 4000: (-0.05, -0.2), 20_000: (-0.06, -0.2)}


def test_data_size_rule_holds_when_the_effect_crosses_zero():
    checks, numbers = l7.data_size_decide(_size_runs(CROSSING))
    assert all(checks.values()), checks
    assert numbers["loss_gain_500"] > 0.5 and numbers["gain_20000"] < -5


def test_data_size_rule_fails_when_its_parts_fail():
    flat = l7.data_size_decide(_size_runs({n: (0.0, 0.0) for n in CROSSING}))[0]
    assert not flat[next(k for k in flat if "lowers the test loss" in k)]
    assert not flat[next(k for k in flat if "raises the test loss" in k)]
    no_cost = l7.data_size_decide(_size_runs(CROSSING | {20_000: (0.02, 0.0)}))[0]
    assert sorted(_failed(no_cost)) == sorted(
        k for k in no_cost if "raises the test loss" in k or "shrinks" in k
    )
    inactive = l7.data_size_decide(_size_runs(CROSSING, loss_rise=0.0))[0]
    assert _failed(inactive) == [k for k in inactive if k.startswith("dropout is active")]
