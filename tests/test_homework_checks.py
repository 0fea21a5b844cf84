"""The shared homework checks (homework/source/_shared/hw_checks.py), without otter.

Notebook code is imitated by functions compiled in a fresh namespace (as a notebook's globals),
so each way of handing in the reference implementation is shown to be caught, and honest code
to pass.
"""

from __future__ import annotations

import runpy
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "homework" / "source" / "_shared" / "hw_checks.py"


@pytest.fixture()
def chk():
    return types.SimpleNamespace(**runpy.run_path(str(CHECKS)))


def _notebook(source: str) -> dict:
    """Run ``source`` as a notebook cell would: in its own ``__main__``-like namespace."""
    env = {"__name__": "__main__", "np": np}
    exec(compile(source, "<cell>", "exec"), env)  # noqa: S102
    return env


HONEST = """
def helper(x, rate, rng):
    return rng.random(x.shape) >= rate

def dropout_forward(x, rate, *, training=True, rng=None):
    rng = rng or np.random.default_rng()
    mask = helper(x, rate, rng) / (1 - rate)
    return x * mask, mask
"""
CHEATS = {
    "alias": "from dropoutcourse import reference as r\n"
    "def dropout_forward(x, rate, **k):\n    return r.dropout_forward(x, rate, **k)\n",
    "imported": "from dropoutcourse.reference import dropout_forward\n",
    "attribute": "import dropoutcourse.reference\n"
    "def dropout_forward(x, rate, **k):\n"
    "    return dropoutcourse.reference.dropout_forward(x, rate, **k)\n",
    "helper": "from dropoutcourse.reference import dropout_forward as _d\n"
    "def helper(*a, **k):\n    return _d(*a, **k)\n"
    "def dropout_forward(x, rate, **k):\n    return helper(x, rate, **k)\n",
    "string": "def dropout_forward(x, rate, **k):\n"
    "    return __import__('dropoutcourse.reference', fromlist=['x']).dropout_forward(x, rate, **k)\n",
    "closure": "def make():\n    from dropoutcourse import theory as t\n"
    "    def dropout_forward(x, rate, **k):\n        return x * t.gaussian_sigma(rate), None\n"
    "    return dropout_forward\ndropout_forward = make()\n",
    "default": "import dropoutcourse.theory as T\n"
    "def dropout_forward(x, rate, f=T.gaussian_sigma, **k):\n    return x * f(rate), None\n",
}


def test_honest_code_is_its_own(chk):
    env = _notebook(HONEST)
    assert chk.delegation(env["dropout_forward"], "dropout_forward") is None
    chk.own(env["dropout_forward"], "dropout_forward")


@pytest.mark.parametrize("how", list(CHEATS))
def test_each_way_of_delegating_is_caught(chk, how):
    env = _notebook(CHEATS[how])
    assert chk.delegation(env["dropout_forward"], "dropout_forward") is not None
    with pytest.raises(AssertionError, match="no credit"):
        chk.own(env["dropout_forward"], "dropout_forward")


def test_patching_the_reference_is_caught_and_the_private_copy_is_unaffected(chk, monkeypatch):
    import dropoutcourse.reference as reference

    assert chk.patched_reference() == []
    env = _notebook(HONEST)
    monkeypatch.setattr(reference, "spatial_dropout_forward", env["dropout_forward"])
    assert chk.patched_reference() == ["spatial_dropout_forward"]
    with pytest.raises(AssertionError, match="replaced"):
        chk.own(env["dropout_forward"], "dropout_forward")
    private = chk.reference()
    assert private.spatial_dropout_forward is not env["dropout_forward"]
    assert private.spatial_dropout_forward.__name__ == "spatial_dropout_forward"


def test_run_captures_output_of_the_tested_code(chk, capsys):
    def test(c):
        print("debugging output")
        assert c.own is not None

    chk.run(test)
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match="boom"):
        chk.run(lambda c: (_ for _ in ()).throw(AssertionError("boom")))
    print("after")  # output is no longer captured once a test has failed
    assert capsys.readouterr().out == "after\n"


def test_changed_settings_names_what_changed(chk):
    env = {"RATES": [0.0, 0.2], "SEEDS": [0, 1, 2]}
    assert chk.changed_settings({"RATES": [0.0, 0.2], "SEEDS": [0, 1]}, env) == ["SEEDS"]


def test_not_trained_compares_rows_with_the_retrained_ones(chk):
    final = pd.DataFrame(
        {"rate": [0.0, 0.0, 0.4], "seed": [0, 1, 0], "val_accuracy": [0.9, 0.91, 0.95]}
    )
    reference = {
        (0.0, 1): pd.Series({"val_accuracy": 0.91}),
        (0.4, 0): pd.Series({"val_accuracy": 0.92}),
    }
    bad = chk.not_trained(final, reference, ("val_accuracy",))
    assert len(bad) == 1 and "rate 0.4, seed 0" in bad[0], bad
    assert chk.spot_rows(final, [0.0, 0.4]) == [(0.0, 1), (0.4, 0)]
    assert chk.hw3_not_trained("not a frame", None, {}) != []
    assert chk.hw4_not_computed({}, None, {}) != []


def _mlp(rate, compile_kwargs=None, dropouts=2):
    import keras

    layers = [keras.Input((64,))]
    for k in range(2):
        layers.append(keras.layers.Dense(128, activation="relu"))
        if k < dropouts:
            layers.append(keras.layers.Dropout(rate))
    model = keras.Sequential([*layers, keras.layers.Dense(10, activation="softmax")])
    optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    model.compile(
        **(compile_kwargs or {}),
        **{"optimizer": optimizer, "loss": "sparse_categorical_crossentropy"},
        metrics=["accuracy"],
    )
    return model


def test_model_spec_and_rebuild_describe_and_rebuild_the_stated_model(chk):
    assert chk.hw3_model_problems(_mlp, 0.3) == []
    spec = chk.model_spec(_mlp(0.3))
    rebuilt = chk.rebuild(spec, 64)
    assert chk.model_spec(rebuilt) == spec
    assert "not a compiled" in chk.model_spec(object())
    one = chk.hw3_model_problems(lambda r: _mlp(r, dropouts=1), 0.3)
    assert one and "the stated model has" in one[0], one
    fixed = chk.hw3_model_problems(lambda r: _mlp(0.5), 0.3)
    assert fixed and "argument rate" in fixed[0], fixed


# ------------------------------------------------------- the same rules on source text (grader)


def test_honest_source_is_its_own(chk):
    cells = ["import numpy as np\nfrom dropoutcourse.gradcheck import rel_error", HONEST]
    assert chk.static_delegation(cells, "dropout_forward") is None
    chk.own_static(cells, lambda: None, "dropout_forward")


@pytest.mark.parametrize("how", list(CHEATS))
def test_each_way_of_delegating_is_caught_in_the_source(chk, how):
    cells = ["%matplotlib inline\nimport numpy as np", CHEATS[how]]
    assert chk.static_delegation(cells, "dropout_forward") is not None
    with pytest.raises(AssertionError, match="no credit"):
        chk.own_static(cells, lambda: None, "dropout_forward")


def test_a_later_rebinding_or_a_star_import_is_not_a_def(chk):
    rebound = [HONEST, "from dropoutcourse.reference import dropout_forward"]
    assert "def" in chk.static_delegation(rebound, "dropout_forward")
    star = [HONEST, "from dropoutcourse.reference import *"]
    assert "imports *" in chk.static_delegation(star, "dropout_forward")


def test_patching_the_package_is_found_in_the_source(chk):
    cells = [
        "import sys\nimport dropoutcourse\nimport dropoutcourse.reference as _ref\n"
        "import numpy as np\nnp.allclose = None\n",
        "_ref.dropout_forward = print\ndropoutcourse.reference.spatial_dropout_forward = print\n"
        "setattr(_ref, 'dropconnect_forward', print)\n"
        "sys.modules['dropoutcourse.reference'] = None\n",
    ]
    patched = chk.static_patches(cells)
    assert len(patched) == 4 and not any("numpy" in p for p in patched), patched
    with pytest.raises(AssertionError, match="replaced"):
        chk.own_static([HONEST, *cells], lambda: None, "dropout_forward")
