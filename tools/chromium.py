"""Finding the system Chromium, for the slide build (PDF handouts) and the browser tests.

``slides/build.py`` and ``tests/_support.py`` load it by path. One place for the executable
names, the lookup and the headless flags.
"""

from __future__ import annotations

import os
import shutil

#: Executable names tried in order on the PATH (after ``$CHROMIUM``).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a headless run: no sandbox (containers), no GPU, no background traffic or
#: first-run pages. Playwright adds ``--headless`` itself; a command line needs it too.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    """``$CHROMIUM`` or the first Chromium/Chrome on the PATH (None if there is none)."""
    return os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
