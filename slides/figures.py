"""Figures for the lecture decks; every one is drawn by the dropoutcourse package."""

DECK_FIGURES: dict[str, list[str]] = {}
FIGURES: dict = {}


def make(name, path):
    FIGURES[name](path)
