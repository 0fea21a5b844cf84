"""The claims' decision machinery: rules (must hold / must fail on synthetic data), seed sets,
the per-claim cache key, the dropout switch and the negative control."""

import math

import numpy as np
import pytest

from dropoutcourse import claims, power, stats, switches
from dropoutcourse.claims import cache, rules, seedsets


def _diff(values, confidence=0.95):
    return stats.paired_difference(values, confidence=confidence)


CLEAR = [5.1, 4.9, 5.3, 5.0, 4.8]
NOISY = [5.0, -4.0, 9.0, -3.0, 8.0]
TINY = [0.1, -0.1, 0.05, 0.0, -0.05]


def test_exceeds_and_below_hold_and_fail_with_se_margins():
    ok, no = rules.exceeds(_diff(CLEAR), 3.0), rules.exceeds(_diff(NOISY), 0.0)
    assert ok and ok.margin_se > 3 and not no and no.margin_se < 0
    assert "lower end" in ok.reason
    assert rules.below(_diff(TINY), 1.0) and not rules.below(_diff(CLEAR), 1.0)
    d = _diff(CLEAR)
    assert ok.margin_se == pytest.approx((d.lo - 3.0) / d.se)


def test_within_is_tost_and_a_bad_margin_fails_with_a_reason():
    tiny = _diff(TINY, 0.90)
    assert rules.within(tiny, 0.5) and not rules.within(_diff(CLEAR, 0.90), 0.5)
    for bad in (0, -1.0, math.nan):
        check = rules.within(tiny, bad)
        assert not check and "margin" in check.reason and check.margin_se == -math.inf


def test_resolves_is_about_the_interval_width_not_the_mean():
    narrow, wide = _diff(TINY), _diff(NOISY)
    assert rules.resolves(narrow, 0.5) and not rules.resolves(wide, 0.5)
    assert rules.resolves(_diff(np.array(TINY) + 10), 0.5)  # a big shift is still resolved


def test_per_seed_rules_and_dropout_activity():
    assert rules.all_above([1.0, 1.2, 1.1], 0.5) and not rules.all_above([1.0, 0.2], 0.5)
    assert rules.all_below([0.1, 0.2], 0.5) and not rules.all_below([0.1, 0.7], 0.5)
    assert not rules.all_above([1.0, math.nan], 0.0)  # fails, does not raise
    # paired activity: dropout raised the training loss on the same seeds
    on = rules.is_dropout_active(_diff([0.30, 0.28, 0.33, 0.31, 0.29]))
    assert on and on.margin_se > 3 and "dropout active" in on.reason
    off = rules.is_dropout_active(_diff([0.0, 0.0, 0.0]))  # both arms the same run
    assert not off and "dropout active" in off.reason
    assert not rules.is_dropout_active(_diff([0.1, -0.1, 0.05, -0.02]))  # noise only
    # two arms that are the same configuration, trained side by side: last-bit differences
    # that happen to share a sign are not activity
    assert not rules.is_dropout_active(_diff([1.9e-9, 2.1e-9, 2.0e-9]))
    # structural activity: exactly 0 without dropout, an exact fact either way
    exact = rules.dropout_changes([0.02, 0.5, 0.1])
    assert exact and exact.margin_se == math.inf
    none = rules.dropout_changes([0.0, 0.0, 0.0])
    assert not none and none.margin_se == -math.inf and "exact" in none.reason
    assert not rules.dropout_changes([0.3, 1e-9])  # one seed where nothing was dropped
    assert not rules.changed([])


def test_per_seed_margin_is_the_chance_that_a_new_set_has_a_seed_beyond():
    values = np.array([2.0, 3.0, 2.5, 3.5, 3.0])
    check = rules.all_above(values, 1.0)
    mean, sd = values.mean(), values.std(ddof=1)
    q = stats_norm_cdf((1.0 - mean) / sd)
    p_set = 1 - (1 - q) ** values.size
    assert rules.failure_chance(check.margin_se) == pytest.approx(p_set, rel=1e-6)
    # more seeds per set: a flip somewhere is likelier, the margin smaller
    assert rules.all_above(np.tile(values, 4), 1.0).margin_se < check.margin_se
    # a held rule whose values crowd the bound is below 3 SE; a failed one is negative
    assert rules.all_above([1.1, 1.9, 1.5], 1.0).margin_se < 3
    assert rules.all_above([0.9, 2.0, 1.5], 1.0).margin_se < 0
    assert rules.all_above([2.0, 2.0], 1.0).margin_se == math.inf  # no spread: exact


def stats_norm_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2))


def test_all_of_and_by_construction_and_failure_chance():
    a, b = rules.all_above([2.0, 3.0], 0.0), rules.all_above([1.0, 1.5], 0.0)
    both = rules.all_of([a, b])
    assert both and both.margin_se == min(a.margin_se, b.margin_se)
    assert not rules.all_of([rules.by_construction(True, ""), rules.by_construction(False, "")])
    assert rules.failure_chance(0.0) == pytest.approx(0.5)
    assert rules.failure_chance(3.0) == pytest.approx(0.00135, rel=0.01)
    assert rules.suite_failure_chance([3.0, 3.0]) == pytest.approx(1 - (1 - 0.00135) ** 2, rel=0.01)


def test_interval_numbers():
    d = _diff(CLEAR)
    assert rules.interval_numbers("gain", d) == {"gain": d.mean, "gain_lo": d.lo, "gain_hi": d.hi}


def test_power_sizes_grow_with_noise_and_match_the_rule():
    assert power.n_for_exceeds(1.0, 1.0) < power.n_for_exceeds(2.0, 1.0)
    n = power.n_for_exceeds(1.0, 1.0)
    assert power.power_exceeds(n, 1.0, 1.0) >= 0.9 > power.power_exceeds(n - 1, 1.0, 1.0)
    assert power.n_for_within(1.0, 0.0, 1.0) < power.n_for_within(1.0, 0.5, 1.0)
    assert power.n_for_margin(1.0, 2.0) > power.n_for_margin(1.0, 4.0)
    with pytest.raises(ValueError, match="sd"):
        power.n_for_exceeds(0.0, 1.0)


def test_seed_sets_are_disjoint_and_overlaps_are_rejected():
    sizes = {name: c.n_seeds for name, c in claims.CLAIMS.items()}
    seedsets.check_disjoint((*claims.PILOT_OFFSETS, *claims.CONFIRMATION_OFFSETS), sizes)
    assert not set(claims.PILOT_OFFSETS) & set(claims.CONFIRMATION_OFFSETS)
    with pytest.raises(ValueError, match="overlap.*flagship"):
        seedsets.check_disjoint([0, 3], {"flagship": 5})
    with pytest.raises(ValueError, match="overlap"):
        seedsets.check_disjoint([7, 7], {"x": 1})
    from dropoutcourse.claims.table import run_all

    with pytest.raises(ValueError, match="overlap"):
        run_all([0, 1], ["flagship"])


def test_ensemble_members_never_reuse_a_claim_seed():
    from dropoutcourse.claims import lecture8

    offsets = (*claims.PILOT_OFFSETS, *claims.CONFIRMATION_OFFSETS)
    most = max(c.n_seeds for c in claims.CLAIMS.values())
    claim_seeds = {o + i for o in offsets for i in range(most)}
    members = lecture8.BENCH["members"]
    extra = {
        m
        for o in offsets
        for s in range(o, o + most)
        for m in lecture8.member_seeds(s, members)[1:]
    }
    assert not claim_seeds & extra


def _package(tmp_path):
    root = tmp_path / "dropoutcourse"
    (root / "claims").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "claims" / "__init__.py").write_text("")
    (root / "data.py").write_text("X = 1\n")
    (root / "plots.py").write_text("Y = 1\n")
    (root / "engine.py").write_text("from dropoutcourse.data import X\n")
    (root / "claims" / "lecture9.py").write_text(
        "def experiment(seeds):\n    from dropoutcourse import engine\n    return engine\n"
    )
    return root


def test_cache_key_follows_the_imports_of_the_claim_only(tmp_path):
    root = _package(tmp_path)
    deps = {p.name for p in cache.dependencies("dropoutcourse.claims.lecture9", root)}
    assert deps == {"lecture9.py", "engine.py", "data.py"}
    key = cache.fingerprint("dropoutcourse.claims.lecture9", root)
    (root / "plots.py").write_text("Y = 2\n")  # not imported by the claim
    assert cache.fingerprint("dropoutcourse.claims.lecture9", root) == key
    (root / "data.py").write_text("X = 2\n")  # imported through engine.py
    assert cache.fingerprint("dropoutcourse.claims.lecture9", root) != key


def test_experiment_key_ignores_the_decision_rule(tmp_path):
    root = _package(tmp_path)
    lecture = root / "claims" / "lecture9.py"
    (root / "claims" / "rules.py").write_text("T = 1\n")
    (root / "stats.py").write_text("def f():\n    from dropoutcourse.claims.rules import T\n")
    lecture.write_text(
        "from dropoutcourse.claims.rules import T\n"
        "SIZE = 3\nMARGIN = 2\n"
        "def experiment(seeds):\n    from dropoutcourse import engine, stats\n"
        "    return engine, SIZE\n"
        "def decide(data):\n    return T > MARGIN\n"
    )
    key = cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root)
    same = lecture.read_text().replace("MARGIN = 2", "MARGIN = 5").replace("T > ", "T >= ")
    lecture.write_text(same)  # the rule and its threshold: re-judged, not retrained
    (root / "claims" / "rules.py").write_text("T = 2\n")  # reached only through stats' alias
    assert cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root) == key
    lecture.write_text(same.replace("SIZE = 3", "SIZE = 4"))  # a setting the experiment uses
    assert cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root) != key
    lecture.write_text(same)
    (root / "data.py").write_text("X = 3\n")  # training code, through engine.py
    assert cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root) != key


def test_experiment_key_follows_names_imported_from_other_claims_modules(tmp_path):
    root = _package(tmp_path)
    seedsets = root / "claims" / "seedsets.py"
    seedsets.write_text("OFFSETS = (1, 2)\ndef data_seed(seeds):\n    return seeds[0]\n")
    (root / "claims" / "lecture9.py").write_text(
        "from dropoutcourse.claims.seedsets import data_seed\n"
        "def experiment(seeds):\n    return data_seed(seeds)\n"
    )
    key = cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root)
    seedsets.write_text(seedsets.read_text().replace("(1, 2)", "(1, 2, 3)"))  # not reached
    assert cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root) == key
    seedsets.write_text(seedsets.read_text().replace("seeds[0]", "seeds[1]"))  # reached
    assert cache.experiment_fingerprint("dropoutcourse.claims.lecture9", "experiment", root) != key


def test_real_claims_do_not_depend_on_plots():
    for name in ("flagship", "cnn_variants", "mc_band"):
        module = claims.get(name).experiment.__module__
        files = {p.name for p in cache.dependencies(module)}
        assert "plots.py" not in files and "report.py" not in files, name
        assert {"config_fit.py", "variant_fit.py", "api.py", "layers.py"} & files, name


def test_runs_without_dropout_have_their_own_cache_entry(monkeypatch, tmp_path):
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    on = cache.cache_path("flagship", "dropoutcourse.claims.lecture1", [0, 1], True)
    off = cache.cache_path("flagship", "dropoutcourse.claims.lecture1", [0, 1], False)
    assert on != off and "nodropout" in off.name


def test_switch_forces_rates_to_zero_in_models():
    assert switches.dropout_enabled() and switches.effective_rate(0.5) == 0.5
    from dropoutcourse import models

    with switches.without_dropout():
        assert not switches.dropout_enabled() and switches.effective_rate(0.5) == 0.0
        net = models.mlp(4, 3, hidden=(8,), hidden_rate=0.5, input_rate=0.2)
        assert not [layer for layer in net.layers if "dropout" in layer.name]
    assert switches.dropout_enabled()
    net = models.mlp(4, 3, hidden=(8,), hidden_rate=0.5)
    assert [layer for layer in net.layers if "dropout" in layer.name]


def test_a_rule_that_cannot_be_applied_fails_with_a_reason(monkeypatch):
    claim = claims.Claim(
        "toy_nan", 0, "", 3, lambda s: None, lambda df: (_ for _ in ()).throw(ValueError("NaN"))
    )
    monkeypatch.setitem(claims.CLAIMS, "toy_nan", claim)
    result = claim.evaluate(None, [0, 1, 2])
    assert not result.holds and "NaN" in str(result)


#: claims that fail without dropout through their effect checks alone (a gap that closes, a
#: variance that no longer shifts): every other claim also names a "dropout is active" check
WITHOUT_ACTIVITY_CHECK = {"overfitting_needs_small_data", "variance_shift"}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:mc_predict found no dropout")  # expected here
@pytest.mark.parametrize("name", sorted(claims.CLAIMS))
def test_every_claim_fails_without_dropout(name, monkeypatch, tmp_path):
    """The negative control at 2 seeds (affordable in CI; the full-size run is
    ``python -m dropoutcourse claims --without-dropout``). With 2 seeds a rule could fail for
    lack of power alone, so where a claim has a "dropout is active" check, that check itself
    must fail, which no number of seeds changes: its quantity is exactly 0 (structural) or
    the two arms are the same run (paired)."""
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    with switches.without_dropout():
        result = claims.run(name, n_seeds=2)
    assert not result.dropout and not result.holds, str(result)
    active = [c for k, c in result.checks.items() if k.startswith("dropout is active")]
    assert active or name in WITHOUT_ACTIVITY_CHECK, f"{name} has no 'dropout is active' check"
    assert all(not c.passed for c in active), str(result)
