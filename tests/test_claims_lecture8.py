"""Lecture 8's claims: their rules fail on data without the effect. (That every claim holds on
the default seed set and fails under ``switches.without_dropout()`` is tested for all claims at
once: ``test_claims.py`` and ``test_claim_rules.py``.)"""

import pandas as pd

from dropoutcourse.claims import lecture8


def _shift_rows(effect: float) -> pd.DataFrame:
    """Synthetic benchmark data: MC dropout better than everyone by ``effect`` everywhere."""
    rows = []
    for seed in range(6):
        for level, noise in enumerate(lecture8.BENCH["noise"]):
            for method in lecture8.METHODS:
                better = effect if method == "mc_dropout" else 0.0
                jitter = 0.01 * (seed % 3)
                rows.append(
                    {
                        "seed": seed,
                        "level": level,
                        "noise": noise,
                        "method": method,
                        "nll": 1 + level - better + jitter,
                        "ece": 5
                        + 10 * level
                        - 10 * better
                        - (4 if method == "temperature" and level == 0 else 0)
                        + jitter,
                        "brier": 0.5,
                        "accuracy": 50.0,
                        "mean_mi": 0.1,
                        "temperature": 1.5,
                    }
                )
    return pd.DataFrame(rows)


def test_shift_rule_holds_with_the_effect_and_fails_without():
    checks, _ = lecture8.shift_decide(_shift_rows(0.5))
    assert all(checks.values())
    checks, _ = lecture8.shift_decide(_shift_rows(0.0))
    assert not all(checks.values())


def test_concrete_rule_fails_when_the_rate_does_not_fall():
    rows = [
        {"seed": s, "n_train": n, "layer": layer, "rate": 0.1 + 0.001 * s, "mask_effect": 0.1}
        for s in range(5)
        for n in lecture8.CONCRETE["sizes"]
        for layer in range(3)
    ]
    checks, _ = lecture8.concrete_decide(pd.DataFrame(rows))
    assert checks["dropout is active: the concrete masks change the output on every seed and size"]
    assert not all(checks.values())


def test_concrete_experiment_is_reproducible_to_the_last_bit():
    """Its training-mode pass (``mask_effect``) draws from a fixed stream per replica and layer,
    not from whatever state the replica's network was cloned with."""
    first, again = (lecture8.concrete_experiment([7]) for _ in range(2))
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert (first["mask_effect"] > 0).all()
