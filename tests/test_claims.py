"""Every registered claim holds on the default seed set, by its own pre-declared rule.

The same definitions drive the notebooks and the slides' numbers; other seed sets are run by
``python -m dropoutcourse claims --seed-offset 1000 2000`` (benchmarks/claims_seed_sets.py).
"""

import pandas as pd
import pytest

from dropoutcourse import claims
from dropoutcourse.claims.core import Claim


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(claims.CLAIMS))
def test_claim_holds_on_the_default_seed_set(name):
    claim = claims.get(name)
    result = claims.run(name)
    assert result.seeds == tuple(claim.seeds(0))
    if claim.replication == "folds":
        assert result.data["fold"].nunique() >= 5
    else:
        assert len(result.seeds) >= 5
    assert set(claim.headline) <= set(result.numbers), "the table's headline names a number"
    result.assert_holds()


def _toy(effect: float) -> Claim:
    def experiment(seeds):
        return pd.DataFrame({"seed": seeds, "diff": [effect + 0.1 * (s % 3) for s in seeds]})

    def decide(df):
        from dropoutcourse.claims.rules import exceeds
        from dropoutcourse.stats import paired_difference

        d = paired_difference(df["diff"])
        return {"effect above 1": exceeds(d, 1.0)}, {"mean": d.mean}

    return Claim("toy", 0, "a toy effect", 5, experiment, decide)


def test_a_claim_fails_when_its_effect_is_absent(monkeypatch):
    monkeypatch.setitem(claims.CLAIMS, "toy", _toy(0.0))
    result = claims.run("toy", cache=False)
    assert not result.holds and "FAILED" in str(result)
    with pytest.raises(AssertionError, match="effect above 1"):
        result.assert_holds()
    monkeypatch.setitem(claims.CLAIMS, "toy", _toy(3.0))
    assert claims.run("toy", 1000, cache=False).holds


def test_claims_cli_exit_status_and_table(monkeypatch, capsys, tmp_path):
    from dropoutcourse.__main__ import main

    monkeypatch.delenv(claims.CACHE_ENV, raising=False)  # two toy claims share a name
    monkeypatch.setitem(claims.CLAIMS, "toy", _toy(0.0))
    assert (
        main(["claims", "--only", "toy", "--seed-offset", "0", "1000", "--out", str(tmp_path)]) == 1
    )
    out = capsys.readouterr().out
    assert "seeds 1000+" in out and "FAILS" in out
    assert (tmp_path / "claims.md").exists() and (tmp_path / "claims.json").exists()
    monkeypatch.setitem(claims.CLAIMS, "toy", _toy(3.0))
    assert main(["claims", "--only", "toy"]) == 0


def test_unknown_claim_and_bad_offset_are_named():
    with pytest.raises(KeyError, match="known"):
        claims.get("no such claim")
    with pytest.raises(ValueError, match="seed_offset"):
        claims.get("flagship").seeds(-1)


def test_cache_reuses_one_run(monkeypatch, tmp_path):
    calls = []
    toy = _toy(3.0)
    counting = Claim("toy", 0, "", 5, lambda s: calls.append(s) or toy.experiment(s), toy.decide)
    monkeypatch.setitem(claims.CLAIMS, "toy", counting)
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    first, second = claims.run("toy"), claims.run("toy")
    assert len(calls) == 1 and first.numbers == second.numbers


def test_two_processes_asking_at_once_train_the_claim_once(monkeypatch, tmp_path):
    """Parallel test workers share the cache: the second caller waits for the first one's
    entry instead of training the claim again (and no half-written file is ever read)."""
    import threading
    import time

    calls = []
    toy = _toy(3.0)

    def slow_experiment(seeds):
        calls.append(seeds)
        time.sleep(0.5)  # long enough for the other thread to arrive while this one trains
        return toy.experiment(seeds)

    monkeypatch.setitem(claims.CLAIMS, "toy", Claim("toy", 0, "", 5, slow_experiment, toy.decide))
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    results = []
    threads = [threading.Thread(target=lambda: results.append(claims.run("toy"))) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 2
    assert results[0].numbers == results[1].numbers
    assert not list(tmp_path.glob("*.tmp"))


def test_prefill_trains_claims_side_by_side_into_the_cache(monkeypatch, tmp_path):
    """The slide build's first step: claims trained in worker processes land in the cache, and
    a later run reads them instead of training (its experiment is never called)."""
    from dropoutcourse.claims import registry

    names = ["pixel_drop", "variance_shift"]  # two cheap claims
    monkeypatch.delenv(claims.CACHE_ENV, raising=False)
    assert registry.prefill(names, jobs=2) == []  # nowhere to keep results: nothing trained
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    assert sorted(registry.prefill(names, jobs=2)) == names
    assert len(list(tmp_path.glob("*.pkl"))) == 2
    for name in names:
        claim = claims.get(name)

        def never(seeds):
            raise AssertionError("trained again instead of read from the cache")

        # the cache key names the experiment by module and name: keep both
        never.__module__, never.__name__ = claim.experiment.__module__, claim.experiment.__name__
        monkeypatch.setitem(claims.CLAIMS, name, Claim(**{**vars(claim), "experiment": never}))
        assert claims.run(name).holds
    with pytest.raises(ValueError, match="jobs"):
        registry.prefill(names, jobs=0)
    with pytest.raises(KeyError, match="unknown claim"):
        registry.prefill(["no_such_claim"])
