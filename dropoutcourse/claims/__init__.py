"""Every quantitative claim of the course: one definition, used by notebooks, slides and tests.

>>> from dropoutcourse import claims
>>> result = claims.run("mc_vs_weight_scaling")          # the default seed set
>>> print(result)                                       # rule, checks and numbers
>>> claims.run("mc_vs_weight_scaling", seed_offset=1000).holds

``python -m dropoutcourse claims --seed-offset 10000`` runs them all on another seed set;
``--without-dropout`` runs them with every dropout rate forced to 0 (all must fail).
"""

from dropoutcourse.claims import (  # noqa: F401  (``claims.lecture3.KFOLD`` etc. stay reachable)
    lecture1,
    lecture2,
    lecture3,
    lecture4,
    lecture5,
    lecture6,
    lecture7,
    lecture8,
)
from dropoutcourse.claims.background import train_in_background
from dropoutcourse.claims.core import (
    CACHE_ENV,
    CHECK_OFFSETS,
    CONFIRMATION_OFFSETS,
    DEFAULT_OFFSET,
    PILOT_OFFSETS,
    SEED_OFFSETS,
    Claim,
    ClaimResult,
)
from dropoutcourse.claims.registry import CLAIMS, get, run
from dropoutcourse.claims.rules import Check

__all__ = [
    "CACHE_ENV",
    "CHECK_OFFSETS",
    "CLAIMS",
    "CONFIRMATION_OFFSETS",
    "DEFAULT_OFFSET",
    "PILOT_OFFSETS",
    "SEED_OFFSETS",
    "Check",
    "Claim",
    "ClaimResult",
    "get",
    "run",
    "train_in_background",
]
