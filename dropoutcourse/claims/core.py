"""What a claim is: one experiment, its settings, its numbers and its pre-declared decision rule.

A :class:`Claim` is defined once (in ``dropoutcourse.claims.lectureN``) and used everywhere:
the lecture notebook runs it and shows its data, the claim tests assert it, the slides render
its numbers, and ``python -m dropoutcourse claims --seed-offset N`` runs it on another seed
set. Nothing quoted from a run is typed by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: The seed sets every claim must hold on: the default (offset 0) and two disjoint others.
SEED_OFFSETS: tuple[int, ...] = (0, 1000, 2000)

#: Environment variable naming a folder where claim results are cached, so that the slides,
#: the claim tests and ``reproduce`` in one ``make test`` use *one* run of each claim.
CACHE_ENV = "DROPOUTCOURSE_CLAIMS_CACHE"


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim on one seed set.

    ``checks`` maps each part of the decision rule to whether it held; ``numbers`` holds the
    measured quantities the course quotes (the slides render them by name); ``data`` is the
    experiment's tidy DataFrame (for figures).
    """

    name: str
    seeds: tuple[int, ...]
    checks: dict[str, bool]
    numbers: dict[str, float]
    data: pd.DataFrame = field(repr=False, compare=False)

    @property
    def holds(self) -> bool:
        return all(self.checks.values())

    @property
    def seed_offset(self) -> int:
        return self.seeds[0]

    def __str__(self) -> str:
        claim = CLAIMS[self.name]
        lines = [
            f"{self.name} ({len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''} "
            f"from {self.seeds[0]}): "
            f"{'HOLDS' if self.holds else 'FAILS'}",
            f"  claim: {claim.statement}",
        ]
        lines += [f"  [{'ok' if ok else 'FAILED'}] {rule}" for rule, ok in self.checks.items()]
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
            "checks": self.checks,
            "numbers": self.numbers,
        }


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


Decide = Callable[[pd.DataFrame], tuple[Mapping[str, bool], Mapping[str, float]]]


@dataclass(frozen=True)
class Claim:
    """A claim of the course.

    ``experiment(seeds)`` runs the experiment and returns a tidy DataFrame; ``decide(data)``
    applies the pre-declared rule and returns ``(checks, numbers)``. ``statement`` is the
    sentence the course says; ``n_seeds`` how many seeds one seed set has. ``replication``
    says what the decision rule pairs over: ``"seeds"`` (one run per seed, the default) or
    ``"folds"`` (one cross-validation on the set's first seed, paired over its folds).
    ``headline`` names the numbers the claims table shows for it.
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

    def seeds(self, seed_offset: int = 0) -> list[int]:
        from dropoutcourse._validate import check_seed

        seed_offset = check_seed(seed_offset, "seed_offset")
        return list(range(seed_offset, seed_offset + self.n_seeds))

    def evaluate(self, data: pd.DataFrame, seeds: list[int]) -> ClaimResult:
        """Apply the decision rule to an experiment's data."""
        checks, numbers = self.decide(data)
        return ClaimResult(
            name=self.name,
            seeds=tuple(seeds),
            checks={k: bool(v) for k, v in checks.items()},
            numbers={k: _plain(v) for k, v in numbers.items()},
            data=data,
        )

    def run(self, seed_offset: int = 0, *, cache: bool = True) -> ClaimResult:
        """Run the experiment on seed set ``seed_offset`` and apply the rule.

        With ``$DROPOUTCOURSE_CLAIMS_CACHE`` set (``make test`` sets it), a result of the same
        code, library versions and seeds is read from that folder instead of trained again.
        """
        seeds = self.seeds(seed_offset)
        path = _cache_path(self.name, seeds) if cache else None
        if path is not None and path.exists():
            data = pd.read_pickle(path)
        else:
            data = self.experiment(seeds)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                data.to_pickle(tmp, protocol=pickle.HIGHEST_PROTOCOL)
                tmp.replace(path)
        return self.evaluate(data, seeds)


def _plain(v):
    try:
        return int(v) if isinstance(v, bool | int) else float(v)
    except (TypeError, ValueError):
        return v


#: Every claim of the course, by name (filled by the ``lectureN`` modules).
CLAIMS: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    if claim.name in CLAIMS:
        raise ValueError(f"claim {claim.name!r} is defined twice")
    CLAIMS[claim.name] = claim
    return claim


def get(name: str) -> Claim:
    """The claim called ``name``; the error lists the known ones."""
    if name not in CLAIMS:
        raise KeyError(f"unknown claim {name!r}; known: {', '.join(sorted(CLAIMS))}")
    return CLAIMS[name]


def run(name: str, seed_offset: int = 0, *, cache: bool = True) -> ClaimResult:
    """Run claim ``name`` on seed set ``seed_offset`` (see :meth:`Claim.run`)."""
    return get(name).run(seed_offset, cache=cache)


# --------------------------------------------------------------------------- cache


def _code_fingerprint() -> str:
    """Hash of the package's source and the numeric libraries' versions."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    for pkg in ("numpy", "tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "mnist1d"):
        try:
            h.update(f"{pkg}={version(pkg)}".encode())
        except PackageNotFoundError:
            pass
    h.update(os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").encode())
    return h.hexdigest()[:16]


def _cache_path(name: str, seeds: list[int]) -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    key = json.dumps([name, seeds, _code_fingerprint()])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(folder) / f"{name}-{seeds[0]}-{digest}.pkl"
