"""Global switches of the course's trainers: today one, "is dropout on at all?".

The negative control of the claims suite (``python -m dropoutcourse claims --without-dropout``)
runs every claim with every dropout rate forced to 0. If a claim still held, it would not be
measuring dropout. Everything that trains or builds a network (``replica_fit``, ``models``,
the package's layers, ``crossval`` through ``models``, ``cnn_demos``, ``experiments``) asks
:func:`effective_rate` (or :func:`dropout_enabled`) for the rate it actually applies, so the
switch reaches all of them without new arguments.

The state is a plain module-level global: **not thread-safe** (one switch per process), which
is all the CLI and the tests need. Recorded results keep the *nominal* rates (the labels and
``hidden_rate`` columns say what was asked for), so a decision rule sees the same table shape
and fails on its own checks instead of on a missing column.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["dropout_enabled", "effective_rate", "without_dropout"]

_DROPOUT_ENABLED = True


def dropout_enabled() -> bool:
    """True unless inside :func:`without_dropout`."""
    return _DROPOUT_ENABLED


def effective_rate(rate: float) -> float:
    """The rate a trainer applies: ``rate`` itself, or 0.0 inside :func:`without_dropout`."""
    return float(rate) if _DROPOUT_ENABLED else 0.0


@contextmanager
def without_dropout() -> Iterator[None]:
    """Force every dropout rate of the package's trainers to 0 inside the ``with`` block.

    Re-entrant (the previous state is restored on exit, also after an exception).
    """
    global _DROPOUT_ENABLED
    previous = _DROPOUT_ENABLED
    _DROPOUT_ENABLED = False
    try:
        yield
    finally:
        _DROPOUT_ENABLED = previous
