"""Every claim of the course by name, collected from the lecture modules' ``CLAIMS`` tuples.

Defining a :class:`~dropoutcourse.claims.core.Claim` registers nothing; this module is the one
place that lists the lectures and builds the lookup table, so importing a lecture module on
its own (e.g. for its constants) has no side effects.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
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

__all__ = ["CLAIMS", "LECTURES", "get", "prefill", "run"]

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


def _use_share_of_cores(threads: int) -> None:
    # before TensorFlow starts in this worker: its share of the cores (TensorFlow reads these)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def _train(name: str, seed_offset: int) -> str:
    run(name, seed_offset)
    return name


def prefill(
    names: Iterable[str] | None = None, *, jobs: int = 2, seed_offset: int = DEFAULT_OFFSET
) -> list[str]:
    """Train claims ``names`` (default: all) into ``$DROPOUTCOURSE_CLAIMS_CACHE``, ``jobs``
    claims at a time, each in its own process with its share of the cores.

    The slide build calls it first, so that its claims are trained side by side instead of one
    after the other. Returns the names trained or read, in the order given; without a cache folder
    nothing would be kept, so it trains nothing and returns [].
    """
    from dropoutcourse._validate import check_positive_int
    from dropoutcourse.claims.cache import CACHE_ENV

    names = list(CLAIMS) if names is None else [get(n).name for n in names]
    jobs = check_positive_int(jobs, "jobs")
    if not os.environ.get(CACHE_ENV) or not names:
        return []
    threads = max(1, (os.cpu_count() or 1) // jobs)
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no TensorFlow state
    with ProcessPoolExecutor(jobs, spawn, _use_share_of_cores, (threads,)) as pool:
        return list(pool.map(_train, names, [seed_offset] * len(names)))
