"""Initial values from one numbered clone: the same as a seeded clone per seed, or that way.

``test_supported_layers`` checks the values of every layer family against seeded clones; here:
that the one-clone way is the one taken for them, and that an initializer drawing its
randomness elsewhere makes it fall back to cloning per seed (still exact).
"""

import keras
import numpy as np
import pytest

from dropoutcourse.replica_fit import initial
from dropoutcourse.replica_fit.stack import _uncompiled
from tests.replica_fit.test_supported_layers import FAMILIES

SEEDS = [3, 11, 2**31 + 5]


def _seeded_clones(model, seeds):
    return [initial.seeded_initial_values(_uncompiled(model), s) for s in seeds]


@pytest.mark.parametrize("build", FAMILIES)
def test_one_numbered_clone_serves_every_seed(build, monkeypatch):
    bare = _uncompiled(build())
    expected = _seeded_clones(bare, SEEDS)
    calls = []
    real = initial.seeded_initial_values
    monkeypatch.setattr(
        initial, "seeded_initial_values", lambda b, s: calls.append(s) or real(b, s)
    )
    got = initial.initial_values(bare, SEEDS)
    assert calls == [SEEDS[0]]  # one seeded clone, to check the first seed: no fallback
    assert all(initial._same(a, b) for a, b in zip(got, expected, strict=True))


@keras.saving.register_keras_serializable(package="dropoutcourse_tests")
class GlobalNumpyInit(keras.initializers.Initializer):
    """An initializer that ignores Keras' seeds and reads NumPy's global state instead."""

    def __call__(self, shape, dtype=None):
        return np.random.standard_normal(shape).astype("float32")  # noqa: NPY002


def test_an_initializer_with_its_own_randomness_falls_back_to_seeded_clones():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, kernel_initializer=GlobalNumpyInit())]
    )
    bare = _uncompiled(model)
    got = initial.initial_values(bare, SEEDS)
    expected = _seeded_clones(bare, SEEDS)
    assert all(initial._same(a, b) for a, b in zip(got, expected, strict=True))
    assert not initial._same(got[0], got[1])  # and the seeds still differ
