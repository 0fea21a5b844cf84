"""Measured numbers on slides, rendered from the course's claims at build time.

A deck writes ``{{ flagship.gain }}`` (claim ``flagship``, number ``gain``; default format
``.1f`` for reals) or ``{{ flagship.gain_lo:+.1f }}`` with an explicit format. The build runs
the claim once on the default seed set (``dropoutcourse.claims.run``; ``make`` caches that run
so that the notebooks and the claim tests see the same one) and substitutes the number. A
measured number is never typed into a deck; numbers quoted from papers stay typed, with
their citation.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\.([a-z0-9_]+)\s*(?::\s*([^}\s]+))?\s*\}\}")


def placeholders(md: str) -> list[tuple[str, str, str | None]]:
    """Every ``(claim, number, format)`` a deck uses, in order."""
    return [m.groups() for m in PLACEHOLDER.finditer(md)]


def format_number(value, fmt: str | None) -> str:
    """The text a placeholder becomes (``.1f`` for reals, plain ints by default)."""
    if fmt is None:
        fmt = "d" if isinstance(value, int) and not isinstance(value, bool) else ".1f"
    return format(value, fmt)


def render(md: str, results: dict | None = None) -> tuple[str, dict[str, str]]:
    """Return the deck with every placeholder filled in, and ``{placeholder: text}`` used.

    ``results`` maps claim name → :class:`dropoutcourse.claims.ClaimResult` (runs the claims
    that are missing). A claim that fails its own rule stops the build: a slide must not
    show a number its claim does not support.
    """
    from dropoutcourse import claims

    results = {} if results is None else results
    used: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        name, key, fmt = m.groups()
        if name not in results:
            results[name] = claims.run(name)
            if not results[name].holds:
                raise RuntimeError(
                    f"claim {name!r} does not hold, so no deck may quote it:\n{results[name]}"
                )
        numbers = results[name].numbers
        if key not in numbers:
            raise KeyError(f"claim {name!r} has no number {key!r}; it has {sorted(numbers)}")
        text = format_number(numbers[key], fmt)
        used[m.group(0)] = text
        return text

    return PLACEHOLDER.sub(sub, md), used
