"""Train a lecture's claims in a second process while the notebook goes on.

A lecture notebook calls :func:`train_in_background` once, near its top, with the claims it
will show. Its later ``claims.run(name)`` then reads what the background process wrote: the
cache entry's lock (:func:`dropoutcourse.claims.cache.locked`) makes it wait while that claim
is still training, and if the background process has not reached the claim yet, ``run``
trains it itself and the background process later just reads it. Either way each claim is
trained once and the numbers are those of ``claims.run`` alone.

Why: a ``fit_replicas`` run of small networks keeps only about one core of a 2-core laptop
busy, so the student's own cells and the lecture's many-seed evidence can share the machine
instead of taking turns (lecture 7's notebook: 95 s before, 63 s after, without a cache; not
an interleaved A/B, see ``benchmarks/README.md``). Lectures 2, 3, 5, 6, 7 and 8 use it, the
child on one core (``cores=1``) but in lectures 2 and 8, whose own cells are light (lecture 2:
NumPy; 57.8 s instead of 62 s without a cache). Lecture 3: 46.6 s instead of 60.3 s, its
hands-on cells at most 7.7 s. Lecture 5 gains as well: its own cells leave a core idle. Lectures 1 and 4 do not use it: their
claims keep both cores busy (``fit_replica_models``). Lecture 4's wall time stayed the same (163 s vs 167 s,
measured on the engine of the time) and its own cells ran three times slower; lecture 1's went
from about 90 s to 75 s, but its two hands-on ``fit`` cells from 9-11 s to 16-17 s, over the
15 s they may take.

Without ``$DROPOUTCOURSE_CLAIMS_CACHE`` a folder for this session is made (in the system's
temporary folder) and set in this process' environment, so the notebook's ``claims.run``
reads from it. The background process stops when its parent (the notebook's kernel) exits.

    python -m dropoutcourse.claims.background PARENT_PID NAME:OFFSET ...   (what it runs)
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from dropoutcourse._validate import check_positive_int
from dropoutcourse.claims.cache import CACHE_ENV
from dropoutcourse.claims.seedsets import DEFAULT_OFFSET

__all__ = ["train_in_background"]

#: what the background process writes to its standard streams (for debugging), in the cache
LOG_NAME = "background.log"


def _jobs(names: Iterable[str | tuple[str, int]]) -> list[tuple[str, int]]:
    """``name`` or ``(name, seed_offset)`` items as checked (name, offset) pairs."""
    from dropoutcourse._validate import check_seed
    from dropoutcourse.claims.registry import get

    if isinstance(names, str):
        raise TypeError("names must be a list of claim names, e.g. ['flagship'], not one string")
    jobs = []
    for item in names:
        name, offset = (item, DEFAULT_OFFSET) if isinstance(item, str) else item
        jobs.append((get(name).name, check_seed(offset, "seed_offset")))
    return jobs


def _session_folder() -> str:
    """The cache folder: ``$DROPOUTCOURSE_CLAIMS_CACHE``, or a new one for this session."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        folder = tempfile.mkdtemp(prefix="dropoutcourse-claims-")
        os.environ[CACHE_ENV] = folder  # this process' claims.run reads from it too
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return folder


def _is_cached(name: str, seed_offset: int) -> bool:
    from dropoutcourse.claims.registry import get

    path = get(name).cache_path(seed_offset)
    return path is not None and path.exists()


def train_in_background(
    names: Iterable[str | tuple[str, int]], *, cores: int | None = None
) -> subprocess.Popen | None:
    """Start training claims ``names`` (in this order) in a background process.

    Each item is a claim name (the default seed set) or a ``(name, seed_offset)`` pair.
    ``cores``: how many threads the process's TensorFlow may use (default: as many as it
    likes); 1 leaves the other core to the notebook's own cells when they train too.
    Returns the process, or None when every one of them is already in the cache. The results
    are exactly those of ``claims.run``; calling it is only ever a matter of speed.
    """
    from dropoutcourse import subprocess_env
    from dropoutcourse.switches import dropout_enabled

    threads = None if cores is None else str(check_positive_int(cores, "cores"))
    jobs = _jobs(names)
    folder = _session_folder()
    missing = [(n, o) for n, o in jobs if not _is_cached(n, o)]
    if not missing or not dropout_enabled():  # the negative control trains in its own process
        return None
    args = [str(os.getpid()), *(f"{n}:{o}" for n, o in missing)]
    env = subprocess_env()  # after _session_folder: it may have set the cache folder
    if threads is not None:  # TensorFlow reads these when it starts in the child
        env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1")
    log = open(Path(folder) / LOG_NAME, "ab")  # noqa: SIM115 (handed to the child process)
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "dropoutcourse.claims.background", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,  # never the notebook's: its kernel would show the child's output
        )


def _exit_with(parent: int) -> None:
    """Exit this process as soon as ``parent`` is gone (a restarted or closed kernel)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv: list[str]) -> int:
    """Train the ``NAME:OFFSET`` claims of ``argv[1:]`` for parent process ``argv[0]``."""
    from dropoutcourse.claims.registry import run

    parent, jobs = int(argv[0]), [item.rsplit(":", 1) for item in argv[1:]]
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    for name, offset in jobs:
        run(name, int(offset))  # written to the cache under its lock
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
