"""Each replica's initial values: those ``keras.utils.set_random_seed(seed)`` and cloning give.

A clone of a model draws its randomness when it is built: every initializer and every dropout
layer's seed generator created without a seed takes one number from Python's ``random``
(Keras' ``make_default_seed``), in the order the layers are built. So the initial values for
seed ``s`` depend only on that sequence of draws, ``random.Random(s).randint(1, 10**9)``, …

Cloning once per seed (:func:`seeded_initial_values`) is exact but costs tens of milliseconds a
clone, seconds for a hundred replicas of a deep functional model. :func:`initial_values` clones
once, unbuilt (``keras.StatelessScope``: no variable is created) and with *numbered* draws (the
k-th draw returns k), so every variable shows which draw it took; each seed's values then come
from re-seeding those initializers with that seed's draws. It checks the result against a real
seeded clone for the first seed, and clones per seed whenever the two disagree (an initializer
that draws its randomness some other way).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import random
from collections.abc import Iterator, Sequence

import keras
import numpy as np
from keras.src.initializers.random_initializers import RandomInitializer
from keras.src.random import seed_generator

__all__ = ["initial_values", "random_state_kept", "seeded_initial_values", "share_start"]

Values = tuple[list[np.ndarray], list[np.ndarray]]  # (trainable, non-trainable)


@contextlib.contextmanager
def random_state_kept() -> Iterator[None]:
    """Python's and NumPy's global random states are as the caller left them after the block
    (building layers draws their seeds from Python's ``random``)."""
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002 (restoring the global state)


@contextlib.contextmanager
def _forgetting_uninitialised() -> Iterator[None]:
    """Keras keeps a global list of variables awaiting initialisation: drop the block's own."""
    from keras.src.backend.common import global_state

    waiting = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    before = len(waiting)
    try:
        yield
    finally:
        del waiting[before:]


def _unbuilt_clone(model: keras.Model) -> keras.Model:
    """A clone whose variables are left uninitialised (``ValueError`` if one needs a value)."""
    with _forgetting_uninitialised(), keras.StatelessScope(initialize_variables=False):
        return keras.models.clone_model(model)


def _seeded_clone(model: keras.Model, seed: int) -> keras.Model:
    """The model as ``keras.utils.set_random_seed(seed)`` and building it again would give."""
    with random_state_kept():
        keras.utils.set_random_seed(seed)
        return keras.models.clone_model(model)


def _initial(v) -> np.ndarray:
    return np.asarray(v._initializer(v.shape, dtype=v.dtype))  # noqa: SLF001 (see module doc)


def seeded_initial_values(bare: keras.Model, seed: int) -> Values:
    """(trainable, non-trainable) values of a clone of ``bare`` built after seeding: exact."""
    clone = _seeded_clone(bare, seed)
    return (
        [np.asarray(v) for v in clone.trainable_variables],
        [np.asarray(v) for v in clone.non_trainable_variables],
    )


def _numbered_clone(bare: keras.Model) -> tuple[keras.Model, int]:
    """An unbuilt clone whose k-th draw of ``make_default_seed`` was k; and how many it drew."""
    drawn = itertools.count(1)

    class Numbered:  # stands in for Python's `random` inside Keras while cloning
        @staticmethod
        def randint(low: int, high: int) -> int:
            return next(drawn)

    real = seed_generator.python_random
    seed_generator.python_random = Numbered
    try:
        clone = _unbuilt_clone(bare)
    finally:
        seed_generator.python_random = real
    return clone, next(drawn) - 1


def _recipe(v):
    """How variable ``v`` of the numbered clone gets its value from a seed's draws."""
    init = v._initializer  # noqa: SLF001
    if isinstance(init, RandomInitializer) and isinstance(init.seed, int):
        k = init.seed

        def reseeded(draws: list[int]) -> np.ndarray:
            again = copy.copy(init)
            again.seed = draws[k - 1]
            return np.asarray(again(v.shape, dtype=v.dtype))

        return reseeded
    value = _initial(v)
    if v.path.endswith("seed_generator_state"):  # [k, 0]: the generator took draw k
        k, rest = int(value[0]), value[1:]
        return lambda draws: np.array([draws[k - 1], *rest], dtype=value.dtype)
    return lambda draws: value  # no randomness (zeros, ones, a constant)


def _same(a: Values, b: Values) -> bool:
    pairs = zip([*a[0], *a[1]], [*b[0], *b[1]], strict=True)
    return len(a[0]) == len(b[0]) and all(np.array_equal(x, y) for x, y in pairs)


def initial_values(bare: keras.Model, seeds: Sequence[int]) -> list[Values]:
    """:func:`seeded_initial_values` of ``bare`` for every seed, from one clone when possible."""
    seeds = list(seeds)
    try:
        clone, n_draws = _numbered_clone(bare)
    except ValueError:  # a variable created from a value: no initializer to re-seed
        return [seeded_initial_values(bare, s) for s in seeds]
    recipes = [_recipe(v) for v in clone.trainable_variables]
    split = len(recipes)
    recipes += [_recipe(v) for v in clone.non_trainable_variables]
    out = []
    for s in seeds:
        rng = random.Random(s)  # what set_random_seed(s) makes of Python's random
        draws = [rng.randint(1, int(1e9)) for _ in range(n_draws)]
        values = [make(draws) for make in recipes]
        out.append((values[:split], values[split:]))
    if seeds and not _same(out[0], seeded_initial_values(bare, seeds[0])):
        return [seeded_initial_values(bare, s) for s in seeds]  # the exact, slower way
    return out


def continue_from(groups: Sequence, previous: Sequence) -> None:
    """Start every replica of ``groups`` from the final values of the replica of ``previous``
    (groups of an earlier run) with the same model index and seed: a second ``fit`` of the
    same networks. Only the weights and states carry over; the optimizer starts afresh."""
    found = {
        (m, s): (group, r)
        for group in previous
        for r, (m, s) in enumerate(zip(group.model_index, group.seeds, strict=True))
    }
    for group in groups:
        for kind in ("trainable", "non_trainable"):
            stacked = [np.array(v.value) for v in getattr(group, kind)]
            for r, (m, s) in enumerate(zip(group.model_index, group.seeds, strict=True)):
                if (m, s) not in found:
                    raise ValueError(f"start_from has no replica of model {m} with seed {s}")
                old, pr = found[(m, s)]
                before = [np.asarray(v.value[pr]) for v in getattr(old, kind)]
                if [b.shape for b in before] != [a.shape[1:] for a in stacked]:
                    raise ValueError(
                        f"start_from: model {m}'s {kind} variables have other shapes than "
                        "in the earlier run (the same architecture is needed)"
                    )
                for array, value in zip(stacked, before, strict=True):
                    array[r] = value
            for variable, array in zip(getattr(group, kind), stacked, strict=True):
                variable.assign(array)


def share_start(groups: Sequence, reference: keras.Model) -> None:
    """Start every replica from the initial weights ``reference`` gets for its seed.

    Common random numbers for a paired comparison: models that differ only in layers without
    weights (dropout with and without) then start from the same weights for each seed, as
    their data order is the same, and their runs differ only in what the models differ in.
    """
    seeds = sorted({s for group in groups for s in group.seeds})
    start = dict(zip(seeds, (t for t, _ in initial_values(reference, seeds)), strict=True))
    for group in groups:
        stacked = [np.array(v.value) for v in group.trainable]
        for r, (m, s) in enumerate(zip(group.model_index, group.seeds, strict=True)):
            if [v.shape for v in start[s]] != [a.shape[1:] for a in stacked]:
                raise ValueError(
                    "shared_start needs weights of the same shapes in every model; "
                    f"model {m}'s differ from those of the start"
                )
            for array, value in zip(stacked, start[s], strict=True):
                array[r] = value
        for variable, array in zip(group.trainable, stacked, strict=True):
            variable.assign(array)
