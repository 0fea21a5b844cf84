"""What a claim is: one experiment, its settings, its numbers and its pre-declared decision rule.

A :class:`Claim` is defined once (in ``dropoutcourse.claims.lectureN``) and used everywhere:
the lecture notebook runs it and shows its data, the claim tests assert it, the slides render
its numbers, and ``python -m dropoutcourse claims --seed-offset N`` runs it on another seed
set. Nothing quoted from a run is typed by hand. Every check is a
:class:`~dropoutcourse.claims.rules.Check` that carries its distance to its threshold in
standard errors.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dropoutcourse.claims.cache import CACHE_ENV, cache_path, locked
from dropoutcourse.claims.rules import Check, by_construction
from dropoutcourse.claims.seedsets import (
    CHECK_OFFSETS,
    CONFIRMATION_OFFSETS,
    DEFAULT_OFFSET,
    PILOT_OFFSETS,
)
from dropoutcourse.switches import dropout_enabled

#: The three pilot seed sets (0, 1000, 2000), kept under their old name for the notebooks.
#: They sized the claims, so they are not evidence: see ``CHECK_OFFSETS``.
SEED_OFFSETS: tuple[int, ...] = PILOT_OFFSETS

__all__ = [
    "CACHE_ENV",
    "CHECK_OFFSETS",
    "CONFIRMATION_OFFSETS",
    "DEFAULT_OFFSET",
    "PILOT_OFFSETS",
    "SEED_OFFSETS",
    "Claim",
    "ClaimResult",
]


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim on one seed set.

    ``checks`` maps each part of the decision rule to its :class:`Check` (truthy when it
    held, with ``margin_se``); ``numbers`` holds the measured quantities the course quotes
    (the slides render them by name); ``data`` is the experiment's tidy DataFrame.
    ``dropout`` is False for a run inside :func:`dropoutcourse.switches.without_dropout`.
    ``statement`` is the claim's sentence (printed with the verdict).
    """

    name: str
    seeds: tuple[int, ...]
    checks: dict[str, Check]
    numbers: dict[str, float]
    data: pd.DataFrame = field(repr=False, compare=False)
    dropout: bool = True
    statement: str = ""

    @property
    def holds(self) -> bool:
        return all(c.passed for c in self.checks.values())

    @property
    def min_margin_se(self) -> float:
        """The smallest distance of any check to its threshold, in standard errors."""
        return min((c.margin_se for c in self.checks.values()), default=math.inf)

    def check(self, fragment: str) -> Check:
        """The one check whose sentence contains ``fragment`` (a lookup that survives rewording
        of the rest of the sentence). ``KeyError`` naming the checks when none or several match.
        """
        found = [c for name, c in self.checks.items() if fragment in name]
        if len(found) != 1:
            raise KeyError(
                f"fragment {fragment!r} matches {len(found)} checks of {self.name}, not 1; "
                f"the checks: {list(self.checks)}"
            )
        return found[0]

    @property
    def seed_offset(self) -> int:
        return self.seeds[0]

    def __str__(self) -> str:
        lines = [
            f"{self.name} ({len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''} "
            f"from {self.seeds[0]}): "
            f"{'HOLDS' if self.holds else 'FAILS'}"
            f"{'' if self.dropout else ' (without dropout: the negative control)'}",
            f"  claim: {self.statement}",
        ]
        lines += [f"  {check}" for check in self.checks.values()]
        shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.numbers.items())
        lines.append(f"  numbers: {shown}")
        return "\n".join(lines)

    def assert_holds(self) -> None:
        """Raise ``AssertionError`` listing the failed parts of the rule (for notebooks/tests)."""
        if not self.holds:
            raise AssertionError(str(self))

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "seeds": list(self.seeds),
            "holds": self.holds,
            "dropout": self.dropout,
            "min_margin_se": self.min_margin_se if math.isfinite(self.min_margin_se) else None,
            "checks": {k: c.as_dict() for k, c in self.checks.items()},
            "numbers": self.numbers,
        }


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


Decide = Callable[[pd.DataFrame], tuple[Mapping[str, Check | bool], Mapping[str, float]]]


@dataclass(frozen=True)
class Claim:
    """A claim of the course.

    ``experiment(seeds)`` runs the experiment and returns a tidy DataFrame; ``decide(data)``
    applies the pre-declared rule and returns ``(checks, numbers)``. ``statement`` is the
    sentence the course says; ``n_seeds`` how many seeds one seed set has. ``replication``
    says what the decision rule pairs over: ``"seeds"`` (one run per seed, the default) or
    ``"folds"`` (one repeat of a cross-validation per seed, each with its own split, paired
    over all the repeats' folds).
    ``headline`` names the numbers the claims table shows for it. ``sizing`` records the
    pilot numbers and the power calculation its ``n_seeds`` came from. ``measure(seeds)``
    (optional) returns numbers that must never be cached, such as wall-clock timings.
    """

    name: str
    lecture: int
    statement: str
    n_seeds: int
    experiment: Callable[[list[int]], pd.DataFrame] = field(repr=False)
    decide: Decide = field(repr=False)
    replication: str = "seeds"
    #: the numbers the claims table shows (default: the first three of ``numbers``)
    headline: tuple[str, ...] = ()
    sizing: str = field(default="", repr=False)
    measure: Callable[[list[int]], Mapping[str, float]] | None = field(default=None, repr=False)

    def seeds(self, seed_offset: int = DEFAULT_OFFSET, n_seeds: int | None = None) -> list[int]:
        """The seeds of set ``seed_offset`` (``n_seeds`` overrides the claim's, for tests)."""
        from dropoutcourse._validate import check_positive_int, check_seed

        seed_offset = check_seed(seed_offset, "seed_offset")
        n = self.n_seeds if n_seeds is None else check_positive_int(n_seeds, "n_seeds")
        return list(range(seed_offset, seed_offset + n))

    def cache_path(
        self, seed_offset: int = DEFAULT_OFFSET, n_seeds: int | None = None
    ) -> Path | None:
        """Where :meth:`run` keeps this claim's data on that seed set (None without a cache)."""
        seeds = self.seeds(seed_offset, n_seeds)
        module, function = self.experiment.__module__, self.experiment.__name__
        return cache_path(self.name, module, seeds, dropout_enabled(), function)

    def evaluate(self, data: pd.DataFrame, seeds: list[int]) -> ClaimResult:
        """Apply the decision rule to an experiment's data.

        A rule that cannot be applied to the data (e.g. NaN scores from a run where nothing
        was dropped) gives a failing check with the reason, never an exception.
        """
        try:
            checks, numbers = self.decide(data)
        except (ValueError, KeyError, ZeroDivisionError) as err:
            reason = f"{type(err).__name__}: {err}"
            checks, numbers = (
                {"the decision rule can be applied to the data": by_construction(False, reason)},
                {},
            )
        return ClaimResult(
            name=self.name,
            seeds=tuple(seeds),
            checks={k: _as_check(v).named(k) for k, v in checks.items()},
            numbers={k: _plain(v) for k, v in numbers.items()},
            data=data,
            dropout=dropout_enabled(),
            statement=self.statement,
        )

    def run(
        self, seed_offset: int = DEFAULT_OFFSET, *, cache: bool = True, n_seeds: int | None = None
    ) -> ClaimResult:
        """Run the experiment on seed set ``seed_offset`` and apply the rule.

        With ``$DROPOUTCOURSE_CLAIMS_CACHE`` set (``make test`` sets it), a result of the same
        settings, code the claim imports and library versions is read from that folder
        instead of trained again (see :mod:`dropoutcourse.claims.cache`). ``measure``
        numbers (timings) are measured afresh every time.
        """
        seeds = self.seeds(seed_offset, n_seeds)
        path = self.cache_path(seed_offset, n_seeds) if cache else None
        if path is None:
            data = self.experiment(seeds)
        else:
            with locked(path):  # another process training this entry: wait, then read it
                data = _read_or_train(path, lambda: self.experiment(seeds))
        result = self.evaluate(data, seeds)
        if self.measure is not None:
            result.numbers.update({k: _plain(v) for k, v in self.measure(seeds).items()})
        return result


def _read_or_train(path: Path, train: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The cached frame at ``path``, or ``train()``'s, written atomically (own temp name)."""
    if path.exists():
        return pd.read_pickle(path)
    data = train()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    data.to_pickle(tmp, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return data


def _as_check(value: Check | bool) -> Check:
    """A rule's result as a :class:`Check` (a bare bool is an exact fact: ±inf SE)."""
    if isinstance(value, Check):
        return value
    return by_construction(bool(value), "exact" if value else "exact: does not hold")


def _plain(v):
    try:
        return int(v) if isinstance(v, bool | int) else float(v)
    except (TypeError, ValueError):
        return v
