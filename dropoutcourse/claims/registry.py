"""Every claim of the course by name, collected from the lecture modules' ``CLAIMS`` tuples.

Defining a :class:`~dropoutcourse.claims.core.Claim` registers nothing; this module is the one
place that lists the lectures and builds the lookup table, so importing a lecture module on
its own (e.g. for its constants) has no side effects.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from dropoutcourse.claims import (
    lecture1,
    lecture2,
    lecture3,
    lecture4,
    lecture5,
    lecture6,
    lecture7,
    lecture8,
)
from dropoutcourse.claims.core import Claim, ClaimResult
from dropoutcourse.claims.seedsets import DEFAULT_OFFSET

__all__ = ["CLAIMS", "LECTURES", "get", "run"]

#: The lecture modules whose ``CLAIMS`` make up the course's claims, in course order.
LECTURES: tuple[ModuleType, ...] = (
    lecture1,
    lecture2,
    lecture3,
    lecture4,
    lecture5,
    lecture6,
    lecture7,
    lecture8,
)


def collect(modules: Iterable[ModuleType]) -> dict[str, Claim]:
    """Name → claim for every claim in the modules' ``CLAIMS``; ValueError on a repeated name."""
    table: dict[str, Claim] = {}
    for module in modules:
        for claim in module.CLAIMS:
            if claim.name in table:
                raise ValueError(f"claim {claim.name!r} is defined twice")
            table[claim.name] = claim
    return table


#: Every claim of the course, by name.
CLAIMS: dict[str, Claim] = collect(LECTURES)


def get(name: str) -> Claim:
    """The claim called ``name``; the error lists the known ones."""
    if name not in CLAIMS:
        raise KeyError(f"unknown claim {name!r}; known: {', '.join(sorted(CLAIMS))}")
    return CLAIMS[name]


def run(
    name: str, seed_offset: int = DEFAULT_OFFSET, *, cache: bool = True, n_seeds: int | None = None
) -> ClaimResult:
    """Run claim ``name`` on seed set ``seed_offset`` (see :meth:`Claim.run`)."""
    return get(name).run(seed_offset, cache=cache, n_seeds=n_seeds)
