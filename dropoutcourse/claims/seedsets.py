"""The named seed sets of the claims: pilots (to size claims), confirmations, the default.

A seed set is the offset of its first seed: claim ``c`` on set ``o`` uses the seeds
``o, o + 1, …, o + c.n_seeds − 1`` for initialisation, data order and masks, and ``o`` itself
for the data split or the generated data (:func:`data_seed`), so a seed set redraws
everything random.

* :data:`PILOT_OFFSETS` — 0, 1000, 2000, 10000, 20000-170000: the sets the
  margins, rules and seed counts were tuned on. They are **never** evidence for a claim.
  10000 was a confirmation set; a rule was changed after seeing it
  (``big_steps_need_max_norm``), so it became a pilot. 20000-50000 were the next
  confirmations; several rules and seed counts were changed after seeing them (margins below
  3 SE, a channel draw that dropped nothing), so they became pilots too. 60000-90000 were
  the next confirmations: every claim held on them, but five checks came closer than 3 SE;
  those claims were resized (more seeds, a repeated k-fold, a paired interval instead of a
  per-seed bound, a ratio on the log scale), so 60000-90000 are pilots now as well.
  100000-130000 were the next confirmations: every claim held, but five checks came closer
  than 3 SE, three of them because one shared data draw per set moved the whole set
  (``mc_band``, ``digits_gain_is_small``); those claims now draw the data per seed, the
  others got more seeds, and 100000-130000 are pilots too. 140000-170000 were the next
  confirmations: every claim held with every check at 3.6 SE or more; their margins were then
  used to train the sweep arms of ``regularisers`` on fewer seeds (half the training time),
  so they are pilots too.
* :data:`CONFIRMATION_OFFSETS` — four fresh, disjoint sets, first run after the rules were
  frozen: the evidence (``benchmarks/claims_seed_sets.py``). 180000-210000, first run on
  2026-12-06: every claim held, every check 3.4 SE or more from its threshold. When a claim
  is changed after failing on one of them, that set becomes a pilot and a fresh one replaces
  it.
* :data:`DEFAULT_OFFSET` — 0, what notebooks, slides and tests show. It is a pilot set:
  fine for teaching (the numbers are reproducible), not a confirmation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PILOT_OFFSETS: tuple[int, ...] = (0, 1000, 2000, *range(10_000, 180_000, 10_000))
CONFIRMATION_OFFSETS: tuple[int, ...] = (180_000, 190_000, 200_000, 210_000)
DEFAULT_OFFSET: int = 0
#: What ``benchmarks/claims_seed_sets.py`` runs: the default set and the confirmations.
CHECK_OFFSETS: tuple[int, ...] = (DEFAULT_OFFSET, *CONFIRMATION_OFFSETS)


def data_seed(seeds: Iterable[int]) -> int:
    """The seed of a seed set's data split / generated data: its first seed."""
    return int(next(iter(seeds)))


def check_disjoint(offsets: Iterable[int], n_seeds: Mapping[str, int]) -> list[int]:
    """``offsets`` as a list; ValueError if two of them share a seed for some claim.

    ``n_seeds`` maps claim name → seeds per set. Sets starting at ``a < b`` overlap for a
    claim with ``n`` seeds when ``b < a + n``; a repeated offset is an overlap too.
    """
    chosen = [int(o) for o in offsets]
    ordered = sorted(chosen)
    for a, b in zip(ordered, ordered[1:], strict=False):
        for name, n in n_seeds.items():
            if b < a + n:
                raise ValueError(
                    f"seed offsets {a} and {b} overlap for claim {name!r} ({n} seeds: "
                    f"{a}…{a + n - 1}); choose offsets at least {n} apart"
                )
    return chosen
