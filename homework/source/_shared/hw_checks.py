"""Checks shared by the homework tests (this file ships with every assignment).

In the student's notebook each public test loads this file by path (``runpy.run_path``) and
runs with the live notebook functions (:func:`own` inspects them). The grader runs every test,
hidden ones included, in a separate process where no notebook code runs; there the notebook's
functions are only reachable by calling them, so :func:`own` is replaced by a check of the
notebook's source text (:func:`static_delegation`, :func:`static_patches`). Students may read
this file: it holds no answers, only the rules every graded function must follow.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import sys
import types
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

PACKAGE = "dropoutcourse"
# modules of the course package an answer may use (everything else holds reference answers)
ALLOWED = ("dropoutcourse.gradcheck",)
REFERENCE = "dropoutcourse.reference"
# modules whose functions are answers to homework questions (hw1-2: reference/theory, hw4:
# uncertainty); the notebook may neither call nor patch them in a graded function
ANSWER_MODULES = ("reference", "theory", "uncertainty")


def _forbidden_module(name: object) -> bool:
    if not isinstance(name, str) or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
        return False
    return not any(name == a or name.startswith(a + ".") for a in ALLOWED)


def _refers_to_package(obj: object) -> bool:
    return any(_forbidden_module(getattr(obj, a, None)) for a in ("__name__", "__module__"))


def _code_names(code: types.CodeType) -> tuple[set[str], list[str]]:
    """Global/attribute names and string constants used by ``code`` and its nested functions."""
    names: set[str] = set()
    strings: list[str] = []
    todo = [code]
    while todo:
        c = todo.pop()
        names |= set(c.co_names)
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                todo.append(const)
            elif isinstance(const, str):
                strings.append(const)
    return names, strings


def delegation(f: object, name: str) -> str | None:
    """Why ``f`` does not count as the student's own work, or ``None`` when it does.

    ``f`` must be a plain function; neither it nor any function of the notebook it calls (followed
    recursively) may use the course package's modules (other than ``gradcheck``), whether through
    an import, an alias, a module attribute (``dropoutcourse.reference.x``), a closure or a
    string passed to ``__import__``/``importlib``.
    """
    if not isinstance(f, types.FunctionType):
        return f"{name} must be a function defined with def in your notebook"
    seen: set[int] = set()
    todo: list[object] = [f]
    while todo:
        g = todo.pop()
        if id(g) in seen:
            continue
        seen.add(id(g))
        if isinstance(g, partial):
            todo += [g.func, *g.args, *g.keywords.values()]
            continue
        if _refers_to_package(g):
            return f"{name} uses {getattr(g, '__module__', None) or g.__name__}"
        if not isinstance(g, types.FunctionType):
            continue
        names, strings = _code_names(g.__code__)
        if any(PACKAGE in s for s in strings):
            return f"{name} names the package {PACKAGE!r} in a string"
        if any(m in names for m in ANSWER_MODULES):
            return f"{name} uses a module attribute {'/'.join(ANSWER_MODULES)}"
        used = [g.__globals__[n] for n in names if n in g.__globals__]
        used += [c.cell_contents for c in g.__closure__ or () if _has_contents(c)]
        used += list(g.__defaults__ or ()) + list((g.__kwdefaults__ or {}).values())
        for obj in used:
            if isinstance(obj, types.ModuleType | type) or callable(obj):
                todo.append(obj)
    return None


def _has_contents(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:  # an empty closure cell
        return False
    return True


def patched_reference() -> list[str]:
    """Names of ``dropoutcourse.reference`` (or ``.uncertainty``) the notebook has replaced."""
    patched = []
    for answers in ANSWER_MODULES:
        module = sys.modules.get(f"{PACKAGE}.{answers}")
        if module is None:
            continue
        # its own functions and the package helpers it imports come from the package; anything
        # else (a notebook function, a lambda) was put there by the notebook
        patched += [
            n if answers == "reference" else f"{answers}.{n}"
            for n, v in vars(module).items()
            if callable(v)
            and not isinstance(v, type)
            and not str(getattr(v, "__module__", "")).startswith(
                (PACKAGE, "numpy", "__future__", "math", "typing")
            )
        ]
    return patched


def own(f: object, name: str) -> None:
    """Fail unless ``f`` is the student's own implementation (see :func:`delegation`)."""
    why = delegation(f, name)
    assert why is None, (
        f"{why}: implement {name} yourself with NumPy; code that calls the course package's "
        "reference implementations (reference, theory, uncertainty, layers ...) gets no credit"
    )
    patched = patched_reference()
    assert not patched, (
        f"your notebook replaced {patched} in the course package; the tests compare against a private "
        "copy, so patching the package only costs you the points of this test"
    )


def reference(name: str = "reference") -> types.ModuleType:
    """A private copy of ``dropoutcourse/<name>.py`` that no notebook code can have patched."""
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.submodule_search_locations, f"{PACKAGE} is not installed"
    path = Path(list(spec.submodule_search_locations)[0]) / f"{name}.py"
    private = importlib.util.spec_from_file_location(f"_private_{name}", path)
    module = importlib.util.module_from_spec(private)
    private.loader.exec_module(module)
    return module


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Capture what the tested code prints, so a leftover ``print`` never fails a test."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


def run(test: Callable[[types.SimpleNamespace], None]) -> None:
    """Run one test case, passing it these checks, with the tested code's output captured.

    A test cell ends with ``__import__("runpy").run_path("hw_checks.py")["run"](_test)``.
    """
    checks = types.SimpleNamespace(**{k: v for k, v in globals().items() if not k.startswith("_")})
    with quiet():
        test(checks)


# ------------------------------------------------------------- the same rules, on source text


def _bindings(cells: list[str]) -> tuple[dict[str, ast.AST], list[str]]:
    """Last top-level binding of every name in the notebook's cells, and its star imports.

    A binding is the ``def``/``class``/``import``/assignment statement (or ``for``/``with``
    target) that gave the name its final value, in cell order; statements inside ``if``/``try``/
    ``with``/``for`` blocks count, function bodies do not.
    """
    bound: dict[str, ast.AST] = {}
    stars: list[str] = []
    todo = [stmt for tree in _trees(cells) for stmt in tree.body]
    while todo:
        stmt = todo.pop(0)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound[stmt.name] = stmt
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                if alias.name == "*":
                    stars.append(str(getattr(stmt, "module", "")))
                else:
                    bound[alias.asname or alias.name.split(".")[0]] = stmt
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound[node.id] = stmt
            for field in ("body", "orelse", "finalbody", "handlers"):
                todo[:0] = [s for s in getattr(stmt, field, []) if isinstance(s, ast.stmt)]
    return bound, stars


def _trees(cells: list[str]) -> list[ast.Module]:
    """The cells that parse as Python (IPython magics and shell lines blanked out)."""
    trees = []
    for source in cells:
        lines = [
            line[: len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("%", "!"))
            else line
            for line in source.split("\n")
        ]
        try:
            trees.append(ast.parse("\n".join(lines)))
        except SyntaxError:
            continue
    return trees


def _import_targets(stmt: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """Bound name -> module (or module attribute) it refers to, for one import statement."""
    if isinstance(stmt, ast.Import):
        return {
            a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
            for a in stmt.names
        }
    base = "." * stmt.level + (stmt.module or "")
    return {a.asname or a.name: f"{base}.{a.name}" for a in stmt.names}


def _statement_names(stmt: ast.AST) -> tuple[set[str], list[str]]:
    """Names and strings the compiled statement uses (its bodies, defaults and decorators)."""
    module = ast.Module(
        body=[stmt] if isinstance(stmt, ast.stmt) else [ast.Expr(stmt)], type_ignores=[]
    )
    # compile, never run: the code objects list every global, attribute and string used
    return _code_names(compile(ast.fix_missing_locations(module), "<notebook>", "exec"))


def static_delegation(cells: list[str], name: str) -> str | None:
    """:func:`delegation` from the notebook's source text alone (nothing is executed).

    ``name`` must be bound last by a ``def`` in the notebook; neither that function nor any
    notebook definition it uses (followed recursively, defaults and decorators included) may
    use the course package's modules other than ``gradcheck``: by an import, an alias, an
    attribute ``reference``/``theory``/``uncertainty``, or a string naming the package.
    """
    bound, stars = _bindings(cells)
    if any(_forbidden_module(s) for s in stars):
        return f"your notebook imports * from {[s for s in stars if _forbidden_module(s)]}"
    first = bound.get(name)
    if not isinstance(first, ast.FunctionDef):
        return f"{name} must be a function defined with def in your notebook"
    seen: set[int] = set()
    todo: list[ast.AST] = [first]
    while todo:
        stmt = todo.pop()
        if id(stmt) in seen:
            continue
        seen.add(id(stmt))
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            bad = [m for m in _import_targets(stmt).values() if _forbidden_module(m)]
            if bad:
                return f"{name} uses {bad[0]}"
            continue
        names, strings = _statement_names(stmt)
        if any(PACKAGE in s for s in strings):
            return f"{name} names the package {PACKAGE!r} in a string"
        if any(m in names for m in ANSWER_MODULES):
            return f"{name} uses a module attribute {'/'.join(ANSWER_MODULES)}"
        if any(_forbidden_module(n) for n in names):
            return f"{name} imports {next(n for n in names if _forbidden_module(n))}"
        todo += [bound[n] for n in names if n in bound]
    return None


def static_patches(cells: list[str]) -> list[str]:
    """Attributes of the course package (other than ``gradcheck``) the notebook assigns to.

    Covers ``module.attr = ...``, ``setattr(module, "attr", ...)`` and ``del`` on names bound
    to a package module by an import, and ``sys.modules[...]`` entries of the package.
    """
    bound, _ = _bindings(cells)
    modules = {
        n: target
        for n, stmt in bound.items()
        if isinstance(stmt, ast.Import | ast.ImportFrom)
        for bname, target in _import_targets(stmt).items()
        if bname == n
    }

    def module_of(node: ast.AST) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in modules:
            return ".".join([modules[node.id], *parts])
        return None

    patched = []
    for tree in _trees(cells):
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = node.targets if hasattr(node, "targets") else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _forbidden_module(module_of(target.value)):
                    patched.append(f"{module_of(target.value)}.{target.attr}")
                elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    if _forbidden_module(target.slice.value):
                        patched.append(f"sys.modules[{target.slice.value!r}]")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "delattr")
                and node.args
                and _forbidden_module(module_of(node.args[0]))
            ):
                patched.append(f"{module_of(node.args[0])} (via {node.func.id})")
    return patched


def own_static(cells: list[str], f: object, name: str) -> None:
    """:func:`own` for the grader: the same rules, checked on the notebook's source text."""
    why = (
        static_delegation(cells, name)
        if callable(f)
        else (f"{name} must be a function defined with def in your notebook")
    )
    assert why is None, (
        f"{why}: implement {name} yourself with NumPy; code that calls the course package's "
        "reference implementations (reference, theory, uncertainty, layers ...) gets no credit"
    )
    patched = static_patches(cells)
    assert not patched, (
        f"your notebook replaced {patched} in the course package; the tests compare against a private "
        "copy, so patching the package only costs you the points of this test"
    )


# ------------------------------------------------------------- Keras models as data (hw3, hw4)

ACTIVATIONS = ("relu", "softmax", "linear", "tanh", "sigmoid", "elu", "gelu", "swish")
LOSSES = {"SparseCategoricalCrossentropy": "sparse_categorical_crossentropy"}
OPTIMIZERS = {
    "SGD": ("learning_rate", "momentum", "nesterov"),
    "Adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"),
    "RMSprop": ("learning_rate", "rho", "momentum", "epsilon", "centered"),
}
DEFAULT_INIT = {"kernel_initializer": "GlorotUniform", "bias_initializer": "Zeros"}
EXTRAS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint")


def _layer_spec(entry: dict) -> dict:
    kind = str(entry.get("class_name"))
    c = entry.get("config") or {}
    if kind == "InputLayer":
        return {"class": kind, "shape": list(c.get("batch_shape") or [None])[1:]}
    layer: dict = {"class": kind}
    if kind == "Dense":
        layer.update(
            units=c.get("units"), activation=c.get("activation"), use_bias=c.get("use_bias")
        )
        extras = [k for k in (*EXTRAS, "bias_constraint") if c.get(k) is not None]
        for key, default in DEFAULT_INIT.items():
            init = c.get(key) or {}
            seeded = isinstance(init.get("config"), dict) and init["config"].get("seed") is not None
            if init.get("class_name") != default or seeded:
                extras.append(key)
        layer["extras"] = extras
    elif kind == "Dropout":
        layer.update(rate=c.get("rate"), seed=c.get("seed"), noise_shape=c.get("noise_shape"))
    return layer


def model_spec(model: object) -> dict | str:
    """A compiled Keras ``Sequential``'s layers and compile settings as plain data, or why not.

    Only ``get_config()`` and ``get_compile_config()`` are called, whose results are plain
    data: this works on a live model and on the grader's handle to a notebook's model alike.
    """
    try:
        config, compiled = model.get_config(), model.get_compile_config()
    except Exception as exc:  # noqa: BLE001 -- whatever it is, it is not a compiled model
        return f"not a compiled keras.Sequential ({type(exc).__name__})"
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        return "not a keras.Sequential model"
    if not isinstance(compiled, dict):
        return "a model that is not compiled (call model.compile)"
    opt = compiled.get("optimizer")
    opt = opt if isinstance(opt, dict) else {"class_name": str(opt), "config": {}}
    ocfg = opt.get("config") or {}
    name = str(opt.get("class_name"))
    optimizer = {"class": name, **{k: ocfg.get(k) for k in OPTIMIZERS.get(name, ())}}
    optimizer["clipped"] = any(
        ocfg.get(k) is not None
        for k in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay")
    )
    loss = compiled.get("loss")
    if isinstance(loss, dict) and not (loss.get("config") or {}).get("from_logits"):
        loss = LOSSES.get(str(loss.get("class_name")), str(loss.get("class_name")))
    metrics = compiled.get("metrics")
    return {
        "layers": [_layer_spec(e) for e in config["layers"] if isinstance(e, dict)],
        "optimizer": optimizer,
        "loss": loss,
        "metrics": list(metrics) if isinstance(metrics, list | tuple) else metrics,
    }


def rebuild(spec: dict, n_features: int) -> object:
    """A new compiled Keras model built from ``spec`` (:func:`model_spec`) by the grader itself.

    Only Input, Dense and Dropout layers and the optimizers in ``OPTIMIZERS`` are rebuilt, from
    their numbers and names: nothing of the notebook's is executed or deserialised.
    """
    import keras

    layers = [keras.Input((int(n_features),))]
    for layer in spec["layers"]:
        kind = layer["class"]
        if kind == "InputLayer":
            continue
        if kind == "Dense" and not layer["extras"] and layer["activation"] in ACTIVATIONS:
            units, act = int(layer["units"]), str(layer["activation"])
            layers.append(
                keras.layers.Dense(units, activation=act, use_bias=bool(layer["use_bias"]))
            )
        elif kind == "Dropout" and layer["noise_shape"] is None:
            seed = None if layer["seed"] is None else int(layer["seed"])
            layers.append(keras.layers.Dropout(float(layer["rate"]), seed=seed))
        else:
            raise AssertionError(
                f"the grader can only rebuild models of Dense (default initialisers, no "
                f"regularisers) and Dropout layers, got {kind}"
            )
    rebuilt = keras.Sequential(layers)
    opt = spec["optimizer"]
    assert opt["class"] in OPTIMIZERS and not opt["clipped"], (
        f"the grader rebuilds SGD, Adam or RMSprop without clipping, got {opt['class']}"
    )
    kwargs = {k: v for k, v in opt.items() if k in OPTIMIZERS[opt["class"]] and v is not None}
    kwargs = {k: v if isinstance(v, bool) else float(v) for k, v in kwargs.items()}
    assert isinstance(spec["loss"], str) and all(
        isinstance(m, str) for m in spec["metrics"] or []
    ), "compile with loss and metrics given by name, e.g. metrics=['accuracy']"
    optimizer = getattr(keras.optimizers, opt["class"])(**kwargs)
    rebuilt.compile(
        optimizer=optimizer, loss=str(spec["loss"]), metrics=list(spec["metrics"] or [])
    )
    return rebuilt


def sequential_problems(
    spec: dict | str, call: str, layers: list[tuple], compiled: dict
) -> list[str]:
    """How ``spec`` differs from the stated model: ``layers`` as (class, value) pairs, where the
    value is (units, activation) for Dense and the rate for Dropout."""
    if isinstance(spec, str):
        return [f"{call} returned {spec}"]
    got = [entry for entry in spec["layers"] if entry["class"] != "InputLayer"]
    kinds, want = [entry["class"] for entry in got], [k for k, _ in layers]
    if kinds != want:
        return [f"{call} has the layers {kinds}; the stated model has {want}"]
    problems = []
    for entry, (kind, value) in zip(got, layers, strict=True):
        if kind == "Dense" and (entry["units"], entry["activation"]) != value:
            problems.append(
                f"a Dense layer is {(entry['units'], entry['activation'])}, stated {value}"
            )
        if kind == "Dense" and entry["extras"]:
            problems.append(f"a Dense layer sets {entry['extras']}: keep Keras' defaults")
        if kind == "Dropout" and not abs(float(entry["rate"] or 0) - value) < 1e-9:
            problems.append(
                f"{call} has a Dropout layer with rate {entry['rate']}: every Dropout layer must "
                f"use the argument rate ({value})"
            )
    opt = spec["optimizer"]
    for key, value in compiled.items():
        got_value = opt.get("class") if key == "optimizer" else opt.get(key, spec.get(key))
        close = isinstance(value, float) and isinstance(got_value, int | float)
        if not (abs(got_value - value) <= 1e-6 * abs(value) if close else got_value == value):
            problems.append(f"{call} is compiled with {key} {got_value!r}, stated {value!r}")
    return problems


# --------------------------------------------------------------------------- experiments (hw3)

HW3_RATES = [0.0, 0.2, 0.4, 0.6]
HW3_SEEDS = [0, 1, 2, 3, 4]
HW3_TRAINING = dict(epochs=40, batch_size=32)
HW3_COMPILED = {
    "optimizer": "SGD",
    "learning_rate": 0.01,
    "momentum": 0.9,
    "nesterov": False,
    "loss": "sparse_categorical_crossentropy",
    "metrics": ["accuracy"],
}


def hw3_model_problems(build_model: Callable, rate: float) -> list[str]:
    """How ``build_model(rate)`` differs from homework 3's stated model (empty when it does not)."""
    try:
        spec = model_spec(build_model(rate))
    except Exception as exc:  # noqa: BLE001 -- the notebook's function failed
        return [f"build_model({rate}) raised {type(exc).__name__}: {exc}"]
    stated = [
        ("Dense", (128, "relu")),
        ("Dropout", rate),
        ("Dense", (128, "relu")),
        ("Dropout", rate),
        ("Dense", (10, "softmax")),
    ]
    return sequential_problems(spec, f"build_model({rate})", stated, HW3_COMPILED)


def changed_settings(expected: dict[str, object], env: dict[str, object]) -> list[str]:
    """Names in ``expected`` whose value in the notebook's namespace ``env`` differs."""
    return [name for name, value in expected.items() if env.get(name) != value]


def spot_rows(final: object, rates: list[float]) -> list[tuple[float, int]]:
    """Up to three (rate, seed) rows of ``final`` to re-train: rate 0, the best rate, the last rate."""
    by_rate = final.groupby("rate")["val_accuracy"].mean()
    picks = []
    for k, rate in enumerate(dict.fromkeys([rates[0], float(by_rate.idxmax()), rates[-1]])):
        seeds = sorted(final.loc[final["rate"] == rate, "seed"].tolist())
        if seeds:
            picks.append((float(rate), int(seeds[(k + 1) % len(seeds)])))
    return picks


def not_trained(final: object, reference: dict, columns: tuple[str, ...]) -> list[str]:
    """Rows of ``final`` that disagree with the re-trained ``reference`` rows."""
    bad = []
    for (rate, seed), expected in reference.items():
        got = final[(final["rate"] == rate) & (final["seed"] == seed)]
        for column in columns:
            if column not in got.columns or len(got) == 0:
                bad.append(f"rate {rate}, seed {seed}: no {column}")
            elif not all(abs(float(v) - float(expected[column])) < 1e-4 for v in got[column]):
                bad.append(
                    f"rate {rate}, seed {seed}: {column} {got[column].tolist()} but training "
                    f"gives {float(expected[column]):.4f}"
                )
    return bad


def hw3_retrain(build_model: Callable, picks: list[tuple[float, int]]) -> dict:
    """Train the replicas ``(rate, seed)`` of the notebook's ``build_model`` again, as rebuilt by
    :func:`rebuild` from its description, with the stated settings; map each to its last row."""
    import dropoutcourse
    from dropoutcourse.data import load_digits

    data = load_digits(train_size=200, seed=0)
    rates = list(dict.fromkeys(rate for rate, _ in picks))
    models = [rebuild(model_spec(build_model(rate)), data.n_features) for rate in rates]
    x, y = data.x_train, data.y_train
    held_out = (data.x_test, data.y_test)
    options = dict(HW3_TRAINING, validation_data=held_out, verbose=False)
    seeds = sorted({seed for _, seed in picks})
    history = dropoutcourse.fit_replicas(models, x, y, seeds=seeds, **options)
    if "model" not in history.columns:
        history["model"] = 0
    last = history[history["epoch"] == HW3_TRAINING["epochs"]]
    return {
        (rate, seed): last[(last["model"] == rates.index(rate)) & (last["seed"] == seed)].iloc[0]
        for rate, seed in picks
    }


def hw3_not_trained(final: object, build_model: Callable, cache: dict) -> list[str]:
    """Why homework 3's ``final`` is not what training ``build_model`` gives (empty when it is).

    ``fit_replicas`` is deterministic for a given model, seeds and data, so up to three of the
    notebook's replicas are trained again (once per grading; ``cache`` keeps them) from the
    description of the notebook's own ``build_model(rate)`` and compared row by row.
    """
    import pandas as pd

    if not isinstance(final, pd.DataFrame) or not {"rate", "seed"} <= set(final.columns):
        return ["final is not the DataFrame of the last epoch's rows with a column rate"]
    if "rows" not in cache:
        try:
            cache["rows"] = hw3_retrain(build_model, spot_rows(final, HW3_RATES))
        except Exception as exc:  # noqa: BLE001 -- any failure means: not what training gives
            cache["rows"] = f"your build_model could not be trained again ({exc})"
    if isinstance(cache["rows"], str):
        return [cache["rows"]]
    return not_trained(final, cache["rows"], ("val_accuracy", "accuracy", "val_loss"))


# --------------------------------------------------------------------------- uncertainty (hw4)

HW4_SEEDS = [0, 1, 2, 3, 4]
HW4_SHIFTS = [0.0, 0.5, 1.0]
HW4_MC_PASSES = 20
HW4_TRAINING = dict(epochs=20, batch_size=32)
HW4_METHODS = ["ensemble", "mc_dropout"]
HW4_COMPILED = {
    "optimizer": "Adam",
    "learning_rate": 0.001,
    "loss": "sparse_categorical_crossentropy",
    "metrics": ["accuracy"],
}
HW4_LAYERS = [
    ("Dense", (128, "relu")),
    ("Dropout", 0.3),
    ("Dense", (128, "relu")),
    ("Dropout", 0.3),
    ("Dense", (10, "softmax")),
]


def hw4_shifted(signals: object, level: float) -> object:
    """Homework 4's shifted test inputs: ``signals`` plus Gaussian noise of standard deviation
    ``level`` (the features are standardised), always the same noise."""
    import numpy as np

    noise = np.random.default_rng(1234).standard_normal(np.shape(signals))
    return signals + level * noise


def hw4_retrain(build_model: Callable) -> dict:
    """The mean predictive probabilities of both methods at every shift, trained again here from
    the description of the notebook's ``build_model()``: ``{(method, shift): probs}``."""
    import numpy as np

    import dropoutcourse
    from dropoutcourse.data import load_mnist1d
    from dropoutcourse.layers import mc_predict

    data = load_mnist1d(train_size=1000, seed=0)
    recipe = rebuild(model_spec(build_model()), data.n_features)
    x, y = data.x_train, data.y_train
    options = dict(HW4_TRAINING, verbose=False)
    fitted = dropoutcourse.fit_replica_models(recipe, x, y, seeds=HW4_SEEDS, **options)
    trained = fitted.models()
    out = {}
    for level in HW4_SHIFTS:
        shifted = hw4_shifted(data.x_test, level)
        each = [np.asarray(trained[s](shifted, training=False)) for s in HW4_SEEDS]
        out[("ensemble", level)] = np.mean(each, axis=0)
        out[("mc_dropout", level)] = mc_predict(
            trained[HW4_SEEDS[0]], shifted, HW4_MC_PASSES, seed=0
        )[0]
    return out


def hw4_not_computed(probs: object, build_model: Callable, cache: dict) -> list[str]:
    """Why homework 4's ``probs`` is not what the stated experiment gives (empty when it is).

    Training and ``mc_predict(..., seed=0)`` are deterministic, so the grader trains the ensemble
    again (once per grading; ``cache`` keeps it) and compares every (method, shift) entry.
    """
    import numpy as np

    wanted = sorted((method, level) for method in HW4_METHODS for level in HW4_SHIFTS)
    if not isinstance(probs, dict) or sorted(probs, key=str) != sorted(wanted, key=str):
        return [f"probs must be a dict with the keys {wanted}"]
    if "probs" not in cache:
        try:
            cache["probs"] = hw4_retrain(build_model)
        except Exception as exc:  # noqa: BLE001 -- any failure means: not what training gives
            cache["probs"] = f"your build_model could not be trained again ({exc})"
    if isinstance(cache["probs"], str):
        return [cache["probs"]]
    bad = []
    for key, expected in cache["probs"].items():
        got = probs.get(key)
        if got is None or np.shape(got) != expected.shape:
            bad.append(f"probs[{key}] is missing or has the wrong shape")
        elif not np.allclose(got, expected, atol=1e-4):
            worst = float(np.abs(np.asarray(got) - expected).max())
            bad.append(
                f"probs[{key}] differs from what the stated experiment gives (by up to {worst:.3g})"
            )
    return bad


def hw4_model_problems(build_model: Callable) -> list[str]:
    """How ``build_model()`` differs from homework 4's stated model (empty when it does not)."""
    try:
        spec = model_spec(build_model())
    except Exception as exc:  # noqa: BLE001 -- the notebook's function failed
        return [f"build_model() raised {type(exc).__name__}: {exc}"]
    return sequential_problems(spec, "build_model()", HW4_LAYERS, HW4_COMPILED)
